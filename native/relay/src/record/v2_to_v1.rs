//! One v2 series as a v1 `TimeSeries`, from borrowed views: what a v1 destination gets of a
//! v2 record (through the record's v1 form, converted once) and what a v2 destination that
//! fell back to v1 sends of the v2 items it had queued.
//!
//! Same result as prw-core's `convert::v2_to_v1` (checked against it in the tests): labels
//! and exemplar labels resolved through the record's symbols; samples without their
//! `start_timestamp` (v1 has none); histograms as they are (v1 and v2 share the message's
//! fields); the series' metadata, if any, for the caller to turn into a v1
//! `MetricMetadata` of its family. Hand-written because prw-core converts only between owned
//! structs, which costs an allocation per string.
//!
//! Invariants: never panics on any bytes (a series that does not parse, or a ref past the
//! table, is an error); the facts returned describe the written series exactly as the WAL
//! path's facts pass would (hash of the labels in order, counts, oldest and newest sample,
//! histogram or exemplar timestamp).

use std::collections::HashSet;
use std::ops::Range;

use prw_core::hash::HashInput;
use prw_core::view::SeriesFacts;
use prw_core::wire::{Field, Reader, WireValue};

use super::V2Symbols;
use super::facts::FactsError;

/// v1 `TimeSeries` keys (field, wire type 2): labels, samples, exemplars, histograms.
const LABELS: u8 = 0x0A;
const SAMPLES: u8 = 0x12;
const EXEMPLARS: u8 = 0x1A;
const HISTOGRAMS: u8 = 0x22;

/// What a translated series carried besides its points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translated {
    /// Hash, counts, oldest and newest timestamp; `range` and `header_len` are left for
    /// the caller.
    pub facts: Option<SeriesFacts>,
    /// Its metadata: type, help ref, unit ref (both checked against the table; `None`: the
    /// series had none).
    pub metadata: Option<(u64, u64, u64)>,
    /// Where its `__name__` value is in the output (the metadata's family).
    pub family: Option<Range<usize>>,
}

/// Scratch buffers reused from series to series.
#[derive(Default)]
pub struct Translator {
    key: Option<HashInput>,
    points: Vec<u8>,
    nested: Vec<u8>,
}

impl std::fmt::Debug for Translator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translator").finish_non_exhaustive()
    }
}

fn malformed(at: usize) -> FactsError {
    FactsError::Malformed { offset: at }
}

