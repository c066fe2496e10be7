//! `cargo xtask up --relays 3` as a real process (issue 12): it starts the receiver
//! Prometheus, three relays, Envoy with `envoy/cluster.yaml` and the sender Prometheus,
//! prints where they are and the live lines (Envoy sees 3/3 relays healthy), a write through
//! the edge is acknowledged; on SIGINT (Ctrl-C) it exits 0 within 20 s and every process it
//! started is gone and every port free again.
//!
//! The issue's "kill -9 a relay under `cargo xtask up`": a load generator writes through the
//! edge with a tenant that lands on one relay (found by a large probe write: the one relay
//! whose acknowledged samples grew by the probe's size); that relay gets `kill -9`; `up`
//! starts it again on its WAL (a new pid, ready again), and every pair the load generator had
//! acknowledged, before, during and after the kill, is in the receiver Prometheus.
//!
//! Run with `--no-build` (the artifacts in `dist/`, as `cargo xtask test` builds them first),
//! `--data` in a temporary directory and `--port-offset` moved to free ports, so it never
//! touches a developer's own `cargo xtask up`.
//!
//! Tools: `$XTASK_BIN` (set by `cargo xtask test`; else `target/debug/xtask`), `dist/prw`,
//! `dist/prw_envoy_filter.wasm`, Envoy and Prometheus where xtask looks for them. With
//! `CI=true` a missing one fails the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use prw_e2e::child::{PidGuard, pid_in};
use prw_e2e::load::{Load, batch};
use prw_e2e::payload::{Series, v1};
use prw_e2e::{http, prometheus, tools, wait};

/// Ctrl-C must stop everything within this.
const STOP_LIMIT: Duration = Duration::from_secs(20);
/// The ports of `up --relays 3` (xtask's `up/ports.rs`), before the offset.
const PORTS: [u16; 7] = [9090, 9091, 9201, 9211, 9212, 9213, 9901];
/// Series of the probe write that finds a tenant's relay: far more samples than the sender
/// Prometheus writes to a relay meanwhile.
const PROBE_SERIES: usize = 20_000;
/// How long `up` may take to notice a dead relay and start it again (it waits 10 s).
const RESTART_LIMIT: Duration = Duration::from_secs(40);

fn xtask_bin() -> Result<Option<PathBuf>, tools::ToolError> {
    let local = tools::workspace_root().join("target/debug/xtask");
    tools::find_tool(
        "xtask (cargo build -p xtask)",
        "XTASK_BIN",
        &[&local.to_string_lossy()],
    )
}

/// Whether `dist/<name>` exists (`up --no-build` takes `dist/` as it is); under `CI=true` a
/// missing one fails the test.
fn in_dist(name: &str) -> bool {
    let path = tools::workspace_root().join("dist").join(name);
    if path.is_file() {
        return true;
    }
    assert!(
        !tools::in_ci(),
        "{} is missing (cargo xtask dist builds it); CI=true, so this fails",
        path.display()
    );
    println!(
        "skipping: {} not found (run cargo xtask dist)",
        path.display()
    );
    false
}

fn free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// An offset under which every port of the stack is free, all of them below Linux's
/// ephemeral range (32768..), so no other test's port-0 socket can take one meanwhile.
fn free_offset() -> u16 {
    let start = (std::process::id() % 200) as u16;
    (0..200u16)
        .map(|k| 1_000 + ((start + k * 7) % 200) * 100)
        .find(|offset| PORTS.iter().all(|p| free(p + offset)))
        .expect("no free port offset")
}

/// The lines of `stream`, read on a thread of their own.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running `cargo xtask up --relays 3`: xtask and every process it reported starting are
/// killed if the test ends early (the pids first, xtask last).
struct Up {
    pids: PidGuard,
    xtask: Child,
    lines: Receiver<String>,
    /// Every line of xtask's output read so far.
    seen: Vec<String>,
    offset: u16,
    _data: tempfile::TempDir,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.xtask.kill();
        let _ = self.xtask.wait();
    }
}

