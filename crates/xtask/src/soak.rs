//! `cargo xtask soak`: `prw relay` under load from `prw bench`, killed with SIGKILL again and
//! again (`--kills 100` by default) and restarted on the same data directory each time; at
//! the end the test receiver's exact set of (series, timestamp) pairs must contain every pair
//! the generator had acknowledged. Not part of `cargo xtask test`.
//!
//! Kills cycle through four kinds: a random moment (`kill -9` from outside after 0.3–3 s of
//! load), and SIGKILL from inside prw-wal at a kill point reached on purpose: segment
//! rotation, retention (deleting a delivered segment), a cursor commit. The kill points exist
//! only in the soak build of `prw` (cargo feature `prw-wal/failpoints`, armed per run with
//! `PRW_WAL_FAILPOINTS`); a point not reached within 30 s falls back to a kill from outside
//! (counted separately).
//!
//! Prints kills, acknowledged, lost (must be 0), duplicates and time, and writes them into
//! the reliability section of `BENCHMARKS.md`. Exit code 1 when anything was lost.
//!
//! Before the first kill, one request of the same shape is sent straight to the receiver at a
//! timestamp of its own: the series it leaves there are the exact series set every
//! acknowledged timestamp must have ([`ledger`]).
//!
//! Flags: `--kills N` (100), `--seed N` (random kill delays; default from the clock),
//! `--series N` (500 per request), `--rate N` (50 requests/s), `--no-build` (reuse
//! `target/xtask/soak/prw` and `target/release/prw-test-receiver`), `--out FILE`
//! (`BENCHMARKS.md`). The failpoint build of `prw` has its own target directory
//! (`target/xtask/soak/target`), so it never replaces `target/release/prw`.
//!
//! Invariants: every process is killed and reaped when its guard drops, also on error; the
//! data directory `target/xtask/soak/run/` is emptied at the start of a run.

mod cycle;
mod ledger;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::bench::error::BenchError;
use crate::bench::process::{free_port, wait_listening};
use crate::bench::receiver::NullReceiver;
use crate::bench::report::write_marked_section;
use crate::stage::{Stages, exec};
use crate::workspace;
use cycle::{KillKind, Soak};
use ledger::{Comparison, Ledger};

const USAGE: &str = "usage: cargo xtask soak [--kills 100] [--seed N] [--series 500] [--rate 50] [--no-build] [--out FILE]";
const START: &str = "<!-- cargo-xtask-soak:start -->";
const END: &str = "<!-- cargo-xtask-soak:end -->";

#[derive(Debug, Clone, PartialEq)]
struct Options {
    kills: u32,
    seed: u64,
    series: u64,
    rate: u64,
    build: bool,
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        kills: 100,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        series: 500,
        rate: 50,
        build: true,
        out: workspace::path("BENCHMARKS.md"),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        let number = |v: String, name: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{name}: `{v}` is not a positive number"))
        };
        match arg.as_str() {
            "--kills" => {
                let n = number(value("--kills")?, "--kills")?;
                o.kills = u32::try_from(n).map_err(|_| "--kills: too large".to_owned())?;
            }
            "--seed" => o.seed = number(value("--seed")?, "--seed")?,
            "--series" => o.series = number(value("--series")?, "--series")?,
            "--rate" => o.rate = number(value("--rate")?, "--rate")?,
            "--no-build" => o.build = false,
            "--out" => o.out = PathBuf::from(value("--out")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(o)
}

/// `cargo xtask soak ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask soak: {e}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    match run(&options) {
        Ok(result) if result.comparison.is_complete() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("xtask soak: {err}");
            ExitCode::FAILURE
        }
    }
}

/// What a soak run found.
#[derive(Debug)]
struct SoakResult {
    kills: BTreeMap<KillKind, (u32, u32)>,
    requests: usize,
    comparison: Comparison,
    duplicates: u64,
    took: Duration,
}

