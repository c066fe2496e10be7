//! `append_parts`: a record given as parts reads back as their concatenation, interleaved
//! with whole records, across segment rotations and a reopen.

use proptest::prelude::*;
use prw_wal::{Position, StartAt, Wal};

use super::harness::{drain, small};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn records_appended_by_parts_read_back_as_the_concatenation(
        records in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..90), 0..5),
            1..30,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), small(512)).unwrap();
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        for (i, parts) in records.iter().enumerate() {
            let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(wal.append_parts(&slices).unwrap(), Position(i as u64));
        }
        let expected: Vec<Vec<u8>> = records.iter().map(|parts| parts.concat()).collect();
        let got: Vec<Vec<u8>> = drain(&mut wal.reader("a").unwrap()).into_iter().map(|r| r.data).collect();
        prop_assert_eq!(&got, &expected);
        drop(wal);
        let (wal, report) = Wal::open(dir.path(), small(512)).unwrap();
        prop_assert!(report.is_clean(), "{:?}", report);
        let got: Vec<Vec<u8>> = drain(&mut wal.reader("a").unwrap()).into_iter().map(|r| r.data).collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn parts_over_the_record_limit_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small(4096);
    config.max_record_bytes = 10;
    let (wal, _) = Wal::open(dir.path(), config).unwrap();
    assert!(matches!(
        wal.append_parts(&[b"012345", b"6789x"]),
        Err(prw_wal::WalError::RecordTooLarge { len: 11, max: 10 })
    ));
    assert_eq!(
        wal.append_parts(&[b"01234", b"56789"]).unwrap(),
        Position(0)
    );
}

#[test]
fn a_batch_of_parted_records_gets_consecutive_positions_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), small(4096)).unwrap();
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    wal.append(b"first").unwrap();
    let records: [&[&[u8]]; 3] = [&[b"head-", b"body"], &[b"whole"], &[b"", b"x", b"yz"]];
    assert_eq!(
        wal.append_batch_parts(&records).unwrap(),
        vec![Position(1), Position(2), Position(3)]
    );
    let got: Vec<Vec<u8>> = drain(&mut wal.reader("a").unwrap())
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(
        got,
        vec![
            b"first".to_vec(),
            b"head-body".to_vec(),
            b"whole".to_vec(),
            b"xyz".to_vec()
        ]
    );
}
