//! A destination's queue: series items are sharded by label hash, batched per shard and sent
//! with one request in flight per shard; acknowledgements advance the low watermark the WAL
//! cursor is committed from.
//!
//! - [`item`]: what moves (series and metadata items, routed to shards).
//! - [`shard`]: one shard's batcher and its single in-flight request.
//! - [`watermark`]: acknowledgements, low watermark, per-shard progress and replay skipping.
//! - [`reshard`]: Prometheus's shard calculation as pure functions.
//! - [`destination`]: dispatch, resharding mechanism, persistence, shutdown.

pub mod destination;
pub mod item;
pub mod reshard;
pub mod shard;
pub mod watermark;

pub use destination::{
    Destination, DestinationError, DestinationOptions, PROGRESS_SAVE_INTERVAL, QueueSettings,
    ShutdownReport, V2EncoderFactory,
};
pub use item::QueueItem;
pub use shard::BatchSettings;
pub use watermark::{NoProgressStore, ReplaySkip, ShardProgress, ShardProgressStore};
