#![doc = include_str!("../docs/design.md")]

// Modules, bottom to top (each imports only modules below it): error -> storage (+ faulty),
// failpoint -> two_slot -> format, config, position, lock -> segment -> cursor, scan -> recovery,
// inspect -> stats -> shared (the state the log and its readers share) -> seal -> repair,
// retention -> append, commit (the operations on it) -> open -> reader -> wal (the public `Wal`).
mod append;
mod commit;
mod config;
mod cursor;
mod error;
mod failpoint;
#[cfg(feature = "test-util")]
mod faulty;
mod format;
mod inspect;
mod lock;
mod open;
mod position;
mod reader;
mod recovery;
mod repair;
mod retention;
mod scan;
mod seal;
mod segment;
mod shared;
mod stats;
mod storage;
mod two_slot;
mod wal;

#[cfg(feature = "test-util")]
pub use config::SyncHook;
pub use config::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_BYTES, FullPolicy, RecoveryMode,
    StartAt, SyncPolicy, WalConfig,
};
pub use error::{CorruptKind, WalError};
#[cfg(feature = "test-util")]
pub use faulty::{Fault, FaultyStorage, Op};
pub use format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
pub use inspect::{CursorInfo, Damage, Inspection, SegmentInfo, inspect};
pub use lock::LOCK_FILE;
pub use position::Position;
pub use reader::{ReadMark, Reader, Record};
pub use recovery::{QUARANTINE_DIR, Quarantined, RecoveryReport};
pub use stats::{ConsumerStats, WalStats};
pub use storage::{ReadFile, RealStorage, Storage, StorageFile, is_out_of_space};
pub use two_slot::{TwoSlotFile, newer, newest_slot};
pub use wal::Wal;
