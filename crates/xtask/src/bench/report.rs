//! The `BENCHMARKS.md` section of `cargo xtask bench`: rendered from one run's results and
//! written between its own markers, so the sections other benchmarks write stay intact.

use std::fmt::Write as _;
use std::path::Path;

use super::error::BenchError;
use super::generator::{Floor, LoadResult, Shape, WalAppend};
use super::machine::Machine;
use super::relay::Kind;
use super::scenario::{KillRow, Target, ThroughputRow, Variant};

/// Start marker of this section.
pub const START: &str = "<!-- cargo-xtask-bench:start -->";
/// End marker of this section.
pub const END: &str = "<!-- cargo-xtask-bench:end -->";

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Results {
    /// The command line.
    pub command: String,
    /// Load time per row, seconds.
    pub load_seconds: f64,
    /// Concurrent requests of every load.
    pub concurrency: u32,
    /// The machine.
    pub machine: Option<Machine>,
    /// Floors per shape.
    pub floors: Vec<(Shape, Floor)>,
    /// WAL group-commit append rate per shape.
    pub wal: Vec<(Shape, WalAppend)>,
    /// Generator straight into the null receiver, per shape.
    pub generator: Vec<(Shape, LoadResult)>,
    /// Relays at saturation.
    pub relays: Vec<ThroughputRow>,
    /// Why there is no prw row, if there is none.
    pub prw_note: Option<String>,
    /// Kill scenarios.
    pub kills: Vec<KillRow>,
    /// Rows that failed, with the reason.
    pub failures: Vec<String>,
}

/// `1.23 M`, `45.6 k`, `789`.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ratio(prw: Option<f64>, vm: Option<f64>) -> String {
    match (prw, vm) {
        (Some(p), Some(v)) if v > 0.0 => format!("{:.2}x", p / v),
        _ => "-".into(),
    }
}

