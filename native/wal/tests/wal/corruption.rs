//! Damaged files: each gives the documented recovery and report.

use prw_wal::{CorruptKind, Position, RecoveryMode, StartAt, Wal, WalError};

use super::harness::{drain, filled, flip_bit, payload, segments, small};

/// Byte offset of record `i` in a segment that starts with record `first`.
fn record_offset(first: u64, i: u64) -> u64 {
    24 + (first..i)
        .map(|j| 16 + payload(j).len() as u64)
        .sum::<u64>()
}

fn strict(segment_bytes: u64) -> prw_wal::WalConfig {
    let mut c = small(segment_bytes);
    c.recovery = RecoveryMode::Strict;
    c
}

#[test]
fn torn_tail_is_truncated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(4096), 5));
    let seg = &segments(dir.path())[0];
    let len = std::fs::metadata(seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    // Torn tails are repaired even in strict mode.
    let (wal, report) = Wal::open(dir.path(), strict(4096)).unwrap();
    assert_eq!(report.records, 4);
    assert_eq!(report.torn_tail_bytes, 16 + payload(4).len() as u64 - 3);
    assert!(report.quarantined.is_empty());
    assert_eq!(wal.append(b"next").unwrap(), Position(4));
    assert!(prw_wal::inspect(dir.path()).unwrap().damage.is_empty());
}

#[test]
fn bad_crc_on_the_final_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(4096), 5));
    let seg = &segments(dir.path())[0];
    flip_bit(seg, record_offset(0, 4) + 17);
    let (_, report) = Wal::open(dir.path(), strict(4096)).unwrap();
    assert_eq!(
        (report.records, report.torn_tail_bytes),
        (4, 16 + payload(4).len() as u64)
    );
}

#[test]
fn flipped_bit_mid_log_is_quarantined_under_tolerate_tail() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(300), 30));
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    let offset = record_offset(0, 2);
    flip_bit(&segs[0], offset + 16);
    let seg0_len = std::fs::metadata(&segs[0]).unwrap().len();
    let later: u64 = segs[1..]
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();

    let (wal, report) = Wal::open(dir.path(), small(300)).unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(report.quarantined.len(), segs.len());
    let first = &report.quarantined[0];
    assert_eq!(
        (first.source.as_path(), first.offset, first.bytes),
        (segs[0].as_path(), offset, seg0_len - offset)
    );
    assert!(matches!(first.reason, Some(CorruptKind::Checksum { .. })));
    assert_eq!(report.quarantined_bytes(), seg0_len - offset + later);
    assert!(first.moved_to.exists());
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    let got = drain(&mut wal.reader("a").unwrap());
    assert_eq!(
        got.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        vec![payload(0), payload(1)]
    );
    assert_eq!(wal.append(b"after").unwrap(), Position(2));
}

#[test]
fn flipped_bit_mid_log_refuses_to_open_under_strict_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(300), 30));
    let segs = segments(dir.path());
    let offset = record_offset(0, 3);
    flip_bit(&segs[0], offset + 16);
    match Wal::open(dir.path(), strict(300)) {
        Err(WalError::Corrupt {
            path,
            offset: o,
            kind: CorruptKind::Checksum { .. },
        }) => {
            assert_eq!((path, o), (segs[0].clone(), offset));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Nothing was changed by the refused open.
    assert_eq!(segments(dir.path()), segs);
}

#[test]
fn truncated_middle_segment_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(300), 30));
    let segs = segments(dir.path());
    let len = std::fs::metadata(&segs[0]).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[0])
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let err = Wal::open(dir.path(), strict(300)).unwrap_err();
    assert!(
        matches!(&err, WalError::Corrupt { path, kind: CorruptKind::Truncated, .. } if *path == segs[0]),
        "{err}"
    );
    let (_, report) = Wal::open(dir.path(), small(300)).unwrap();
    assert_eq!(report.torn_tail_bytes, 0);
    assert_eq!(report.quarantined[0].source, segs[0]);
    assert_eq!(report.quarantined.len(), segs.len());
}

#[test]
fn deleted_middle_segment_is_reported_as_missing_records() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(300), 30));
    let segs = segments(dir.path());
    std::fs::remove_file(&segs[1]).unwrap();
    let err = Wal::open(dir.path(), strict(300)).unwrap_err();
    match err {
        WalError::Corrupt {
            path,
            offset: 0,
            kind: CorruptKind::MissingRecords { .. },
        } => assert_eq!(path, segs[2]),
        other => panic!("{other:?}"),
    }
    let (wal, report) = Wal::open(dir.path(), small(300)).unwrap();
    assert_eq!(report.segments, 1);
    assert_eq!(report.quarantined.len(), segs.len() - 2);
    assert_eq!(wal.stats().segments, 1);
}

#[test]
fn garbage_cursor_is_reset_to_oldest_or_refused_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = filled(dir.path(), small(4096), 6);
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        wal.commit("a", Position(4)).unwrap();
    }
    let cursor = dir.path().join("cursors").join("a.cursor");
    std::fs::write(&cursor, b"garbage garbage garbage!").unwrap();
    match Wal::open(dir.path(), strict(4096)) {
        Err(WalError::CorruptCursor {
            path,
            kind: CorruptKind::BadMagic,
        }) => assert_eq!(path, cursor),
        other => panic!("{other:?}"),
    }
    let (wal, report) = Wal::open(dir.path(), small(4096)).unwrap();
    assert_eq!(report.cursors_reset, vec!["a".to_owned()]);
    assert_eq!(
        drain(&mut wal.reader("a").unwrap()).len(),
        6,
        "re-delivered from the oldest"
    );
}

#[test]
fn cursor_beyond_a_deleted_last_segment_is_clamped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = filled(dir.path(), small(300), 30);
        wal.add_consumer("a", StartAt::Newest).unwrap();
    }
    let last = segments(dir.path()).pop().unwrap();
    std::fs::remove_file(&last).unwrap();
    let (wal, report) = Wal::open(dir.path(), small(300)).unwrap();
    assert_eq!(report.cursors_clamped, vec!["a".to_owned()]);
    let next = wal.stats().next;
    assert_eq!(wal.stats().consumers[0].next, next);
    assert_eq!(wal.append(b"x").unwrap(), next);
    assert_eq!(drain(&mut wal.reader("a").unwrap()).len(), 1);
}

#[test]
fn bad_segment_header_is_quarantined_whole() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), small(300), 30));
    let segs = segments(dir.path());
    flip_bit(&segs[1], 0);
    let (_, report) = Wal::open(dir.path(), small(300)).unwrap();
    assert_eq!(report.segments, 1);
    assert_eq!(report.quarantined[0].offset, 0);
    assert_eq!(report.quarantined[0].reason, Some(CorruptKind::BadMagic));
}

#[test]
fn leftover_cursor_temp_file_from_an_interrupted_commit_is_removed_and_old_value_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = filled(dir.path(), small(4096), 6);
        wal.add_consumer("a", StartAt::Oldest).unwrap();
        wal.commit("a", Position(1)).unwrap();
    }
    let tmp = dir.path().join("cursors").join("a.cursor.tmp9");
    std::fs::write(&tmp, b"half-writ").unwrap();
    let (wal, report) = Wal::open(dir.path(), strict(4096)).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(!tmp.exists());
    assert_eq!(wal.stats().consumers[0].next, Position(2));
}
