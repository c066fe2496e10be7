//! What a destination queue moves: a [`QueueItem`] is a series, a metadata item or a whole
//! record (the parts of a [`crate::send::Batch`]), routed to a shard by label hash or
//! record.
//!
//! A whole record holds many series: it keeps their order only when it is the only shard's
//! item stream, so the dispatch hands one over only while the destination runs one shard
//! (see `Destination::enqueue`).

use crate::send::batch::{ItemCounts, MetadataItem, SeriesItem, WholeItem};

/// Anything a destination queue moves.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueItem {
    /// A series with samples, histograms and/or exemplars.
    Series(SeriesItem),
    /// Metadata, sent alone.
    Metadata(MetadataItem),
    /// A record forwarded as received (joined only with other whole records).
    Whole(WholeItem),
}

impl QueueItem {
    /// The WAL record the item came from.
    pub fn record_seq(&self) -> u64 {
        match self {
            QueueItem::Series(item) => item.record_seq,
            QueueItem::Metadata(item) => item.record_seq,
            QueueItem::Whole(item) => item.record_seq,
        }
    }

    /// The shard this item goes to among `shards` (series by label hash, metadata and whole
    /// records by record).
    pub fn shard(&self, shards: usize) -> usize {
        let key = match self {
            QueueItem::Series(item) => item.hash,
            QueueItem::Metadata(item) => item.record_seq,
            QueueItem::Whole(item) => item.record_seq,
        };
        let shards = u64::try_from(shards.max(1)).unwrap_or(u64::MAX);
        usize::try_from(key % shards).unwrap_or(0)
    }

    /// The queue slots the item takes (`queue_config.capacity` counts these): one for a
    /// series or a metadata item; for a whole record, one per sample, histogram and
    /// exemplar it holds (at least one), as its series would take if it were cut.
    pub fn slots(&self) -> u64 {
        match self {
            QueueItem::Whole(item) => item.counts.total().max(1),
            QueueItem::Series(_) | QueueItem::Metadata(_) => 1,
        }
    }

    /// The counts of a series item; zero for metadata.
    pub fn counts(&self) -> ItemCounts {
        match self {
            QueueItem::Series(item) => item.counts,
            QueueItem::Whole(item) => item.counts,
            QueueItem::Metadata(_) => ItemCounts::default(),
        }
    }
}
