//! Read-only examination of a WAL directory for `prw wal inspect` and `prw wal verify`: every
//! segment is scanned and every CRC checked; nothing is modified (unlike `Wal::open`, which
//! repairs).

use std::path::{Path, PathBuf};

use crate::cursor;
use crate::error::{CorruptKind, WalError};
use crate::scan::scan_segment;
use crate::segment::list_segments;
use crate::storage::RealStorage;

/// Damage found by [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The damaged file.
    pub path: PathBuf,
    /// Byte offset of the damaged header or record.
    pub offset: u64,
    /// What is wrong.
    pub kind: CorruptKind,
    /// True when it looks like a torn tail (an interrupted last write), which `open` truncates.
    pub torn_tail: bool,
}

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Its path.
    pub path: PathBuf,
    /// First sequence number (from its name).
    pub first: u64,
    /// Valid records.
    pub records: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Payload bytes of the valid records.
    pub payload_bytes: u64,
}

/// One cursor file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorInfo {
    /// Consumer name.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// First uncommitted position, or why the file cannot be read.
    pub next: Result<u64, CorruptKind>,
    /// Records between the cursor and the end of the log (0 when unreadable).
    pub lag_records: u64,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inspection {
    /// Segments in order.
    pub segments: Vec<SegmentInfo>,
    /// Cursors by name.
    pub cursors: Vec<CursorInfo>,
    /// First record position, if any.
    pub first: Option<u64>,
    /// Last valid record position, if any.
    pub last: Option<u64>,
    /// Every damage found (segments, missing segments, cursor files).
    pub damage: Vec<Damage>,
}

impl Inspection {
    /// Bytes of all segment files.
    pub fn bytes_on_disk(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }
}

/// Scans `dir` without changing it. Errors only when the directory cannot be read.
pub fn inspect(dir: &Path) -> Result<Inspection, WalError> {
    let storage = RealStorage;
    if !dir.is_dir() {
        return Err(WalError::Io {
            op: "open dir",
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut out = Inspection {
        segments: Vec::new(),
        cursors: Vec::new(),
        first: None,
        last: None,
        damage: Vec::new(),
    };
    let mut expected: Option<u64> = None;
    for (first, path) in list_segments(&storage, dir)? {
        if let Some(exp) = expected {
            if exp != first {
                let kind = CorruptKind::MissingRecords {
                    expected: exp,
                    found: first,
                };
                out.damage.push(Damage {
                    path: path.clone(),
                    offset: 0,
                    kind,
                    torn_tail: false,
                });
            }
        }
        // Allocation is bounded by the file length (checked before reading a payload).
        let scan = scan_segment(&storage, &path, first, u64::from(u32::MAX))?;
        if let Some((offset, kind, torn)) = scan.damage.clone() {
            out.damage.push(Damage {
                path: path.clone(),
                offset,
                kind,
                torn_tail: torn,
            });
        }
        if scan.records > 0 {
            out.first.get_or_insert(first);
            out.last = Some(first + scan.records - 1);
        }
        expected = Some(first + scan.records);
        out.segments.push(SegmentInfo {
            path,
            first,
            records: scan.records,
            bytes: scan.file_len,
            payload_bytes: scan.payload_bytes,
        });
    }
    let end = expected.unwrap_or(0);
    if dir.join(cursor::CURSOR_DIR).is_dir() {
        for (name, path, next) in cursor::load_all_read_only(&storage, dir)? {
            if let Err(kind) = &next {
                out.damage.push(Damage {
                    path: path.clone(),
                    offset: 0,
                    kind: kind.clone(),
                    torn_tail: false,
                });
            }
            let next = next.map(|v| v.next);
            let lag_records = next.as_ref().map_or(0, |n| end.saturating_sub(*n));
            out.cursors.push(CursorInfo {
                name,
                path,
                next,
                lag_records,
            });
        }
    }
    Ok(out)
}