impl Translator {
    /// Appends v2 series `payload` (refs into `symbols`) to `out` as a v1 `TimeSeries`
    /// payload (no tag or length); `series` numbers it in errors.
    pub fn translate(
        &mut self,
        payload: &[u8],
        symbols: &V2Symbols,
        series: usize,
        out: &mut Vec<u8>,
    ) -> Result<Translated, FactsError> {
        let key = self.key.get_or_insert_with(HashInput::new);
        key.clear();
        self.points.clear();
        let mut facts = SeriesFacts {
            range: 0..0,
            header_len: 0,
            hash: 0,
            samples: 0,
            histograms: 0,
            exemplars: 0,
            min_timestamp: None,
            max_timestamp: None,
        };
        let mut translated = Translated::default();
        let symbol = |reference: u64| -> Result<&[u8], FactsError> {
            symbols
                .get(reference)
                .ok_or(FactsError::SymbolRef { series, reference })
        };
        let widen = |ts: i64, facts: &mut SeriesFacts| {
            facts.min_timestamp = Some(facts.min_timestamp.map_or(ts, |m| m.min(ts)));
            facts.max_timestamp = Some(facts.max_timestamp.map_or(ts, |m| m.max(ts)));
        };
        let mut pending_name: Option<&[u8]> = None;
        let mut fields = Reader::new(payload, 0, "TimeSeries");
        while let Some(field) = fields.next_field().map_err(|e| malformed(e.offset()))? {
            match field.number {
                1 => {
                    let mut label = |reference: u64| -> Result<(), FactsError> {
                        let text = symbol(reference)?;
                        let Some(name) = pending_name.take() else {
                            pending_name = Some(text);
                            return Ok(());
                        };
                        key.push_bytes(name, text);
                        let value_at = write_label(out, name, text);
                        if name == b"__name__" {
                            translated.family = Some(value_at..value_at + text.len());
                        }
                        Ok(())
                    };
                    match field.value {
                        WireValue::Len(mut packed) => {
                            while let Some((reference, rest)) = read_varint(packed) {
                                label(reference)?;
                                packed = rest;
                            }
                            if !packed.is_empty() {
                                return Err(malformed(field.value_offset));
                            }
                        }
                        WireValue::Varint(reference) => label(reference)?,
                        _ => return Err(malformed(field.start)),
                    }
                }
                2 => {
                    let (bytes, timestamp) = sample(&field)?;
                    facts.samples = facts.samples.saturating_add(1);
                    widen(timestamp, &mut facts);
                    match bytes {
                        Some(canonical) => write_message(&mut self.points, SAMPLES, canonical),
                        None => {
                            let (value, _) = sample_fields(&field)?;
                            self.nested.clear();
                            self.nested.push(0x09);
                            self.nested.extend_from_slice(&value.to_le_bytes());
                            self.nested.push(0x10);
                            write_varint(&mut self.nested, timestamp as u64);
                            write_message(&mut self.points, SAMPLES, &self.nested);
                        }
                    }
                }
                3 => {
                    let histogram = bytes(&field)?;
                    facts.histograms = facts.histograms.saturating_add(1);
                    widen(int64(histogram, 15)?, &mut facts);
                    write_message(&mut self.points, HISTOGRAMS, histogram);
                }
                4 => {
                    let exemplar = bytes(&field)?;
                    facts.exemplars = facts.exemplars.saturating_add(1);
                    self.nested.clear();
                    let mut parts = Reader::new(exemplar, 0, "Exemplar");
                    let mut name: Option<&[u8]> = None;
                    // Field 3; 0 when absent, as in protobuf (the last occurrence wins).
                    let mut timestamp = 0;
                    while let Some(part) = parts.next_field().map_err(|e| malformed(e.offset()))? {
                        if let (3, WireValue::Varint(v)) = (part.number, &part.value) {
                            timestamp = *v as i64;
                        }
                        if part.number == 1 {
                            for reference in refs(&part)? {
                                let text = symbol(reference.map_err(|e| malformed(e.offset()))?)?;
                                match name.take() {
                                    None => name = Some(text),
                                    Some(n) => {
                                        write_label(&mut self.nested, n, text);
                                    }
                                }
                            }
                        } else {
                            copy_field(&mut self.nested, exemplar, &part);
                        }
                    }
                    widen(timestamp, &mut facts);
                    write_message(&mut self.points, EXEMPLARS, &self.nested);
                }
                5 => {
                    let metadata = bytes(&field)?;
                    let (mut kind, mut help, mut unit) = (0, 0, 0);
                    let mut parts = Reader::new(metadata, 0, "Metadata");
                    while let Some(part) = parts.next_field().map_err(|e| malformed(e.offset()))? {
                        if let WireValue::Varint(v) = part.value {
                            match part.number {
                                1 => kind = v,
                                3 => help = v,
                                4 => unit = v,
                                _ => {}
                            }
                        }
                    }
                    symbol(help)?;
                    symbol(unit)?;
                    translated.metadata = Some((kind, help, unit));
                }
                _ => {}
            }
        }
        out.extend_from_slice(&self.points);
        facts.hash = key.finish();
        translated.facts = Some(facts);
        Ok(translated)
    }
}

/// The refs of a `labels_refs` field, packed or single.
fn refs<'a>(field: &Field<'a>) -> Result<prw_core::wire::Varints<'a>, FactsError> {
    field
        .varints("label refs")
        .map_err(|_| malformed(field.start))
}

fn bytes<'a>(field: &Field<'a>) -> Result<&'a [u8], FactsError> {
    field.bytes("message").map_err(|_| malformed(field.start))
}

/// A v2 sample's timestamp, and its v1 encoding when it is the `09 value(8) 10 timestamp`
/// senders write (then optionally `18 start_timestamp`, which v1 does not have): the bytes
/// before the start timestamp are the v1 sample as is.
#[inline]
fn sample<'a>(field: &Field<'a>) -> Result<(Option<&'a [u8]>, i64), FactsError> {
    let bytes = bytes(field)?;
    if let [0x09, rest @ ..] = bytes
        && let Some((&0x10, varint)) = rest.get(8..).and_then(<[u8]>::split_first)
        && let Some((timestamp, after)) = read_varint(varint)
        && (after.is_empty() || after.first() == Some(&0x18))
    {
        let v1_len = bytes.len() - after.len();
        return Ok((bytes.get(..v1_len), timestamp as i64));
    }
    let (_, timestamp) = sample_fields(field)?;
    Ok((None, timestamp))
}

