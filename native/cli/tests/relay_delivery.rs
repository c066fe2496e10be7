//! `prw relay` as a real process delivering to the workspace test receiver: a posted write
//! reaches the destination, SIGHUP applies a reloaded `remote_write` list, SIGTERM drains,
//! commits the cursors and exits 0. Every child is killed by a guard.

// Helpers outside `#[test]` fns are test code too; clippy.toml only exempts test fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use prw_e2e::client::post_write;
use prw_e2e::payload::{Series, v1};
use prw_e2e::receiver::{BlockingReceiver, ReceiverConfig};

/// Upper bound for a line or a condition; only guards against a hang, never asserted on.
const TIMEOUT: Duration = Duration::from_secs(30);

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(lines: &Receiver<String>, needle: &str) -> String {
    loop {
        let line = lines
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("no line containing {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let step = Duration::from_millis(20);
    for _ in 0..(TIMEOUT.as_millis() / step.as_millis()) {
        if condition() {
            return;
        }
        std::thread::sleep(step);
    }
    panic!("timed out waiting until {what}");
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn write_config(file: &Path, wal: &Path, destinations: &[(&str, String)]) {
    let mut text = format!("wal:\n  dir: {}\nremote_write:\n", wal.display());
    for (name, url) in destinations {
        text.push_str(&format!(
            "  - name: {name}\n    url: {url}\n    start: oldest\n    queue_config: {{batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 100ms}}\n"
        ));
    }
    std::fs::write(file, text).unwrap();
}

fn post(addr: SocketAddr, t: i64) -> u16 {
    let body = v1(&[Series::new(
        &[("__name__", "up"), ("job", "cli")],
        &[(t, 1.0)],
    )]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(post_write(addr, false, body, &[]))
        .unwrap()
        .status
}

#[test]
fn posted_writes_reach_destinations_reload_adds_one_and_sigterm_commits_cursors() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("wal");
    let file = dir.path().join("relay.yaml");
    let first = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let second = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    write_config(&file, &wal_dir, &[("first", first.url("/api/v1/write"))]);

    let mut child = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["relay", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .env("PRW_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let child = Guard(child);
    let line = wait_for(&lines, "listening on ");
    let addr: SocketAddr = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();

    assert!((200..300).contains(&post(addr, 1000)));
    wait_until("the first destination got the write", || {
        first.requests() >= 1
    });

    write_config(
        &file,
        &wal_dir,
        &[
            ("first", first.url("/api/v1/write")),
            ("second", second.url("/api/v1/write")),
        ],
    );
    signal(&child.0, "HUP");
    wait_for(&lines, "configuration reloaded and applied");
    // `start: oldest`: the new destination also gets what was in the WAL before it was added.
    wait_until("the added destination caught up", || second.requests() >= 1);
    assert!((200..300).contains(&post(addr, 2000)));
    wait_until("both destinations got the second write", || {
        first.recorded().len() >= 2 && second.recorded().len() >= 2
    });

    let mut child = child;
    signal(&child.0, "TERM");
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let (wal, _) = prw_wal::Wal::open(&wal_dir, prw_wal::WalConfig::default()).unwrap();
    let cursors: Vec<(String, u64)> = wal
        .stats()
        .consumers
        .iter()
        .map(|c| (c.name.clone(), c.next.0))
        .collect();
    assert_eq!(
        cursors,
        vec![("first".to_owned(), 2), ("second".to_owned(), 2)]
    );
}

fn spawn_relay(file: &Path) -> (Guard, Receiver<String>, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["relay", "--listen", "127.0.0.1:0", "--config"])
        .arg(file)
        .env("PRW_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let guard = Guard(child);
    let line = wait_for(&lines, "listening on ");
    let addr = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    (guard, lines, addr)
}

#[test]
fn writes_accepted_while_the_destination_is_down_survive_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("wal");
    let file = dir.path().join("relay.yaml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    write_config(
        &file,
        &wal_dir,
        &[("down", format!("http://{port}/api/v1/write"))],
    );

    let (mut relay, _lines, addr) = spawn_relay(&file);
    for t in 0..5 {
        assert!((200..300).contains(&post(addr, 1000 + t)));
    }
    relay.0.kill().unwrap();
    relay.0.wait().unwrap();

    let receiver = BlockingReceiver::start_on(port, ReceiverConfig::default().recording()).unwrap();
    let (_relay, _lines, _addr) = spawn_relay(&file);
    wait_until("every write accepted before the crash arrived", || {
        samples(&receiver) >= 5
    });
    assert_eq!(samples(&receiver), 5);
}

fn samples(receiver: &BlockingReceiver) -> usize {
    receiver
        .recorded()
        .iter()
        .map(|r| {
            let body = prw_core::codec::decompress(&r.body, &prw_core::Limits::default()).unwrap();
            let req =
                <prw_core::proto::v1::WriteRequest as prost::Message>::decode(body.as_slice())
                    .unwrap();
            req.timeseries
                .iter()
                .map(|s| s.samples.len())
                .sum::<usize>()
        })
        .sum()
}
