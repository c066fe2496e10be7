//! `prw wal inspect` and `prw wal verify`, run as the real binary on a WAL written by prw-wal,
//! and on the WAL directory of a running `prw relay` (its destination down so the WAL holds
//! what it acknowledged): both succeed without taking the relay's lock, report what the relay
//! wrote (every acknowledged write is one record the destination has not had), change nothing
//! in the directory, and the relay keeps its lock and keeps taking writes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prw_e2e::load::batch;
use prw_e2e::payload::v1;
use prw_e2e::relay::{Relay, forwarding_config};
use prw_e2e::{child, files, http};

use prw_wal::{StartAt, Wal, WalConfig};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("prw-wal-cli-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn prw(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(args)
        .arg(dir)
        .output()
        .unwrap()
}

fn write_wal(dir: &Path) -> PathBuf {
    let mut cfg = WalConfig::default();
    cfg.segment_bytes = 256;
    let (wal, _) = Wal::open(dir, cfg).unwrap();
    wal.add_consumer("dest-a", StartAt::Oldest).unwrap();
    for i in 0..20u8 {
        wal.append(&[i; 40]).unwrap();
    }
    // Consumer past record 4: the first segment (records 0..=3) is deleted.
    wal.commit("dest-a", prw_wal::Position(4)).unwrap();
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    segs.remove(0)
}

#[test]
fn verify_exits_0_on_a_clean_wal_and_1_naming_file_and_offset_of_a_flipped_bit() {
    let dir = TempDir::new("verify");
    let first = write_wal(&dir.0);
    let out = prw(&["wal", "verify"], &dir.0);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Record 1 starts at 24 (segment header) + 16 + 40; flip a payload bit.
    let offset = 24 + 56;
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[offset + 20] ^= 0x01;
    std::fs::write(&first, bytes).unwrap();

    let out = prw(&["wal", "verify"], &dir.0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{} at offset {offset}", first.display())),
        "{stdout}"
    );
    assert!(stdout.contains("checksum mismatch"), "{stdout}");
}

#[test]
fn inspect_lists_segments_cursors_lag_and_record_range() {
    let dir = TempDir::new("inspect");
    write_wal(&dir.0);
    let out = prw(&["wal", "inspect"], &dir.0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("first record: 4"), "{stdout}");
    assert!(stdout.contains("last record: 19"), "{stdout}");
    assert!(
        stdout.contains("cursor dest-a: next 5, lag 15 records"),
        "{stdout}"
    );
    assert!(
        stdout.contains("segment 00000000000000000004.seg"),
        "{stdout}"
    );
}

#[test]
fn verify_of_a_missing_directory_exits_2() {
    let dir = TempDir::new("missing");
    let out = prw(&["wal", "verify"], &dir.0.join("nope"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn inspect_json_reports_cursor_lag_as_numbers() {
    let dir = TempDir::new("json");
    write_wal(&dir.0);
    let out = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["wal", "inspect", "--json"])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cursors"][0]["name"], "dest-a");
    assert_eq!(v["cursors"][0]["lag_records"], 15);
    assert_eq!(v["last"], 19);
    assert_eq!(v["damage"].as_array().unwrap().len(), 0);
}

/// Writes the relay acknowledges before the commands run.
const WRITES: u64 = 5;

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
    let before = files::listing(&wal).unwrap();
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
        files::listing(&wal).unwrap(),
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
