//! Model test under storage faults: random appends (whole and by parts), commits, syncs,
//! consumers added and reopens, with faults injected both on command (a full disk, the next
//! write / fsync / create / truncate / rename / delete / read failing) and from a seeded
//! random schedule, against an in-memory model: the list of acknowledged records, the
//! committed cursor of consumer `a`, and where every other consumer was added.
//!
//! After every step (faults switched off for the check) and after a final reopen: every
//! acknowledged record is readable at its position, in order; no record whose append returned
//! an error is ever read (each payload is unique); the cursor is the last committed one; the
//! consumers are exactly those whose add succeeded (one whose add failed is absent, and after
//! a reopen present only if its cursor file made it to disk), and each reads every
//! acknowledged record from where it was added (retention never deleted what it needs).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use prw_wal::{Fault, FaultyStorage, Op, Position, StartAt, Storage, Wal, WalConfig};

use super::harness::{expected_from, read_all};

#[derive(Debug, Clone)]
enum Action {
    Append(usize),
    AppendParts(Vec<usize>),
    /// Commit the record at this fraction (0..=255) of the unread part.
    Commit(u8),
    Sync,
    Reopen,
    /// Adds consumer `c{n % 3}` at the oldest record (a cursor file: create, rename).
    AddConsumer(u8),
    FailNext(Op, Fault),
    DiskFull(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Write),
        Just(Op::Sync),
        Just(Op::Create),
        Just(Op::Truncate),
        Just(Op::Rename),
        Just(Op::Remove),
        Just(Op::Read),
        Just(Op::SyncDir),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::NoSpace),
        Just(Fault::Eio),
        Just(Fault::ShortWrite)
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0usize..120).prop_map(Action::Append),
        2 => proptest::collection::vec(0usize..50, 1..4).prop_map(Action::AppendParts),
        2 => any::<u8>().prop_map(Action::Commit),
        1 => Just(Action::Sync),
        1 => Just(Action::Reopen),
        1 => any::<u8>().prop_map(Action::AddConsumer),
        3 => (op(), fault()).prop_map(|(o, f)| Action::FailNext(o, f)),
        1 => any::<bool>().prop_map(Action::DiskFull),
    ]
}

fn config(faults: &FaultyStorage) -> WalConfig {
    let mut c = WalConfig::default();
    c.segment_bytes = 300;
    c.max_bytes = 1 << 30;
    c.storage = Arc::new(faults.clone()) as Arc<dyn Storage>;
    c
}

/// A unique payload of `len` bytes (at least 4): the counter, then filler.
fn payload(counter: &mut u32, len: usize) -> Vec<u8> {
    *counter += 1;
    let mut v = counter.to_le_bytes().to_vec();
    v.resize(len.max(4), (*counter % 251) as u8);
    v
}

struct Model {
    acked: Vec<Vec<u8>>,
    errored: Vec<Vec<u8>>,
    cursor: u64,
    /// Other consumers: where each was added (it never commits).
    others: BTreeMap<String, u64>,
    /// Consumers whose add failed: absent now; after a reopen present if their file is.
    uncertain: BTreeSet<String>,
}

impl Model {
    /// Records the outcome of appending `data`.
    fn appended(
        &mut self,
        data: Vec<u8>,
        result: Result<Position, prw_wal::WalError>,
    ) -> Result<(), TestCaseError> {
        match result {
            Ok(pos) => {
                prop_assert_eq!(pos, Position(self.acked.len() as u64));
                self.acked.push(data);
            }
            Err(_) => self.errored.push(data),
        }
        Ok(())
    }

    /// Records the outcome of adding consumer `name`.
    fn added(&mut self, wal: &Wal, name: &str, result: Result<(), prw_wal::WalError>) {
        if self.others.contains_key(name) {
            return;
        }
        match result {
            Ok(()) => {
                self.uncertain.remove(name);
                self.others.insert(name.to_owned(), position_of(wal, name));
            }
            Err(_) => {
                self.uncertain.insert(name.to_owned());
            }
        }
    }

    /// After a reopen: a consumer whose add failed exists if its cursor file survived.
    fn reopened(&mut self, wal: &Wal) {
        let present = wal.consumers();
        for name in std::mem::take(&mut self.uncertain) {
            if present.contains(&name) {
                self.others.insert(name.clone(), position_of(wal, &name));
            }
        }
    }
}

