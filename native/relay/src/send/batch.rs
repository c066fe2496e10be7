//! What a batch is made of: series items (one encoded v1 `TimeSeries` each), metadata items
//! (v1 `MetricMetadata` messages, sent in a request of their own), whole records forwarded
//! as received ([`WholeItem`], never in a request with series), and the [`Batch`] one
//! request carries.
//!
//! Invariants: an item's counts and timestamps describe its bytes (the producer computes them
//! upstream; `send::age` keeps them true when it filters samples out); `record_seq` is the
//! WAL record the item came from, and is non-decreasing in the order items are handed to a
//! destination; the series of one batch share one forwarded-header set.

use std::sync::Arc;

use bytes::Bytes;
use prw_core::Protocol;

use crate::record::{ForwardedHeader, V2Symbols};

/// Samples, histograms and exemplars in an item, a batch or a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Float samples.
    pub samples: u64,
    /// Native histogram samples.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
}

impl ItemCounts {
    /// Samples + histograms + exemplars: the "items-worth of samples" batches are sized by.
    pub fn total(&self) -> u64 {
        self.samples
            .saturating_add(self.histograms)
            .saturating_add(self.exemplars)
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: ItemCounts) {
        self.samples = self.samples.saturating_add(other.samples);
        self.histograms = self.histograms.saturating_add(other.histograms);
        self.exemplars = self.exemplars.saturating_add(other.exemplars);
    }
}

/// The oldest and newest timestamps of what an item holds (`i64::MAX`/`i64::MIN` when it
/// holds nothing yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampBounds {
    /// Oldest.
    pub min: i64,
    /// Newest.
    pub max: i64,
}

impl Default for TimestampBounds {
    fn default() -> Self {
        TimestampBounds {
            min: i64::MAX,
            max: i64::MIN,
        }
    }
}

impl TimestampBounds {
    /// Widens the bounds to `timestamp`.
    pub fn add(&mut self, timestamp: i64) {
        self.min = self.min.min(timestamp);
        self.max = self.max.max(timestamp);
    }
}

/// The forwarded headers of a record, shared by all the items cut from it. Items whose header
/// sets differ never share a request.
pub type HeaderSet = Arc<[ForwardedHeader]>;

/// One series of one record, ready to be batched.
#[derive(Debug, Clone)]
pub struct SeriesItem {
    /// The bytes of one encoded series message, without a tag or length: a
    /// `prometheus.TimeSeries` (v1) when `symbols` is `None`, else an
    /// `io.prometheus.write.v2.TimeSeries` whose refs point into `symbols`.
    pub series: Bytes,
    /// The symbol table of the v2 record a v2 series comes from (shared by every item of
    /// that record); `None` for a v1 series.
    pub symbols: Option<Arc<V2Symbols>>,
    /// A stable 64-bit hash of the label set: the item goes to shard `hash % shards`.
    pub hash: u64,
    /// What the series holds.
    pub counts: ItemCounts,
    /// The oldest sample/histogram/exemplar timestamp (ms); `i64::MAX` when there is none.
    pub min_timestamp_ms: i64,
    /// The newest sample/histogram/exemplar timestamp (ms); `i64::MIN` when there is none.
    pub max_timestamp_ms: i64,
    /// The WAL record the item came from.
    pub record_seq: u64,
    /// The record's forwarded headers (the tenant).
    pub headers: HeaderSet,
}

impl PartialEq for SeriesItem {
    /// Equal bytes, facts and headers; v2 series also need equal symbol tables (the same
    /// table, or tables with the same strings).
    fn eq(&self, other: &Self) -> bool {
        let symbols = match (&self.symbols, &other.symbols) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.len() == b.len() && (0..a.len() as u64).all(|r| a.get(r) == b.get(r)))
            }
            _ => false,
        };
        symbols
            && self.series == other.series
            && self.hash == other.hash
            && self.counts == other.counts
            && self.min_timestamp_ms == other.min_timestamp_ms
            && self.max_timestamp_ms == other.max_timestamp_ms
            && self.record_seq == other.record_seq
            && self.headers == other.headers
    }
}

/// Metadata of a v1 record (`WriteRequest` field 3), forwarded as a request of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataItem {
    /// Each entry: the bytes of one encoded `prometheus.MetricMetadata` message.
    pub entries: Vec<Bytes>,
    /// The WAL record the metadata came from.
    pub record_seq: u64,
    /// The record's forwarded headers.
    pub headers: HeaderSet,
}

/// A whole record, forwarded as the relay received it: its body is already a compressed
/// request of `protocol`, sent as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct WholeItem {
    /// The request body as received (snappy block format).
    pub body: Bytes,
    /// The message the body holds.
    pub protocol: Protocol,
    /// What the body holds (from the record head).
    pub counts: ItemCounts,
    /// The newest sample/histogram/exemplar timestamp (ms); `i64::MIN` when there is none.
    pub max_timestamp_ms: i64,
    /// The WAL record.
    pub record_seq: u64,
    /// The record's forwarded headers.
    pub headers: HeaderSet,
}

/// What one request carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// Series with the same forwarded headers, in queue order.
    Series(Vec<SeriesItem>),
    /// One record's metadata.
    Metadata(MetadataItem),
    /// Whole records as received, in queue order: one, or several 1.0 records with the
    /// same forwarded headers, sent as one request (`super::whole`).
    Whole(Vec<WholeItem>),
}

impl Batch {
    /// The samples, histograms and exemplars of the series; zero for metadata.
    pub fn counts(&self) -> ItemCounts {
        let mut counts = ItemCounts::default();
        match self {
            Batch::Series(items) => items.iter().for_each(|item| counts.add(item.counts)),
            Batch::Whole(items) => items.iter().for_each(|item| counts.add(item.counts)),
            Batch::Metadata(_) => {}
        }
        counts
    }

    /// The newest timestamp the batch holds (`None` for metadata or an empty batch).
    pub fn newest_timestamp_ms(&self) -> Option<i64> {
        match self {
            Batch::Series(items) => items.iter().map(|i| i.max_timestamp_ms).max(),
            Batch::Whole(items) => items.iter().map(|i| i.max_timestamp_ms).max(),
            Batch::Metadata(_) => None,
        }
    }

    /// The forwarded headers the batch is sent with (`None`: an empty series batch).
    pub fn headers(&self) -> Option<&HeaderSet> {
        match self {
            Batch::Series(items) => items.first().map(|i| &i.headers),
            Batch::Metadata(item) => Some(&item.headers),
            Batch::Whole(items) => items.first().map(|i| &i.headers),
        }
    }
}
