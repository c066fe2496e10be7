//! From one decoded record to the queue items of one destination: cutting is slicing.
//!
//! - v1 records: each series item is the exact byte range of the encoded `TimeSeries`
//!   payload in the decoded body (a zero-copy slice, never re-encoded unless relabelling
//!   changed its labels), its hash, counts and oldest/newest timestamp taken from the
//!   record's per-series facts (the ones ingest's validation computed, prw-core's
//!   `SeriesFacts`); each metadata entry (field 3) becomes part of one
//!   [`MetadataItem`].
//! - v2 records: cut from the record's v1 form (`DecodedRecord::as_v1`, converted once per
//!   record whatever the number of destinations).
//! - `write_relabel_configs`: labels are decoded and the item re-encoded only when rules
//!   exist; a dropped series is reported in [`RecordItems::relabel_dropped`].
//!
//! The same code cuts records from the tail (decoded at ingest) and records read back from
//! the WAL ([`record_items`]: decoded again), so both give the same items.
//!
//! Invariants: an item's hash is `prw_core::hash::label_set_hash` of the labels it is sent
//! with; its counts and timestamps describe its bytes; every item carries the record's seq
//! and forwarded headers. A record that does not decode yields an [`UndecodableRecord`]
//! error naming what failed, never a panic.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use prw_core::proto::v1;
use prw_core::view::SeriesFacts;
use prw_core::view::v1::{Item, SeriesField, WriteRequest};
use prw_core::{Limits, Protocol};

use crate::queue::QueueItem;
use crate::record::facts::FactsError;
use crate::record::{DecodedRecord, UndecodableRecord, V2Symbols};
use crate::relabel::{Labels, RelabelRule, Verdict, relabel};
use crate::send::batch::TimestampBounds;
use crate::send::{HeaderSet, ItemCounts, MetadataItem, SeriesItem};

/// The items cut from one record for one destination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordItems {
    /// Items to enqueue, in body order (metadata last).
    pub items: Vec<QueueItem>,
    /// What `write_relabel_configs` dropped.
    pub relabel_dropped: ItemCounts,
    /// When the relay received the record (Unix ms).
    pub received_at_ms: i64,
}

/// Decodes `stored` (the bytes of WAL record `seq`) and cuts it into v1 items, applying
/// `rules`: the WAL path, for records not (or no longer) in the tail.
pub fn record_items(
    seq: u64,
    stored: &[u8],
    rules: &[RelabelRule],
    limits: &Limits,
) -> Result<RecordItems, Arc<UndecodableRecord>> {
    let stored = Bytes::copy_from_slice(stored);
    let record = DecodedRecord::from_stored(seq, stored, limits).map_err(Arc::new)?;
    cut(&Arc::new(record), rules)
}

/// Cuts a decoded record into v1 items, applying `rules`.
pub fn cut(
    record: &Arc<DecodedRecord>,
    rules: &[RelabelRule],
) -> Result<RecordItems, Arc<UndecodableRecord>> {
    cut_for(record, rules, Protocol::V1)
}

/// Cuts a record into items for a destination sending `protocol` (decoding it first when it
/// is held as received only): a v2 record
/// without relabelling becomes v2 items for a v2 destination (its series as received, sharing
/// the record's symbol table); everything else becomes v1 items.
pub fn cut_for(
    record: &Arc<DecodedRecord>,
    rules: &[RelabelRule],
    protocol: Protocol,
) -> Result<RecordItems, Arc<UndecodableRecord>> {
    // A record held as received only is decoded here (not kept: see `DecodedRecord`).
    let record = &record.decoded_form().map_err(Arc::new)?;
    let v2_as_is =
        protocol == Protocol::V2 && record.protocol() == Protocol::V2 && rules.is_empty();
    let form = if v2_as_is {
        Arc::clone(record)
    } else {
        record.as_v1()?
    };
    let symbols = if v2_as_is {
        Some(
            record
                .v2_symbols()
                .map_err(|e| Arc::new(UndecodableRecord::from(e)))?,
        )
    } else {
        None
    };
    let cutter = Cutter {
        seq: record.seq(),
        rules,
        headers: Arc::clone(form.headers()),
        symbols,
    };
    let mut out = RecordItems {
        items: Vec::with_capacity(form.series().len() + 1),
        relabel_dropped: ItemCounts::default(),
        received_at_ms: record.received_at_ms(),
    };
    cutter.cut(&form, &mut out).map_err(Arc::new)?;
    Ok(out)
}

