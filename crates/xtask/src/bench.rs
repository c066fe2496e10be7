//! `cargo xtask bench`: prw relay against vmagent and against the physical limits, in one
//! run on this machine, written into its own section of `BENCHMARKS.md`.
//!
//! Steps (each a timed stage): install `victoria-metrics` if missing (for `vmagent`); build
//! `dist/prw` (release, via `dist`) and the test receiver (release); measure the floors
//! (`prw bench --floor`), the WAL group-commit append rate (`prw bench --wal-append`), the
//! generator against the null receiver, each relay at saturation for 500- and 2,000-series
//! requests (into the null receiver and into a real VictoriaMetrics; then with 3
//! destinations; then prw alone with Remote Write 2.0 in and 2.0 or 1.0 out), and each relay
//! killed with SIGKILL under steady load and at full speed. The prw relay rows run only when `dist/prw relay` starts and
//! acknowledges a write (probed); otherwise they say so.
//!
//! Invariants: every process started here listens on 127.0.0.1 only and is killed (and
//! reaped) when its guard drops, also on error; a row that fails is reported as such in the
//! file, it does not stop the other rows.
//!
//! `PRW_RELAY_BIN` names another `prw` build whose `relay` is measured (the generator stays
//! `dist/prw`); `VMAGENT_BIN` another vmagent; `VICTORIA_METRICS_BIN` another
//! VictoriaMetrics.
//!
//! Flags: `--duration 15s` (load time per row), `--quick` (5 s rows, shorter kills),
//! `--concurrency 8`, `--no-durability`, `--base-rows` (only Remote Write 1.0 into the
//! null receiver), `--no-build` (reuse `dist/prw` and `target/release/prw-test-receiver`),
//! `--out BENCHMARKS.md`.
//!
//! `--relays N` (2 to 5) runs the scale-out comparison instead: 1 relay vs N relays behind
//! Envoy with `envoy/cluster.yaml`, into its own section ([`cluster`]).

mod cluster;
mod cluster_report;
mod cluster_row;
pub(crate) mod error;
mod generator;
mod machine;
pub(crate) mod process;
mod procfs;
pub(crate) mod receiver;
mod relay;
pub(crate) mod report;
mod scenario;
mod victoria;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::stage::{StageError, Stages, exec};
use crate::{dist, setup, workspace};
use error::BenchError;
use generator::{Binaries, Proto, Shape};
use relay::Kind;
use report::Results;
use scenario::{Pace, Target, Variant};

const USAGE: &str = "usage: cargo xtask bench [--relays N] [--duration 15s] [--quick] [--concurrency N] [--no-durability] [--base-rows] [--no-build] [--out FILE]";

/// The two shapes of issue 8: 500 and 2,000 series per request, 10 labels.
const SHAPES: [Shape; 2] = [
    Shape {
        series: 500,
        labels: 10,
    },
    Shape {
        series: 2000,
        labels: 10,
    },
];

/// Parsed flags.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    load: Duration,
    floor_seconds: f64,
    steady_kill_load: Duration,
    full_kill_after: Duration,
    concurrency: u32,
    durability: bool,
    /// The rows beyond Remote Write 1.0 into the null receiver (off with `--base-rows`).
    extra_rows: bool,
    build: bool,
    out: PathBuf,
    /// `--relays N`: the scale-out comparison instead of the relay rows.
    relays: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            load: Duration::from_secs(15),
            floor_seconds: 2.0,
            steady_kill_load: Duration::from_secs(8),
            full_kill_after: Duration::from_secs(2),
            concurrency: 8,
            durability: true,
            extra_rows: true,
            build: true,
            out: workspace::path("BENCHMARKS.md"),
            relays: None,
        }
    }
}

fn parse_seconds(text: &str) -> Option<Duration> {
    let number = text.strip_suffix('s').unwrap_or(text);
    number
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--duration" => {
                let v = value("--duration")?;
                o.load = parse_seconds(&v).ok_or(format!("--duration: `{v}` is not like 15s"))?;
            }
            "--quick" => {
                o.load = Duration::from_secs(5);
                o.floor_seconds = 1.0;
                o.steady_kill_load = Duration::from_secs(4);
                o.full_kill_after = Duration::from_secs(1);
            }
            "--concurrency" => {
                let v = value("--concurrency")?;
                o.concurrency = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--concurrency: `{v}` is not a positive number"))?;
            }
            "--no-durability" => o.durability = false,
            "--base-rows" => o.extra_rows = false,
            "--no-build" => o.build = false,
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--relays" => {
                let v = value("--relays")?;
                o.relays = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (2..=5).contains(n))
                        .ok_or(format!("--relays: `{v}` is not a number from 2 to 5"))?,
                );
            }
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    Ok(o)
}

