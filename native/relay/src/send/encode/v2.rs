//! The v2 encoder: `io.prometheus.write.v2.Request` bodies built from borrowed views, with
//! an interning symbol table per request, then snappy.
//!
//! - A v2 series item (from a v2 record, `SeriesItem::symbols` set) is copied field by
//!   field as received; only its refs change (labels, exemplar labels, metadata help and
//!   unit), mapped from the record's table into the request's. Samples and histograms are
//!   copied byte for byte. It never goes through v1 or owned structs.
//! - A v1 series item (from a v1 record) is translated the same way: each label interned,
//!   samples copied (v1 and v2 `Sample` share fields 1 and 2), histograms copied (fields
//!   1-15 are the same message), exemplars rewritten with label refs.
//!
//! Each record's ref -> request ref map is kept while consecutive items share the record's
//! table, so a string is hashed once per record per batch, not once per use.
//!
//! Invariants: the body decodes to a valid v2 request whose series, resolved through its
//! symbols, are the items' series in order (same labels, samples, histograms, exemplars and
//! metadata); symbol 0 is the empty string; unknown series fields of a v2 item are kept.
//! Metadata-only requests do not exist in v2 (metadata rides with each series), so
//! [`BatchEncoder::encode_metadata`] refuses; the retry loop never asks for it.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use bytes::Bytes;
use prw_core::Protocol;
use prw_core::wire::{Field, Reader, WireValue};

use super::{BatchEncoder, Compressor, EncodeError, write_varint};
use crate::record::V2Symbols;
use crate::record::facts::canonical_label;
use crate::send::batch::{MetadataItem, SeriesItem};

/// `Request.symbols` key (field 4, wire type 2).
const SYMBOLS_TAG: u8 = 0x22;
/// `Request.timeseries` key (field 5, wire type 2).
const TIMESERIES_TAG: u8 = 0x2A;
/// `TimeSeries.labels_refs` / `Exemplar.label_refs` key (field 1, wire type 2).
const REFS_TAG: u8 = 0x0A;

/// Encodes `io.prometheus.write.v2.Request` bodies.
pub struct V2Encoder {
    table: Table,
    /// The encoded series (field 5 each).
    series: Vec<u8>,
    /// One series being rewritten, and a nested message (exemplar, metadata) in it.
    scratch: Vec<u8>,
    nested: Vec<u8>,
    histograms: Vec<u8>,
    /// The whole request before compression.
    raw: Vec<u8>,
    out: Compressor,
}

impl Default for V2Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for V2Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V2Encoder")
            .field("buffer_capacity", &self.raw.capacity())
            .finish()
    }
}

/// Why a series item could not be translated.
fn bad(item: &SeriesItem) -> EncodeError {
    EncodeError::BadSeries {
        record_seq: item.record_seq,
    }
}

impl V2Encoder {
    /// A new encoder with empty buffers.
    pub fn new() -> Self {
        V2Encoder {
            table: Table::default(),
            series: Vec::new(),
            scratch: Vec::new(),
            nested: Vec::new(),
            histograms: Vec::new(),
            raw: Vec::new(),
            out: Compressor::default(),
        }
    }

    fn encode(&mut self, items: &[SeriesItem]) -> Result<(), EncodeError> {
        self.table.clear();
        self.series.clear();
        if let Some(main) = most_items_from(items) {
            self.table.seed(main);
        }
        for item in items {
            match &item.symbols {
                Some(symbols) if self.table.is_identity(symbols) => {
                    // Same table, same refs: the series as received.
                    write_message(&mut self.series, TIMESERIES_TAG, &item.series);
                }
                Some(symbols) => {
                    self.scratch.clear();
                    self.translate_v2(item, symbols)?;
                    write_message(&mut self.series, TIMESERIES_TAG, &self.scratch);
                }
                None => self.translate_v1(item)?,
            }
        }
        self.raw.clear();
        self.raw
            .reserve(self.table.bytes.len() + 3 * self.table.offsets.len() + self.series.len());
        for &(start, end) in &self.table.offsets {
            let symbol = self
                .table
                .bytes
                .get(start as usize..end as usize)
                .unwrap_or_default();
            self.raw.push(SYMBOLS_TAG);
            write_varint(&mut self.raw, symbol.len() as u64);
            self.raw.extend_from_slice(symbol);
        }
        self.raw.extend_from_slice(&self.series);
        Ok(())
    }

