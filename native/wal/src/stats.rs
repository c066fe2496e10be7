//! Numbers for metrics: sizes, positions, per-consumer lag and loss.

use crate::position::Position;

/// One consumer's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Consumer name.
    pub name: String,
    /// First record not committed.
    pub next: Position,
    /// Records appended but not committed.
    pub lag_records: u64,
    /// Payload bytes of those records.
    pub lag_bytes: u64,
    /// Records deleted by `FullPolicy::DropOldest` before this consumer committed them (since open).
    pub dropped_records: u64,
    /// Payload bytes of those records.
    pub dropped_bytes: u64,
}

/// Snapshot of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalStats {
    /// Bytes of all segment files.
    pub bytes_on_disk: u64,
    /// Number of segment files.
    pub segments: usize,
    /// Oldest record on disk.
    pub first: Option<Position>,
    /// Newest record.
    pub last: Option<Position>,
    /// Position the next append gets.
    pub next: Position,
    /// Every record below this is durable.
    pub durable: Position,
    /// True when acknowledged records could not be kept after a failed fsync (interval policy
    /// only): appends are refused until the WAL is reopened.
    pub poisoned: bool,
    /// True after a failed fsync or a failed write that could not be undone, until the next
    /// append (or interval sync) has cut and sealed the active segment (it retries by itself).
    pub repairing: bool,
    /// The segment size in use (`segment_bytes`, or an eighth of a smaller filesystem).
    pub segment_bytes: u64,
    /// Records dropped at the cap while there were no consumers.
    pub unconsumed_dropped_records: u64,
    /// Payload bytes of those.
    pub unconsumed_dropped_bytes: u64,
    /// Per consumer, sorted by name.
    pub consumers: Vec<ConsumerStats>,
}
