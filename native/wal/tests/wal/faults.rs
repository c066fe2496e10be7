//! Storage faults injected through `FaultyStorage`: a full disk, EIO, short writes, failed
//! fsyncs (with the dropped pages zeroed), failed renames and deletes. After each, the log is
//! consistent, nothing that failed is acknowledged or delivered, and appends resume by
//! themselves once the fault is gone.

use std::sync::Arc;

use prw_wal::{
    Fault, FaultyStorage, Op, Position, StartAt, Storage, SyncPolicy, Wal, WalConfig, WalError,
};

use super::harness::{drain, segments, small};

fn faulty(segment_bytes: u64) -> (FaultyStorage, WalConfig) {
    let faults = FaultyStorage::new();
    let mut config = small(segment_bytes);
    config.storage = Arc::new(faults.clone()) as Arc<dyn Storage>;
    (faults, config)
}

fn data(wal: &Wal, consumer: &str) -> Vec<Vec<u8>> {
    drain(&mut wal.reader(consumer).unwrap())
        .into_iter()
        .map(|r| r.data)
        .collect()
}

fn reopen_clean(dir: &std::path::Path, config: WalConfig) -> Wal {
    let (wal, report) = Wal::open(dir, config).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(prw_wal::inspect(dir).unwrap().damage.is_empty());
    wal
}

#[test]
fn a_full_disk_refuses_appends_and_they_resume_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"one").unwrap();
    faults.set_disk_full(true);
    for _ in 0..3 {
        let err = wal.append(b"refused").unwrap_err();
        assert!(err.is_out_of_space(), "{err}");
    }
    faults.set_disk_full(false);
    assert_eq!(wal.append(b"two").unwrap(), Position(1));
    assert_eq!(data(&wal, "a"), vec![b"one".to_vec(), b"two".to_vec()]);
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(data(&wal, "a"), vec![b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn a_full_disk_seals_the_segment_so_delivery_frees_it_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Segments far larger than the data: only the full disk can seal this one.
    let (faults, config) = faulty(1 << 20);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..5u8 {
        wal.append(&[i; 100]).unwrap();
    }
    faults.set_disk_full(true);
    assert!(wal.append(b"refused").unwrap_err().is_out_of_space());
    assert_eq!(segments(dir.path()).len(), 1);
    // Delivery catches up: the sealed segment is deleted although no new one could start.
    wal.commit("a", Position(4)).unwrap();
    assert!(
        segments(dir.path()).is_empty(),
        "the delivered segment is freed"
    );
    assert!(wal.append(b"still full").unwrap_err().is_out_of_space());
    faults.set_disk_full(false);
    assert_eq!(wal.append(b"after").unwrap(), Position(5));
    assert_eq!(data(&wal, "a"), vec![b"after".to_vec()]);
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(wal.stats().next, Position(6));
}

#[test]
fn a_wal_whose_segments_were_all_delivered_and_deleted_resumes_at_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(1 << 20);
    {
        let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        for i in 0..3u8 {
            wal.append(&[i; 10]).unwrap();
        }
        faults.set_disk_full(true);
        assert!(wal.append(b"x").is_err());
        wal.commit("a", Position(2)).unwrap();
        assert!(segments(dir.path()).is_empty());
    }
    // Restarted on the still full disk: positions are not reused.
    let (wal, report) = Wal::open(dir.path(), config).unwrap();
    assert!(report.cursors_clamped.is_empty(), "{report:?}");
    assert_eq!(wal.stats().next, Position(3));
    faults.set_disk_full(false);
    assert_eq!(wal.append(b"next").unwrap(), Position(3));
}

#[test]
fn a_short_write_followed_by_an_error_is_cut_off_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"before").unwrap();
    faults.fail_next(Op::Write, Fault::ShortWrite);
    faults.fail_nth(Op::Write, 0, Fault::Eio);
    assert!(matches!(
        wal.append(&[7; 300]),
        Err(WalError::Io { op: "write", .. })
    ));
    assert_eq!(faults.injected(), 2);
    wal.append(b"after").unwrap();
    assert_eq!(data(&wal, "a"), vec![b"before".to_vec(), b"after".to_vec()]);
    drop(wal);
    // No torn tail: the partial record was cut before the next one was written.
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(data(&wal, "a"), vec![b"before".to_vec(), b"after".to_vec()]);
}

#[test]
fn a_short_write_alone_is_completed() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    faults.fail_next(Op::Write, Fault::ShortWrite);
    wal.append_parts(&[&[1; 50], &[2; 50]]).unwrap();
    let mut want = vec![1u8; 50];
    want.extend([2u8; 50]);
    assert_eq!(data(&wal, "a"), vec![want]);
}