fn run(o: &Options) -> Result<SoakResult, BenchError> {
    let mut stages = Stages::default();
    let (prw, receiver_bin) = if o.build {
        build(&mut stages)?
    } else {
        (
            workspace::path("target/xtask/soak/prw"),
            workspace::path("target/release/prw-test-receiver"),
        )
    };
    let dir = workspace::path("target/xtask/soak/run");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| BenchError::Io {
        what: "create",
        path: dir.clone(),
        source,
    })?;
    let receiver = NullReceiver::start(&receiver_bin, true)?;
    write_config(&dir, &receiver.write_url())?;
    let soak = Soak {
        prw,
        dir,
        addr: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
        series: o.series,
        rate: o.rate,
    };
    let started = Instant::now();
    let mut next_base = now_ms() - 3_600_000;
    let calibration_ms = next_base - 1;
    soak.calibrate(&receiver.write_url(), calibration_ms)?;
    let mut ledger = Ledger::from_calibration(&receiver.pairs()?, calibration_ms);
    if ledger.series() != o.series as usize {
        return Err(BenchError::Json {
            what: "the calibration request".into(),
            detail: format!(
                "{} series at the receiver, {} sent",
                ledger.series(),
                o.series
            ),
        });
    }
    let mut kills: BTreeMap<KillKind, (u32, u32)> = BTreeMap::new();
    let mut rng = fastrand::Rng::with_seed(o.seed);
    eprintln!("==> soak: {} kills, seed {}", o.kills, o.seed);
    for i in 0..o.kills {
        let kind = KillKind::ALL[i as usize % KillKind::ALL.len()];
        let delay = Duration::from_millis(rng.u64(300..3000));
        let ended = soak.cycle(kind, delay, &mut ledger, &mut next_base)?;
        let entry = kills.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += u32::from(ended.on_purpose);
        eprintln!(
            "    kill {:>3}/{}: {:<40} {} acknowledged requests so far",
            i + 1,
            o.kills,
            kind.name(),
            ledger.requests()
        );
    }
    let comparison = stages.time("soak: restart and drain", || {
        drain(&soak, &receiver, &ledger)
    })?;
    let result = SoakResult {
        kills,
        requests: ledger.requests(),
        duplicates: receiver.duplicates()?,
        comparison,
        took: started.elapsed(),
    };
    let text = render(o, &result);
    println!("{text}");
    write_marked_section(&o.out, (START, END), &text)?;
    eprintln!("    wrote {}", o.out.display());
    stages.summary();
    Ok(result)
}

/// Where the failpoint build of `prw` is compiled: a target directory of its own, so it never
/// replaces the normal `target/release/prw`.
const SOAK_TARGET_DIR: &str = "target/xtask/soak/target";

