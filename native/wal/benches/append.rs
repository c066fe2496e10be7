//! WAL throughput beside the raw disk, measured in the same run on the same filesystem.
//!
//! `cargo bench -p prw-wal --bench append` (about 40 s). Env: `PRW_WAL_BENCH_DIR` (default:
//! Cargo's target tmp dir), `PRW_WAL_BENCH_SECS` per case (default 2).
//!
//! Reports: raw fdatasync rate (4 KiB write + fdatasync), raw sequential write bandwidth
//! (1 MiB writes, one fdatasync at the end), then append throughput with 1/4/16 appenders and
//! 1 KiB / 64 KiB / 1 MiB records under `SyncPolicy::Always`, then replay through a reader
//! beside a raw sequential read of the same files. Reads come from the page cache (no cache
//! drop: the machine is shared), so replay vs raw read compares CPU cost of the reader.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prw_wal::{StartAt, Wal, WalConfig};

const MIB: f64 = 1024.0 * 1024.0;

fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("PRW_WAL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

fn secs() -> Duration {
    let s: f64 = std::env::var("PRW_WAL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(s)
}

fn raw_fdatasync_rate(dir: &Path) -> f64 {
    let mut f = File::create(dir.join("raw-sync")).unwrap();
    let buf = vec![7u8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < secs() {
        f.write_all(&buf).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn raw_seq_write(dir: &Path, total: usize) -> (f64, PathBuf) {
    let path = dir.join("raw-write");
    let mut f = File::create(&path).unwrap();
    let buf = vec![7u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..total >> 20 {
        f.write_all(&buf).unwrap();
    }
    f.sync_data().unwrap();
    (total as f64 / MIB / start.elapsed().as_secs_f64(), path)
}

fn raw_seq_read(paths: &[PathBuf]) -> f64 {
    let mut buf = vec![0u8; 1 << 20];
    let start = Instant::now();
    let mut total = 0usize;
    for p in paths {
        let mut f = File::open(p).unwrap();
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
    }
    total as f64 / MIB / start.elapsed().as_secs_f64()
}

struct AppendResult {
    records: u64,
    mb_per_s: f64,
    rec_per_s: f64,
}

fn append_case(dir: &Path, appenders: usize, size: usize) -> AppendResult {
    let (wal, _) = Wal::open(dir, WalConfig::default()).unwrap();
    let wal = Arc::new(wal);
    let deadline = Instant::now() + secs();
    let start = Instant::now();
    let threads: Vec<_> = (0..appenders)
        .map(|t| {
            let w = Arc::clone(&wal);
            std::thread::spawn(move || {
                let data = vec![t as u8; size];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    w.append(&data).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let records: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = start.elapsed().as_secs_f64();
    AppendResult {
        records,
        mb_per_s: records as f64 * size as f64 / MIB / elapsed,
        rec_per_s: records as f64 / elapsed,
    }
}

fn replay(dir: &Path) -> (f64, u64) {
    let (wal, _) = Wal::open(dir, WalConfig::default()).unwrap();
    wal.add_consumer("bench", StartAt::Oldest).unwrap();
    let mut reader = wal.reader("bench").unwrap();
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut n = 0u64;
    while let Some(rec) = reader.try_next().unwrap() {
        bytes += rec.data.len() as u64;
        n += 1;
    }
    (bytes as f64 / MIB / start.elapsed().as_secs_f64(), n)
}

fn main() {
    // `cargo bench -- --test` (CI compile check) and libtest flags: run nothing heavy.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let root = bench_dir();
    println!("dir: {}", root.path().display());
    let sync_rate = raw_fdatasync_rate(root.path());
    println!("raw fdatasync (4 KiB write + fdatasync): {sync_rate:.0}/s");
    let (raw_write, raw_file) = raw_seq_write(root.path(), 256 << 20);
    println!("raw sequential write (1 MiB writes, 256 MiB, one fdatasync): {raw_write:.1} MiB/s");
    std::fs::remove_file(&raw_file).unwrap();

    println!("\nappend under SyncPolicy::Always ({:?} per case)", secs());
    println!(
        "{:>9} {:>9} {:>12} {:>12} {:>10} {:>16}",
        "appenders", "record", "records/s", "MiB/s", "records", "vs raw write"
    );
    let mut replay_dir = None;
    for size in [1usize << 10, 64 << 10, 1 << 20] {
        for appenders in [1usize, 4, 16] {
            let case = root.path().join(format!("wal-{appenders}-{size}"));
            let r = append_case(&case, appenders, size);
            println!(
                "{appenders:>9} {:>9} {:>12.0} {:>12.1} {:>10} {:>15.0}%",
                format!("{} KiB", size >> 10),
                r.rec_per_s,
                r.mb_per_s,
                r.records,
                100.0 * r.mb_per_s / raw_write
            );
            if size == 64 << 10 && appenders == 16 {
                replay_dir = Some(case);
            } else {
                std::fs::remove_dir_all(&case).unwrap();
            }
        }
    }
    // The disk is shared and noisy: measure the raw bandwidth again after the appends.
    let (raw_write_after, raw_file) = raw_seq_write(root.path(), 256 << 20);
    println!("\nraw sequential write again after the append cases: {raw_write_after:.1} MiB/s");
    std::fs::remove_file(&raw_file).unwrap();
    if let Some(dir) = replay_dir {
        let mut segs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        segs.sort();
        let raw_read = raw_seq_read(&segs);
        let (replay_mb, n) = replay(&dir);
        println!("\nreplay of the 16 x 64 KiB log ({n} records, page cache): {replay_mb:.1} MiB/s");
        println!("raw sequential read of the same files (1 MiB reads):     {raw_read:.1} MiB/s");
    }
}
