//! Exclusive ownership: a second open of a directory fails with `WalError::Locked` naming it
//! and the holder's pid, without touching anything; the kernel releases the lock when the
//! holder dies (even by SIGKILL), so a restart just works.
//!
//! The holder process is this test binary re-run with `PRW_WAL_LOCK_CHILD=<dir>` on the test
//! `lock_child_holder`, which opens the WAL, appends one record, prints `OPEN` and waits.

use std::io::{BufRead, BufReader};

use prw_wal::{StartAt, Wal, WalConfig, WalError};

use super::harness::{child_test, drain, segments};

/// Not a test of its own: the body of the child process (no-op unless the env var is set).
#[test]
fn lock_child_holder() {
    let Some(dir) = std::env::var_os("PRW_WAL_LOCK_CHILD") else {
        return;
    };
    let (wal, _) = Wal::open(&dir, WalConfig::default()).unwrap();
    wal.append(b"held").unwrap();
    println!("OPEN");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn a_second_open_in_the_same_process_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalConfig::default()).unwrap();
    wal.append(b"a").unwrap();
    let err = Wal::open(dir.path(), WalConfig::default()).unwrap_err();
    match &err {
        WalError::Locked { dir: d, pid } => {
            assert_eq!(d, dir.path());
            assert_eq!(*pid, Some(std::process::id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&dir.path().display().to_string()) && text.contains("pid"),
        "{text}"
    );
    drop(wal);
    let (wal, _) = Wal::open(dir.path(), WalConfig::default()).unwrap();
    assert_eq!(wal.stats().next.0, 1);
}

#[test]
fn another_process_holding_the_directory_is_named_and_its_sigkill_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = child_test(
        "wal::lock::lock_child_holder",
        "PRW_WAL_LOCK_CHILD",
        dir.path(),
    )
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let opened = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        // libtest prints `test NAME ... ` before the child's own output on the same line.
        .any(|line| line.ends_with("OPEN"));
    let before = segments(dir.path());
    let second = Wal::open(dir.path(), WalConfig::default());
    let pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(opened, "the child did not open the WAL");
    match second {
        Err(WalError::Locked { pid: found, .. }) => assert_eq!(found, Some(pid)),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(
        segments(dir.path()),
        before,
        "the refused open touched nothing"
    );
    let (wal, report) = Wal::open(dir.path(), WalConfig::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    wal.add_consumer("check", StartAt::Oldest).unwrap();
    assert_eq!(drain(&mut wal.reader("check").unwrap())[0].data, b"held");
}

#[test]
fn inspect_reads_a_live_directory_without_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalConfig::default()).unwrap();
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"x").unwrap();
    wal.commit("a", prw_wal::Position(0)).unwrap();
    let seen = prw_wal::inspect(dir.path()).unwrap();
    assert_eq!(seen.last, Some(0));
    assert_eq!(seen.cursors[0].next, Ok(1));
    assert!(seen.damage.is_empty());
}
