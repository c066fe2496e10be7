//! Read marks: one reader moves past records another reader already read
//! ([`prw_wal::Reader::skip_to`]) and then reads on from exactly the right record, across
//! segment rotations, appends in between, commits among skipped records and reopens.

use proptest::prelude::*;
use prw_wal::{Position, StartAt, Wal};

use super::harness::{payload, small};

#[derive(Debug, Clone, Copy)]
enum Step {
    Append,
    ReadA,
    ReadB,
    /// B skips to A's mark (a mark behind B changes nothing).
    SkipB,
    /// B commits the last record it read or skipped.
    CommitB,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Append),
        3 => Just(Step::ReadA),
        2 => Just(Step::ReadB),
        2 => Just(Step::SkipB),
        1 => Just(Step::CommitB),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_reader_moved_to_another_readers_mark_reads_on_from_there(
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), small(180)).unwrap();
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        wal.add_consumer("b", StartAt::Oldest).unwrap();
        let (mut a, mut b) = (wal.reader("a").unwrap(), wal.reader("b").unwrap());
        let (mut appended, mut a_next, mut b_next) = (0u64, 0u64, 0u64);
        for step in steps {
            match step {
                Step::Append => {
                    prop_assert_eq!(wal.append(&payload(appended)).unwrap(), Position(appended));
                    appended += 1;
                }
                Step::ReadA | Step::ReadB => {
                    let (reader, next) = match step {
                        Step::ReadA => (&mut a, &mut a_next),
                        _ => (&mut b, &mut b_next),
                    };
                    let got = reader.try_next().unwrap();
                    if *next < appended {
                        let record = got.expect("a record is readable");
                        prop_assert_eq!(record.position, Position(*next));
                        prop_assert_eq!(record.data, payload(*next));
                        *next += 1;
                        let mark = reader.mark().expect("a reader that returned a record has a mark");
                        prop_assert_eq!(mark.next(), Position(*next));
                    } else {
                        prop_assert!(got.is_none());
                    }
                }
                Step::SkipB => {
                    if let Some(mark) = a.mark() {
                        let moved = b.skip_to(&mark);
                        prop_assert_eq!(moved, a_next > b_next);
                        b_next = b_next.max(a_next);
                    }
                }
                Step::CommitB => {
                    if b_next > 0 {
                        b.commit(Position(b_next - 1)).unwrap();
                    }
                }
            }
        }
        // Reopened, B resumes after what it committed and reads the rest in order.
        let committed = wal
            .stats()
            .consumers
            .iter()
            .find(|c| c.name == "b")
            .map(|c| c.next.0)
            .unwrap();
        drop((a, b, wal));
        let (wal, report) = Wal::open(dir.path(), small(180)).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report);
        let mut b = wal.reader("b").unwrap();
        for seq in committed..appended {
            let record = b.try_next().unwrap().expect("a record is readable");
            prop_assert_eq!(record.position, Position(seq));
            prop_assert_eq!(record.data, payload(seq));
        }
        prop_assert!(b.try_next().unwrap().is_none());
    }
}

#[test]
fn a_reader_that_returned_nothing_has_no_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), small(4096)).unwrap();
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"x").unwrap();
    let mut a = wal.reader("a").unwrap();
    assert!(a.mark().is_none());
    assert!(a.try_next().unwrap().is_some());
    assert_eq!(a.mark().map(|m| m.next()), Some(Position(1)));
}
