//! Shared helpers: small configs and file surgery.

use std::path::{Path, PathBuf};
use std::time::Duration;

use prw_wal::{Position, Reader, Record, Wal, WalConfig};

/// A config with tiny segments so rotation happens after a few records.
pub fn small(segment_bytes: u64) -> WalConfig {
    let mut c = WalConfig::default();
    c.segment_bytes = segment_bytes;
    c.max_bytes = 1 << 30;
    c
}

/// Record `i` of a test: distinct, varying length.
pub fn payload(i: u64) -> Vec<u8> {
    let len = (i % 37) as usize + 1;
    (0..len)
        .map(|j| (i as u8).wrapping_mul(31).wrapping_add(j as u8))
        .collect()
}

/// Reads everything currently readable.
pub fn drain(reader: &mut Reader) -> Vec<Record> {
    let mut out = Vec::new();
    while let Some(r) = reader.next_timeout(Duration::ZERO).unwrap() {
        out.push(r);
    }
    out
}

/// Segment files of a WAL dir, sorted.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

/// Flips one bit at `offset` of `path`.
pub fn flip_bit(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// Opens a WAL that appends `n` payloads and returns it.
pub fn filled(dir: &Path, config: WalConfig, n: u64) -> Wal {
    let (wal, _) = Wal::open(dir, config).unwrap();
    for i in 0..n {
        wal.append(&payload(i)).unwrap();
    }
    wal
}

/// Everything consumer `name` can read now, as `(position, data)`.
pub fn read_all(wal: &Wal, name: &str) -> Vec<(Position, Vec<u8>)> {
    drain(&mut wal.reader(name).unwrap())
        .into_iter()
        .map(|r| (r.position, r.data))
        .collect()
}

/// What a consumer at `cursor` should read from a log holding `records` from position 0.
pub fn expected_from(records: &[Vec<u8>], cursor: u64) -> Vec<(Position, Vec<u8>)> {
    records
        .iter()
        .enumerate()
        .skip(cursor as usize)
        .map(|(i, r)| (Position(i as u64), r.clone()))
        .collect()
}

/// This test binary re-run as a child process on test `test` only, with `env_key=dir`, its
/// stdout piped (libtest prints `test NAME ... ` before the first line of the child's output).
pub fn child_test(test: &str, env_key: &str, dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env_key, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    command
}