impl Results {
    /// The Markdown section, markers included.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{START}");
        s.push_str("## Relays side by side: prw relay vs vmagent, and the limits (`cargo xtask bench`)\n\n");
        s.push_str("Regenerate with the command below; this section is rewritten by `cargo xtask bench` (the\nother sections of this file are left as they are).\n\n");
        let _ = writeln!(s, "- command: `{}`", self.command);
        if let Some(m) = &self.machine {
            let _ = writeln!(s, "- date: {}", m.date);
            let _ = writeln!(
                s,
                "- machine: {}; {} RAM; relay data on {}; {}; load average {} when the run started \
                 (the machine is shared with other work, so figures are noisy and lower than on an idle host)",
                m.cpu, m.memory, m.disk, m.kernel, m.load_average
            );
        }
        let _ = writeln!(
            s,
            "- workload: Remote Write 1.0 requests of 500 or 2,000 series x 1 sample, 10 labels per series \
             (`__name__` from real metric names, `namespace`, `pod`, `container`, `instance`, `job`, `node`, \
             `service`, `endpoint`, `cluster`), generated and snappy-compressed before the clock starts, sent by \
             `prw bench` with concurrency {} over keep-alive connections for {:.0} s per row",
            self.concurrency, self.load_seconds
        );
        s.push('\n');
        self.render_limits(&mut s);
        self.render_relays(&mut s);
        self.render_kills(&mut s);
        self.render_goals(&mut s);
        if !self.failures.is_empty() {
            s.push_str("### Rows that could not be measured in this run\n\n");
            for f in &self.failures {
                let _ = writeln!(s, "- {f}");
            }
            s.push('\n');
        }
        self.render_targets(&mut s);
        s.push_str(EXPLANATIONS);
        let _ = writeln!(s, "{END}");
        s
    }

    fn render_limits(&self, s: &mut String) {
        s.push_str("### Limits measured in the same run\n\n");
        let shapes: Vec<Shape> = self.floors.iter().map(|(sh, _)| *sh).collect();
        s.push_str("| limit |");
        for sh in &shapes {
            let _ = write!(s, " {} series/request |", sh.series);
        }
        s.push_str("\n|---|");
        for _ in &shapes {
            s.push_str("---|");
        }
        s.push('\n');
        s.push_str("| snappy decompress alone, one core (samples/s) |");
        for (_, f) in &self.floors {
            let _ = write!(s, " {} ({} B/request) |", si(f.snappy), f.compressed_bytes);
        }
        s.push_str("\n| snappy decompress + prw-core validation, one core (samples/s) |");
        for (_, f) in &self.floors {
            let _ = write!(s, " {} |", si(f.validate));
        }
        s.push_str(
            "\n| WAL group-commit append, fsync before ack (durable requests/s; samples/s) |",
        );
        for sh in &shapes {
            match self.wal.iter().find(|(w, _)| w == sh) {
                Some((_, w)) => {
                    let _ = write!(
                        s,
                        " {:.0} req/s, {} samples/s ({:.0} MB/s, {} appenders) |",
                        w.records_per_second,
                        si(w.samples_per_second),
                        w.mb_per_second,
                        w.appenders
                    );
                }
                None => s.push_str(" not measured |"),
            }
        }
        s.push_str("\n| load generator -> null receiver (samples/s; p50 / p99 latency) |");
        for sh in &shapes {
            match self.generator.iter().find(|(g, _)| g == sh) {
                Some((_, r)) => {
                    let _ = write!(
                        s,
                        " {} ({:.1} / {:.1} ms) |",
                        si(r.samples_per_second),
                        r.p50_ms,
                        r.p99_ms
                    );
                }
                None => s.push_str(" not measured |"),
            }
        }
        s.push_str("\n\n");
    }

    fn render_relays(&self, s: &mut String) {
        s.push_str("### Relays at saturation (null receiver behind each)\n\n");
        if let Some(note) = &self.prw_note {
            let _ = writeln!(
                s,
                "prw relay: **{note}**; its column is empty until it is.\n"
            );
        }
        let mut groups: Vec<(Variant, Shape)> = Vec::new();
        for r in &self.relays {
            if !groups.contains(&(r.variant, r.shape)) {
                groups.push((r.variant, r.shape));
            }
        }
        for (variant, shape) in groups {
            let find = |k: Kind| {
                self.relays
                    .iter()
                    .find(|r| r.kind == k && r.shape == shape && r.variant == variant)
            };
            let (vm, prw) = (find(Kind::Vmagent), find(Kind::Prw));
            if variant == Variant::BASE {
                let _ = writeln!(s, "**{} series per request**\n", shape.series);
            } else {
                let _ = writeln!(
                    s,
                    "**{} series per request; {}**\n",
                    shape.series,
                    variant.label()
                );
            }
            s.push_str("| figure | vmagent | prw relay | prw / vmagent |\n|---|---|---|---|\n");
            type Figure = (
                &'static str,
                fn(&ThroughputRow) -> Option<f64>,
                fn(f64) -> String,
            );
            let figures: [Figure; 7] = [
                (
                    "accepted samples/s",
                    |r| Some(r.load.samples_per_second),
                    si,
                ),
                (
                    "CPU-seconds per million samples",
                    ThroughputRow::cpu_per_million,
                    |x| format!("{x:.2}"),
                ),
                (
                    "of which in the kernel (system time, %)",
                    |r| {
                        r.system_seconds
                            .zip(r.cpu_seconds)
                            .filter(|(_, total)| *total > 0.0)
                            .map(|(system, total)| 100.0 * system / total)
                    },
                    |x| format!("{x:.0}"),
                ),
                (
                    "peak RSS (MiB)",
                    |r| r.peak_rss.map(|b| b as f64 / 1048576.0),
                    |x| format!("{x:.0}"),
                ),
                (
                    "p50 ingest latency (ms)",
                    |r| Some(r.load.p50_ms),
                    |x| format!("{x:.1}"),
                ),
                (
                    "p99 ingest latency (ms)",
                    |r| Some(r.load.p99_ms),
                    |x| format!("{x:.1}"),
                ),
                (
                    "samples delivered to the receiver (all destinations)",
                    |r| Some(r.delivered as f64),
                    |x| format!("{x:.0}"),
                ),
            ];
            for (name, get, show) in figures {
                let v = vm.and_then(get);
                let p = prw.and_then(get);
                let _ = writeln!(
                    s,
                    "| {name} | {} | {} | {} |",
                    v.map_or("-".into(), show),
                    p.map_or("-".into(), show),
                    ratio(p, v)
                );
            }
            let acked =
                |r: Option<&ThroughputRow>| r.map_or("-".into(), |r| r.load.samples_ok.to_string());
            let times = if variant.destinations > 1 {
                format!(" (x {} destinations)", variant.destinations)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "| samples acknowledged to the generator{times} | {} | {} | |",
                acked(vm),
                acked(prw)
            );
            let tail = prw.and_then(|r| r.tail).map_or("-".into(), |t| {
                format!("{} / {} (+{} shared)", t.hits, t.wal_reads, t.shared)
            });
            let _ = writeln!(
                s,
                "| records taken from the tail / read back from the WAL (+ taken from another destination's WAL read) | - | {tail} | |\n"
            );
        }
    }

    fn render_kills(&self, s: &mut String) {
        s.push_str("### Durability: `kill -9` under load, restart on the same data, drain\n\n");
        if self.kills.is_empty() {
            s.push_str("Not run.\n\n");
            return;
        }
        s.push_str("| relay | load | killed after | requests in flight at the kill | samples acknowledged | pairs at the receiver after restart + drain | acknowledged samples lost |\n|---|---|---|---|---|---|---|\n");
        for k in &self.kills {
            let load = match k.rate {
                Some(r) => format!("{}, {r:.0} requests/s", k.scenario),
                None => k.scenario.to_owned(),
            };
            let (low, high) = k.lost();
            let lost = if low == high {
                low.to_string()
            } else {
                format!("{low} to {high}")
            };
            let note = if k.under_load {
                ""
            } else {
                " (generator had finished)"
            };
            let _ = writeln!(
                s,
                "| {} | {load} | {:.1} s{note} | {} | {} | {} | **{lost}** |",
                k.kind.name(),
                k.kill_after,
                k.load.in_flight,
                k.load.samples_ok,
                k.received
            );
        }
        s.push('\n');
    }
}

