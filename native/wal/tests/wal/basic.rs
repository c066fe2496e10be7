//! Append, read, commit, reopen, retention, consumers, group commit.

use std::sync::Arc;
use std::time::Duration;

use prw_wal::{Position, StartAt, SyncPolicy, Wal, WalError};

use super::harness::{drain, filled, payload, segments, small};

#[test]
fn appended_records_are_read_back_in_order_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = filled(dir.path(), small(200), 50);
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        assert!(segments(dir.path()).len() > 3, "tiny segments rotate");
    }
    let (wal, report) = Wal::open(dir.path(), small(200)).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, 50);
    let mut r = wal.reader("a").unwrap();
    let got = drain(&mut r);
    assert_eq!(got.len(), 50);
    for (i, rec) in got.iter().enumerate() {
        assert_eq!(rec.position, Position(i as u64));
        assert_eq!(rec.data, payload(i as u64));
    }
    assert_eq!(wal.append(b"x").unwrap(), Position(50));
}

#[test]
fn committed_cursor_survives_reopen_and_reader_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = filled(dir.path(), small(300), 0);
        wal.add_consumer("a", StartAt::Newest).unwrap();
        for i in 0..20 {
            wal.append(&payload(i)).unwrap();
        }
        let mut r = wal.reader("a").unwrap();
        let got = drain(&mut r);
        r.commit(got[9].position).unwrap();
    }
    let (wal, _) = Wal::open(dir.path(), small(300)).unwrap();
    let mut r = wal.reader("a").unwrap();
    let got = drain(&mut r);
    assert_eq!(got.first().unwrap().position, Position(10));
    assert_eq!(got.len(), 10);
    let stats = wal.stats();
    assert_eq!(stats.consumers[0].lag_records, 10);
    assert_eq!(
        stats.consumers[0].lag_bytes,
        (10..20).map(|i| payload(i).len() as u64).sum::<u64>()
    );
}

#[test]
fn new_consumer_starts_at_newest_or_oldest_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let wal = filled(dir.path(), small(4096), 5);
    wal.add_consumer("new", StartAt::Newest).unwrap();
    wal.add_consumer("old", StartAt::Oldest).unwrap();
    wal.append(b"six").unwrap();
    assert_eq!(drain(&mut wal.reader("new").unwrap()).len(), 1);
    assert_eq!(drain(&mut wal.reader("old").unwrap()).len(), 6);
}

#[test]
fn segments_are_deleted_only_when_every_consumer_passed_them() {
    let dir = tempfile::tempdir().unwrap();
    let wal = filled(dir.path(), small(200), 0);
    wal.add_consumer("fast", StartAt::Oldest).unwrap();
    wal.add_consumer("slow", StartAt::Oldest).unwrap();
    for i in 0..40 {
        wal.append(&payload(i)).unwrap();
    }
    let before = segments(dir.path()).len();
    wal.commit("fast", Position(39)).unwrap();
    assert_eq!(segments(dir.path()).len(), before, "slow still needs them");
    wal.commit("slow", Position(20)).unwrap();
    let mid = segments(dir.path()).len();
    assert!(mid < before);
    assert!(wal.stats().first.unwrap().0 <= 21);
    wal.remove_consumer("slow").unwrap();
    assert_eq!(
        segments(dir.path()).len(),
        1,
        "only the active segment is left"
    );
    assert!(matches!(
        wal.reader("slow"),
        Err(WalError::UnknownConsumer(_))
    ));
}

#[test]
fn nothing_is_deleted_without_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let wal = filled(dir.path(), small(200), 40);
    assert_eq!(wal.stats().first, Some(Position(0)));
    assert_eq!(wal.stats().segments, segments(dir.path()).len());
}

#[test]
fn reader_waits_for_an_append_from_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), small(4096)).unwrap();
    let wal = Arc::new(wal);
    wal.add_consumer("a", StartAt::Newest).unwrap();
    let mut r = wal.reader("a").unwrap();
    assert_eq!(r.try_next().unwrap(), None);
    let w = Arc::clone(&wal);
    let t = std::thread::spawn(move || w.append(b"late").unwrap());
    let rec = r.next_timeout(Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!(rec.data, b"late");
    assert_eq!(t.join().unwrap(), rec.position);
}

#[test]
fn concurrent_appenders_get_distinct_dense_positions() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), small(4096)).unwrap();
    let wal = Arc::new(wal);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let w = Arc::clone(&wal);
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| (w.append(&[t, i]).unwrap(), [t, i]))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all.len(), 400);
    for (i, (pos, _)) in all.iter().enumerate() {
        assert_eq!(pos.0, i as u64);
    }
    assert_eq!(wal.stats().durable, Position(400));
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    let got = drain(&mut wal.reader("a").unwrap());
    for ((pos, data), rec) in all.iter().zip(&got) {
        assert_eq!((*pos, data.to_vec()), (rec.position, rec.data.clone()));
    }
}

#[test]
fn interval_policy_acknowledges_before_sync_and_sync_makes_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small(4096);
    cfg.sync = SyncPolicy::Interval(Duration::from_secs(3600));
    let (wal, _) = Wal::open(dir.path(), cfg).unwrap();
    wal.append(b"a").unwrap();
    assert_eq!(wal.stats().durable, Position(0));
    wal.sync().unwrap();
    assert_eq!(wal.stats().durable, Position(1));
}

#[test]
fn commits_never_move_backwards_and_cannot_pass_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let wal = filled(dir.path(), small(4096), 10);
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.commit("a", Position(5)).unwrap();
    wal.commit("a", Position(2)).unwrap();
    assert_eq!(wal.stats().consumers[0].next, Position(6));
    assert!(matches!(
        wal.commit("a", Position(10)),
        Err(WalError::CommitBeyondEnd { .. })
    ));
}

#[test]
fn invalid_consumer_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let wal = filled(dir.path(), small(4096), 0);
    for bad in ["", ".hidden", "a/b", "a b"] {
        assert!(
            matches!(
                wal.add_consumer(bad, StartAt::Newest),
                Err(WalError::InvalidConsumerName(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn oversized_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small(4096);
    cfg.max_record_bytes = 10;
    let (wal, _) = Wal::open(dir.path(), cfg).unwrap();
    assert!(matches!(
        wal.append(&[0; 11]),
        Err(WalError::RecordTooLarge { len: 11, max: 10 })
    ));
    assert_eq!(wal.append(&[0; 10]).unwrap(), Position(0));
}

#[test]
fn wal_and_reader_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Wal>();
    send::<prw_wal::Reader>();
}

#[test]
fn waiting_reader_returns_none_when_the_wal_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), small(4096)).unwrap();
    wal.add_consumer("a", StartAt::Newest).unwrap();
    let mut r = wal.reader("a").unwrap();
    let t = std::thread::spawn(move || r.next_timeout(Duration::from_secs(3600)));
    drop(wal);
    assert_eq!(t.join().unwrap().unwrap(), None);
}