struct Cutter<'r> {
    seq: u64,
    rules: &'r [RelabelRule],
    headers: HeaderSet,
    /// The record's symbols when the items are v2 series.
    symbols: Option<Arc<V2Symbols>>,
}

impl Cutter<'_> {
    fn cut(&self, record: &DecodedRecord, out: &mut RecordItems) -> Result<(), UndecodableRecord> {
        let body = record.body();
        for facts in record.series() {
            let payload = message_of(body, facts)?;
            let counts = ItemCounts {
                samples: u64::from(facts.samples),
                histograms: u64::from(facts.histograms),
                exemplars: u64::from(facts.exemplars),
            };
            let bounds = TimestampBounds {
                min: facts.min_timestamp.unwrap_or(i64::MAX),
                max: facts.max_timestamp.unwrap_or(i64::MIN),
            };
            if self.rules.is_empty() {
                out.items
                    .push(self.series_item(payload, facts.hash, counts, bounds));
                continue;
            }
            let framed = body.get(facts.range.clone()).unwrap_or_default();
            let pairs = series_labels(framed)?;
            let mut labels = Labels::from_pairs(pairs.iter().cloned());
            if relabel(self.rules, &mut labels) == Verdict::Drop {
                out.relabel_dropped.add(counts);
                continue;
            }
            if labels.as_slice() == pairs.as_slice() {
                out.items
                    .push(self.series_item(payload, facts.hash, counts, bounds));
            } else {
                let mut ts = v1::TimeSeries::decode(payload)?;
                ts.labels = to_proto_labels(&labels);
                let hash = hash_labels(&labels);
                out.items.push(self.series_item(
                    Bytes::from(ts.encode_to_vec()),
                    hash,
                    counts,
                    bounds,
                ));
            }
        }
        let metadata: Vec<Bytes> = record
            .metadata()
            .iter()
            .map(|range| body.slice(range.clone()))
            .collect();
        self.push_metadata(out, metadata);
        Ok(())
    }

    fn series_item(
        &self,
        series: Bytes,
        hash: u64,
        counts: ItemCounts,
        bounds: TimestampBounds,
    ) -> QueueItem {
        QueueItem::Series(SeriesItem {
            series,
            symbols: self.symbols.clone(),
            hash,
            counts,
            min_timestamp_ms: bounds.min,
            max_timestamp_ms: bounds.max,
            record_seq: self.seq,
            headers: Arc::clone(&self.headers),
        })
    }

    fn push_metadata(&self, out: &mut RecordItems, entries: Vec<Bytes>) {
        if !entries.is_empty() {
            out.items.push(QueueItem::Metadata(MetadataItem {
                entries,
                record_seq: self.seq,
                headers: Arc::clone(&self.headers),
            }));
        }
    }
}

/// The encoded `TimeSeries` message (without tag and length) of the series `facts`
/// describes, as a slice of `body`.
fn message_of(body: &Bytes, facts: &SeriesFacts) -> Result<Bytes, UndecodableRecord> {
    let message = facts.message();
    if message.start > message.end || message.end > body.len() {
        return Err(UndecodableRecord::Facts(FactsError::Malformed {
            offset: facts.range.start,
        }));
    }
    Ok(body.slice(message))
}

/// The labels (owned, for relabelling) of one framed v1 series.
fn series_labels(framed: &[u8]) -> Result<Vec<(String, String)>, prw_core::DecodeError> {
    let mut pairs = Vec::new();
    let Some(item) = WriteRequest::new(framed).items().next() else {
        return Ok(pairs);
    };
    let Item::Series(series) = item? else {
        return Ok(pairs);
    };
    for field in series.fields() {
        if let SeriesField::Label(l) = field? {
            pairs.push((l.name.to_owned(), l.value.to_owned()));
        }
    }
    Ok(pairs)
}

fn to_proto_labels(labels: &Labels) -> Vec<v1::Label> {
    labels
        .as_slice()
        .iter()
        .map(|(name, value)| v1::Label {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

fn hash_labels(labels: &Labels) -> u64 {
    prw_core::hash::label_set_hash(
        labels
            .as_slice()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    )
}

#[cfg(test)]
mod tests;
