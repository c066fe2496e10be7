//! `prw wal inspect` and `prw wal verify`, run as the real binary on a WAL written by prw-wal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
