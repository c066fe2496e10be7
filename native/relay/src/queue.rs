//! A destination's queue: series items are sharded by label hash, batched per shard and sent
//! with one request in flight per shard; acknowledgements advance the low watermark the WAL
//! cursor is committed from.

pub mod item;
pub mod metrics;