fn position_of(wal: &Wal, name: &str) -> u64 {
    let stats = wal.stats();
    let consumer = stats.consumers.iter().find(|c| c.name == name);
    consumer.map_or(u64::MAX, |c| c.next.0)
}

fn check(wal: &Wal, model: &Model) -> Result<(), TestCaseError> {
    let got = read_all(wal, "a");
    prop_assert_eq!(&got, &expected_from(&model.acked, model.cursor));
    for (_, data) in &got {
        prop_assert!(
            !model.errored.contains(data),
            "a failed append was delivered"
        );
    }
    prop_assert_eq!(position_of(wal, "a"), model.cursor);
    let mut expected: BTreeSet<String> = model.others.keys().cloned().collect();
    expected.insert("a".to_owned());
    let present: BTreeSet<String> = wal.consumers().into_iter().collect();
    prop_assert_eq!(
        present,
        expected,
        "consumers (whose add failed: {:?})",
        &model.uncertain
    );
    for (name, &start) in &model.others {
        prop_assert!(start <= model.cursor, "{} added past a's cursor", name);
        prop_assert_eq!(
            read_all(wal, name),
            expected_from(&model.acked, start),
            "consumer {} added at {}",
            name,
            start
        );
    }
    Ok(())
}

fn reopen(faults: &FaultyStorage, dir: &std::path::Path) -> Wal {
    faults.clear();
    Wal::open(dir, config(faults)).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn acknowledged_records_survive_any_fault_schedule_and_failed_ones_never_appear(
        actions in proptest::collection::vec(action(), 1..60),
        seed in any::<u64>(),
        per_million in 0u32..80_000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let faults = FaultyStorage::new();
        let mut wal = Wal::open(dir.path(), config(&faults)).unwrap().0;
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        let mut model = Model {
            acked: Vec::new(),
            errored: Vec::new(),
            cursor: 0,
            others: BTreeMap::new(),
            uncertain: BTreeSet::new(),
        };
        let mut counter = 0u32;
        let mut disk_full = false;
        for (step, action) in actions.into_iter().enumerate() {
            faults.random(seed ^ step as u64, per_million);
            faults.set_disk_full(disk_full);
            match action {
                Action::Append(len) => {
                    let data = payload(&mut counter, len);
                    let result = wal.append(&data);
                    model.appended(data, result)?;
                }
                Action::AppendParts(lens) => {
                    let data = payload(&mut counter, lens.iter().sum());
                    let mut parts = Vec::new();
                    let mut rest = data.as_slice();
                    for len in lens {
                        let (head, tail) = rest.split_at(len.min(rest.len()));
                        parts.push(head);
                        rest = tail;
                    }
                    parts.push(rest);
                    let result = wal.append_parts(&parts);
                    model.appended(data, result)?;
                }
                Action::Commit(frac) => {
                    let unread = model.acked.len() as u64 - model.cursor;
                    if unread > 0 {
                        let pos = model.cursor + (unread - 1) * u64::from(frac) / 255;
                        if wal.commit("a", Position(pos)).is_ok() {
                            model.cursor = pos + 1;
                        }
                    }
                }
                Action::Sync => {
                    let _ = wal.sync();
                }
                Action::Reopen => {
                    drop(wal);
                    wal = reopen(&faults, dir.path());
                    model.reopened(&wal);
                }
                Action::AddConsumer(n) => {
                    let name = format!("c{}", n % 3);
                    let result = wal.add_consumer(&name, StartAt::Oldest);
                    model.added(&wal, &name, result);
                }
                Action::FailNext(op, fault) => faults.fail_next(op, fault),
                Action::DiskFull(full) => disk_full = full,
            }
            faults.clear();
            check(&wal, &model)?;
        }
        drop(wal);
        let wal = reopen(&faults, dir.path());
        model.reopened(&wal);
        check(&wal, &model)?;
        // Appends work again once the faults are gone.
        let data = payload(&mut counter, 10);
        prop_assert_eq!(wal.append(&data).unwrap(), Position(model.acked.len() as u64));
    }
}