    /// A v2 series as received, its refs mapped into the request's table.
    fn translate_v2(
        &mut self,
        item: &SeriesItem,
        symbols: &Arc<V2Symbols>,
    ) -> Result<(), EncodeError> {
        self.table.use_record(symbols);
        let mut fields = Reader::new(&item.series, 0, "TimeSeries");
        while let Some(field) = fields.next_field().map_err(|_| bad(item))? {
            match field.number {
                1 => self
                    .table
                    .write_refs(&mut self.scratch, &field, symbols)
                    .ok_or_else(|| bad(item))?,
                4 => {
                    let exemplar = field.bytes("exemplars").map_err(|_| bad(item))?;
                    self.nested.clear();
                    let mut parts = Reader::new(exemplar, 0, "Exemplar");
                    while let Some(part) = parts.next_field().map_err(|_| bad(item))? {
                        if part.number == 1 {
                            self.table
                                .write_refs(&mut self.nested, &part, symbols)
                                .ok_or_else(|| bad(item))?;
                        } else {
                            copy_field(&mut self.nested, exemplar, &part);
                        }
                    }
                    write_message(&mut self.scratch, 0x22, &self.nested);
                }
                5 => {
                    let metadata = field.bytes("metadata").map_err(|_| bad(item))?;
                    self.nested.clear();
                    let mut parts = Reader::new(metadata, 0, "Metadata");
                    while let Some(part) = parts.next_field().map_err(|_| bad(item))? {
                        match (part.number, part.value) {
                            (3 | 4, WireValue::Varint(reference)) => {
                                let mapped = self
                                    .table
                                    .map(reference, symbols)
                                    .ok_or_else(|| bad(item))?;
                                self.nested.push(if part.number == 3 { 0x18 } else { 0x20 });
                                write_varint(&mut self.nested, u64::from(mapped));
                            }
                            _ => copy_field(&mut self.nested, metadata, &part),
                        }
                    }
                    write_message(&mut self.scratch, 0x2A, &self.nested);
                }
                _ => copy_field(&mut self.scratch, &item.series, &field),
            }
        }
        Ok(())
    }

    /// A v1 series translated and appended to the request: labels interned, samples and
    /// histograms copied, exemplars rewritten with label refs. A series with both samples
    /// and histograms becomes two v2 series (samples and exemplars, then histograms), as
    /// prw-core's conversion does: a v2 series holds one kind.
    fn translate_v1(&mut self, item: &SeriesItem) -> Result<(), EncodeError> {
        let mut refs = std::mem::take(&mut self.table.refs);
        refs.clear();
        let samples = self.v1_fields(item, &mut refs);
        self.scratch.clear();
        write_packed(&mut self.scratch, REFS_TAG, &refs);
        self.table.refs = refs;
        let samples = samples?;
        let labels = self.scratch.len();
        self.scratch.extend_from_slice(&self.nested);
        if samples && !self.histograms.is_empty() {
            write_message(&mut self.series, TIMESERIES_TAG, &self.scratch);
            self.scratch.truncate(labels);
        }
        self.scratch.extend_from_slice(&self.histograms);
        write_message(&mut self.series, TIMESERIES_TAG, &self.scratch);
        Ok(())
    }