/// Whether a goal was met.
fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not evaluable in this run",
    }
}

impl Results {
    fn render_goals(&self, s: &mut String) {
        let shape = Shape {
            series: 2000,
            labels: 10,
        };
        let find = |k: Kind| {
            self.relays
                .iter()
                .find(|r| r.kind == k && r.shape == shape && r.variant == Variant::BASE)
        };
        let (vm, prw) = (find(Kind::Vmagent), find(Kind::Prw));
        s.push_str("### Goals of issue 8 (2,000-series requests)\n\n| goal | measured | verdict |\n|---|---|---|\n");
        let per_cpu = |r: &ThroughputRow| r.cpu_per_million().filter(|c| *c > 0.0).map(|c| 1e6 / c);
        let cpu = prw
            .and_then(per_cpu)
            .zip(vm.and_then(per_cpu))
            .map(|(p, v)| p / v);
        let _ = writeln!(
            s,
            "| samples per CPU-second at least 3x vmagent's | {} | {} |",
            cpu.map_or("-".into(), |x| format!("{x:.2}x")),
            verdict(cpu.map(|x| x >= 3.0))
        );
        let rss = prw
            .and_then(|p| p.peak_rss)
            .zip(vm.and_then(|v| v.peak_rss))
            .map(|(p, v)| p as f64 / v.max(1) as f64);
        let _ = writeln!(
            s,
            "| peak RSS at most vmagent's | {} | {} |",
            rss.map_or("-".into(), |x| format!("{x:.2}x vmagent's")),
            verdict(rss.map(|x| x <= 1.0))
        );
        let kills: Vec<&KillRow> = self.kills.iter().filter(|k| k.kind == Kind::Prw).collect();
        let lost = (!kills.is_empty()).then(|| {
            kills.iter().fold((0, 0), |(a, b), k| {
                let (low, high) = k.lost();
                (a + low, b + high)
            })
        });
        let lost_verdict = lost.and_then(|(low, high)| {
            if high == 0 {
                Some(true)
            } else if low > 0 {
                Some(false)
            } else {
                None
            }
        });
        let _ = writeln!(
            s,
            "| 0 acknowledged samples lost on kill -9 | {} | {} |",
            lost.map_or("-".into(), |(l, h)| if l == h {
                l.to_string()
            } else {
                format!("{l} to {h}")
            }),
            verdict(lost_verdict)
        );
        let floor = self
            .floors
            .iter()
            .find(|(sh, _)| *sh == shape)
            .map(|(_, f)| f.snappy);
        let ingest = prw
            .and_then(per_cpu)
            .zip(floor)
            .map(|(p, f)| p / f.max(1.0));
        let _ = writeln!(
            s,
            "| ingest at 25% or more of the snappy floor per core | {} | {} |\n",
            ingest.map_or("-".into(), |x| format!(
                "{:.1}% (samples per relay CPU-second / snappy samples/s)",
                x * 100.0
            )),
            verdict(ingest.map(|x| x >= 0.25))
        );
    }
}

