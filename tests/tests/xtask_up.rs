//! `cargo xtask up --relays 3` as a real process (issue 12): it starts the receiver
//! Prometheus, three relays, Envoy with `envoy/cluster.yaml` and the sender Prometheus,
//! prints where they are and the live lines (Envoy sees 3/3 relays healthy), a write through
//! the edge is acknowledged; on SIGINT (Ctrl-C) it exits 0 within 20 s and every process it
//! started is gone and every port free again.
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

use prw_e2e::payload::{Series, v1};
use prw_e2e::{http, prometheus, tools, wait};

/// Ctrl-C must stop everything within this.
const STOP_LIMIT: Duration = Duration::from_secs(20);
/// The ports of `up --relays 3` (xtask's `up/ports.rs`), before the offset.
const PORTS: [u16; 7] = [9090, 9091, 9201, 9211, 9212, 9213, 9901];

/// Kills xtask and everything it reported starting if the test ends early.
struct Started {
    xtask: Child,
    pids: Vec<u32>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.xtask.kill();
        let _ = self.xtask.wait();
        for pid in &self.pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

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

fn lines_of(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one contains `needle`; every line read is appended to `seen`.
fn wait_line(lines: &Receiver<String>, needle: &str, timeout: Duration, seen: &mut Vec<String>) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!(
                "no line containing {needle:?} within {timeout:?}; output:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// The pid in `... (pid N)`.
fn pid_in(line: &str) -> Option<u32> {
    line.split("(pid ").nth(1)?.split(')').next()?.parse().ok()
}

#[test]
fn up_with_three_relays_starts_prints_and_stops_cleanly_on_ctrl_c() {
    let Some(xtask) = xtask_bin().unwrap() else {
        return;
    };
    if !in_dist("prw") || !in_dist("prw_envoy_filter.wasm") {
        return;
    }
    if prometheus::bin().unwrap().is_none() || tools::envoy().unwrap().is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let offset = free_offset();
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port + offset));
    let xtask = Command::new(&xtask)
        .args(["up", "--relays", "3", "--no-build", "--data"])
        .arg(data.path())
        .args(["--port-offset", &offset.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut started = Started {
        xtask,
        pids: Vec::new(),
    };
    let lines = lines_of(&mut started.xtask);
    let mut seen = Vec::new();
    wait_line(
        &lines,
        "the stack is up",
        Duration::from_secs(120),
        &mut seen,
    );
    started.pids = seen
        .iter()
        .filter(|l| l.starts_with("<== "))
        .filter_map(|l| pid_in(l))
        .collect();
    assert_eq!(
        started.pids.len(),
        6,
        "receiver, 3 relays, Envoy, sender:\n{}",
        seen.join("\n")
    );
    wait_line(&lines, "logs ", Duration::from_secs(5), &mut seen);
    for k in 1..=3 {
        let line = format!("prw relay {k} metrics");
        assert!(
            seen.iter().any(|l| l.contains(&line)),
            "{}",
            seen.join("\n")
        );
    }
    wait_line(
        &lines,
        "Envoy: relays healthy 3/3",
        Duration::from_secs(30),
        &mut seen,
    );
    let probe = v1(&[Series::new(
        &[("__name__", "prw_e2e_probe"), ("job", "probe")],
        &[(wait::now_ms(), 1.0)],
    )]);
    let status = http::post_v1(addr(9201), &[], &probe).unwrap().status;
    assert_eq!(status, 204, "a write through the edge");

    let _ = Command::new("kill")
        .args(["-INT", &started.xtask.id().to_string()])
        .status();
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = started.xtask.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < STOP_LIMIT,
            "xtask still running {STOP_LIMIT:?} after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = stopping.elapsed();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
        seen.push(line);
    }
    println!("stopped in {took:?}:\n{}", seen.join("\n"));
    assert!(status.success(), "xtask exited with {status}");
    for pid in &started.pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still there"
        );
    }
    for port in PORTS {
        assert!(free(port + offset), "port {} still taken", port + offset);
    }
}
