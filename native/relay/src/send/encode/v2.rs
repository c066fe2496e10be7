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
use crate::send::batch::{MetadataItem, SeriesItem};

/// `Request.symbols` key (field 4, wire type 2).
const SYMBOLS_TAG: u8 = 0x22;
/// `Request.timeseries` key (field 5, wire type 2).
const TIMESERIES_TAG: u8 = 0x2A;

/// Encodes `io.prometheus.write.v2.Request` bodies.
pub struct V2Encoder {
    /// The request's table: symbol bytes in ref order, and where each is.
    table: Vec<u8>,
    offsets: Vec<(u32, u32)>,
    /// The encoded series (field 5 each), then the whole request.
    series: Vec<u8>,
    /// One series (or exemplar) being rewritten.
    scratch: Vec<u8>,
    nested: Vec<u8>,
    histograms: Vec<u8>,
    refs: Vec<u32>,
    /// Record ref -> request ref for the record table in use (`u32::MAX`: not yet mapped).
    remap: Vec<u32>,
    remap_of: Option<Arc<V2Symbols>>,
    interner: Interner,
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
            table: Vec::new(),
            offsets: Vec::new(),
            series: Vec::new(),
            scratch: Vec::new(),
            nested: Vec::new(),
            histograms: Vec::new(),
            refs: Vec::new(),
            remap: Vec::new(),
            remap_of: None,
            interner: Interner::default(),
            raw: Vec::new(),
            out: Compressor::default(),
        }
    }

    fn encode(&mut self, items: &[SeriesItem]) -> Result<(), EncodeError> {
        self.table.clear();
        self.offsets.clear();
        self.series.clear();
        self.remap_of = None;
        let mut interner = std::mem::take(&mut self.interner);
        interner.clear();
        interner.intern(b"", &mut self.table, &mut self.offsets);
        let result = self.encode_all(items, &mut interner);
        self.interner = interner;
        result
    }

    fn encode_all(
        &mut self,
        items: &[SeriesItem],
        interner: &mut Interner,
    ) -> Result<(), EncodeError> {
        for item in items {
            self.scratch.clear();
            match &item.symbols {
                Some(symbols) => {
                    self.translate_v2(item, symbols, interner)?;
                    write_message(&mut self.series, TIMESERIES_TAG, &self.scratch);
                }
                None => self.translate_v1(item, interner)?,
            }
        }
        self.raw.clear();
        self.raw
            .reserve(self.table.len() + 3 * self.offsets.len() + self.series.len());
        for &(start, end) in &self.offsets {
            let symbol = self
                .table
                .get(start as usize..end as usize)
                .unwrap_or_default();
            self.raw.push(SYMBOLS_TAG);
            write_varint(&mut self.raw, symbol.len() as u64);
            self.raw.extend_from_slice(symbol);
        }
        self.raw.extend_from_slice(&self.series);
        Ok(())
    }

    /// The request ref of record symbol `reference` (`symbols` is the item's table).
    fn map_ref(
        &mut self,
        reference: u64,
        symbols: &V2Symbols,
        interner: &mut Interner,
    ) -> Option<u32> {
        let slot = usize::try_from(reference).ok()?;
        match self.remap.get(slot) {
            Some(&mapped) if mapped != u32::MAX => Some(mapped),
            _ => {
                let symbol = symbols.get(reference)?;
                let mapped = interner.intern(symbol, &mut self.table, &mut self.offsets);
                if let Some(entry) = self.remap.get_mut(slot) {
                    *entry = mapped;
                }
                Some(mapped)
            }
        }
    }

    /// `self.refs` := the refs of a (packed or single) refs field, mapped into the request's
    /// table; `None` when the field is malformed or a ref is past the record's table.
    fn map_refs(
        &mut self,
        field: &Field<'_>,
        symbols: &V2Symbols,
        interner: &mut Interner,
    ) -> Option<()> {
        self.refs.clear();
        for reference in field.varints("label refs").ok()? {
            let mapped = self.map_ref(reference.ok()?, symbols, interner)?;
            self.refs.push(mapped);
        }
        Some(())
    }

    /// Starts using `symbols` as the record table (keeps the map if it is the same one).
    fn use_table(&mut self, symbols: &Arc<V2Symbols>) {
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

    /// A v2 series as received, its refs mapped into the request's table.
    fn translate_v2(
        &mut self,
        item: &SeriesItem,
        symbols: &Arc<V2Symbols>,
        interner: &mut Interner,
    ) -> Result<(), EncodeError> {
        self.use_table(symbols);
        let mut fields = Reader::new(&item.series, 0, "TimeSeries");
        while let Some(field) = fields.next_field().map_err(|_| bad(item))? {
            match field.number {
                1 => {
                    self.map_refs(&field, symbols, interner)
                        .ok_or_else(|| bad(item))?;
                    write_packed(&mut self.scratch, 0x0A, &self.refs);
                }
                4 => {
                    let exemplar = field.bytes("exemplars").map_err(|_| bad(item))?;
                    self.nested.clear();
                    let mut parts = Reader::new(exemplar, 0, "Exemplar");
                    while let Some(part) = parts.next_field().map_err(|_| bad(item))? {
                        if part.number == 1 {
                            self.map_refs(&part, symbols, interner)
                                .ok_or_else(|| bad(item))?;
                            write_packed(&mut self.nested, 0x0A, &self.refs);
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
                                    .map_ref(reference, symbols, interner)
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
    fn translate_v1(
        &mut self,
        item: &SeriesItem,
        interner: &mut Interner,
    ) -> Result<(), EncodeError> {
        let mut fields = Reader::new(&item.series, 0, "TimeSeries");
        self.refs.clear();
        self.nested.clear();
        self.histograms.clear();
        let mut samples = false;
        while let Some(field) = fields.next_field().map_err(|_| bad(item))? {
            match field.number {
                1 => {
                    let label = field.bytes("labels").map_err(|_| bad(item))?;
                    let (name, value) = label_parts(label).ok_or_else(|| bad(item))?;
                    self.refs
                        .push(interner.intern(name, &mut self.table, &mut self.offsets));
                    self.refs
                        .push(interner.intern(value, &mut self.table, &mut self.offsets));
                }
                // Sample: same fields in v1 and v2.
                2 => {
                    samples = true;
                    copy_field(&mut self.nested, &item.series, &field);
                }
                3 => {
                    let exemplar = field.bytes("exemplars").map_err(|_| bad(item))?;
                    let message = self.v1_exemplar(exemplar, item, interner)?;
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
        self.scratch.clear();
        write_packed(&mut self.scratch, 0x0A, &self.refs);
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

    /// A v1 `Exemplar` as a v2 one: its labels interned into `label_refs`.
    fn v1_exemplar(
        &mut self,
        exemplar: &[u8],
        item: &SeriesItem,
        interner: &mut Interner,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut rest = Vec::new();
        let mut refs = Vec::new();
        let mut parts = Reader::new(exemplar, 0, "Exemplar");
        while let Some(part) = parts.next_field().map_err(|_| bad(item))? {
            if part.number == 1 {
                let label = part.bytes("labels").map_err(|_| bad(item))?;
                let (name, value) = label_parts(label).ok_or_else(|| bad(item))?;
                refs.push(interner.intern(name, &mut self.table, &mut self.offsets));
                refs.push(interner.intern(value, &mut self.table, &mut self.offsets));
            } else {
                copy_field(&mut rest, exemplar, &part);
            }
        }
        let mut message = Vec::with_capacity(rest.len() + 2 * refs.len() + 2);
        write_packed(&mut message, 0x0A, &refs);
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

/// The request's symbols: string -> ref, by a 64-bit hash of the string (the table bytes
/// are compared, so a collision costs an entry in `collided`, never a wrong ref). Cleared,
/// not freed, between requests.
#[derive(Default)]
struct Interner {
    refs: HashMap<u64, u32, foldhash::fast::FixedState>,
    collided: HashMap<Vec<u8>, u32, foldhash::fast::FixedState>,
}

impl Interner {
    fn clear(&mut self) {
        self.refs.clear();
        self.collided.clear();
    }

    /// The ref of `symbol`, appended to the table if new.
    fn intern(&mut self, symbol: &[u8], table: &mut Vec<u8>, offsets: &mut Vec<(u32, u32)>) -> u32 {
        let key = self.refs.hasher().hash_one(symbol);
        if let Some(&candidate) = self.refs.get(&key) {
            let same = offsets
                .get(candidate as usize)
                .and_then(|&(start, end)| table.get(start as usize..end as usize))
                == Some(symbol);
            if same {
                return candidate;
            }
            if let Some(&reference) = self.collided.get(symbol) {
                return reference;
            }
            let reference = append(symbol, table, offsets);
            self.collided.insert(symbol.to_vec(), reference);
            return reference;
        }
        let reference = append(symbol, table, offsets);
        self.refs.insert(key, reference);
        reference
    }
}

/// Appends `symbol` to the table; its ref.
fn append(symbol: &[u8], table: &mut Vec<u8>, offsets: &mut Vec<(u32, u32)>) -> u32 {
    let reference = u32::try_from(offsets.len()).unwrap_or(u32::MAX);
    let start = u32::try_from(table.len()).unwrap_or(u32::MAX);
    table.extend_from_slice(symbol);
    let end = u32::try_from(table.len()).unwrap_or(u32::MAX);
    offsets.push((start, end));
    reference
}

/// A `Label`'s name and value.
fn label_parts(label: &[u8]) -> Option<(&[u8], &[u8])> {
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
