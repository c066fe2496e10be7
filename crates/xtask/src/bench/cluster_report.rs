//! The `BENCHMARKS.md` section of `cargo xtask bench --relays N`, between its own markers
//! (the other sections of the file are left as they are).

use std::fmt::Write as _;

use super::cluster_row::{ENVOY_STATS, Front, Row, SHAPE};
use super::machine::Machine;
use super::report::si;

/// Start marker of this section.
pub const START: &str = "<!-- cargo-xtask-bench-relays:start -->";
/// End marker of this section.
pub const END: &str = "<!-- cargo-xtask-bench-relays:end -->";

/// One run of the scale-out comparison.
#[derive(Debug)]
pub struct ClusterResults {
    /// The command line.
    pub command: String,
    /// Relays in the largest row.
    pub relays: usize,
    /// The tenants the generators used.
    pub tenants: Vec<String>,
    /// Total concurrency.
    pub concurrency: u32,
    /// Load time per row, seconds.
    pub load_seconds: f64,
    /// The machine.
    pub machine: Option<Machine>,
    /// Direct, 1 behind Envoy, N behind Envoy.
    pub rows: Vec<Row>,
}

fn two(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{x:.2}"))
}

impl ClusterResults {
    fn find(&self, relays: usize, front: Front) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.relays == relays && r.front == front)
    }

    /// The Markdown section, markers included.
    pub fn render(&self) -> String {
        let n = self.relays;
        let mut s = String::new();
        let _ = writeln!(s, "{START}");
        let _ = writeln!(
            s,
            "## Scale-out: 1 relay vs {n} relays behind Envoy (`cargo xtask bench --relays {n}`)\n"
        );
        s.push_str("Rewritten by `cargo xtask bench --relays N`; see [docs/scale-out.md](docs/scale-out.md).\n\n");
        let _ = writeln!(s, "- command: `{}`", self.command);
        if let Some(m) = &self.machine {
            let _ = writeln!(s, "- date: {}", m.date);
            let _ = writeln!(
                s,
                "- machine: {}; {} RAM; relay data on {}; {}; load average {} when the run started",
                m.cpu, m.memory, m.disk, m.kernel, m.load_average
            );
        }
        let _ = writeln!(
            s,
            "- load: {} `prw bench` generators at once, one tenant each (`X-Scope-OrgID`: {}, chosen so that \
             behind {n} relays each relay carries one), {} concurrent requests in total, {} series x 1 sample x \
             {} labels per request, {:.0} s per row; every process (generators, Envoy, relays, null receiver) \
             on this one machine\n",
            self.tenants.len(),
            self.tenants.join(", "),
            self.concurrency,
            SHAPE.series,
            SHAPE.labels,
            self.load_seconds
        );
        let direct = self.find(1, Front::Direct);
        let one = self.find(1, Front::Envoy);
        let many = self.find(n, Front::Envoy);
        let _ = writeln!(
            s,
            "| figure | 1 relay, direct | 1 relay behind Envoy | {n} relays behind Envoy | {n} relays / 1 relay behind Envoy |\n|---|---|---|---|---|"
        );
        type Figure = (
            &'static str,
            fn(&Row) -> Option<f64>,
            fn(Option<f64>) -> String,
        );
        let figures: [Figure; 6] = [
            (
                "accepted samples/s",
                |r| Some(r.samples_per_second()),
                |x| x.map_or("-".into(), si),
            ),
            (
                "relays' CPU-seconds per million samples",
                |r| r.per_million(r.relay_cpu),
                two,
            ),
            (
                "Envoy's CPU-seconds per million samples",
                |r| r.per_million(r.envoy_cpu),
                two,
            ),
            (
                "relays + Envoy CPU-seconds per million samples",
                |r| r.per_million(Some(r.relay_cpu? + r.envoy_cpu.unwrap_or(0.0))),
                two,
            ),
            (
                "p99 latency, worst generator (ms)",
                |r| Some(r.p99_ms()),
                |x| x.map_or("-".into(), |x| format!("{x:.1}")),
            ),
            (
                "samples acknowledged",
                |r| Some(r.samples_ok() as f64),
                |x| x.map_or("-".into(), |x| format!("{x:.0}")),
            ),
        ];
        for (name, get, show) in figures {
            let cell = |row: Option<&Row>| show(row.and_then(get));
            let ratio = match (many.and_then(get), one.and_then(get)) {
                (Some(m), Some(o)) if o > 0.0 => format!("{:.2}x", m / o),
                _ => "-".into(),
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {ratio} |",
                cell(direct),
                cell(one),
                cell(many)
            );
        }
        if let Some(row) = many {
            let spread: Vec<String> = row
                .per_relay_requests
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect();
            let _ = writeln!(
                s,
                "\nWrite requests per relay behind Envoy ({n} relays): {} (the tenants' streams, one relay each).",
                spread.join(" / ")
            );
            let stats: Vec<String> = ENVOY_STATS
                .iter()
                .zip(&row.envoy_stats)
                .map(|(name, v)| format!("`{}` {v:.0}", name.trim_start_matches("envoy_cluster_")))
                .collect();
            if !stats.is_empty() {
                let _ = writeln!(
                    s,
                    "Envoy's cluster stats after that row: {}.",
                    stats.join(", ")
                );
            }
        }
        s.push('\n');
        self.render_reading(&mut s, one, many);
        let _ = writeln!(s, "{END}");
        s
    }

    fn render_reading(&self, s: &mut String, one: Option<&Row>, many: Option<&Row>) {
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let envoy = many.and_then(|r| r.per_million(r.envoy_cpu));
        let relay = one.and_then(|r| r.per_million(r.relay_cpu));
        let _ = writeln!(
            s,
            "**Reading it.** On this {cores}-core machine every process shares the same cores: the \
             generators, Envoy (the filter decodes and validates every body in V8), the relays and the \
             receiver. More relays cannot add CPU here, so the {}-relay row measures the cost of \
             spreading the load, not a speed-up: the figures are limited by the cores, not by the relays.",
            self.relays
        );
        let relays_ratio = many
            .and_then(|r| r.per_million(r.relay_cpu))
            .zip(relay)
            .map(|(m, o)| m / o.max(1e-9));
        match relays_ratio {
            Some(ratio) if ratio > 1.05 => {
                let _ = writeln!(
                    s,
                    "Per sample, the {n} relays together used {ratio:.2}x the CPU of the single relay: \
                     each gets 1/{n} of the concurrent requests, so each WAL fsync covers fewer of them \
                     (group commit), and every process pays its own fixed costs.",
                    n = self.relays
                );
            }
            Some(ratio) => {
                let _ = writeln!(
                    s,
                    "Per sample, the {} relays together used {ratio:.2}x the CPU of the single relay: \
                     about the same, within this machine's noise.",
                    self.relays
                );
            }
            None => {}
        }
        if let (Some(envoy), Some(relay)) = (envoy, relay) {
            let _ = writeln!(
                s,
                "On a machine with more cores (or relays on their own machines, as in Kubernetes), \
                 each relay brings its own cores and its own disk: a relay needs about {relay:.2} CPU-seconds \
                 per million samples and Envoy about {envoy:.2}, so one core of Envoy feeds about {:.1} relay \
                 cores, and accepted samples/s grow with the relays until Envoy's cores (give it \
                 `--concurrency` = its cores) or the network are the limit. Size with the per-relay figure \
                 of the main table above and keep the slowest relay's disk in mind (each relay's WAL is \
                 fsynced on its own).",
                relay / envoy.max(1e-9)
            );
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::generator::LoadResult;

    fn row(relays: usize, front: Front, per_second: f64, relay_cpu: f64) -> Row {
        Row {
            relays,
            front,
            loads: vec![LoadResult {
                samples_ok: 1_000_000,
                samples_per_second: per_second,
                p99_ms: 12.0,
                ..LoadResult::default()
            }],
            relay_cpu: Some(relay_cpu),
            envoy_cpu: (front == Front::Envoy).then_some(0.5),
            per_relay_requests: vec![10.0; relays],
            envoy_stats: vec![0.0, 0.0, 2.0, 0.0],
        }
    }

    #[test]
    fn the_section_compares_one_and_n_relays_between_its_markers() {
        let results = ClusterResults {
            command: "cargo xtask bench --relays 3".into(),
            relays: 3,
            tenants: vec!["tenant-1".into(), "tenant-4".into(), "tenant-0".into()],
            concurrency: 9,
            load_seconds: 15.0,
            machine: None,
            rows: vec![
                row(1, Front::Direct, 900e3, 1.5),
                row(1, Front::Envoy, 600e3, 1.5),
                row(3, Front::Envoy, 900e3, 2.0),
            ],
        };
        let text = results.render();
        assert!(text.starts_with(START) && text.trim_end().ends_with(END));
        assert!(
            text.contains("| accepted samples/s | 900.0 k | 600.0 k | 900.0 k | 1.50x |"),
            "{text}"
        );
        assert!(
            text.contains("| Envoy's CPU-seconds per million samples | - | 0.50 | 0.50 | 1.00x |"),
            "{text}"
        );
        assert!(
            text.contains(
                "| relays + Envoy CPU-seconds per million samples | 1.50 | 2.00 | 2.50 | 1.25x |"
            ),
            "{text}"
        );
        assert!(text.contains("10 / 10 / 10"), "{text}");
        assert!(text.contains("`upstream_rq_retry` 2"), "{text}");
        assert!(
            text.contains("one core of Envoy feeds about 3.0 relay cores"),
            "{text}"
        );
    }
}
