//! Model test: random appends, commits, syncs, reopens and simulated crashes (unsynced bytes
//! of the active segment cut at a random point) against an in-memory model: a vector of
//! records and a cursor.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use prw_wal::{Position, StartAt, SyncPolicy, Wal, WalConfig};

use super::harness::{expected_from, read_all, segments};

#[derive(Debug, Clone)]
enum Action {
    Append(Vec<u8>),
    /// Commit the record at this fraction (0..=255) of the unread part.
    Commit(u8),
    Sync,
    Reopen,
    /// Cut the unsynced part of the active segment at this fraction (0..=255).
    Crash(u8),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..120).prop_map(Action::Append),
        2 => any::<u8>().prop_map(Action::Commit),
        1 => Just(Action::Sync),
        1 => Just(Action::Reopen),
        1 => any::<u8>().prop_map(Action::Crash),
    ]
}

fn config() -> WalConfig {
    let mut c = WalConfig::default();
    c.segment_bytes = 400;
    c.max_bytes = 1 << 30;
    c.sync = SyncPolicy::Interval(Duration::from_secs(3600));
    c
}

fn last_segment(dir: &Path) -> PathBuf {
    segments(dir).pop().unwrap()
}

fn synced_tail(dir: &Path) -> (PathBuf, u64) {
    let last = last_segment(dir);
    let len = std::fs::metadata(&last).unwrap().len();
    (last, len)
}

fn first_of(path: &Path) -> u64 {
    path.file_name().unwrap().to_str().unwrap()[..20]
        .parse()
        .unwrap()
}

struct Model {
    records: Vec<Vec<u8>>,
    cursor: u64,
    /// Records known durable: at the last `Sync`.
    synced: u64,
    /// Length of the active segment at the last `Sync`, and which segment it was.
    synced_len: Option<(PathBuf, u64)>,
}

fn check(wal: &Wal, model: &Model) {
    assert_eq!(
        read_all(wal, "a"),
        expected_from(&model.records, model.cursor)
    );
    assert_eq!(wal.stats().next, Position(model.records.len() as u64));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn wal_matches_model_across_commits_reopens_and_crashes(actions in proptest::collection::vec(action(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), config()).unwrap();
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        let mut model = Model { records: Vec::new(), cursor: 0, synced: 0, synced_len: None };
        for action in actions {
            match action {
                Action::Append(data) => {
                    let pos = wal.append(&data).unwrap();
                    prop_assert_eq!(pos, Position(model.records.len() as u64));
                    model.records.push(data);
                }
                Action::Commit(frac) => {
                    let unread = model.records.len() as u64 - model.cursor;
                    if unread > 0 {
                        let pos = model.cursor + (unread - 1) * u64::from(frac) / 255;
                        wal.commit("a", Position(pos)).unwrap();
                        model.cursor = pos + 1;
                    }
                }
                Action::Sync => {
                    wal.sync().unwrap();
                    model.synced = model.records.len() as u64;
                    model.synced_len = Some(synced_tail(dir.path()));
                }
                Action::Reopen => {
                    drop(wal);
                    let (w, report) = Wal::open(dir.path(), config()).unwrap();
                    prop_assert!(report.is_clean(), "{:?}", report);
                    wal = w;
                    // Open syncs the active segment: everything kept is durable now.
                    model.synced = model.records.len() as u64;
                    model.synced_len = Some(synced_tail(dir.path()));
                }
                Action::Crash(frac) => {
                    drop(wal);
                    let last = last_segment(dir.path());
                    let len = std::fs::metadata(&last).unwrap().len();
                    let durable_len = match &model.synced_len {
                        Some((p, l)) if *p == last => *l,
                        _ => 24,
                    };
                    let cut = durable_len + (len - durable_len) * u64::from(frac) / 255;
                    std::fs::OpenOptions::new().write(true).open(&last).unwrap().set_len(cut).unwrap();
                    let durable = model.synced.max(first_of(&last));
                    let (w, report) = Wal::open(dir.path(), config()).unwrap();
                    prop_assert!(report.quarantined.is_empty());
                    wal = w;
                    let kept = wal.stats().next.0;
                    prop_assert!(kept >= durable, "kept {} < durable {}", kept, durable);
                    prop_assert!(kept <= model.records.len() as u64);
                    model.records.truncate(kept as usize);
                    model.cursor = model.cursor.min(kept);
                    model.synced = kept;
                    model.synced_len = Some(synced_tail(dir.path()));
                }
            }
            check(&wal, &model);
        }
    }
}
