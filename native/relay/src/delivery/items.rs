//! From one WAL record to the queue items of one destination.
//!
//! - v1 bodies: each series item is the exact byte range of the encoded `TimeSeries` payload
//!   in the decompressed body (a zero-copy slice, never re-encoded unless relabelling changed
//!   its labels); each metadata entry (field 3) becomes part of one [`MetadataItem`].
//! - v2 bodies: converted to v1 with prw-core's `convert::v2_to_v1`, then each series is
//!   encoded as a v1 `TimeSeries` (and the metadata the conversion produced as v1 metadata).
//! - `write_relabel_configs`: labels are decoded and the item re-encoded only when rules
//!   exist; a dropped series is reported in [`RecordItems::relabel_dropped`].
//!
//! Invariants: an item's hash is `prw_core::hash::label_set_hash` of the labels it is sent
//! with; its counts and timestamps describe its bytes; every item carries the record's seq
//! and forwarded headers. A record that does not decode yields an [`UndecodableRecord`]
//! error naming what failed, never a panic.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use prw_core::hash::LabelHasher;
use prw_core::proto::v1;
use prw_core::view::v1::{SeriesField, WriteRequest};
use prw_core::wire::Reader as WireReader;
use prw_core::{Limits, Protocol};

use crate::queue::QueueItem;
use crate::record::{Record, RecordError};
use crate::relabel::{Labels, RelabelRule, Verdict, relabel};
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