/// A v2 sample's value and timestamp, field by field.
fn sample_fields(field: &Field<'_>) -> Result<(f64, i64), FactsError> {
    let mut parts = Reader::new(bytes(field)?, field.value_offset, "Sample");
    let (mut value, mut timestamp) = (0.0, 0);
    while let Some(part) = parts.next_field().map_err(|e| malformed(e.offset()))? {
        match (part.number, part.value) {
            (1, WireValue::Fixed64(bits)) => value = f64::from_bits(bits),
            (2, WireValue::Varint(v)) => timestamp = v as i64,
            _ => {}
        }
    }
    Ok((value, timestamp))
}

/// A varint at the start of `bytes`: its value and the bytes after it.
#[inline]
fn read_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    match bytes {
        [b, rest @ ..] if *b < 0x80 => Some((u64::from(*b), rest)),
        [b0, b1, rest @ ..] if *b1 < 0x80 => {
            Some((u64::from(b0 & 0x7F) | (u64::from(*b1) << 7), rest))
        }
        _ => {
            let mut value = 0u64;
            for (i, byte) in bytes.iter().take(10).enumerate() {
                value |= u64::from(byte & 0x7F) << (7 * i);
                if byte & 0x80 == 0 {
                    return Some((value, bytes.get(i + 1..)?));
                }
            }
            None
        }
    }
}

/// The `int64` field `number` of `message` (0 when absent).
fn int64(message: &[u8], number: u32) -> Result<i64, FactsError> {
    let mut parts = Reader::new(message, 0, "message");
    let mut out = 0;
    while let Some(part) = parts.next_field().map_err(|e| malformed(e.offset()))? {
        if let (n, WireValue::Varint(v)) = (part.number, part.value)
            && n == number
        {
            out = v as i64;
        }
    }
    Ok(out)
}

/// Appends a v1 `Label` field; returns where its value starts in `out`.
#[inline]
fn write_label(out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> usize {
    let inner = 2 + varint_len(name.len()) + name.len() + varint_len(value.len()) + value.len();
    if inner < 0x80 {
        // Every length fits a byte: one small header, the name, two bytes, the value.
        out.reserve(inner + 2);
        out.extend_from_slice(&[LABELS, inner as u8, 0x0A, name.len() as u8]);
        out.extend_from_slice(name);
        out.extend_from_slice(&[0x12, value.len() as u8]);
        let at = out.len();
        out.extend_from_slice(value);
        return at;
    }
    out.push(LABELS);
    write_varint(out, inner as u64);
    out.push(0x0A);
    write_varint(out, name.len() as u64);
    out.extend_from_slice(name);
    out.push(0x12);
    write_varint(out, value.len() as u64);
    let at = out.len();
    out.extend_from_slice(value);
    at
}

fn copy_field(out: &mut Vec<u8>, message: &[u8], field: &Field<'_>) {
    out.extend_from_slice(message.get(field.start..field.end).unwrap_or_default());
}

/// A length-delimited field with key byte `key`.
pub(crate) fn write_message(out: &mut Vec<u8>, key: u8, payload: &[u8]) {
    out.push(key);
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Protobuf base-128 varint.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: usize) -> usize {
    (64 - (value as u64 | 1).leading_zeros() as usize).div_ceil(7)
}

/// The v1 metadata of translated series, once per family (as prw-core's conversion does).
#[derive(Debug, Default)]
pub struct FamilyMetadata {
    seen: HashSet<Vec<u8>>,
}

impl FamilyMetadata {
    /// Forgets the families seen.
    pub fn clear(&mut self) {
        self.seen.clear();
    }

    /// The v1 `MetricMetadata` payload of a series translated into `series` with
    /// `translated`, when it has metadata and is the first of its family.
    pub fn first_of_family(
        &mut self,
        translated: &Translated,
        series: &[u8],
        symbols: &V2Symbols,
    ) -> Option<Vec<u8>> {
        let (kind, help, unit) = translated.metadata?;
        let family = translated
            .family
            .clone()
            .and_then(|r| series.get(r))
            .unwrap_or_default();
        if !self.seen.insert(family.to_vec()) {
            return None;
        }
        let mut entry = Vec::new();
        write_metadata(
            &mut entry,
            kind,
            family,
            symbols.get(help).unwrap_or_default(),
            symbols.get(unit).unwrap_or_default(),
        );
        Some(entry)
    }
}

/// A v1 `MetricMetadata` payload: type, family name, help, unit (fields 1, 2, 4, 5).
fn write_metadata(out: &mut Vec<u8>, kind: u64, family: &[u8], help: &[u8], unit: &[u8]) {
    if kind != 0 {
        out.push(0x08);
        write_varint(out, kind);
    }
    for (key, text) in [(0x12, family), (0x22, help), (0x2A, unit)] {
        if !text.is_empty() {
            write_message(out, key, text);
        }
    }
}

#[cfg(test)]
mod tests;
