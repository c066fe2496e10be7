//! `prw relay` as a real process: bad config exits 64 naming the key, `--listen 127.0.0.1:0`
//! logs the bound address, SIGHUP reloads, SIGTERM exits 0. Every child is killed by a guard.

// Helpers outside `#[test]` fns are test code too; clippy.toml only exempts test fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// Upper bound for a line to show up; only guards against a hung child, never asserted on.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

fn prw() -> Command {
    Command::new(env!("CARGO_BIN_EXE_prw"))
}

/// Kills the child if the test ends before it exited.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stderr_lines(child: &mut Child) -> Receiver<String> {
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

fn wait_for(lines: &Receiver<String>, needle: &str) -> String {
    loop {
        let line = lines
            .recv_timeout(LINE_TIMEOUT)
            .unwrap_or_else(|_| panic!("no line containing {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn listening_address(line: &str) -> SocketAddr {
    let rest = line.split("listening on ").nth(1).unwrap();
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

fn start(args: &[&str]) -> (Guard, Receiver<String>, SocketAddr) {
    let mut child = prw()
        .arg("relay")
        .args(args)
        .env("PRW_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let addr = listening_address(&wait_for(&lines, "listening on "));
    (Guard(child), lines, addr)
}

#[test]
fn bad_config_exits_64_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.yaml");
    std::fs::write(
        &file,
        "remote_write:\n  - url: http://a/\n    queue_config:\n      max_shards: 0\n",
    )
    .unwrap();
    let output = prw()
        .arg("relay")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("remote_write[0].queue_config.max_shards"),
        "{stderr}"
    );

    std::fs::write(
        &file,
        "remote_write:\n  - url: http://a/\n    sigv4: {region: eu}\n",
    )
    .unwrap();
    let output = prw()
        .arg("relay")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("remote_write[0].sigv4"));
}

#[test]
fn unreadable_config_file_exits_64() {
    let output = prw()
        .args(["relay", "--config", "/nonexistent/relay.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
}

#[test]
fn check_config_prints_the_summary() {
    let output = prw()
        .args([
            "relay",
            "--check-config",
            "--remote-write-url",
            "http://127.0.0.1:9/api/v1/write",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("listen: http://127.0.0.1:9202"), "{stdout}");
    assert!(
        stdout.contains("http://127.0.0.1:9/api/v1/write v1"),
        "{stdout}"
    );
}

#[test]
fn listens_on_a_free_port_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    let (mut guard, lines, addr) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--wal-dir",
        wal.to_str().unwrap(),
        "--remote-write-url",
        "http://127.0.0.1:9/api/v1/write",
    ]);
    assert_ne!(addr.port(), 0);
    assert!(http_get(addr, "/-/healthy").starts_with("HTTP/1.1 200"));
    assert!(http_get(addr, "/api/v1/write").starts_with("HTTP/1.1 405"));
    signal(&guard.0, "TERM");
    wait_for(&lines, "shutdown requested");
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));
}

fn http_post(addr: SocketAddr, content_type: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// The core's valid v1 example body (snappy).
fn valid_v1_body() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/core/testdata/v1/valid.bin"
    ))
    .unwrap()
}

/// `--listen 127.0.0.1:0 --wal-dir DIR --remote-write-url <closed port> --drain-timeout 1s`
/// plus `extra`: a relay whose destination is down, so shutdown waits only 1 s for it.
fn start_with_dead_destination(
    wal_dir: &std::path::Path,
    extra: &[&str],
) -> (Guard, Receiver<String>, SocketAddr) {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--wal-dir",
        wal_dir.to_str().unwrap(),
        "--remote-write-url",
        "http://127.0.0.1:9/api/v1/write",
        "--drain-timeout",
        "1s",
    ];
    args.extend_from_slice(extra);
    start(&args)
}

#[test]
fn acknowledged_write_is_in_the_wal_with_a_cursor_per_destination() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("wal");
    let (mut guard, lines, addr) = start_with_dead_destination(&wal_dir, &[]);
    let body = valid_v1_body();
    let answer = http_post(addr, "application/x-protobuf", &body);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    let bad = http_post(addr, "application/json", &body);
    assert!(bad.starts_with("HTTP/1.1 415"), "{bad}");
    assert!(http_get(addr, "/metrics").contains("prw_ingest_samples_total 1"));
    signal(&guard.0, "TERM");
    wait_for(&lines, "shutdown requested");
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));

    let (wal, _) = prw_wal::Wal::open(&wal_dir, prw_wal::WalConfig::default()).unwrap();
    assert_eq!(wal.consumers().len(), 1, "one cursor per destination");
    wal.add_consumer("check", prw_wal::StartAt::Oldest).unwrap();
    let mut reader = wal.reader("check").unwrap();
    let record = reader.try_next().unwrap().unwrap();
    let record = prw_relay::record::Record::decode(&record.data).unwrap();
    assert_eq!(record.body, body);
    assert!(
        reader.try_next().unwrap().is_none(),
        "the 415 stored nothing"
    );
}

#[test]
fn sigterm_turns_ready_to_503_first_and_writes_are_acknowledged_until_the_grace_ends() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("wal");
    // A grace period far longer than the test: only the second signal can end it.
    let (mut guard, lines, addr) =
        start_with_dead_destination(&wal_dir, &["--shutdown-grace", "10m"]);
    let ready = http_get(addr, "/-/ready");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(
        !ready.contains("x-envoy-immediate-health-check-fail"),
        "{ready}"
    );
    signal(&guard.0, "TERM");
    wait_for(&lines, "shutdown requested");
    let ready = http_get(addr, "/-/ready");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    let body = valid_v1_body();
    let answer = http_post(addr, "application/x-protobuf", &body);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(
        answer.contains("x-envoy-immediate-health-check-fail: true"),
        "{answer}"
    );
    signal(&guard.0, "TERM");
    wait_for(&lines, "grace period cut short");
    wait_for(&lines, "new writes get 503");
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));
}

#[test]
fn destination_name_unusable_as_a_wal_cursor_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.yaml");
    std::fs::write(
        &file,
        "remote_write:\n  - {url: http://127.0.0.1:9/, name: my mimir}\n",
    )
    .unwrap();
    let output = prw()
        .args(["relay", "--config", file.to_str().unwrap(), "--wal-dir"])
        .arg(dir.path().join("wal"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"my mimir\""), "{stderr}");
}

#[test]
fn sigint_also_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    let (mut guard, _lines, _addr) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--wal-dir",
        wal.to_str().unwrap(),
    ]);
    signal(&guard.0, "INT");
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));
}

#[test]
fn sighup_reloads_and_a_bad_file_keeps_the_relay_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.yaml");
    std::fs::write(
        &file,
        "remote_write:\n  - {url: http://127.0.0.1:9/, name: a}\n",
    )
    .unwrap();
    let wal = dir.path().join("wal");
    let (mut guard, lines, addr) = start(&[
        "--config",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--wal-dir",
        wal.to_str().unwrap(),
    ]);
    signal(&guard.0, "HUP");
    wait_for(&lines, "configuration reloaded");
    std::fs::write(
        &file,
        "remote_write:\n  - {url: http://127.0.0.1:9/, name: a, min_shards: 2}\n",
    )
    .unwrap();
    signal(&guard.0, "HUP");
    let failed = wait_for(&lines, "reload failed");
    assert!(failed.contains("remote_write[0].min_shards"), "{failed}");
    assert!(http_get(addr, "/-/healthy").starts_with("HTTP/1.1 200"));
    signal(&guard.0, "TERM");
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));
}
