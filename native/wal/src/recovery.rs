//! Recovery on open: scan every segment, truncate a torn tail, apply the [`RecoveryMode`] to
//! damage in the middle, and produce a [`RecoveryReport`].
//!
//! Invariants after a successful recovery: every remaining segment has a valid header and only
//! valid records; segments are contiguous in sequence numbers; nothing was deleted, only
//! truncated (torn tails) or moved into `quarantine/`.

use std::io::{IoSlice, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::config::RecoveryMode;
use crate::error::{CorruptKind, WalError};
use crate::scan::scan_segment;
use crate::segment::{SegmentMeta, list_segments, sync_dir};
use crate::storage::{Storage, append_all};

/// Name of the quarantine directory inside the WAL directory.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Bytes moved aside by [`RecoveryMode::TolerateTail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The segment the bytes came from.
    pub source: PathBuf,
    /// Offset in `source` where they started.
    pub offset: u64,
    /// How many bytes.
    pub bytes: u64,
    /// Where they are now.
    pub moved_to: PathBuf,
    /// Why (only for the first, damaged file; later whole segments carry `None`).
    pub reason: Option<CorruptKind>,
}

/// What `open` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segments kept.
    pub segments: usize,
    /// Records kept.
    pub records: u64,
    /// Bytes cut off the last segment as a torn tail (a partial last write).
    pub torn_tail_bytes: u64,
    /// Damaged data moved to `quarantine/` (mid-log corruption under `TolerateTail`).
    pub quarantined: Vec<Quarantined>,
    /// Consumers whose cursor file was unreadable and was reset to the oldest record.
    pub cursors_reset: Vec<String>,
    /// Consumers whose cursor pointed outside the log and was moved to its nearest end.
    pub cursors_clamped: Vec<String>,
}

impl RecoveryReport {
    /// Total bytes moved to quarantine.
    pub fn quarantined_bytes(&self) -> u64 {
        self.quarantined.iter().map(|q| q.bytes).sum()
    }

    /// True when open found nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.torn_tail_bytes == 0
            && self.quarantined.is_empty()
            && self.cursors_reset.is_empty()
            && self.cursors_clamped.is_empty()
    }
}

/// Scans and repairs the segments of `dir`; returns them in order.
pub(crate) fn recover_segments(
    storage: &dyn Storage,
    dir: &Path,
    mode: RecoveryMode,
    max_record: u64,
    report: &mut RecoveryReport,
) -> Result<Vec<SegmentMeta>, WalError> {
    let files = list_segments(storage, dir)?;
    let mut metas: Vec<SegmentMeta> = Vec::new();
    let count = files.len();
    for (i, (first, path)) in files.iter().enumerate() {
        let is_last = i + 1 == count;
        let expected = metas.last().map(SegmentMeta::end_seq);
        let scan = scan_segment(storage, path, *first, max_record)?;
        let damage = match expected {
            Some(exp) if exp != *first => Some((
                0,
                CorruptKind::MissingRecords {
                    expected: exp,
                    found: *first,
                },
                false,
            )),
            _ => scan.damage.clone(),
        };
        match damage {
            None => metas.push(SegmentMeta::new(
                *first,
                scan.records,
                scan.file_len,
                path.clone(),
            )),
            Some((offset, _, true)) if is_last => {
                report.torn_tail_bytes += scan.file_len - scan.valid_len.min(scan.file_len);
                if offset == 0 {
                    storage.remove(path).map_err(WalError::io("remove", path))?;
                    sync_dir(storage, dir)?;
                } else {
                    truncate(storage, path, scan.valid_len)?;
                    metas.push(SegmentMeta::new(
                        *first,
                        scan.records,
                        scan.valid_len,
                        path.clone(),
                    ));
                }
            }
            Some((offset, kind, _)) => {
                if mode == RecoveryMode::Strict {
                    return Err(WalError::Corrupt {
                        path: path.clone(),
                        offset,
                        kind,
                    });
                }
                let qdir = dir.join(QUARANTINE_DIR);
                storage
                    .create_dir_all(&qdir)
                    .map_err(WalError::io("create_dir", &qdir))?;
                if offset == 0 {
                    report
                        .quarantined
                        .push(move_whole(storage, path, &qdir, Some(kind))?);
                } else {
                    report
                        .quarantined
                        .push(move_tail(storage, path, offset, &qdir, kind)?);
                    metas.push(SegmentMeta::new(*first, scan.records, offset, path.clone()));
                }
                for (_, later) in files.iter().skip(i + 1) {
                    report
                        .quarantined
                        .push(move_whole(storage, later, &qdir, None)?);
                }
                sync_dir(storage, &qdir)?;
                sync_dir(storage, dir)?;
                break;
            }
        }
    }
    report.segments = metas.len();
    report.records = metas.iter().map(|m| m.records).sum();
    Ok(metas)
}

fn truncate(storage: &dyn Storage, path: &Path, len: u64) -> Result<(), WalError> {
    let file = storage
        .open_write(path)
        .map_err(WalError::io("open", path))?;
    file.set_len(len).map_err(WalError::io("truncate", path))?;
    file.sync_all().map_err(WalError::io("fsync", path))
}

fn quarantine_name(path: &Path, suffix: &str) -> String {
    let base = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("segment");
    format!("{base}{suffix}")
}

fn move_whole(
    storage: &dyn Storage,
    path: &Path,
    qdir: &Path,
    reason: Option<CorruptKind>,
) -> Result<Quarantined, WalError> {
    let bytes = storage.len(path).map_err(WalError::io("stat", path))?;
    let moved_to = qdir.join(quarantine_name(path, ""));
    storage
        .rename(path, &moved_to)
        .map_err(WalError::io("rename", path))?;
    Ok(Quarantined {
        source: path.to_path_buf(),
        offset: 0,
        bytes,
        moved_to,
        reason,
    })
}

fn move_tail(
    storage: &dyn Storage,
    path: &Path,
    offset: u64,
    qdir: &Path,
    kind: CorruptKind,
) -> Result<Quarantined, WalError> {
    let mut src = storage
        .open_read(path)
        .map_err(WalError::io("open", path))?;
    src.seek(SeekFrom::Start(offset))
        .map_err(WalError::io("seek", path))?;
    let mut tail = Vec::new();
    src.read_to_end(&mut tail)
        .map_err(WalError::io("read", path))?;
    let moved_to = qdir.join(quarantine_name(path, &format!(".at-{offset}")));
    let dst = storage
        .create(&moved_to)
        .map_err(WalError::io("create", &moved_to))?;
    append_all(dst.as_ref(), &mut [IoSlice::new(&tail)])
        .map_err(WalError::io("write", &moved_to))?;
    dst.sync_all().map_err(WalError::io("fsync", &moved_to))?;
    truncate(storage, path, offset)?;
    Ok(Quarantined {
        source: path.to_path_buf(),
        offset,
        bytes: tail.len() as u64,
        moved_to,
        reason: Some(kind),
    })
}