/// Issue 11's targets (with `sync: always`): prw's CPU per sample at most half of
/// vmagent's on the 1-destination rows, peak RSS at most 45 MiB at 2,000 series, p99 ingest
/// latency no worse than vmagent's, 3 destinations at most 1.5x the CPU of 1, and every
/// acknowledged sample delivered.
impl Results {
    fn row(&self, kind: Kind, series: u32, variant: Variant) -> Option<&ThroughputRow> {
        self.relays
            .iter()
            .find(|r| r.kind == kind && r.shape.series == series && r.variant == variant)
    }

    fn render_targets(&self, s: &mut String) {
        s.push_str("### Targets of issue 11 (`sync: always`)\n\n| target | measured | verdict |\n|---|---|---|\n");
        let victoria = Variant {
            target: Target::Victoria,
            ..Variant::BASE
        };
        for variant in [Variant::BASE, victoria] {
            for series in [500, 2000] {
                let (prw, vm) = (
                    self.row(Kind::Prw, series, variant),
                    self.row(Kind::Vmagent, series, variant),
                );
                let cpu = prw
                    .and_then(ThroughputRow::cpu_per_million)
                    .zip(vm.and_then(ThroughputRow::cpu_per_million))
                    .map(|(p, v)| p / v.max(f64::MIN_POSITIVE));
                let into = match variant.target {
                    Target::Null => "null receiver",
                    Target::Victoria => "VictoriaMetrics",
                };
                let _ = writeln!(
                    s,
                    "| CPU per sample at most 0.5x vmagent's ({series} series, {into}) | {} | {} |",
                    cpu.map_or("-".into(), |x| format!("{x:.2}x vmagent's")),
                    verdict(cpu.map(|x| x <= 0.5))
                );
            }
        }
        let rss = self
            .row(Kind::Prw, 2000, Variant::BASE)
            .and_then(|r| r.peak_rss)
            .map(|b| b as f64 / 1048576.0);
        let _ = writeln!(
            s,
            "| peak RSS at most 45 MiB (2000 series, tail included) | {} | {} |",
            rss.map_or("-".into(), |x| format!("{x:.0} MiB")),
            verdict(rss.map(|x| x <= 45.0))
        );
        for series in [500, 2000] {
            let p99 = self
                .row(Kind::Prw, series, Variant::BASE)
                .map(|r| r.load.p99_ms)
                .zip(
                    self.row(Kind::Vmagent, series, Variant::BASE)
                        .map(|r| r.load.p99_ms),
                );
            let _ = writeln!(
                s,
                "| p99 ingest latency no worse than vmagent's ({series} series) | {} | {} |",
                p99.map_or("-".into(), |(p, v)| format!("{p:.1} vs {v:.1} ms")),
                verdict(p99.map(|(p, v)| p <= v))
            );
        }
        let three = Variant {
            destinations: 3,
            ..Variant::BASE
        };
        let scaling = self
            .row(Kind::Prw, 2000, three)
            .and_then(ThroughputRow::cpu_per_million)
            .zip(
                self.row(Kind::Prw, 2000, Variant::BASE)
                    .and_then(ThroughputRow::cpu_per_million),
            )
            .map(|(three, one)| three / one.max(f64::MIN_POSITIVE));
        let _ = writeln!(
            s,
            "| CPU with 3 destinations at most 1.5x CPU with 1 (per acknowledged sample) | {} | {} |",
            scaling.map_or("-".into(), |x| format!("{x:.2}x")),
            verdict(scaling.map(|x| x <= 1.5))
        );
        let prw_rows: Vec<&ThroughputRow> =
            self.relays.iter().filter(|r| r.kind == Kind::Prw).collect();
        let short = prw_rows
            .iter()
            .filter(|r| {
                r.delivered
                    < r.load
                        .samples_ok
                        .saturating_mul(r.variant.destinations as u64)
            })
            .count();
        let _ = writeln!(
            s,
            "| every acknowledged sample delivered (every prw row) | {} of {} rows short | {} |\n",
            short,
            prw_rows.len(),
            verdict((!prw_rows.is_empty()).then_some(short == 0))
        );
    }
}

