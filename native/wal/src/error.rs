//! The one error type of the crate. Every variant says what went wrong and where; none carries
//! free text to be matched.

use std::path::PathBuf;

/// Why a segment or cursor file is considered damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptKind {
    /// The file does not start with the expected magic bytes.
    #[error("bad magic bytes")]
    BadMagic,
    /// The file has a format version this build does not know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// The header checksum does not match its contents.
    #[error("header checksum mismatch")]
    HeaderChecksum,
    /// The segment header names a different first sequence number than the file name.
    #[error("segment header says first sequence {found}, file name says {expected}")]
    SegmentIdMismatch {
        /// From the file name.
        expected: u64,
        /// From the header.
        found: u64,
    },
    /// Segments are not contiguous: records `expected..found` are missing (a deleted segment).
    #[error("missing records {expected}..{found} (a segment was deleted)")]
    MissingRecords {
        /// The sequence number the previous segment ends at.
        expected: u64,
        /// The first sequence number of this segment.
        found: u64,
    },
    /// A record's CRC32C does not match its contents.
    #[error("record checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// CRC in the record header.
        stored: u32,
        /// CRC computed over the bytes read.
        computed: u32,
    },
    /// A record carries an unexpected sequence number.
    #[error("record sequence {found}, expected {expected}")]
    Sequence {
        /// What the position in the log implies.
        expected: u64,
        /// What the record header says.
        found: u64,
    },
    /// A record header declares a length over the configured maximum record size.
    #[error("record length {len} over the maximum {max}")]
    LengthTooLarge {
        /// Declared length.
        len: u64,
        /// Configured maximum.
        max: u64,
    },
    /// The file ends in the middle of a header or record.
    #[error("file ends inside a record")]
    Truncated,
}

/// Errors of the write-ahead log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// An I/O operation failed. The operation may be retried: after a failed write or fsync of
    /// the log, the next append repairs the active segment first (see the crate docs,
    /// "Faults"); [`WalError::is_out_of_space`] tells a full disk.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation, e.g. `"fdatasync"`.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Damaged data at `offset` in `path`. Returned by `open` under `RecoveryMode::Strict`;
    /// not recoverable without operator action (or reopening with `TolerateTail`).
    #[error("corrupt WAL file {path} at offset {offset}: {kind}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the first damaged byte (the record or header start).
        offset: u64,
        /// What is wrong.
        kind: CorruptKind,
    },
    /// A cursor file cannot be parsed. Returned by `open` under `RecoveryMode::Strict`.
    #[error("corrupt cursor file {path}: {kind}")]
    CorruptCursor {
        /// The cursor file.
        path: PathBuf,
        /// What is wrong.
        kind: CorruptKind,
    },
    /// The disk cap is reached and the policy is `Block`. Nothing was written; retry after
    /// consumers have made progress.
    #[error("WAL full: {used} of {max_bytes} bytes used, record needs {needed}")]
    Full {
        /// Bytes currently on disk.
        used: u64,
        /// The configured cap.
        max_bytes: u64,
        /// Bytes the record would add.
        needed: u64,
    },
    /// A record is larger than `max_record_bytes` (or can never fit under `max_bytes`).
    #[error("record of {len} bytes over the limit of {max}")]
    RecordTooLarge {
        /// Record length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Under `SyncPolicy::Interval`, acknowledged records failed re-verification after a failed
    /// fsync while a consumer had already committed past them: the WAL refuses further appends
    /// until it is reopened (reopening runs recovery). Readers keep working.
    #[error("WAL poisoned by an earlier write or fsync failure; reopen it")]
    Poisoned,
    /// The named consumer does not exist.
    #[error("unknown consumer {0:?}")]
    UnknownConsumer(String),
    /// A consumer name is empty, too long or has characters outside `[A-Za-z0-9_.-]`.
    #[error("invalid consumer name {0:?}: use 1..=128 of [A-Za-z0-9_.-], not starting with '.'")]
    InvalidConsumerName(String),
    /// A commit names a position that was never appended (beyond the end of the log).
    #[error("commit of position {position} beyond the end of the log ({end})")]
    CommitBeyondEnd {
        /// The committed position.
        position: u64,
        /// The next position to be appended.
        end: u64,
    },
    /// Another process (or another `Wal` in this one) has the directory open. Nothing was
    /// touched.
    #[error("WAL directory {} is in use by another process{}; stop it first (two processes must never share a WAL directory)", dir.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The holder's pid, when its lock file says.
        pid: Option<u32>,
    },
    /// A configuration value is out of range.
    #[error("invalid WAL config {field}: {reason}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl WalError {
    /// True for [`WalError::Full`]: the relay maps it to 503 + Retry-After.
    pub fn is_full(&self) -> bool {
        matches!(self, WalError::Full { .. })
    }

    /// True when the disk (or the cap) has no room: [`WalError::Full`], or an I/O error
    /// `ENOSPC`/`EDQUOT`. Appends succeed again once delivery frees space.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            WalError::Full { .. } => true,
            WalError::Io { source, .. } => crate::storage::is_out_of_space(source),
            _ => false,
        }
    }

    /// True for damage found in a file ([`WalError::Corrupt`], [`WalError::CorruptCursor`]).
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self,
            WalError::Corrupt { .. } | WalError::CorruptCursor { .. }
        )
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> WalError {
        let path = path.into();
        move |source| WalError::Io { op, path, source }
    }
}
