//! What a destination queue moves: a [`QueueItem`] is a series or a metadata item (the
//! parts of a [`crate::send::Batch`]), routed to a shard by label hash or record.

use crate::send::batch::{ItemCounts, MetadataItem, SeriesItem};

/// Anything a destination queue moves.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueItem {
    /// A series with samples, histograms and/or exemplars.
    Series(SeriesItem),
    /// Metadata, sent alone.
    Metadata(MetadataItem),
}

impl QueueItem {
    /// The WAL record the item came from.
    pub fn record_seq(&self) -> u64 {
        match self {
            QueueItem::Series(item) => item.record_seq,
            QueueItem::Metadata(item) => item.record_seq,
        }
    }

    /// The shard this item goes to among `shards` (series by label hash, metadata by record).
    pub fn shard(&self, shards: usize) -> usize {
        let key = match self {
            QueueItem::Series(item) => item.hash,
            QueueItem::Metadata(item) => item.record_seq,
        };
        let shards = u64::try_from(shards.max(1)).unwrap_or(u64::MAX);
        usize::try_from(key % shards).unwrap_or(0)
    }

    /// The counts of a series item; zero for metadata.
    pub fn counts(&self) -> ItemCounts {
        match self {
            QueueItem::Series(item) => item.counts,
            QueueItem::Metadata(_) => ItemCounts::default(),
        }
    }
}