impl Up {
    /// Starts it and waits until Envoy sees three healthy relays; `None`: a tool is missing
    /// (skip, outside CI).
    fn start() -> Option<Up> {
        let xtask = xtask_bin().unwrap()?;
        if !in_dist("prw") || !in_dist("prw_envoy_filter.wasm") {
            return None;
        }
        if prometheus::bin().unwrap().is_none() || tools::envoy().unwrap().is_none() {
            return None;
        }
        let data = tempfile::tempdir().unwrap();
        let offset = free_offset();
        let mut xtask = Command::new(&xtask)
            .args(["up", "--relays", "3", "--no-build", "--data"])
            .arg(data.path())
            .args(["--port-offset", &offset.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = lines_of(xtask.stderr.take().unwrap());
        let mut up = Up {
            pids: PidGuard::default(),
            xtask,
            lines,
            seen: Vec::new(),
            offset,
            _data: data,
        };
        up.wait_line("the stack is up", Duration::from_secs(120));
        up.pids.0 = up
            .seen
            .iter()
            .filter(|l| l.starts_with("<== "))
            .filter_map(|l| pid_in(l))
            .collect();
        assert_eq!(
            up.pids.0.len(),
            6,
            "receiver, 3 relays, Envoy, sender:\n{}",
            up.seen.join("\n")
        );
        up.wait_line("logs ", Duration::from_secs(5));
        up.wait_line("Envoy: relays healthy 3/3", Duration::from_secs(30));
        Some(up)
    }

    fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port + self.offset))
    }

    /// Reads lines until one contains `needle` (every line read is kept in `seen`); that
    /// line.
    fn wait_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line containing {needle:?} within {timeout:?}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The pid `up` reported for `name` (`<== NAME ready on ADDR (pid N)`).
    fn pid_of(&self, name: &str) -> u32 {
        let prefix = format!("<== {name} ready");
        self.seen
            .iter()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| pid_in(l))
            .unwrap_or_else(|| panic!("no pid for {name}:\n{}", self.seen.join("\n")))
    }

    /// Ctrl-C: xtask exits 0 within [`STOP_LIMIT`], every process it started (restarted ones
    /// included) is gone and every port free.
    fn stop_cleanly(mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.xtask.id().to_string()])
            .status();
        let stopping = Instant::now();
        let status = loop {
            if let Some(status) = self.xtask.try_wait().unwrap() {
                break status;
            }
            assert!(
                stopping.elapsed() < STOP_LIMIT,
                "xtask still running {STOP_LIMIT:?} after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let took = stopping.elapsed();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.seen.push(line);
        }
        println!("stopped in {took:?}:\n{}", self.seen.join("\n"));
        assert!(status.success(), "xtask exited with {status}");
        for pid in &self.pids.0 {
            assert!(!PidGuard::alive(*pid), "process {pid} is still there");
        }
        for port in PORTS {
            assert!(
                free(port + self.offset),
                "port {} still taken",
                port + self.offset
            );
        }
    }
}

/// Samples relay `k` (1-based) acknowledged so far.
fn relay_samples(up: &Up, k: u16) -> f64 {
    http::get(up.addr(9210 + k), "/metrics")
        .ok()
        .and_then(|a| http::metric_sum(&a.text(), "prw_ingest_samples_total"))
        .unwrap_or(0.0)
}

/// The relay (1-based) a write with `X-Scope-OrgID: tenant` lands on: the one relay whose
/// acknowledged samples grew by the probe's [`PROBE_SERIES`] (the sender's writes are
/// smaller); `None` when that is not clear (try another tenant).
fn relay_of(up: &Up, tenant: &str) -> Option<u16> {
    let before: Vec<f64> = (1..=3).map(|k| relay_samples(up, k)).collect();
    let body = v1(&batch("probe", PROBE_SERIES, wait::now_ms()));
    let answer = http::post_v1(up.addr(9201), &[("X-Scope-OrgID", tenant)], &body).ok()?;
    if answer.status != 204 {
        return None;
    }
    let grew: Vec<u16> = (1..=3u16)
        .filter(|k| relay_samples(up, *k) - before[usize::from(*k) - 1] >= PROBE_SERIES as f64)
        .collect();
    match grew.as_slice() {
        [k] => Some(*k),
        _ => None,
    }
}

