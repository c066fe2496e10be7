//! Segment files on disk: listing, creating (header + fsync of file and directory), and the
//! in-memory description the log keeps of each.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};

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
}

impl SegmentMeta {
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

/// Segment files of `dir` as `(first_seq, path)`, sorted. Other files are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(WalError::io("read_dir", dir))? {
        let entry = entry.map_err(WalError::io("read_dir", dir))?;
        if let Some(first) = entry
            .file_name()
            .to_str()
            .and_then(format::parse_segment_file_name)
        {
            out.push((first, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(first, _)| *first);
    Ok(out)
}

/// fsync of a directory, so that a created, renamed or deleted entry survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WalError::io("fsync dir", dir))
}

/// Creates a segment file starting at `first_seq`: header written and synced, directory synced.
pub(crate) fn create_segment(dir: &Path, first_seq: u64) -> Result<(File, SegmentMeta), WalError> {
    let path = dir.join(format::segment_file_name(first_seq));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(WalError::io("create", &path))?;
    file.write_all(&format::encode_segment_header(first_seq))
        .map_err(WalError::io("write", &path))?;
    file.sync_all().map_err(WalError::io("fsync", &path))?;
    sync_dir(dir)?;
    Ok((
        file,
        SegmentMeta {
            first_seq,
            records: 0,
            len: SEGMENT_HEADER_LEN,
            path,
        },
    ))
}

/// Opens an existing segment for appending at its end.
pub(crate) fn open_for_append(meta: &SegmentMeta) -> Result<File, WalError> {
    OpenOptions::new()
        .append(true)
        .open(&meta.path)
        .map_err(WalError::io("open", &meta.path))
}