const EXPLANATIONS: &str = "### What each figure means\n\n\
- *snappy decompress alone*: how many samples per second one core turns from snappy back into protobuf bytes, on the exact payloads sent; no relay can ingest faster than this per core.\n\
- *decompress + validation*: the same plus prw-core's validation in verdict mode, i.e. the relay's per-request CPU work before the WAL append.\n\
- *WAL group-commit append*: request bodies per second that prw-wal makes durable (`append` returns after fdatasync; concurrent appenders share one fsync) on the same disk as the relays' data: the durable half of prw's ingest path.\n\
- *load generator -> null receiver*: the generator's own ceiling against a receiver that answers 204 without decoding; a relay figure near it means the generator, not the relay, was the limit.\n\
- *accepted samples/s*: samples in requests the relay answered 2xx, per second of the run, with the generator sending as fast as the relay answers.\n\
- *CPU-seconds per million samples*: utime + stime of the relay process (`/proc/<pid>/stat`) from the first request until the receiver got everything, divided by the acknowledged samples in millions; lower is better.\n\
- *of which in the kernel*: the relay's `stime` as a share of its `utime + stime` over the same window: syscalls (socket reads and writes, the WAL's writes and fdatasync), page faults and thread wake-ups.\n\
- *records taken from the tail / read back from the WAL (+ taken from another destination's WAL read)*: prw's `prw_tail_hits_total`, `prw_tail_wal_reads_total` and `prw_tail_wal_reads_shared_total` at the end of the row, summed over destinations; a shared record was read from the WAL and decoded once for the destinations behind the tail together. At saturation the generator outruns delivery, the tail (`tail.max_bytes`, 8 MiB) evicts what a destination has not taken yet, and that destination reads it back from the WAL (decompress again, trusted facts pass): correct, but more CPU per sample than the in-memory path.\n\
- *peak RSS*: `VmHWM` of the relay process (`/proc/<pid>/status`) at the end of the row; each row starts a fresh process.\n\
- *p50 / p99 ingest latency*: time from sending a request to the end of the relay's answer, as the generator saw it, at saturation (so it includes queueing).\n\
- *samples delivered*: samples the null receiver decoded (VictoriaMetrics: stored, `vm_rows_inserted_total`) after the relay's queue drained (bounded wait, longer with more destinations); it should equal the acknowledged samples times the destinations.\n\
- *Remote Write 2.0 in*: the generator sends `io.prometheus.write.v2.Request` bodies; *2.0 out*: the relay's destination has `protobuf_message: io.prometheus.write.v2.Request`. vmagent 1.79 speaks 1.0 only, so those rows are prw's alone.\n\
- *3 destinations*: three `remote_write` entries (vmagent: three `-remoteWrite.url`) to the same receiver; each sample is delivered three times.\n\
- *the null receiver*: the workspace's test receiver with `--decode`; it decodes every body to count samples and distinct (series, timestamp) pairs, and shares the machine's cores with the relay and the generator (as does the generator), so every relay pays the same tax.\n\
- *prw / vmagent*: prw's figure divided by vmagent's (above 1 is better for samples/s, below 1 is better for CPU, RSS and latency).\n\
- *durability*: the relay is killed with SIGKILL while the generator sends (steady: a quarter of its saturated rate; full speed: as fast as possible), then restarted on the same data directory and given time to deliver. Every request carries its own timestamps, so the receiver's count of distinct (series, timestamp) pairs says how many acknowledged samples arrived; requests in flight at the kill (sent, never answered) may or may not have arrived, hence a range when there were some.\n\n";