    /// Reads a v1 series: its label refs into `refs`, samples and exemplars into `nested`,
    /// histograms into `histograms`; whether it has samples.
    fn v1_fields(&mut self, item: &SeriesItem, refs: &mut Vec<u32>) -> Result<bool, EncodeError> {
        self.nested.clear();
        self.histograms.clear();
        let mut samples = false;
        let mut fields = Reader::new(&item.series, 0, "TimeSeries");
        while let Some(field) = fields.next_field().map_err(|_| bad(item))? {
            match field.number {
                1 => {
                    let label = field.bytes("labels").map_err(|_| bad(item))?;
                    let (name, value) = label_parts(label).ok_or_else(|| bad(item))?;
                    refs.push(self.table.intern(name));
                    refs.push(self.table.intern(value));
                }
                // Sample: same fields in v1 and v2.
                2 => {
                    samples = true;
                    copy_field(&mut self.nested, &item.series, &field);
                }
                3 => {
                    let exemplar = field.bytes("exemplars").map_err(|_| bad(item))?;
                    let message = self.v1_exemplar(exemplar, item)?;
                    write_message(&mut self.nested, 0x22, &message);
                }
                // Histogram: v1 field 4 is v2 field 3, same message.
                4 => {
                    let histogram = field.bytes("histograms").map_err(|_| bad(item))?;
                    write_message(&mut self.histograms, 0x1A, histogram);
                }
                _ => {}
            }
        }
        Ok(samples)
    }

    /// A v1 `Exemplar` as a v2 one: its labels interned into `label_refs`.
    fn v1_exemplar(&mut self, exemplar: &[u8], item: &SeriesItem) -> Result<Vec<u8>, EncodeError> {
        let mut rest = Vec::new();
        let mut refs = Vec::new();
        let mut parts = Reader::new(exemplar, 0, "Exemplar");
        while let Some(part) = parts.next_field().map_err(|_| bad(item))? {
            if part.number == 1 {
                let label = part.bytes("labels").map_err(|_| bad(item))?;
                let (name, value) = label_parts(label).ok_or_else(|| bad(item))?;
                refs.push(self.table.intern(name));
                refs.push(self.table.intern(value));
            } else {
                copy_field(&mut rest, exemplar, &part);
            }
        }
        let mut message = Vec::with_capacity(rest.len() + 2 * refs.len() + 2);
        write_packed(&mut message, REFS_TAG, &refs);
        message.extend_from_slice(&rest);
        Ok(message)
    }
}

impl BatchEncoder for V2Encoder {
    fn protocol(&self) -> Protocol {
        Protocol::V2
    }

    fn encode_series(&mut self, series: &[SeriesItem]) -> Result<Bytes, EncodeError> {
        self.encode(series)?;
        self.out.compress(&self.raw)
    }

    fn encode_metadata(&mut self, _: &MetadataItem) -> Result<Bytes, EncodeError> {
        Err(EncodeError::MetadataUnsupported(Protocol::V2))
    }
}

/// The request's symbol table being built: the symbols' bytes in ref order, string -> ref
/// by a 64-bit hash of the string (the bytes are compared, so a collision costs an entry in
/// `collided`, never a wrong ref), and the map from the current record's refs to the
/// request's, kept while consecutive items share the record's table. Cleared, not freed,
/// between requests.
#[derive(Default)]
struct Table {
    bytes: Vec<u8>,
    offsets: Vec<(u32, u32)>,
    by_hash: HashMap<u64, u32, KeyIsHash>,
    collided: HashMap<Vec<u8>, u32, foldhash::fast::FixedState>,
    /// Record ref -> request ref (`u32::MAX`: not mapped yet).
    remap: Vec<u32>,
    remap_of: Option<Arc<V2Symbols>>,
    /// A record table copied whole as the start of this table (refs unchanged).
    identity: Option<Arc<V2Symbols>>,
    /// Scratch refs of a v1 series.
    refs: Vec<u32>,
}

