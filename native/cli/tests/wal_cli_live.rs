//! `prw wal inspect` and `prw wal verify` on the WAL directory of a running `prw relay` (the
//! real binary, its destination down so the WAL holds what it acknowledged): both succeed
//! without taking the relay's lock, report what the relay wrote (every acknowledged write is
//! one record the destination has not had), change nothing in the directory, and the relay
//! keeps its lock and keeps taking writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use prw_e2e::load::batch;
use prw_e2e::payload::v1;
use prw_e2e::relay::{Relay, forwarding_config};
use prw_e2e::{child, http};

/// Writes the relay acknowledges before the commands run.
const WRITES: u64 = 5;

fn prw(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(args)
        .arg(dir)
        .output()
        .unwrap()
}

/// Every file under `dir` with its size and modification time, sorted.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            out.extend(listing(&entry.path()));
        } else {
            out.push((entry.path(), meta.len(), meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

fn write(relay: &Relay, t: i64) -> u16 {
    http::post_v1(relay.addr(), &[], &v1(&batch("wal-cli", 10, t)))
        .unwrap()
        .status
}

#[test]
fn inspect_and_verify_read_a_running_relays_wal_without_disturbing_it() {
    // Nothing listens at the destination: every acknowledged write stays in the WAL.
    let down = SocketAddr::from(([127, 0, 0, 1], child::free_port().unwrap()));
    let config = forwarding_config(&[("dest", &format!("http://{down}/api/v1/write"))]);
    let relay = Relay::start(Path::new(env!("CARGO_BIN_EXE_prw")), &config).unwrap();
    let wal = relay.wal_dir();
    for t in 1..=WRITES {
        assert_eq!(write(&relay, t as i64), 204);
    }
    let before = listing(&wal);
    let lock = std::fs::read_to_string(wal.join(prw_wal::LOCK_FILE)).unwrap();
    assert_eq!(lock.trim(), relay.pid().unwrap().to_string());

    let inspect = prw(&["wal", "inspect"], &wal);
    let stdout = String::from_utf8_lossy(&inspect.stdout);
    let stderr = String::from_utf8_lossy(&inspect.stderr);
    assert_eq!(inspect.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("cursor dest: next 0, lag {WRITES} records")),
        "{stdout}"
    );
    let json = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["wal", "inspect", "--json"])
        .arg(&wal)
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["cursors"][0]["lag_records"], WRITES);
    assert_eq!(v["damage"].as_array().unwrap().len(), 0);

    let verify = prw(&["wal", "verify"], &wal);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // Read only: nothing in the directory changed, the relay still holds its lock and still
    // takes writes.
    assert_eq!(
        listing(&wal),
        before,
        "inspect or verify changed the WAL directory"
    );
    assert_eq!(
        std::fs::read_to_string(wal.join(prw_wal::LOCK_FILE)).unwrap(),
        lock
    );
    assert_eq!(write(&relay, WRITES as i64 + 1), 204);
    let after = prw(&["wal", "inspect"], &wal);
    let stdout = String::from_utf8_lossy(&after.stdout);
    assert!(
        stdout.contains(&format!("lag {} records", WRITES + 1)),
        "{stdout}"
    );
}
