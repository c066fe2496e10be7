//! The segment offset index: a commit (and a reader made after it) finds its record by
//! scanning from the nearest indexed record, not from the segment's start, and lands on
//! exactly the right record, for records smaller and larger than the index spacing, in the
//! segment being appended to and in sealed ones, before and after a reopen (which starts
//! with no index).

use proptest::prelude::*;
use prw_wal::{Position, StartAt, Wal};

use super::harness::small;

/// Record `i`: `len` bytes, each naming the record, so a read of the wrong one shows.
fn record(i: u64, len: usize) -> Vec<u8> {
    let mut bytes = i.to_le_bytes().to_vec();
    bytes.resize(len.max(8), (i % 251) as u8);
    bytes
}

/// Commits consumer `c` to `at`, then checks a fresh reader starts at `at + 1` with the right
/// bytes.
fn commit_and_resume(wal: &Wal, at: u64, sizes: &[usize]) -> Result<(), TestCaseError> {
    wal.commit("c", Position(at)).unwrap();
    let mut reader = wal.reader("c").unwrap();
    let next = at + 1;
    match reader.try_next().unwrap() {
        Some(got) => {
            prop_assert_eq!(got.position, Position(next));
            prop_assert_eq!(got.data, record(next, sizes[next as usize]));
        }
        None => prop_assert_eq!(next as usize, sizes.len()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn commits_find_their_record_through_the_index(
        sizes in proptest::collection::vec(prop_oneof![1usize..4_000, 200_000usize..700_000], 8..40),
        mut commits in proptest::collection::vec(0usize..1000, 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        // Segments of 6 MiB: several index entries each, and rotations.
        let (wal, _) = Wal::open(dir.path(), small(6 << 20)).unwrap();
        wal.add_consumer("c", StartAt::Oldest).unwrap();
        for (i, len) in sizes.iter().enumerate() {
            prop_assert_eq!(wal.append(&record(i as u64, *len)).unwrap(), Position(i as u64));
        }
        commits.sort_unstable();
        let mut done = None;
        for at in commits.iter().map(|c| (c % sizes.len()) as u64) {
            if done.is_some_and(|d| at <= d) {
                continue;
            }
            commit_and_resume(&wal, at, &sizes)?;
            done = Some(at);
        }
        // Reopened: no index yet for these segments, the same answers by a full scan.
        drop(wal);
        let (wal, _) = Wal::open(dir.path(), small(6 << 20)).unwrap();
        let last = (sizes.len() - 1) as u64;
        let at = done.map_or(0, |d| (d + 1 + last) / 2).min(last);
        if done.is_none_or(|d| at > d) {
            commit_and_resume(&wal, at, &sizes)?;
        }
    }
}
