//! A real child process appending from several threads is killed with SIGKILL at random
//! moments; after reopen every acknowledged record is there, in order, and the log verifies.
//!
//! The child is this test binary re-run with `PRW_WAL_CRASH_CHILD=<dir>` on the test
//! `crash_child_appender`, which prints `ACK <position> <thread> <i>` per acknowledged record.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prw_wal::{StartAt, Wal};

use super::harness::{child_test, drain, small};

fn record(thread: u64, i: u64) -> Vec<u8> {
    let mut v = format!("t{thread}-i{i}-").into_bytes();
    v.resize(100 + (i % 300) as usize, b'x');
    v
}

/// Not a test of its own: the body of the child process (no-op unless the env var is set).
#[test]
fn crash_child_appender() {
    let Some(dir) = std::env::var_os("PRW_WAL_CRASH_CHILD") else {
        return;
    };
    let (wal, _) = Wal::open(&dir, small(8192)).unwrap();
    let wal = Arc::new(wal);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let w = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0.. {
                    let pos = w.append(&record(t, i)).unwrap();
                    println!("ACK {} {t} {i}", pos.0);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_during_concurrent_appends_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..6 {
        let mut child = KillOnDrop(
            child_test(
                "wal::crash::crash_child_appender",
                "PRW_WAL_CRASH_CHILD",
                dir.path(),
            )
            .spawn()
            .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after a pseudo-random number of acknowledgements (20..400).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 20 + seed % 380;
        let started = Instant::now();
        let mut seen = 0;
        while seen < kill_after && started.elapsed() < Duration::from_secs(10) {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let f: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
                acked.push((f[0], record(f[1], f[2])));
                seen += 1;
            }
        }
        child.0.kill().unwrap();
        // Acknowledgements printed before the kill landed are still in the pipe.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let f: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
                acked.push((f[0], record(f[1], f[2])));
            }
        }
        drop(child);
        assert!(seen > 0, "round {round}: child acknowledged nothing");
    }
    let (wal, report) = Wal::open(dir.path(), small(8192)).unwrap();
    assert!(report.quarantined.is_empty(), "{report:?}");
    wal.add_consumer("check", StartAt::Oldest).unwrap();
    let got = drain(&mut wal.reader("check").unwrap());
    for (i, rec) in got.iter().enumerate() {
        assert_eq!(rec.position.0, i as u64, "positions dense and in order");
    }
    for (pos, data) in &acked {
        let rec = got
            .get(*pos as usize)
            .unwrap_or_else(|| panic!("acknowledged {pos} missing"));
        assert_eq!(&rec.data, data, "acknowledged record {pos} intact");
    }
    drop(wal);
    assert!(prw_wal::inspect(dir.path()).unwrap().damage.is_empty());
}