/// The failpoint build of `prw` (in [`SOAK_TARGET_DIR`]), copied to `target/xtask/soak/prw`,
/// and the release test receiver.
fn build(stages: &mut Stages) -> Result<(PathBuf, PathBuf), BenchError> {
    let target_dir = workspace::path(SOAK_TARGET_DIR);
    stages.time("soak: build prw with kill points (release)", || {
        let mut cmd = workspace::cargo();
        cmd.args([
            "build",
            "--release",
            "-p",
            "prw",
            "--features",
            "prw-wal/failpoints",
            "--target-dir",
        ])
        .arg(&target_dir);
        exec(
            "cargo build --release -p prw --features prw-wal/failpoints --target-dir target/xtask/soak/target",
            &mut cmd,
        )
    })?;
    let prw = workspace::path("target/xtask/soak/prw");
    if let Some(parent) = prw.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BenchError::Io {
            what: "create",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::copy(target_dir.join("release/prw"), &prw).map_err(|source| BenchError::Io {
        what: "copy",
        path: prw.clone(),
        source,
    })?;
    stages.time("soak: build test receiver (release)", || {
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
    Ok((prw, workspace::path("target/release/prw-test-receiver")))
}

/// Small segments (so rotation and retention happen every few seconds) and short backoffs.
fn write_config(dir: &Path, receiver_url: &str) -> Result<(), BenchError> {
    let yaml = format!(
        "wal:\n  segment_bytes: 1MiB\nremote_write:\n  - name: soak\n    url: {receiver_url}\n    \
         remote_timeout: 5s\n    queue_config:\n      max_shards: 2\n      min_shards: 1\n      \
         max_samples_per_send: 5000\n      batch_send_deadline: 200ms\n      min_backoff: 50ms\n      \
         max_backoff: 500ms\n"
    );
    let path = dir.join("relay.yaml");
    std::fs::write(&path, yaml).map_err(|source| BenchError::Io {
        what: "write",
        path,
        source,
    })
}

/// Starts the relay once more without kill points, waits until the receiver holds every
/// acknowledged pair (or 60 s pass without progress), then stops it with SIGTERM.
fn drain(soak: &Soak, receiver: &NullReceiver, ledger: &Ledger) -> Result<Comparison, BenchError> {
    let mut relay = soak.start_relay(None)?;
    wait_listening(&mut relay, soak.addr, 60)?;
    let mut last = ledger.compare(&receiver.pairs()?);
    let mut progress_at = Instant::now();
    while last.lost > 0 && progress_at.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(1));
        let now = ledger.compare(&receiver.pairs()?);
        if now.lost < last.lost {
            progress_at = Instant::now();
        }
        last = now;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &relay.pid().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !relay.exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(last)
}

fn render(o: &Options, r: &SoakResult) -> String {
    let c = &r.comparison;
    let total: u32 = r.kills.values().map(|(n, _)| n).sum();
    let mut s = String::new();
    let _ = writeln!(s, "{START}");
    let _ = writeln!(
        s,
        "## Reliability: `cargo xtask soak` (SIGKILL under load, restart on the same WAL)\n"
    );
    let _ = writeln!(
        s,
        "`cargo xtask soak --kills {} --seed {}` ({} series x 4 labels per request, {} requests/s, \
         1 MiB segments), {}:\n",
        o.kills,
        o.seed,
        o.series,
        o.rate,
        machine_line()
    );
    let _ = writeln!(
        s,
        "| kill | count | at the kill point on purpose |\n|---|---|---|"
    );
    for (kind, (n, on_purpose)) in &r.kills {
        let _ = writeln!(s, "| {} | {n} | {on_purpose} |", kind.name());
    }
    let _ = writeln!(s, "| **total** | **{total}** | |\n");
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(s, "| acknowledged requests | {} |", r.requests);
    let _ = writeln!(
        s,
        "| acknowledged samples ((series, timestamp) pairs) | {} |",
        c.acknowledged
    );
    let _ = writeln!(
        s,
        "| **lost** (acknowledged, not at the receiver) | **{}** |",
        c.lost
    );
    let _ = writeln!(
        s,
        "| duplicates at the receiver (redelivered after a kill) | {} |",
        r.duplicates
    );
    let _ = writeln!(
        s,
        "| distinct series at the receiver | {} (expected {}) |",
        c.series_seen, o.series
    );
    let _ = writeln!(s, "| time | {:.0} s |", r.took.as_secs_f64());
    let _ = writeln!(
        s,
        "| series nobody sent at acknowledged timestamps | {} |",
        c.unexpected
    );
    if c.lost > 0 {
        let _ = writeln!(
            s,
            "\nLOST: acknowledged timestamps missing series, e.g. {:?}",
            c.examples
        );
    }
    let _ = writeln!(
        s,
        "\nA random kill is `kill -9` from outside; the others are SIGKILL sent by the relay to \
         itself inside prw-wal (after sealing a segment and before creating the next; before \
         deleting a delivered segment; after writing a cursor slot and before its fdatasync), \
         armed with `PRW_WAL_FAILPOINTS` in a build with the `failpoints` feature. The generator \
         is `prw bench --acked-log` (every request has its own timestamps, so the acknowledged \
         pairs are known exactly); the receiver is `prw-test-receiver --decode`, whose \
         `GET /-/pairs` gives its exact pair set. Duplicates are expected (at-least-once)."
    );
    let _ = writeln!(s, "{END}");
    s
}

fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} cores, {}", std::env::consts::ARCH)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_parse_with_100_kills_by_default() {
        let o = parse(&[]).unwrap();
        assert_eq!((o.kills, o.series, o.rate, o.build), (100, 500, 50, true));
        let o = parse(&args(&["--kills", "8", "--seed", "3", "--no-build"])).unwrap();
        assert_eq!((o.kills, o.seed, o.build), (8, 3, false));
        assert!(parse(&args(&["--kills", "0"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
    }
}