/// Why a stored record could not be turned into items.
#[derive(Debug, thiserror::Error)]
pub enum UndecodableRecord {
    /// The record framing (version, protocol, headers) is not readable.
    #[error("record framing: {0}")]
    Record(#[from] RecordError),
    /// The body is not snappy block data within the limits.
    #[error("record body (snappy): {0}")]
    Codec(#[from] prw_core::codec::CodecError),
    /// The decompressed body is not a valid protobuf message of its protocol.
    #[error("record body (protobuf): {0}")]
    Protobuf(#[from] prw_core::DecodeError),
    /// The body (v2, or a v1 series being relabelled) does not prost-decode.
    #[error("record body (protobuf, prost): {0}")]
    Prost(#[from] prost::DecodeError),
    /// The v2 body refers to symbols it does not have.
    #[error("record body (v2 to v1 conversion): {0}")]
    Convert(#[from] prw_core::convert::ConvertError),
}

/// Cuts `stored` (the bytes of WAL record `seq`) into items, applying `rules`.
pub fn record_items(
    seq: u64,
    stored: &[u8],
    rules: &[RelabelRule],
    limits: &Limits,
) -> Result<RecordItems, UndecodableRecord> {
    let record = Record::decode(stored)?;
    let decoded = Bytes::from(prw_core::codec::decompress(&record.body, limits)?);
    let headers: HeaderSet = Arc::from(record.headers);
    let cutter = Cutter {
        seq,
        rules,
        headers,
    };
    let mut items = match record.protocol {
        Protocol::V1 => cutter.v1(&decoded)?,
        Protocol::V2 => cutter.v2(&decoded)?,
    };
    items.received_at_ms = record.received_at_ms;
    Ok(items)
}

struct Cutter<'r> {
    seq: u64,
    rules: &'r [RelabelRule],
    headers: HeaderSet,
}

/// What a series holds, gathered in one pass over its fields.
#[derive(Default)]
struct Facts {
    counts: ItemCounts,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
}

impl Facts {
    fn timestamp(&mut self, ts: i64) {
        self.min_ts = Some(self.min_ts.map_or(ts, |m| m.min(ts)));
        self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
    }
}

impl Cutter<'_> {
    fn v1(&self, decoded: &Bytes) -> Result<RecordItems, UndecodableRecord> {
        let mut out = RecordItems::default();
        let mut metadata = Vec::new();
        let mut top = WireReader::new(decoded, 0, "WriteRequest");
        while let Some(field) = top.next_field()? {
            match field.number {
                1 => {
                    field.bytes("WriteRequest.timeseries")?;
                    let framed = decoded.get(field.start..field.end).unwrap_or_default();
                    let payload = decoded.slice(field.value_offset..field.end);
                    // A one-series request view over the framed field gives its fields.
                    let view = WriteRequest::new(framed);
                    let Some(item) = view.items().next() else {
                        continue;
                    };
                    let prw_core::view::v1::Item::Series(series) = item? else {
                        continue;
                    };
                    let mut facts = Facts::default();
                    let mut hasher = LabelHasher::new();
                    let mut pairs = Vec::new();
                    for f in series.fields() {
                        match f? {
                            SeriesField::Label(l) => {
                                hasher.push(l.name, l.value);
                                if !self.rules.is_empty() {
                                    pairs.push((l.name.to_owned(), l.value.to_owned()));
                                }
                            }
                            SeriesField::Sample(s) => {
                                facts.counts.samples += 1;
                                facts.timestamp(s.timestamp);
                            }
                            SeriesField::Histogram(h) => {
                                facts.counts.histograms += 1;
                                facts.timestamp(h.timestamp);
                            }
                            SeriesField::Exemplar(e) => {
                                facts.counts.exemplars += 1;
                                facts.timestamp(e.timestamp);
                            }
                        }
                    }
                    if self.rules.is_empty() {
                        out.items
                            .push(self.series_item(payload, hasher.finish(), &facts));
                        continue;
                    }
                    let mut labels = Labels::from_pairs(pairs.iter().cloned());
                    if relabel(self.rules, &mut labels) == Verdict::Drop {
                        out.relabel_dropped.add(facts.counts);
                        continue;
                    }
                    if labels.as_slice() == pairs.as_slice() {
                        out.items
                            .push(self.series_item(payload, hasher.finish(), &facts));
                    } else {
                        let mut ts = v1::TimeSeries::decode(payload)?;
                        ts.labels = to_proto_labels(&labels);
                        let hash = hash_labels(&labels);
                        out.items.push(self.series_item(
                            Bytes::from(ts.encode_to_vec()),
                            hash,
                            &facts,
                        ));
                    }
                }
                3 => {
                    field.bytes("WriteRequest.metadata")?;
                    metadata.push(decoded.slice(field.value_offset..field.end));
                }
                _ => {}
            }
        }
        self.push_metadata(&mut out, metadata);
        Ok(out)
    }

    fn v2(&self, decoded: &Bytes) -> Result<RecordItems, UndecodableRecord> {
        let request = prw_core::proto::v2::Request::decode(decoded.as_ref())?;
        let converted = prw_core::convert::v2_to_v1(&request)?;
        let mut out = RecordItems::default();
        for mut ts in converted.timeseries {
            let mut facts = Facts::default();
            for s in &ts.samples {
                facts.counts.samples += 1;
                facts.timestamp(s.timestamp);
            }
            for h in &ts.histograms {
                facts.counts.histograms += 1;
                facts.timestamp(h.timestamp);
            }
            for e in &ts.exemplars {
                facts.counts.exemplars += 1;
                facts.timestamp(e.timestamp);
            }
            let hash = if self.rules.is_empty() {
                prw_core::hash::label_set_hash(
                    ts.labels
                        .iter()
                        .map(|l| (l.name.as_str(), l.value.as_str())),
                )
            } else {
                let mut labels =
                    Labels::from_pairs(ts.labels.iter().map(|l| (l.name.clone(), l.value.clone())));
                if relabel(self.rules, &mut labels) == Verdict::Drop {
                    out.relabel_dropped.add(facts.counts);
                    continue;
                }
                ts.labels = to_proto_labels(&labels);
                hash_labels(&labels)
            };
            out.items
                .push(self.series_item(Bytes::from(ts.encode_to_vec()), hash, &facts));
        }
        let metadata = converted
            .metadata
            .iter()
            .map(|m| Bytes::from(m.encode_to_vec()))
            .collect();
        self.push_metadata(&mut out, metadata);
        Ok(out)
    }

    fn series_item(&self, series: Bytes, hash: u64, facts: &Facts) -> QueueItem {
        QueueItem::Series(SeriesItem {
            series,
            hash,
            counts: facts.counts,
            min_timestamp_ms: facts.min_ts.unwrap_or(i64::MAX),
            max_timestamp_ms: facts.max_ts.unwrap_or(i64::MIN),
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
