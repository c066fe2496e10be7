//! The measured scenarios: the generator straight into the null receiver, a relay at
//! saturation, and a relay killed with SIGKILL under load then restarted on the same data.
//!
//! Invariants: every scenario starts its own receiver (so counts never mix between rows)
//! and its own relay process (so peak RSS belongs to that load); a relay's data directory
//! is emptied before a scenario and kept across the restart inside it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::BenchError;
use super::generator::{Binaries, Load, LoadResult, Proto, Shape};
use super::process::free_port;
use super::procfs;
use super::receiver::NullReceiver;
use super::relay::{Kind, Relay, TailReads};
use super::victoria::Victoria;

/// Longest wait for a relay to deliver what it acknowledged (per destination). The decoding
/// null receiver keeps every (series, timestamp) pair in one set behind one lock and takes
/// about 0.55 M samples/s on this machine, so a relay that acknowledged 40 M samples in a
/// 15 s row needs about 75 s to get them all in; the wait ends as soon as they are.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);
/// Delivery counts unchanged this long: the queue is considered drained. Longer than twice
/// the default `batch_send_deadline` (5 s): a partial batch is only sent at its deadline,
/// so a quiet spell of 5 s does not mean the queue is empty.
const DRAIN_QUIET: Duration = Duration::from_secs(12);

/// Where the relay delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The workspace's test receiver, decoding and counting.
    Null,
    /// A real VictoriaMetrics single node.
    Victoria,
}

/// What a throughput row varies besides the relay and the payload shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The protocol the generator sends.
    pub sent: Proto,
    /// The protocol the relay forwards.
    pub forwarded: Proto,
    /// Destinations the relay forwards every sample to.
    pub destinations: usize,
    /// The receiver.
    pub target: Target,
}

impl Variant {
    /// Remote Write 1.0 in and out, one destination, the null receiver: the base rows.
    pub const BASE: Variant = Variant {
        sent: Proto::V1,
        forwarded: Proto::V1,
        destinations: 1,
        target: Target::Null,
    };

    /// How the tables name it.
    pub fn label(&self) -> String {
        let receiver = match self.target {
            Target::Null => "the null receiver",
            Target::Victoria => "a real VictoriaMetrics",
        };
        let destinations = if self.destinations == 1 {
            "1 destination".to_owned()
        } else {
            format!("{} destinations", self.destinations)
        };
        format!(
            "Remote Write {} in, {} out, {destinations}, into {receiver}",
            self.sent.name(),
            self.forwarded.name()
        )
    }

    /// Whether vmagent (Remote Write 1.0 only) can run it.
    pub fn vmagent_can(&self) -> bool {
        self.sent == Proto::V1 && self.forwarded == Proto::V1
    }
}

/// A relay at saturation.
#[derive(Debug, Clone)]
pub struct ThroughputRow {
    /// Which relay.
    pub kind: Kind,
    /// Payload shape.
    pub shape: Shape,
    /// Protocols, destinations, receiver.
    pub variant: Variant,
    /// What the generator measured.
    pub load: LoadResult,
    /// CPU seconds of the relay from the first request to the end of the drain.
    pub cpu_seconds: Option<f64>,
    /// Of those, the seconds spent in the kernel (`stime`).
    pub system_seconds: Option<f64>,
    /// prw only: where its destinations took the records from.
    pub tail: Option<TailReads>,
    /// Peak RSS of the relay process.
    pub peak_rss: Option<u64>,
    /// Samples the receiver decoded (stored, for VictoriaMetrics), all destinations together.
    pub delivered: u64,
}

impl ThroughputRow {
    /// CPU seconds per million acknowledged samples.
    pub fn cpu_per_million(&self) -> Option<f64> {
        let m = self.load.samples_ok as f64 / 1e6;
        self.cpu_seconds.filter(|_| m > 0.0).map(|c| c / m)
    }
}

/// A relay killed with SIGKILL under load.
#[derive(Debug, Clone)]
pub struct KillRow {
    /// Which relay.
    pub kind: Kind,
    /// `"steady"` or `"full speed"`.
    pub scenario: &'static str,
    /// Target rate in requests/s (steady), or `None` (full speed).
    pub rate: Option<f64>,
    /// Seconds after the clock started that the kill happened.
    pub kill_after: f64,
    /// Whether the generator was still sending at the kill.
    pub under_load: bool,
    /// What the generator saw.
    pub load: LoadResult,
    /// Distinct (series, timestamp) pairs at the receiver after restart and drain.
    pub received: u64,
}

impl KillRow {
    /// Acknowledged samples that never arrived: `(at least, at most)`. The receiver may
    /// also hold samples of the requests in flight at the kill (sent, never answered), so
    /// the exact figure lies between `acked - received` and that plus those samples.
    pub fn lost(&self) -> (u64, u64) {
        let acked = self.load.samples_ok;
        let in_flight = self.load.in_flight * self.load.samples_per_request;
        let low = acked.saturating_sub(self.received);
        let high = (acked + in_flight).saturating_sub(self.received).min(acked);
        (low, high)
    }
}