impl Table {
    /// Empty but for symbol 0, the empty string.
    fn clear(&mut self) {
        self.bytes.clear();
        self.offsets.clear();
        self.by_hash.clear();
        self.collided.clear();
        self.remap_of = None;
        self.identity = None;
        self.intern(b"");
    }

    /// Starts the (empty but for `""`) table with the whole of `symbols`, in order. When
    /// that keeps every ref (the record's table starts with `""` and has no duplicate), the
    /// record's series are sent with their refs as they are.
    fn seed(&mut self, symbols: &Arc<V2Symbols>) {
        let mut identity = symbols.get(0) == Some(b"".as_slice());
        for reference in 1..symbols.len() as u64 {
            let Some(symbol) = symbols.get(reference) else {
                identity = false;
                break;
            };
            identity &= u64::from(self.intern(symbol)) == reference;
        }
        if identity {
            self.identity = Some(Arc::clone(symbols));
        }
    }

    /// Whether `symbols` is the table this one started as (its refs need no mapping).
    fn is_identity(&self, symbols: &Arc<V2Symbols>) -> bool {
        self.identity
            .as_ref()
            .is_some_and(|identity| Arc::ptr_eq(identity, symbols))
    }

    /// The ref of `symbol`, appended to the table if new.
    fn intern(&mut self, symbol: &[u8]) -> u32 {
        let key = foldhash::fast::FixedState::default().hash_one(symbol);
        if let Some(&candidate) = self.by_hash.get(&key) {
            if self.symbol(candidate) == Some(symbol) {
                return candidate;
            }
            if let Some(&reference) = self.collided.get(symbol) {
                return reference;
            }
            let reference = self.append(symbol);
            self.collided.insert(symbol.to_vec(), reference);
            return reference;
        }
        let reference = self.append(symbol);
        self.by_hash.insert(key, reference);
        reference
    }

    fn symbol(&self, reference: u32) -> Option<&[u8]> {
        let &(start, end) = self.offsets.get(reference as usize)?;
        self.bytes.get(start as usize..end as usize)
    }

    fn append(&mut self, symbol: &[u8]) -> u32 {
        let reference = u32::try_from(self.offsets.len()).unwrap_or(u32::MAX);
        let start = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(symbol);
        let end = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.offsets.push((start, end));
        reference
    }

    /// Starts mapping refs of `symbols` (keeps the map if it is the same table).
    fn use_record(&mut self, symbols: &Arc<V2Symbols>) {
        if self
            .remap_of
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, symbols))
        {
            return;
        }
        self.remap.clear();
        self.remap.resize(symbols.len(), u32::MAX);
        self.remap_of = Some(Arc::clone(symbols));
    }

    /// The request ref of record symbol `reference` (`None`: past the record's table).
    #[inline]
    fn map(&mut self, reference: u64, symbols: &V2Symbols) -> Option<u32> {
        let slot = usize::try_from(reference).ok()?;
        match self.remap.get(slot) {
            Some(&mapped) if mapped != u32::MAX => Some(mapped),
            _ => {
                let mapped = self.intern(symbols.get(reference)?);
                if let Some(entry) = self.remap.get_mut(slot) {
                    *entry = mapped;
                }
                Some(mapped)
            }
        }
    }

    /// Writes the refs field `field` (packed or single) to `out` as a packed field 1, its
    /// refs mapped; `None` when it is malformed or a ref is past the record's table.
    fn write_refs(
        &mut self,
        out: &mut Vec<u8>,
        field: &Field<'_>,
        symbols: &V2Symbols,
    ) -> Option<()> {
        let packed: &[u8] = match field.value {
            WireValue::Len(bytes) => bytes,
            WireValue::Varint(reference) => {
                let mapped = self.map(reference, symbols)?;
                out.push(REFS_TAG);
                out.push(u8::try_from(varint_len(u64::from(mapped))).ok()?);
                write_varint(out, u64::from(mapped));
                return Some(());
            }
            _ => return None,
        };
        if packed.is_empty() {
            return Some(());
        }
        out.push(REFS_TAG);
        // Length placeholder: one byte holds the length of up to 63 two-byte refs.
        let len_at = out.len();
        out.push(0);
        let mut rest = packed;
        while !rest.is_empty() {
            let (reference, used) = read_varint(rest)?;
            rest = rest.get(used..)?;
            let mapped = self.map(reference, symbols)?;
            write_varint(out, u64::from(mapped));
        }
        let len = out.len() - len_at - 1;
        match u8::try_from(len) {
            Ok(byte) if byte < 0x80 => {
                if let Some(slot) = out.get_mut(len_at) {
                    *slot = byte;
                }
            }
            _ => {
                let mut prefix = Vec::with_capacity(3);
                write_varint(&mut prefix, len as u64);
                out.splice(len_at..=len_at, prefix);
            }
        }
        Some(())
    }
}