#[test]
fn records_a_failed_fsync_covered_are_never_acknowledged_even_after_a_good_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Arc::new(Wal::open(dir.path(), config.clone()).unwrap().0);
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"durable").unwrap();
    // The failed fsync zeroes what it should have written (the kernel dropped the pages).
    faults.fail_next(Op::Sync, Fault::Eio);
    assert!(matches!(
        wal.append(b"dropped by the kernel"),
        Err(WalError::Io {
            op: "fdatasync",
            ..
        })
    ));
    // A later fsync succeeds; the WAL must not count the zeroed record as durable.
    assert_eq!(wal.append(b"next").unwrap(), Position(1));
    assert_eq!(data(&wal, "a"), vec![b"durable".to_vec(), b"next".to_vec()]);
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(data(&wal, "a"), vec![b"durable".to_vec(), b"next".to_vec()]);
}

#[test]
fn interval_policy_rewrites_records_in_doubt_after_a_failed_fsync_when_they_verify() {
    use std::sync::atomic::{AtomicBool, Ordering};
    #[derive(Debug, Default)]
    struct FailOnce(AtomicBool);
    impl prw_wal::SyncHook for FailOnce {
        fn before_sync(&self) -> std::io::Result<()> {
            if self.0.swap(false, Ordering::SeqCst) {
                return Err(std::io::Error::other("injected fsync failure"));
            }
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let hook = Arc::new(FailOnce::default());
    let mut config = small(4096);
    config.sync = SyncPolicy::Interval(std::time::Duration::from_secs(3600));
    config.sync_hook = Some(Arc::clone(&hook) as Arc<dyn prw_wal::SyncHook>);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..3u8 {
        wal.append(&[i; 20]).unwrap(); // acknowledged before any fsync
    }
    hook.0.store(true, Ordering::SeqCst);
    assert!(wal.sync().is_err());
    assert!(wal.stats().repairing);
    // The pages were kept (the hook fails without dropping them): the records verify, are
    // written again and synced; nothing acknowledged is lost, positions go on.
    assert_eq!(wal.append(&[3; 20]).unwrap(), Position(3));
    wal.sync().unwrap();
    let want: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 20]).collect();
    assert_eq!(data(&wal, "a"), want);
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(data(&wal, "a"), want);
}

#[test]
fn interval_policy_cuts_acknowledged_records_the_kernel_dropped_and_readers_start_over() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, mut config) = faulty(4096);
    config.sync = SyncPolicy::Interval(std::time::Duration::from_secs(3600));
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"synced").unwrap();
    wal.sync().unwrap();
    wal.append(b"dropped").unwrap();
    let mut reader = wal.reader("a").unwrap();
    assert_eq!(drain(&mut reader).len(), 2, "read from the page cache");
    faults.fail_next(Op::Sync, Fault::Eio);
    assert!(wal.sync().is_err());
    // The zeroed record fails re-verification: it is cut (the interval policy's loss window)
    // and its position is given to the next record; the reader starts over from its cursor.
    assert_eq!(wal.append(b"new").unwrap(), Position(1));
    let again: Vec<Vec<u8>> = drain(&mut reader).into_iter().map(|r| r.data).collect();
    assert_eq!(again, vec![b"synced".to_vec(), b"new".to_vec()]);
}

#[test]
fn interval_policy_poisons_when_a_consumer_committed_records_the_kernel_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, mut config) = faulty(4096);
    config.sync = SyncPolicy::Interval(std::time::Duration::from_secs(3600));
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"delivered, then dropped").unwrap();
    wal.commit("a", Position(0)).unwrap();
    faults.fail_next(Op::Sync, Fault::Eio);
    assert!(wal.sync().is_err());
    assert!(matches!(wal.append(b"x"), Err(WalError::Poisoned)));
    assert!(wal.stats().poisoned);
    drop(wal);
    // Reopening recovers: the cursor is clamped back into the log.
    let (wal, _) = Wal::open(dir.path(), config).unwrap();
    wal.append(b"after reopen").unwrap();
}

#[test]
fn a_failed_rotation_fails_one_append_and_the_next_starts_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(200);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(&[1; 150]).unwrap();
    faults.fail_next(Op::Create, Fault::NoSpace);
    assert!(wal.append(&[2; 150]).unwrap_err().is_out_of_space());
    assert_eq!(wal.append(&[3; 150]).unwrap(), Position(1));
    assert_eq!(data(&wal, "a"), vec![vec![1; 150], vec![3; 150]]);
    drop(wal);
    reopen_clean(dir.path(), config);
}

