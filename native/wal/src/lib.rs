#![doc = include_str!("../docs/design.md")]

mod config;
mod cursor;
mod error;
mod format;
mod inspect;
mod reader;
mod recovery;
mod scan;
mod segment;
mod stats;
mod wal;

#[cfg(feature = "test-util")]
pub use config::SyncHook;
pub use config::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_BYTES, FullPolicy, RecoveryMode,
    StartAt, SyncPolicy, WalConfig,
};
pub use error::{CorruptKind, WalError};
pub use format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
pub use inspect::{CursorInfo, Damage, Inspection, SegmentInfo, inspect};
pub use reader::{Reader, Record};
pub use recovery::{QUARANTINE_DIR, Quarantined, RecoveryReport};
pub use stats::{ConsumerStats, WalStats};
pub use wal::{Position, Wal};
