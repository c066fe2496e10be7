//! A destination's queue: series items are sharded by label hash, batched per shard and sent
//! with one request in flight per shard; acknowledgements advance the low watermark the WAL
//! cursor is committed from.
//!
//! - [`item`]: what moves (series and metadata items).
//! - [`shard`]: one shard's batcher and its single in-flight request.
//! - [`watermark`]: acknowledgements, low watermark, per-shard progress and replay skipping.
//! - [`reshard`]: Prometheus's shard calculation as pure functions.
//! - [`destination`]: dispatch, resharding mechanism, persistence, shutdown.
//! - [`metrics`]: `prometheus_remote_storage_*` and `prw_remote_*` per destination.

pub mod destination;
pub mod item;
pub mod metrics;
pub mod reshard;
pub mod shard;
pub mod watermark;

pub use destination::{
    Destination, DestinationError, DestinationOptions, QueueSettings, ShutdownReport,
    V2EncoderFactory,
};
pub use item::{HeaderSet, ItemCounts, MetadataItem, QueueItem, SeriesItem};
pub use metrics::{DestinationMetrics, RemoteStorageMetrics};
pub use shard::BatchSettings;
pub use watermark::{NoProgressStore, ReplaySkip, ShardProgress, ShardProgressStore};