/// `cargo xtask bench ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("xtask bench: {message}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let mut stages = Stages::default();
    let result = match options.relays {
        Some(relays) => cluster::run(&mut stages, &options, relays, args),
        None => run(&mut stages, &options, args),
    };
    stages.summary();
    match result {
        Ok(path) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("xtask bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(stages: &mut Stages, o: &Options, args: &[String]) -> Result<PathBuf, BenchError> {
    setup::run(stages, setup::FOR_BENCH)?;
    let bins = if o.build { build(stages)? } else { existing()? };
    let work = workspace::path("target/xtask/bench");
    std::fs::create_dir_all(&work).map_err(|source| BenchError::Io {
        what: "create",
        path: work.clone(),
        source,
    })?;
    let mut results = Results {
        command: std::iter::once("cargo xtask bench".to_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        load_seconds: o.load.as_secs_f64(),
        concurrency: o.concurrency,
        machine: Some(machine::describe(&work)),
        ..Results::default()
    };
    for shape in SHAPES {
        let name = format!("bench: floors, {} series", shape.series);
        match stages.time(&name, || {
            generator::floor(&bins.prw, shape, o.floor_seconds)
        }) {
            Ok(floor) => results.floors.push((shape, floor)),
            Err(err) => results.failures.push(format!("{name}: {err}")),
        }
    }
    for shape in SHAPES {
        let name = format!("bench: WAL group-commit append, {} series", shape.series);
        let measured = stages.time(&name, || {
            generator::wal_append(&bins.prw, shape, &work, o.concurrency, o.floor_seconds)
        });
        match measured {
            Ok(w) => results.wal.push((shape, w)),
            Err(err) => results.failures.push(format!("{name}: {err}")),
        }
    }
    for shape in SHAPES {
        let name = format!("bench: generator -> null receiver, {} series", shape.series);
        match stages.time(&name, || {
            scenario::generator_direct(&bins, shape, o.concurrency, o.load)
        }) {
            Ok(r) => results.generator.push((shape, r)),
            Err(err) => results.failures.push(format!("{name}: {err}")),
        }
    }
    let prw_works = stages.time("bench: probe `prw relay`", || {
        Ok::<_, BenchError>(scenario::prw_relay_works(&bins, &work))
    })?;
    let mut kinds = vec![Kind::Vmagent];
    if prw_works {
        kinds.push(Kind::Prw);
    } else {
        eprintln!("    prw relay: not available in this build (no 2xx to a write within seconds)");
        results.prw_note = Some("relay not available in this build".into());
    }
    for (shape, variant) in rows(o.extra_rows) {
        for &kind in &kinds {
            if kind == Kind::Vmagent && !variant.vmagent_can() {
                continue;
            }
            let name = format!(
                "bench: {} at saturation, {} series, {}",
                kind.name(),
                shape.series,
                variant.label()
            );
            match stages.time(&name, || {
                scenario::throughput(&bins, &work, kind, shape, variant, o.concurrency, o.load)
            }) {
                Ok(row) => results.relays.push(row),
                Err(err) => results.failures.push(format!("{name}: {err}")),
            }
        }
    }
    if o.durability {
        let shape = SHAPES[0];
        for &kind in &kinds {
            let saturated = results
                .relays
                .iter()
                .find(|r| r.kind == kind && r.shape == shape)
                .map_or(100.0, |r| r.load.requests_per_second.max(4.0));
            let paces = [
                (
                    "steady",
                    Pace::Steady {
                        rate: saturated / 4.0,
                        time: o.steady_kill_load,
                    },
                ),
                (
                    "full speed",
                    Pace::Full {
                        saturated_rate: saturated,
                        kill_after: o.full_kill_after,
                    },
                ),
            ];
            for (label, pace) in paces {
                let name = format!("bench: kill -9 {} under {label} load", kind.name());
                match stages.time(&name, || {
                    scenario::kill_under_load(&bins, &work, kind, shape, o.concurrency, pace)
                }) {
                    Ok(row) => results.kills.push(row),
                    Err(err) => results.failures.push(format!("{name}: {err}")),
                }
            }
        }
    }
    report::write_section(&o.out, &results.render())?;
    Ok(o.out.clone())
}

/// The throughput rows: Remote Write 1.0 into the null receiver for both shapes, then
/// (unless `--base-rows`) 3 destinations, the 1.0 rows into a real VictoriaMetrics, and
/// Remote Write 2.0 in with 2.0 or 1.0 out (prw only: vmagent 1.79 speaks 1.0).
///
/// The 3-destination row runs right after the 2,000-series row it is compared with (the
/// CPU ratio of issue 11's target): on a shared machine the background load drifts over the
/// minutes a row takes, and neighbours see the most similar load.
fn rows(extra: bool) -> Vec<(Shape, Variant)> {
    let mut rows: Vec<(Shape, Variant)> = SHAPES.iter().map(|s| (*s, Variant::BASE)).collect();
    if !extra {
        return rows;
    }
    let large = SHAPES[1];
    rows.push((
        large,
        Variant {
            destinations: 3,
            ..Variant::BASE
        },
    ));
    for shape in SHAPES {
        rows.push((
            shape,
            Variant {
                target: Target::Victoria,
                ..Variant::BASE
            },
        ));
    }
    for forwarded in [Proto::V2, Proto::V1] {
        rows.push((
            large,
            Variant {
                sent: Proto::V2,
                forwarded,
                ..Variant::BASE
            },
        ));
    }
    rows
}

fn build(stages: &mut Stages) -> Result<Binaries, BenchError> {
    let dist_dir = workspace::dist();
    std::fs::create_dir_all(&dist_dir).map_err(|source| BenchError::Io {
        what: "create",
        path: dist_dir.clone(),
        source,
    })?;
    let inspector = Some(dist_dir.join("inspector")).filter(|p| p.is_dir());
    let prw = stages.time("dist: prw", || {
        dist::cli::build(&dist_dir, inspector.as_deref())
    })?;
    stages.time("bench: build test receiver (release)", || {
        let mut cmd = workspace::cargo();
        cmd.args([
            "build",
            "--release",
            "-p",
            "prw-e2e",
            "--bin",
            "prw-test-receiver",
        ]);
        exec("cargo build --release -p prw-e2e", &mut cmd)
    })?;
    let mut bins = existing()?;
    if std::env::var_os("PRW_RELAY_BIN").is_none() {
        bins.prw_relay = prw.clone();
    }
    bins.prw = prw;
    Ok(bins)
}

fn existing() -> Result<Binaries, BenchError> {
    let prw = workspace::dist().join("prw");
    let receiver = workspace::path("target/release/prw-test-receiver");
    let vmagent =
        PathBuf::from(std::env::var_os("VMAGENT_BIN").unwrap_or_else(|| "/usr/bin/vmagent".into()));
    let victoria = PathBuf::from(
        std::env::var_os("VICTORIA_METRICS_BIN")
            .unwrap_or_else(|| "/usr/bin/victoria-metrics".into()),
    );
    let prw_relay = std::env::var_os("PRW_RELAY_BIN").map_or_else(|| prw.clone(), PathBuf::from);
    for (path, hint) in [
        (&prw, "run `cargo xtask dist` or drop --no-build"),
        (&prw_relay, "PRW_RELAY_BIN must name a prw binary"),
        (
            &receiver,
            "run `cargo build --release -p prw-e2e --bin prw-test-receiver` or drop --no-build",
        ),
        (
            &vmagent,
            "install the Debian package victoria-metrics (or set VMAGENT_BIN)",
        ),
        (
            &victoria,
            "install the Debian package victoria-metrics (or set VICTORIA_METRICS_BIN)",
        ),
    ] {
        if !path.is_file() {
            return Err(BenchError::Stage(StageError::Missing {
                what: path.display().to_string(),
                hint,
            }));
        }
    }
    Ok(Binaries {
        prw,
        prw_relay,
        receiver,
        vmagent,
        victoria,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_override_the_defaults() {
        let o = parse(&args(&[
            "--duration",
            "30s",
            "--concurrency",
            "4",
            "--no-durability",
            "--no-build",
            "--base-rows",
        ]))
        .unwrap();
        assert!(!o.extra_rows);
        assert_eq!(o.load, Duration::from_secs(30));
        assert_eq!(o.concurrency, 4);
        assert!(!o.durability && !o.build);
        assert_eq!(
            parse(&args(&["--quick"])).unwrap().load,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn three_destinations_run_right_after_the_row_they_are_compared_with() {
        let all = rows(true);
        let three = all.iter().position(|(_, v)| v.destinations == 3).unwrap();
        let (shape, variant) = all[three - 1];
        assert_eq!(shape, SHAPES[1]);
        assert_eq!(variant, Variant::BASE);
        assert_eq!(all[three].0, SHAPES[1]);
        assert_eq!(rows(false).len(), SHAPES.len());
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        assert!(
            parse(&args(&["--duration", "soon"]))
                .unwrap_err()
                .contains("--duration")
        );
        assert!(
            parse(&args(&["--concurrency", "0"]))
                .unwrap_err()
                .contains("--concurrency")
        );
        assert!(parse(&args(&["--fast"])).unwrap_err().contains("--fast"));
        assert_eq!(parse(&args(&["--relays", "3"])).unwrap().relays, Some(3));
        for bad in ["1", "6", "x"] {
            assert!(
                parse(&args(&["--relays", bad]))
                    .unwrap_err()
                    .contains("--relays")
            );
        }
        assert!(
            parse(&args(&["--out"]))
                .unwrap_err()
                .contains("needs a value")
        );
    }
}