/// The record table most of the batch's v2 items share, when those items are at least half
/// of its record's series: sending that whole table costs less than mapping every ref.
fn most_items_from(items: &[SeriesItem]) -> Option<&Arc<V2Symbols>> {
    let first = items.iter().find_map(|i| i.symbols.as_ref())?;
    let from_first = items
        .iter()
        .filter(|i| i.symbols.as_ref().is_some_and(|s| Arc::ptr_eq(s, first)))
        .count();
    (from_first.saturating_mul(2) >= first.series().max(1)).then_some(first)
}

/// A varint at the start of `bytes`: its value and length.
#[inline]
fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    match bytes {
        [b, ..] if *b < 0x80 => Some((u64::from(*b), 1)),
        [b0, b1, ..] if *b1 < 0x80 => Some((u64::from(b0 & 0x7F) | (u64::from(*b1) << 7), 2)),
        _ => {
            let mut value = 0u64;
            for (i, byte) in bytes.iter().take(10).enumerate() {
                value |= u64::from(byte & 0x7F) << (7 * i);
                if byte & 0x80 == 0 {
                    return Some((value, i + 1));
                }
            }
            None
        }
    }
}

/// The hasher of a map whose keys are already hashes: it passes them through (hashing a
/// hash again would only cost time).
#[derive(Clone, Copy, Default)]
struct KeyIsHash;

/// See [`KeyIsHash`].
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `u64` keys; anything else is folded in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl BuildHasher for KeyIsHash {
    type Hasher = PassThrough;

    fn build_hasher(&self) -> PassThrough {
        PassThrough::default()
    }
}

/// A `Label`'s name and value: `0A len name 12 len value` directly, else field by field.
#[inline]
fn label_parts(label: &[u8]) -> Option<(&[u8], &[u8])> {
    if let Some(parts) = canonical_label(label) {
        return Some(parts);
    }
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut parts = Reader::new(label, 0, "Label");
    while let Some(part) = parts.next_field().ok()? {
        match part.number {
            1 => name = part.bytes("name").ok()?,
            2 => value = part.bytes("value").ok()?,
            _ => {}
        }
    }
    Some((name, value))
}

/// Copies one field (tag, length and value) as it is in `message`.
fn copy_field(out: &mut Vec<u8>, message: &[u8], field: &Field<'_>) {
    out.extend_from_slice(message.get(field.start..field.end).unwrap_or_default());
}

/// A length-delimited field with key byte `key`.
fn write_message(out: &mut Vec<u8>, key: u8, payload: &[u8]) {
    out.push(key);
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// A packed repeated `uint32` field with key byte `key` (nothing when empty).
fn write_packed(out: &mut Vec<u8>, key: u8, values: &[u32]) {
    if values.is_empty() {
        return;
    }
    let len: usize = values.iter().map(|v| varint_len(u64::from(*v))).sum();
    out.push(key);
    write_varint(out, len as u64);
    for &value in values {
        write_varint(out, u64::from(value));
    }
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests;