/// Writes `section` into `path` between the markers, replacing a previous one; creates the
/// file with a title when missing.
pub fn write_section(path: &Path, section: &str) -> Result<(), BenchError> {
    write_marked_section(path, (START, END), section)
}

/// Writes `section` into `path` between its `markers` (start, end), replacing a previous one;
/// creates the file with a title when missing.
pub fn write_marked_section(
    path: &Path,
    markers: (&str, &str),
    section: &str,
) -> Result<(), BenchError> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let new = replace_section(&old, markers, section);
    std::fs::write(path, new).map_err(|source| BenchError::Io {
        what: "write",
        path: path.into(),
        source,
    })
}

fn replace_section(old: &str, (start, end): (&str, &str), section: &str) -> String {
    match (old.find(start), old.find(end)) {
        (Some(a), Some(b)) if b > a => {
            let (before, rest) = old.split_at(a);
            let after = rest.split_once(end).map_or("", |(_, after)| after);
            format!("{before}{}{}", section.trim_end_matches('\n'), after)
        }
        _ => {
            let sep = if old.ends_with("\n\n") || old.is_empty() {
                ""
            } else if old.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{old}{sep}{section}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::relay::TailReads;
    use super::*;

    #[test]
    fn section_is_appended_once_then_replaced_leaving_other_sections_intact() {
        let original = "# Benchmarks\n\n## WAL\n\nwal numbers\n";
        let first = replace_section(original, (START, END), &format!("{START}\nrun 1\n{END}\n"));
        assert!(first.starts_with(original));
        let with_more = format!("{first}\n## Edge filter\n\nfilter numbers\n");
        let second = replace_section(
            &with_more,
            (START, END),
            &format!("{START}\nrun 2\n{END}\n"),
        );
        assert!(second.contains("run 2") && !second.contains("run 1"));
        assert!(second.contains("wal numbers") && second.contains("filter numbers"));
        assert_eq!(second.matches(START).count(), 1);
    }

    fn relay_row(
        kind: Kind,
        samples_per_second: f64,
        cpu_seconds: f64,
        rss_mib: u64,
    ) -> ThroughputRow {
        ThroughputRow {
            kind,
            variant: Variant::BASE,
            shape: Shape {
                series: 2000,
                labels: 10,
            },
            load: LoadResult {
                samples_ok: 1_000_000,
                samples_per_second,
                ..LoadResult::default()
            },
            cpu_seconds: Some(cpu_seconds),
            system_seconds: Some(cpu_seconds / 4.0),
            tail: (kind == Kind::Prw).then_some(TailReads {
                hits: 90,
                wal_reads: 10,
                shared: 4,
            }),
            peak_rss: Some(rss_mib << 20),
            delivered: 1_000_000,
        }
    }

    #[test]
    fn prw_row_plugs_in_with_ratios_and_goal_verdicts() {
        let kill = |kind, received| KillRow {
            kind,
            scenario: "full speed",
            rate: None,
            kill_after: 1.0,
            under_load: true,
            load: LoadResult {
                samples_ok: 1000,
                samples_per_request: 100,
                ..LoadResult::default()
            },
            received,
        };
        let results = Results {
            relays: vec![
                relay_row(Kind::Vmagent, 400e3, 1.0, 200),
                relay_row(Kind::Prw, 800e3, 0.25, 100),
            ],
            floors: vec![(
                Shape {
                    series: 2000,
                    labels: 10,
                },
                Floor {
                    snappy: 10e6,
                    validate: 1e6,
                    compressed_bytes: 1,
                },
            )],
            kills: vec![kill(Kind::Vmagent, 400), kill(Kind::Prw, 1000)],
            ..Results::default()
        };
        let text = results.render();
        assert!(
            text.contains("| accepted samples/s | 400.0 k | 800.0 k | 2.00x |"),
            "{text}"
        );
        assert!(
            text.contains("| samples per CPU-second at least 3x vmagent's | 4.00x | met |"),
            "{text}"
        );
        assert!(
            text.contains("| peak RSS at most vmagent's | 0.50x vmagent's | met |"),
            "{text}"
        );
        assert!(
            text.contains("| 0 acknowledged samples lost on kill -9 | 0 | met |"),
            "{text}"
        );
        assert!(
            text.contains("40.0% (samples per relay CPU-second / snappy samples/s) | met |"),
            "{text}"
        );
        assert!(
            text.contains("| vmagent | full speed | 1.0 s | 0 | 1000 | 400 | **600** |"),
            "{text}"
        );
        // system_seconds is a quarter of cpu_seconds in `relay_row`; only prw has a tail.
        assert!(
            text.contains("| of which in the kernel (system time, %) | 25 | 25 | 1.00x |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| records taken from the tail / read back from the WAL (+ taken from another destination's WAL read) | - | 90 / 10 (+4 shared) | |"
            ),
            "{text}"
        );
    }

    #[test]
    fn issue_11_targets_get_their_verdicts_and_variant_rows_their_own_tables() {
        let mut three = relay_row(Kind::Prw, 800e3, 0.30, 40);
        three.variant = Variant {
            destinations: 3,
            ..Variant::BASE
        };
        three.delivered = 3_000_000;
        let results = Results {
            relays: vec![
                relay_row(Kind::Vmagent, 400e3, 1.0, 200),
                relay_row(Kind::Prw, 800e3, 0.25, 40),
                three,
            ],
            ..Results::default()
        };
        let text = results.render();
        assert!(
            text.contains("| CPU per sample at most 0.5x vmagent's (2000 series, null receiver) | 0.25x vmagent's | met |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| peak RSS at most 45 MiB (2000 series, tail included) | 40 MiB | met |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| CPU with 3 destinations at most 1.5x CPU with 1 (per acknowledged sample) | 1.20x | met |"),
            "{text}"
        );
        assert!(
            text.contains("**2000 series per request; Remote Write 1.0 in, 1.0 out, 3 destinations, into the null receiver**"),
            "{text}"
        );
        assert!(
            text.contains(
                "| every acknowledged sample delivered (every prw row) | 0 of 2 rows short | met |"
            ),
            "{text}"
        );
    }

    #[test]
    fn render_shows_missing_prw_column_and_ratio_dashes() {
        let results = Results {
            command: "cargo xtask bench".into(),
            prw_note: Some("relay not available in this build".into()),
            ..Results::default()
        };
        let text = results.render();
        assert!(text.contains("relay not available in this build"));
        assert!(text.starts_with(START) && text.trim_end().ends_with(END));
    }
}
