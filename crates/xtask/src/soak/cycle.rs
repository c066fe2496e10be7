//! One relay lifetime of the soak: start `prw relay` on the soak's data directory (with a kill
//! point armed, or not), load it with successive one-second `prw bench` runs, and end it with
//! SIGKILL: from outside after a random delay, or from inside at the armed kill point (during
//! segment rotation, retention or a cursor commit), reached on purpose.
//!
//! Invariants: the relay and every generator are killed and reaped when their guards drop;
//! each generator run gets timestamps no other run uses; a run's acknowledged requests are
//! read from its `--acked-log` only after it exited by itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ledger::Ledger;
use crate::bench::error::BenchError;
use crate::bench::process::{Guard, log_to, wait_listening};

/// How a lifetime ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KillKind {
    /// `kill -9` from outside at a random moment under load.
    Random,
    /// SIGKILL inside segment rotation (after the old segment is sealed).
    Rotation,
    /// SIGKILL inside retention (before a delivered segment is deleted).
    Retention,
    /// SIGKILL inside a cursor commit (slot written, not yet synced).
    CursorCommit,
}

impl KillKind {
    /// The kinds in the order the soak cycles through them.
    pub const ALL: [KillKind; 4] = [
        KillKind::Random,
        KillKind::Rotation,
        KillKind::Retention,
        KillKind::CursorCommit,
    ];

    /// The prw-wal kill point, if any.
    fn failpoint(self) -> Option<&'static str> {
        match self {
            KillKind::Random => None,
            KillKind::Rotation => Some("wal-rotate"),
            KillKind::Retention => Some("wal-retention"),
            KillKind::CursorCommit => Some("wal-cursor-commit"),
        }
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            KillKind::Random => "random moment (kill -9 from outside)",
            KillKind::Rotation => "segment rotation",
            KillKind::Retention => "retention (deleting a delivered segment)",
            KillKind::CursorCommit => "cursor commit",
        }
    }
}

/// What stays the same across lifetimes.
#[derive(Debug, Clone)]
pub struct Soak {
    /// The failpoint build of `prw` (relay and generator).
    pub prw: PathBuf,
    /// Data directory (`wal/` and `delivery/` inside), relay config and logs.
    pub dir: PathBuf,
    /// The relay's address (the same every lifetime).
    pub addr: SocketAddr,
    /// Series per request.
    pub series: u64,
    /// Requests per second of each generator run.
    pub rate: u64,
}

/// How one lifetime ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// The kill point was reached (for `Random`: the kill was sent).
    pub on_purpose: bool,
}

impl Soak {
    /// Starts the relay, with `PRW_WAL_FAILPOINTS` arming `failpoint` when given.
    pub fn start_relay(&self, failpoint: Option<&str>) -> Result<Guard, BenchError> {
        let mut cmd = Command::new(&self.prw);
        cmd.arg("relay")
            .arg("--config")
            .arg(self.dir.join("relay.yaml"))
            .args(["--listen", &self.addr.to_string()])
            .arg("--wal-dir")
            .arg(self.dir.join("wal"));
        log_to(&mut cmd, &self.dir.join("relay.log"))?;
        if let Some(point) = failpoint {
            cmd.env("PRW_WAL_FAILPOINTS", format!("{point}=return"));
        }
        Guard::spawn("prw relay", &mut cmd)
    }

    /// One lifetime ending with a kill of `kind`; `random_after` is the delay for `Random`.
    /// Acknowledged requests go into `ledger`; `next_base` is the next unused timestamp.
    pub fn cycle(
        &self,
        kind: KillKind,
        random_after: Duration,
        ledger: &mut Ledger,
        next_base: &mut i64,
    ) -> Result<Ended, BenchError> {
        let log_before = self.log_len();
        let mut relay = self.start_relay(kind.failpoint())?;
        if let Err(err) = wait_listening(&mut relay, self.addr, 30) {
            // Killed at its point during startup (e.g. retention finishing at open).
            if self.failpoint_hit(log_before) {
                return Ok(Ended { on_purpose: true });
            }
            return Err(err);
        }
        let started = Instant::now();
        let fallback = Duration::from_secs(30);
        loop {
            let base = *next_base;
            *next_base += i64::try_from(self.rate + 1).unwrap_or(i64::MAX);
            let acked_log = self.dir.join("acked");
            let _ = std::fs::remove_file(&acked_log);
            let mut bench = self.start_generator(base, &acked_log)?;
            while !bench.exited() {
                let due = match kind {
                    KillKind::Random => started.elapsed() >= random_after,
                    _ => started.elapsed() >= fallback,
                };
                if due && !relay.exited() {
                    relay.kill();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let acked = read_acked(&acked_log)?;
            ledger.add_run(base, &acked);
            if relay.exited() {
                let on_purpose = match kind {
                    KillKind::Random => true,
                    _ => self.failpoint_hit(log_before),
                };
                return Ok(Ended { on_purpose });
            }
        }
    }

    /// One generator run: one second at `rate` requests/s, timestamps from `base`.
    fn start_generator(&self, base: i64, acked_log: &Path) -> Result<Guard, BenchError> {
        let url = format!("http://{}/api/v1/write", self.addr);
        self.generator(&url, base, self.rate + 1, acked_log)
    }

    /// One request of the soak's shape straight to `receiver_url` at timestamp `at_ms`, so the
    /// receiver holds the exact series set of every request (see [`super::ledger`]).
    pub fn calibrate(&self, receiver_url: &str, at_ms: i64) -> Result<(), BenchError> {
        let acked_log = self.dir.join("calibration-acked");
        let mut bench = self.generator(receiver_url, at_ms, 1, &acked_log)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !bench.exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if read_acked(&acked_log)? != [0] {
            return Err(BenchError::Json {
                what: "the calibration request".into(),
                detail: format!("not acknowledged by {receiver_url}; see bench.log"),
            });
        }
        Ok(())
    }

    /// `prw bench` sending `requests` requests to `url` (at most `rate` per second), request
    /// `k` at timestamp `base + k`, acknowledged ones logged to `acked_log`.
    fn generator(
        &self,
        url: &str,
        base: i64,
        requests: u64,
        acked_log: &Path,
    ) -> Result<Guard, BenchError> {
        let requests = requests.to_string();
        let bench_log = self.dir.join("bench.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&bench_log)
            .map_err(|source| BenchError::Io {
                what: "open",
                path: bench_log,
                source,
            })?;
        let mut cmd = Command::new(&self.prw);
        cmd.args(["bench", "--url", url])
            .args(["--series", &self.series.to_string()])
            .args(["--labels", "4", "--samples", "1", "--concurrency", "4"])
            .args(["--payloads", &requests, "--requests", &requests])
            .args(["--rate", &self.rate.to_string(), "--duration", "1s"])
            .args(["--start-ms", &base.to_string()])
            .arg("--acked-log")
            .arg(acked_log)
            .args(["--format", "json", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        Guard::spawn_quiet("prw bench", &mut cmd)
    }

    fn log_len(&self) -> usize {
        std::fs::read_to_string(self.dir.join("relay.log")).map_or(0, |l| l.len())
    }

    /// Whether the relay's log since `from` shows the armed kill point firing.
    fn failpoint_hit(&self, from: usize) -> bool {
        std::fs::read_to_string(self.dir.join("relay.log"))
            .ok()
            .and_then(|log| log.get(from..).map(|l| l.contains(": SIGKILL")))
            .unwrap_or(false)
    }
}

fn read_acked(path: &Path) -> Result<Vec<u64>, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BenchError::Io {
        what: "read",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}
