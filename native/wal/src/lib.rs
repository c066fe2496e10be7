#![doc = include_str!("../docs/design.md")]

// Modules, bottom to top (each imports only modules below it): error -> format, config,
// position -> segment -> cursor, scan -> recovery, inspect -> stats -> shared (the state the
// log and its readers share) -> reader -> wal (the public `Wal`).
mod config;
mod cursor;
mod error;
mod format;
mod inspect;
mod position;
mod reader;
mod recovery;
mod scan;
mod segment;
mod shared;
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
pub use position::Position;
pub use reader::{Reader, Record};
pub use recovery::{QUARANTINE_DIR, Quarantined, RecoveryReport};
pub use stats::{ConsumerStats, WalStats};
pub use wal::Wal;