/// The generator against the (non-decoding) null receiver.
pub fn generator_direct(
    bins: &Binaries,
    shape: Shape,
    concurrency: u32,
    time: Duration,
) -> Result<LoadResult, BenchError> {
    let receiver = NullReceiver::start(&bins.receiver, false)?;
    Load {
        url: receiver.write_url(),
        shape,
        concurrency,
        duration: time,
        requests: None,
        rate: None,
        payloads: 8,
        proto: Proto::V1,
    }
    .run(&bins.prw)
}

/// Whether `prw relay` in this build starts and acknowledges a write within seconds.
pub fn prw_relay_works(bins: &Binaries, work: &Path) -> bool {
    let Ok(receiver) = NullReceiver::start(&bins.receiver, false) else {
        return false;
    };
    let Ok(dir) = fresh_dir(&work.join("probe-prw")) else {
        return false;
    };
    let Ok(port) = free_port() else { return false };
    let relay = match Relay::start(Kind::Prw, bins, port, &dir, &receiver.write_url()) {
        Ok(relay) => relay,
        Err(err) => {
            eprintln!("    prw relay probe: {err}");
            return false;
        }
    };
    let probe = Load::probe(relay.write_url());
    // A relay that is still starting may answer 503 at first: a few tries, a second apart.
    for _ in 0..5 {
        if probe.run(&bins.prw).is_ok_and(|r| r.requests_ok == 1) {
            relay.kill();
            return true;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    relay.kill();
    false
}

/// A relay at saturation for `time`, then drained.
pub fn throughput(
    bins: &Binaries,
    work: &Path,
    kind: Kind,
    shape: Shape,
    variant: Variant,
    concurrency: u32,
    time: Duration,
) -> Result<ThroughputRow, BenchError> {
    let slug = format!(
        "{}-{}-{}{}-{}d-{}",
        kind.slug(),
        shape.series,
        variant.sent.arg(),
        variant.forwarded.arg(),
        variant.destinations,
        match variant.target {
            Target::Null => "null",
            Target::Victoria => "vm",
        }
    );
    let (receiver, victoria, base_url) = match variant.target {
        Target::Null => {
            let receiver = NullReceiver::start(&bins.receiver, true)?;
            let url = receiver.write_url();
            (Some(receiver), None, url)
        }
        Target::Victoria => {
            let dir = fresh_dir(&work.join(format!("{slug}-victoria")))?;
            let victoria = Victoria::start(&bins.victoria, &dir)?;
            let url = victoria.write_url();
            (None, Some(victoria), url)
        }
    };
    // One receiver for every destination: distinct URLs (a query string each) make distinct
    // destinations; the receiver counts them all.
    let urls: Vec<String> = (0..variant.destinations.max(1))
        .map(|i| match i {
            0 => base_url.clone(),
            i => format!("{base_url}?destination={i}"),
        })
        .collect();
    let dir = fresh_dir(&work.join(&slug))?;
    let relay = Relay::start_to(kind, bins, free_port()?, &dir, &urls, variant.forwarded)?;
    let cpu_before = procfs::cpu_time(relay.pid());
    let load = Load {
        url: relay.write_url(),
        shape,
        concurrency,
        duration: time,
        requests: None,
        rate: None,
        payloads: 8,
        proto: variant.sent,
    }
    .run(&bins.prw)?;
    let expected = load.samples_ok.saturating_mul(urls.len() as u64);
    let limit = DRAIN_LIMIT * u32::try_from(urls.len()).unwrap_or(1);
    let delivered = match (&receiver, &victoria) {
        (Some(receiver), _) => drain_for(limit, expected, || Ok(receiver.counts()?.samples))?,
        (_, Some(victoria)) => drain_for(limit, expected, || victoria.rows())?,
        _ => 0,
    };
    let cpu = procfs::cpu_time(relay.pid())
        .zip(cpu_before)
        .map(|(now, before)| now.since(before));
    let peak_rss = procfs::peak_rss_bytes(relay.pid());
    let tail = relay.tail_reads();
    relay.kill();
    Ok(ThroughputRow {
        kind,
        shape,
        variant,
        load,
        cpu_seconds: cpu.map(procfs::CpuTime::total),
        system_seconds: cpu.map(|c| c.system),
        tail,
        peak_rss,
        delivered,
    })
}

/// How hard to push before the kill.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// A fixed request rate for `time`; the kill comes half way.
    Steady { rate: f64, time: Duration },
    /// As fast as possible; the kill comes after `kill_after`.
    Full {
        saturated_rate: f64,
        kill_after: Duration,
    },
}

/// Most distinct payloads a kill scenario pre-generates (memory and generation time).
const MAX_PAYLOADS: f64 = 6000.0;

/// SIGKILL under load, restart on the same data, drain, count what was lost.
pub fn kill_under_load(
    bins: &Binaries,
    work: &Path,
    kind: Kind,
    shape: Shape,
    concurrency: u32,
    pace: Pace,
) -> Result<KillRow, BenchError> {
    let receiver = NullReceiver::start(&bins.receiver, true)?;
    let name = match pace {
        Pace::Steady { .. } => "steady",
        Pace::Full { .. } => "full speed",
    };
    let dir = fresh_dir(&work.join(format!("{}-kill-{}", kind.slug(), name.replace(' ', "-"))))?;
    let port = free_port()?;
    let relay = Relay::start(kind, bins, port, &dir, &receiver.write_url())?;
    // Every request carries its own payload (own timestamps): `requests == payloads`.
    let (rate, duration, kill_after) = match pace {
        Pace::Steady { rate, time } => {
            let rate = rate.min(MAX_PAYLOADS / time.as_secs_f64()).max(1.0);
            (Some(rate), time, time / 2)
        }
        Pace::Full { kill_after, .. } => (None, kill_after * 3, kill_after),
    };
    let expected = rate.unwrap_or(saturated_rate_of(pace)) * duration.as_secs_f64() * 1.5;
    let payloads = expected.clamp(50.0, MAX_PAYLOADS) as u64;
    let load = Load {
        url: relay.write_url(),
        shape,
        concurrency,
        duration,
        requests: Some(payloads),
        rate,
        payloads,
        proto: Proto::V1,
    };
    let mut running = load.start(&bins.prw)?;
    let clock = Instant::now();
    std::thread::sleep(kill_after);
    let under_load = !running.exited();
    let killed_at = clock.elapsed().as_secs_f64();
    relay.kill();
    let result = running.finish()?;
    let relay = Relay::start(kind, bins, port, &dir, &receiver.write_url())?;
    let target = result.samples_ok + result.in_flight * result.samples_per_request;
    let received = drain(&receiver, target, |c| c.unique_pairs)?;
    relay.kill();
    Ok(KillRow {
        kind,
        scenario: name,
        rate,
        kill_after: killed_at,
        under_load,
        load: result,
        received,
    })
}

fn saturated_rate_of(pace: Pace) -> f64 {
    match pace {
        Pace::Steady { rate, .. } => rate,
        Pace::Full { saturated_rate, .. } => saturated_rate,
    }
}

/// Polls the receiver until `count` reaches `target`, or stops changing for
/// [`DRAIN_QUIET`], or [`DRAIN_LIMIT`] passes; returns the last count.
fn drain(
    receiver: &NullReceiver,
    target: u64,
    count: impl Fn(&super::receiver::Counts) -> u64,
) -> Result<u64, BenchError> {
    drain_for(DRAIN_LIMIT, target, || Ok(count(&receiver.counts()?)))
}

/// Polls `count` until it reaches `target`, or stops changing for [`DRAIN_QUIET`], or
/// `limit` passes; returns the last count.
fn drain_for(
    limit: Duration,
    target: u64,
    count: impl Fn() -> Result<u64, BenchError>,
) -> Result<u64, BenchError> {
    let start = Instant::now();
    let mut last = count()?;
    let mut last_change = Instant::now();
    while last < target && start.elapsed() < limit && last_change.elapsed() < DRAIN_QUIET {
        std::thread::sleep(Duration::from_millis(250));
        let now = count()?;
        if now != last {
            last = now;
            last_change = Instant::now();
        }
    }
    Ok(last)
}

/// Removes and recreates `dir`.
pub fn fresh_dir(dir: &Path) -> Result<PathBuf, BenchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| BenchError::Io {
            what: "remove",
            path: dir.into(),
            source,
        })?;
    }
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
        what: "create",
        path: dir.into(),
        source,
    })?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(acked: u64, in_flight: u64, received: u64) -> KillRow {
        KillRow {
            kind: Kind::Vmagent,
            scenario: "steady",
            rate: None,
            kill_after: 1.0,
            under_load: true,
            load: LoadResult {
                samples_ok: acked,
                in_flight,
                samples_per_request: 100,
                ..LoadResult::default()
            },
            received,
        }
    }

    #[test]
    fn nothing_lost_when_everything_acknowledged_and_in_flight_arrived() {
        assert_eq!(row(1000, 2, 1200).lost(), (0, 0));
    }

    #[test]
    fn loss_is_a_range_when_in_flight_requests_may_have_arrived() {
        assert_eq!(row(1000, 2, 900).lost(), (100, 300));
    }

    #[test]
    fn loss_is_exact_without_requests_in_flight() {
        assert_eq!(row(1000, 0, 400).lost(), (600, 600));
    }
}
