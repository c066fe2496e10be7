//! Segment files on disk: listing, creating (header + fsync of file and directory), and the
//! in-memory description the log keeps of each.
//!
//! Invariant: every [`SegmentMeta`] made for a newly created or opened file carries an `id`
//! unique in this process, so a reader can tell a file replaced under the same name (after a
//! failed fsync) from the one it had open.

use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::WalError;
use crate::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::storage::{Storage, StorageFile, append_all};

/// What the log knows about one segment file.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    /// Sequence number of its first record (also its name).
    pub(crate) first_seq: u64,
    /// Number of records.
    pub(crate) records: u64,
    /// Bytes in the file (header included).
    pub(crate) len: u64,
    /// Its path.
    pub(crate) path: PathBuf,
    /// Unique in this process per file the log created or opened.
    pub(crate) id: u64,
    /// `(seq, offset)` of one record per [`INDEX_EVERY`] bytes of the records this process
    /// appended (empty for a segment found at open), ascending: a locate scan starts at the
    /// entry nearest before its target instead of at the segment's first record.
    pub(crate) index: Vec<(u64, u64)>,
}

/// Bytes of records between two entries of [`SegmentMeta::index`]: a locate reads at most
/// about this much (a 64 MiB segment keeps 64 entries, 1 KiB).
pub(crate) const INDEX_EVERY: u64 = 1 << 20;

impl SegmentMeta {
    /// A description of an existing file.
    pub(crate) fn new(first_seq: u64, records: u64, len: u64, path: PathBuf) -> SegmentMeta {
        SegmentMeta {
            first_seq,
            records,
            len,
            path,
            id: next_id(),
            index: Vec::new(),
        }
    }

    /// Notes that record `seq` starts at `offset` (called for every record appended, in
    /// order): indexed when it starts [`INDEX_EVERY`] bytes or more after the last entry.
    pub(crate) fn note_record(&mut self, seq: u64, offset: u64) {
        let last = self.index.last().map_or(SEGMENT_HEADER_LEN, |&(_, o)| o);
        if offset >= last.saturating_add(INDEX_EVERY) {
            self.index.push((seq, offset));
        }
    }

    /// Where a scan for record `seq` may start: `(seq, offset)` of the nearest indexed record
    /// at or before it, else the segment's first record.
    pub(crate) fn scan_start(&self, seq: u64) -> (u64, u64) {
        let after = self.index.partition_point(|&(s, _)| s <= seq);
        after
            .checked_sub(1)
            .and_then(|i| self.index.get(i))
            .copied()
            .unwrap_or((self.first_seq, SEGMENT_HEADER_LEN))
    }

    /// Drops the index entries of records cut off (after `records` or `len` shrank).
    pub(crate) fn cut_index(&mut self) {
        let (end, len) = (self.end_seq(), self.len);
        self.index
            .retain(|&(seq, offset)| seq < end && offset < len);
    }

    /// One past the last sequence number in this segment.
    pub(crate) fn end_seq(&self) -> u64 {
        self.first_seq + self.records
    }

    /// Payload bytes of the records from byte `offset` (a record boundary) to the end, given
    /// how many records that is.
    pub(crate) fn payload_from(&self, offset: u64, records: u64) -> u64 {
        self.len
            .saturating_sub(offset.max(SEGMENT_HEADER_LEN))
            .saturating_sub(records * RECORD_HEADER_LEN)
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Segment files of `dir` as `(first_seq, path)`, sorted. Other files are ignored.
pub(crate) fn list_segments(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for path in storage.list(dir).map_err(WalError::io("read_dir", dir))? {
        if let Some(first) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(format::parse_segment_file_name)
        {
            out.push((first, path));
        }
    }
    out.sort_unstable_by_key(|(first, _)| *first);
    Ok(out)
}

/// fsync of a directory, so that a created, renamed or deleted entry survives a crash.
pub(crate) fn sync_dir(storage: &dyn Storage, dir: &Path) -> Result<(), WalError> {
    storage
        .sync_dir(dir)
        .map_err(WalError::io("fsync dir", dir))
}

/// Creates a segment file starting at `first_seq`: header written and synced, directory synced.
/// On failure the partial file is removed (best effort) so it never shadows a later attempt.
pub(crate) fn create_segment(
    storage: &dyn Storage,
    dir: &Path,
    first_seq: u64,
) -> Result<(Arc<dyn StorageFile>, SegmentMeta), WalError> {
    let path = dir.join(format::segment_file_name(first_seq));
    let file = storage
        .create(&path)
        .map_err(WalError::io("create", &path))?;
    let header = format::encode_segment_header(first_seq);
    let written = append_all(file.as_ref(), &mut [IoSlice::new(&header)])
        .map_err(WalError::io("write", &path))
        .and_then(|()| file.sync_all().map_err(WalError::io("fsync", &path)))
        .and_then(|()| sync_dir(storage, dir));
    if let Err(err) = written {
        drop(file);
        let _ = storage.remove(&path);
        return Err(err);
    }
    let meta = SegmentMeta::new(first_seq, 0, SEGMENT_HEADER_LEN, path);
    Ok((file, meta))
}

/// Opens an existing segment for appending at its end.
pub(crate) fn open_for_append(
    storage: &dyn Storage,
    meta: &SegmentMeta,
) -> Result<Arc<dyn StorageFile>, WalError> {
    storage
        .open_append(&meta.path)
        .map_err(WalError::io("open", &meta.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_with_records(sizes: &[u64]) -> SegmentMeta {
        let mut meta = SegmentMeta::new(100, 0, SEGMENT_HEADER_LEN, PathBuf::from("seg"));
        for len in sizes {
            meta.note_record(meta.end_seq(), meta.len);
            meta.records += 1;
            meta.len += RECORD_HEADER_LEN + len;
        }
        meta
    }

    #[test]
    fn the_index_keeps_one_record_per_index_spacing_and_scans_start_at_the_nearest_before() {
        // 40 records of 300 KiB: an entry every fourth record (1.17 MiB apart).
        let meta = meta_with_records(&[300 * 1024; 40]);
        let gaps: Vec<u64> = meta.index.windows(2).map(|w| w[1].1 - w[0].1).collect();
        assert!(meta.index.len() >= 9, "{:?}", meta.index);
        assert!(
            gaps.iter()
                .all(|g| *g >= INDEX_EVERY && *g < INDEX_EVERY + 400 * 1024)
        );
        assert_eq!(meta.scan_start(100), (100, SEGMENT_HEADER_LEN));
        for seq in 100..140 {
            let (from, offset) = meta.scan_start(seq);
            assert!(from <= seq && seq - from < 4, "{seq} scans from {from}");
            let expected = SEGMENT_HEADER_LEN + (from - 100) * (RECORD_HEADER_LEN + 300 * 1024);
            assert_eq!(offset, expected);
        }
    }

    #[test]
    fn cutting_records_off_drops_their_index_entries() {
        let mut meta = meta_with_records(&[300 * 1024; 40]);
        meta.records = 10;
        meta.len = SEGMENT_HEADER_LEN + 10 * (RECORD_HEADER_LEN + 300 * 1024);
        meta.cut_index();
        assert!(
            meta.index
                .iter()
                .all(|&(seq, offset)| seq < 110 && offset < meta.len)
        );
        assert!(meta.scan_start(139).0 < 110);
    }
}