#[test]
fn up_with_three_relays_starts_prints_and_stops_cleanly_on_ctrl_c() {
    let Some(up) = Up::start() else {
        return;
    };
    for k in 1..=3 {
        let line = format!("prw relay {k} metrics");
        assert!(
            up.seen.iter().any(|l| l.contains(&line)),
            "{}",
            up.seen.join("\n")
        );
    }
    let probe = v1(&[Series::new(
        &[("__name__", "prw_e2e_probe"), ("job", "probe")],
        &[(wait::now_ms(), 1.0)],
    )]);
    let status = http::post_v1(up.addr(9201), &[], &probe).unwrap().status;
    assert_eq!(status, 204, "a write through the edge");
    up.stop_cleanly();
}

#[test]
fn a_relay_killed_under_up_is_started_again_and_nothing_acknowledged_is_lost() {
    let Some(mut up) = Up::start() else {
        return;
    };
    let (tenant, k) = (0..20)
        .map(|n| format!("up-kill-{n}"))
        .find_map(|tenant| relay_of(&up, &tenant).map(|k| (tenant, k)))
        .expect("no tenant landed clearly on one relay");
    let name = format!("prw relay {k}");
    println!("tenant {tenant} -> {name}");

    let from = wait::now_ms();
    let at_start = relay_samples(&up, k);
    let load = Load::start_with_headers(
        up.addr(9201),
        "up-kill",
        100,
        Duration::from_millis(100),
        &[("X-Scope-OrgID", &tenant)],
    );
    wait::until("the load acknowledged", Duration::from_secs(30), || {
        (load.report().acked.unique_count() >= 1000)
            .then_some(())
            .ok_or_else(|| format!("{:?}", load.report().statuses))
    })
    .unwrap();
    // The killed relay holds acknowledged load: its count grew at least by what the load
    // had acknowledged (plus the sender's writes).
    let acked_at_kill = load.report().acked.unique_count();
    let grown = relay_samples(&up, k) - at_start;
    let pid = up.pid_of(&name);
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    let killed = Instant::now();
    let exited = up.wait_line(&format!("{name} exited"), RESTART_LIMIT);
    let again = up.wait_line(&format!("{name} started again"), RESTART_LIMIT);
    let new_pid = pid_in(&again).expect("the restarted relay's pid");
    up.pids.0.push(new_pid);
    assert_ne!(new_pid, pid);
    println!("{exited}\n{again} ({:?} after the kill)", killed.elapsed());
    wait::until(
        "the restarted relay ready",
        Duration::from_secs(30),
        || match http::get(up.addr(9210 + k), "/-/ready") {
            Ok(a) if a.status == 200 => Ok(()),
            other => Err(format!("{:?}", other.map(|a| a.status))),
        },
    )
    .unwrap();
    // The load keeps writing on its tenant after the restart.
    let batches = load.batches();
    wait::until(
        "more load after the restart",
        Duration::from_secs(30),
        || {
            (load.batches() >= batches + 20)
                .then_some(())
                .ok_or_else(|| format!("{} batches", load.batches()))
        },
    )
    .unwrap();
    let report = load.stop();
    let to = wait::now_ms();
    println!(
        "{name} had acknowledged {grown} samples since the load started when killed \
         (the load {acked_at_kill}); load: {} pairs acknowledged, statuses {:?}",
        report.acked.unique_count(),
        report.statuses
    );
    assert!(
        grown >= acked_at_kill as f64,
        "{name} acknowledged {grown} samples, fewer than the load's {acked_at_kill}"
    );

    let receiver = up.addr(9090);
    wait::until(
        "the receiver Prometheus to hold every acknowledged pair",
        Duration::from_secs(90),
        || {
            let got = prometheus::pairs_at(receiver, r#"{job="up-kill"}"#, from - 1, to)
                .map_err(|e| e.to_string())?;
            let (missing, examples) = got.missing_from(&report.acked);
            (missing == 0)
                .then_some(())
                .ok_or_else(|| format!("{missing} acknowledged pairs missing, e.g. {examples:?}"))
        },
    )
    .unwrap();
    up.stop_cleanly();
}