fn cursor_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("cursors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_rename_adds_no_consumer_and_a_retry_works() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(200);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..6u8 {
        wal.append(&[i; 100]).unwrap();
    }
    faults.fail_next(Op::Rename, Fault::Eio);
    let err = wal.add_consumer("b", StartAt::Oldest).unwrap_err();
    assert!(err.to_string().contains("rename"), "{err}");
    assert_eq!(wal.consumers(), ["a"]);
    assert!(wal.reader("b").is_err());
    assert_eq!(cursor_files(dir.path()), ["a.cursor"], "temporary removed");
    // Nothing else changed: retention still follows `a` alone, appends go on.
    wal.commit("a", Position(3)).unwrap();
    wal.append(&[6; 100]).unwrap();
    wal.add_consumer("b", StartAt::Oldest).unwrap();
    let first = wal.stats().consumers[1].next.0;
    assert!(first <= 4, "b starts at the oldest record kept: {first}");
    let want: Vec<Vec<u8>> = (first as u8..7).map(|i| vec![i; 100]).collect();
    assert_eq!(data(&wal, "b"), want);
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(wal.consumers(), ["a", "b"]);
    assert_eq!(data(&wal, "b"), want);
}

#[test]
fn a_failed_rename_replacing_an_unreadable_cursor_fails_the_open_and_the_next_open_resets_it() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"kept").unwrap();
    drop(wal);
    std::fs::write(dir.path().join("cursors/a.cursor"), [0u8; 48]).unwrap();
    faults.fail_next(Op::Rename, Fault::Eio);
    let err = Wal::open(dir.path(), config.clone()).unwrap_err();
    assert!(err.to_string().contains("rename"), "{err}");
    assert_eq!(cursor_files(dir.path()), ["a.cursor"]);
    let (wal, report) = Wal::open(dir.path(), config).unwrap();
    assert_eq!(report.cursors_reset, ["a"]);
    assert_eq!(
        data(&wal, "a"),
        vec![b"kept".to_vec()],
        "at-least-once: from the oldest"
    );
}

#[test]
fn a_failed_cursor_commit_keeps_the_previous_cursor_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..4u8 {
        wal.append(&[i]).unwrap();
    }
    wal.commit("a", Position(0)).unwrap();
    // A failed fsync of the cursor slot (its bytes zeroed) and a failed write.
    faults.fail_next(Op::Sync, Fault::Eio);
    assert!(wal.commit("a", Position(1)).is_err());
    faults.fail_next(Op::Write, Fault::Eio);
    assert!(wal.commit("a", Position(2)).is_err());
    // Opening the cursor file for writing fails (`Op::Create` covers opening for writing).
    faults.fail_next(Op::Create, Fault::Eio);
    let err = wal.commit("a", Position(2)).unwrap_err();
    assert!(err.to_string().starts_with("open "), "{err}");
    assert_eq!(faults.injected(), 3);
    assert_eq!(wal.stats().consumers[0].next, Position(1));
    drop(wal);
    let (wal, report) = Wal::open(dir.path(), config.clone()).unwrap();
    assert!(report.cursors_reset.is_empty(), "{report:?}");
    assert_eq!(wal.stats().consumers[0].next, Position(1), "the older slot");
    wal.commit("a", Position(2)).unwrap();
    drop(wal);
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(wal.stats().consumers[0].next, Position(3));
}

#[test]
fn cursor_commits_need_no_free_space() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..4u8 {
        wal.append(&[i]).unwrap();
    }
    faults.set_disk_full(true);
    for p in 0..4 {
        wal.commit("a", Position(p)).unwrap();
    }
    assert_eq!(wal.stats().consumers[0].next, Position(4));
}

#[test]
fn a_failed_segment_delete_keeps_the_file_and_the_next_open_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(200);
    let wal = Wal::open(dir.path(), config.clone()).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    for i in 0..4u8 {
        wal.append(&[i; 150]).unwrap();
    }
    assert_eq!(segments(dir.path()).len(), 4);
    faults.fail_next(Op::Remove, Fault::Eio);
    wal.commit("a", Position(1)).unwrap();
    // The first delete failed: nothing after it is deleted either (no gap in the log).
    assert_eq!(segments(dir.path()).len(), 4);
    let got: Vec<u64> = drain(&mut wal.reader("a").unwrap())
        .iter()
        .map(|r| r.position.0)
        .collect();
    assert_eq!(got, vec![2, 3]);
    // The next commit retries, oldest first.
    wal.commit("a", Position(2)).unwrap();
    assert_eq!(segments(dir.path()).len(), 1);
    faults.fail_next(Op::Remove, Fault::Eio);
    wal.append(&[4; 150]).unwrap();
    wal.commit("a", Position(3)).unwrap();
    assert_eq!(segments(dir.path()).len(), 2);
    drop(wal);
    // Open deletes what is left behind.
    let wal = reopen_clean(dir.path(), config);
    assert_eq!(segments(dir.path()).len(), 1);
    assert_eq!(wal.stats().first, Some(Position(4)));
}

#[test]
fn eio_on_read_is_an_error_for_the_reader_and_reading_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (faults, config) = faulty(4096);
    let wal = Wal::open(dir.path(), config).unwrap().0;
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"r").unwrap();
    let mut reader = wal.reader("a").unwrap();
    faults.fail_next(Op::Read, Fault::Eio);
    assert!(reader.try_next().is_err());
    assert_eq!(reader.try_next().unwrap().unwrap().data, b"r");
}
