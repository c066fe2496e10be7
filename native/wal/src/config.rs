//! Configuration of a [`Wal`](crate::Wal): sizes, sync policy, recovery mode, disk cap.

use std::sync::Arc;
use std::time::Duration;

use crate::error::WalError;
use crate::storage::{RealStorage, Storage};

/// Default segment size: 64 MiB, large enough that rotation (an fsync of the old file and of
/// the directory) is rare, small enough that retention frees space in useful steps.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Default disk cap: 10 GiB (DESIGN.md).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// Default maximum record size: 64 MiB, the decoded-body limit of the relay. Also bounds the
/// allocation recovery makes for a record header read from disk.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// When appended records are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// `append` returns only after its record is on stable storage (`fdatasync`); concurrent
    /// appenders share one fsync (group commit). Default.
    #[default]
    Always,
    /// `append` returns once the record is written to the OS; a background thread syncs every
    /// interval. A crash of the machine (not of the process) can lose up to one interval of
    /// acknowledged records: a bounded loss window the user accepts for throughput.
    Interval(Duration),
}

/// What `open` does with a damaged record in the middle of the log (a torn tail, a partial
/// last record after a crash, is always truncated and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Keep every record before the damage; move the damaged bytes and every later segment into
    /// `quarantine/`; reset an unreadable cursor to the oldest record. Reported in
    /// [`RecoveryReport`](crate::RecoveryReport). Default.
    #[default]
    TolerateTail,
    /// Refuse to open: `WalError::Corrupt` / `WalError::CorruptCursor` names file and offset.
    Strict,
}

/// What `append` does when the disk cap would be exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FullPolicy {
    /// Fail at once with [`WalError::Full`]; nothing is lost. Default.
    #[default]
    Block,
    /// Delete the oldest segments, advancing the cursors of the consumers that had not read
    /// them; every lost record and byte is counted per consumer in
    /// [`ConsumerStats`](crate::ConsumerStats).
    DropOldest,
}

/// Where a newly added consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// At the end of the log: only records appended from now on. Default (DESIGN.md).
    #[default]
    Newest,
    /// At the oldest record still on disk.
    Oldest,
}

/// Hook called before every data fsync of the log; lets tests hold (block inside) or fail it.
#[cfg(feature = "test-util")]
pub trait SyncHook: Send + Sync + std::fmt::Debug {
    /// Called before `fdatasync` of a segment; an error is treated as a failed fsync.
    fn before_sync(&self) -> std::io::Result<()>;
}

/// Options of [`Wal::open`](crate::Wal::open). Build with `WalConfig::default()` and set fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WalConfig {
    /// Segment size at which a new file is started. Default: 64 MiB. Minimum: 64 bytes. Lowered
    /// to an eighth of the filesystem's size when that is smaller, so retention can free
    /// space on a small disk (`WalStats::segment_bytes` tells the size in use).
    pub segment_bytes: u64,
    /// Disk cap over all segment files. Default: 10 GiB. May exceed the filesystem: the
    /// filesystem is then the limit (a full disk refuses appends like the cap does).
    pub max_bytes: u64,
    /// Largest record accepted. Default: 64 MiB.
    pub max_record_bytes: u64,
    /// Durability of `append`. Default: `Always`.
    pub sync: SyncPolicy,
    /// Handling of mid-log damage on open. Default: `TolerateTail`.
    pub recovery: RecoveryMode,
    /// Behaviour at the disk cap. Default: `Block`.
    pub full: FullPolicy,
    /// Where files are read and written. Default: the real filesystem. Tests put a
    /// fault-injecting `FaultyStorage` (feature `test-util`) here.
    pub storage: Arc<dyn Storage>,
    /// Fault injection for fsync (feature `test-util`).
    #[cfg(feature = "test-util")]
    pub sync_hook: Option<std::sync::Arc<dyn SyncHook>>,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_bytes: DEFAULT_MAX_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            sync: SyncPolicy::Always,
            recovery: RecoveryMode::TolerateTail,
            full: FullPolicy::Block,
            storage: RealStorage::shared(),
            #[cfg(feature = "test-util")]
            sync_hook: None,
        }
    }
}

impl WalConfig {
    /// Checks ranges; the error names the field.
    pub fn validate(&self) -> Result<(), WalError> {
        if self.segment_bytes < 64 {
            return Err(WalError::InvalidConfig {
                field: "segment_bytes",
                reason: "minimum is 64",
            });
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > u64::from(u32::MAX) {
            return Err(WalError::InvalidConfig {
                field: "max_record_bytes",
                reason: "must be in 1..=4294967295",
            });
        }
        if self.max_bytes < self.segment_bytes {
            return Err(WalError::InvalidConfig {
                field: "max_bytes",
                reason: "must be at least segment_bytes",
            });
        }
        if let SyncPolicy::Interval(d) = self.sync {
            if d.is_zero() {
                return Err(WalError::InvalidConfig {
                    field: "sync",
                    reason: "interval must be > 0",
                });
            }
        }
        Ok(())
    }
}
