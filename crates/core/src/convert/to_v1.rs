//! Remote Write 2.0 -> 1.0 from bytes to bytes: the edge bridge's hot path.
//!
//! [`super::v2_to_v1`] converts owned prost structs (one allocation per label string); this
//! transcoder reads the decoded v2 body with the borrowed [`crate::wire`] reader and writes
//! the v1 `WriteRequest` directly: label refs become label strings, and the sample,
//! exemplar and histogram fields both versions number alike are copied byte for byte.
//!
//! What 1.0 cannot carry is dropped and counted in [`V1Dropped`], never silently:
//! - start (created) timestamps of samples and histograms (1.0 has no field; the point
//!   itself is kept);
//! - with [`CustomBuckets::Drop`], custom-bucket histograms (schema -53; 1.0 receivers that
//!   predate `custom_values`, such as Prometheus 2.x, would read them as exponential
//!   histograms), and the series (with their exemplars) left without any point by that;
//! - series metadata that differs from the first metadata of the same family: 1.0 keeps one
//!   request-level entry per family, named after the series' `__name__`.
//!
//! Input: a body that decodes as v2 (validate it first; the edge does). Undecodable outer
//! structure is a [`TranscodeError::Decode`]; a label ref outside the symbol table or an odd
//! number of refs is a [`ConvertError`].
//!
//! Output size: 1.0 repeats every string 2.0 sends once, so a small 2.0 body can stand for
//! an enormous 1.0 one (one 2 KB symbol used by 30 labels of 100,000 series is 6 GB of 1.0).
//! The output is therefore capped at `max_bytes`: the size of each series, exemplar and
//! metadata entry is computed before it is written, and the first one that would pass the cap
//! ends the conversion with [`TranscodeError::TooLarge`]. Growth is fallible
//! (`try_reserve`), so a failed allocation below the cap is [`TranscodeError::Alloc`], not an
//! abort. Memory used: at most `max_bytes` for the output plus one series' points.
//!
//! Invariants: the output decodes (prost) to what [`super::v2_to_v1`] makes of the same
//! body after the drops above (proptest in `tests`); it never exceeds `max_bytes`; nothing
//! here panics or indexes bytes.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use prost::encoding::encoded_len_varint;
use serde::{Deserialize, Serialize};

use super::ConvertError;
use crate::view::v2::Request;
use crate::wire::{DecodeError, DecodeErrorKind, Field, Reader};

/// The schema number of custom-bucket histograms (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// What to do with custom-bucket histograms when converting to 1.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomBuckets {
    /// Forward them with `custom_values` (field 16), as Prometheus 3.x's 1.0 proto has it.
    #[default]
    Keep,
    /// Drop and count them, for receivers that predate `custom_values` (Prometheus 2.x).
    Drop,
}

/// What the 1.0 request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct V1Written {
    /// Series.
    pub series: u64,
    /// Float samples.
    pub samples: u64,
    /// Native histograms.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
    /// Request-level metadata entries.
    pub metadata: u64,
}

/// What could not be carried into 1.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct V1Dropped {
    /// Non-zero start (created) timestamps of forwarded samples and histograms.
    pub start_timestamps: u64,
    /// Custom-bucket histograms ([`CustomBuckets::Drop`]).
    pub custom_bucket_histograms: u64,
    /// Series left without samples or histograms by the drops above.
    pub series: u64,
    /// Exemplars of those series.
    pub exemplars: u64,
    /// Series metadata differing from the first of its family.
    pub metadata: u64,
}

impl V1Dropped {
    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        *self == V1Dropped::default()
    }
}

/// The result of one conversion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Transcoded {
    /// What was written.
    pub written: V1Written,
    /// What was dropped.
    pub dropped: V1Dropped,
}

/// Why a v2 body cannot be transcoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscodeError {
    /// The body is not v2 protobuf.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A label ref cannot be resolved.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The 1.0 form would be bigger than the cap.
    #[error(
        "the Remote Write 1.0 form is over {limit} bytes (decoded): stopped at series {series}"
    )]
    TooLarge {
        /// The cap (`max_bytes`).
        limit: usize,
        /// Index of the series that did not fit.
        series: usize,
    },
    /// Growing the output failed below the cap (the VM is out of memory).
    #[error("cannot allocate {bytes} bytes for the Remote Write 1.0 form")]
    Alloc {
        /// The capacity asked for.
        bytes: usize,
    },
}

/// A v2 series' metadata refs (fields merged over repeated occurrences, as prost does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct MetaRefs {
    r#type: i32,
    help_ref: u32,
    unit_ref: u32,
}

/// A resolved metadata entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Meta<'a> {
    r#type: i32,
    help: &'a str,
    unit: &'a str,
}

/// Buffers reused across series (no allocation per series once they have grown).
#[derive(Debug, Default)]
struct Scratch<'a> {
    refs: Vec<u32>,
    labels: Vec<(&'a str, &'a str)>,
    exemplar_refs: Vec<u32>,
    exemplar_labels: Vec<(&'a str, &'a str)>,
    points: Vec<u8>,
}

/// What one series contributed.
#[derive(Debug, Default)]
struct SeriesTally {
    samples: u64,
    histograms: u64,
    exemplars: u64,
    dropped_histograms: u64,
    start_timestamps: u64,
    meta: Option<MetaRefs>,
}

/// Converts the decoded v2 body `decoded` into a decoded v1 `WriteRequest` in `out`
/// (cleared first), failing with [`TranscodeError::TooLarge`] as soon as the 1.0 form would
/// pass `max_bytes` (see the module docs). `out` grows as needed: reserve nothing big up
/// front.
pub fn v2_to_v1_bytes(
    decoded: &[u8],
    custom: CustomBuckets,
    max_bytes: usize,
    out: &mut Vec<u8>,
) -> Result<Transcoded, TranscodeError> {
    out.clear();
    let cap = Cap {
        limit: max_bytes,
        before: 0,
        series: 0,
    };
    let mut symbols = Vec::new();
    Request::new(decoded).symbols_into(&mut symbols)?;
    let mut scratch = Scratch::default();
    let mut families: BTreeMap<&str, Meta<'_>> = BTreeMap::new();
    let mut family_order: Vec<&str> = Vec::new();
    let mut result = Transcoded::default();
    let mut r = Reader::new(decoded, 0, "Request");
    let mut index = 0usize;
    while let Some(f) = r.next_field()? {
        if f.number != 5 {
            continue;
        }
        let bytes = f.bytes("Request.timeseries")?;
        let cap = Cap {
            series: index,
            ..cap
        };
        // The points of one series must fit in what is left of the cap.
        let left = Cap {
            before: out.len(),
            ..cap
        };
        let series = SeriesInput {
            bytes,
            base: f.value_offset,
            index,
        };
        let tally = read_series(decoded, &symbols, &series, custom, left, &mut scratch)?;
        let series_index = index;
        index += 1;
        let emptied = tally.dropped_histograms > 0 && tally.samples == 0 && tally.histograms == 0;
        result.dropped.custom_bucket_histograms += tally.dropped_histograms;
        if emptied {
            result.dropped.series += 1;
            result.dropped.exemplars += tally.exemplars;
            continue;
        }
        resolve_into(&symbols, &scratch.refs, series_index, &mut scratch.labels)?;
        let labels = &scratch.labels;
        write_series(labels, &scratch.points, cap, out)?;
        result.written.series += 1;
        result.written.samples += tally.samples;
        result.written.histograms += tally.histograms;
        result.written.exemplars += tally.exemplars;
        result.dropped.start_timestamps += tally.start_timestamps;
        if let Some(m) = tally.meta {
            let family = labels
                .iter()
                .find(|(n, _)| *n == "__name__")
                .map_or("", |(_, v)| *v);
            let symbol = |r: u32| symbols.get(r as usize).copied();
            match families.get(family) {
                Some(first) => {
                    let same = first.r#type == m.r#type
                        && symbol(m.help_ref) == Some(first.help)
                        && symbol(m.unit_ref) == Some(first.unit);
                    if !same {
                        result.dropped.metadata += 1;
                    }
                }
                None => {
                    let out_of_range = |reference| ConvertError::RefOutOfRange {
                        series: series_index,
                        reference,
                    };
                    let meta = Meta {
                        r#type: m.r#type,
                        help: symbol(m.help_ref).ok_or(out_of_range(m.help_ref))?,
                        unit: symbol(m.unit_ref).ok_or(out_of_range(m.unit_ref))?,
                    };
                    families.insert(family, meta);
                    family_order.push(family);
                }
            }
        }
    }
    let cap = Cap {
        series: index,
        ..cap
    };
    for family in family_order {
        if let Some(meta) = families.get(family) {
            write_metadata(family, meta, cap, out)?;
            result.written.metadata += 1;
        }
    }
    Ok(result)
}

/// The output cap: `limit` bytes in all, `before` of them already written elsewhere (the
/// output, while one series' points are gathered), and the series being converted (for
/// the error).
#[derive(Clone, Copy, Debug)]
struct Cap {
    limit: usize,
    before: usize,
    series: usize,
}

impl Cap {
    /// Makes room in `out` for `needed` more bytes, never past the cap: the cap is checked
    /// before anything is written, and growth (doubling, clamped to the cap) is fallible.
    fn room(self, out: &mut Vec<u8>, needed: usize) -> Result<(), TranscodeError> {
        let total = out.len().saturating_add(needed);
        let room = self.limit.saturating_sub(self.before);
        if total > room {
            return Err(TranscodeError::TooLarge {
                limit: self.limit,
                series: self.series,
            });
        }
        if total > out.capacity() {
            let target = total.max(out.capacity().saturating_mul(2)).min(room);
            out.try_reserve_exact(target - out.len())
                .map_err(|_| TranscodeError::Alloc { bytes: target })?;
        }
        Ok(())
    }
}

/// One v2 `TimeSeries` message: its bytes, their offset in the decoded body, its index.
struct SeriesInput<'b> {
    bytes: &'b [u8],
    base: usize,
    index: usize,
}

/// v2 `Sample` fields 1.0 has (value, timestamp; not start_timestamp = 3).
const SAMPLE_FIELDS: fn(u32) -> bool = |n| matches!(n, 1 | 2);
/// v2 `Histogram` fields 1.0 has (1-16; not start_timestamp = 17).
const HISTOGRAM_FIELDS: fn(u32) -> bool = |n| (1..=16).contains(&n);
/// v2 `Exemplar` fields copied as they are (value, timestamp; the refs are resolved).
const EXEMPLAR_FIELDS: fn(u32) -> bool = |n| matches!(n, 2 | 3);

/// Reads one v2 series: its label refs into `scratch.refs`, its samples, exemplars and
/// histograms as v1 fields into `scratch.points` (at most `cap` bytes of them).
fn read_series<'a>(
    decoded: &[u8],
    symbols: &'a [&'a str],
    series: &SeriesInput<'_>,
    custom: CustomBuckets,
    cap: Cap,
    scratch: &mut Scratch<'a>,
) -> Result<SeriesTally, TranscodeError> {
    scratch.refs.clear();
    scratch.points.clear();
    let mut tally = SeriesTally::default();
    let index = series.index;
    let mut r = Reader::new(series.bytes, series.base, "TimeSeries").at_depth(1);
    while let Some(f) = r.next_field()? {
        match f.number {
            1 => {
                for v in f.varints("TimeSeries.labels_refs")? {
                    // Truncated to u32 like prost.
                    scratch.refs.push(v? as u32);
                }
            }
            2 => {
                let point = scan_point(&f, "Sample", SAMPLE_FIELDS, 3, None)?;
                // v1 TimeSeries.samples = 2.
                let fields = (2, point.kept, SAMPLE_FIELDS);
                copy_message(decoded, &f, fields, &[], cap, &mut scratch.points)?;
                tally.samples += 1;
                tally.start_timestamps += u64::from(point.start != 0);
            }
            3 => {
                let point = scan_point(&f, "Histogram", HISTOGRAM_FIELDS, 17, Some(4))?;
                if point.schema == CUSTOM_BUCKETS_SCHEMA && custom == CustomBuckets::Drop {
                    tally.dropped_histograms += 1;
                    continue;
                }
                // v1 TimeSeries.histograms = 4.
                let fields = (4, point.kept, HISTOGRAM_FIELDS);
                copy_message(decoded, &f, fields, &[], cap, &mut scratch.points)?;
                tally.histograms += 1;
                tally.start_timestamps += u64::from(point.start != 0);
            }
            4 => {
                scratch.exemplar_refs.clear();
                let refs = &mut scratch.exemplar_refs;
                let kept = scan_message(&f, "Exemplar", EXEMPLAR_FIELDS, |g| {
                    if g.number == 1 {
                        for v in g.varints("Exemplar.labels_refs")? {
                            refs.push(v? as u32);
                        }
                    }
                    Ok(())
                })?;
                let labels = &mut scratch.exemplar_labels;
                resolve_into(symbols, &scratch.exemplar_refs, index, labels)?;
                // v1 TimeSeries.exemplars = 3, with the labels (field 1) written out.
                let fields = (3, kept, EXEMPLAR_FIELDS);
                copy_message(decoded, &f, fields, labels, cap, &mut scratch.points)?;
                tally.exemplars += 1;
            }
            5 => {
                let meta = tally.meta.get_or_insert_with(MetaRefs::default);
                scan_message(
                    &f,
                    "Metadata",
                    |_| false,
                    |g| {
                        match g.number {
                            1 => meta.r#type = g.varint("Metadata.type")? as i32,
                            3 => meta.help_ref = g.varint("Metadata.help_ref")? as u32,
                            4 => meta.unit_ref = g.varint("Metadata.unit_ref")? as u32,
                            _ => {}
                        }
                        Ok(())
                    },
                )?;
            }
            _ => {}
        }
    }
    Ok(tally)
}

/// A sample's or histogram's facts from [`scan_point`].
struct Point {
    /// Length of the fields 1.0 keeps.
    kept: usize,
    /// Its start timestamp (0 = unset).
    start: i64,
    /// Its schema (histograms).
    schema: i32,
}

/// Scans a v2 sample or histogram: the length of the fields `keep` accepts, the start
/// timestamp (field `start_field`) and the schema (field `schema_field`), last occurrence
/// winning as in prost.
fn scan_point(
    f: &Field<'_>,
    what: &'static str,
    keep: fn(u32) -> bool,
    start_field: u32,
    schema_field: Option<u32>,
) -> Result<Point, DecodeError> {
    let (mut start, mut schema) = (0, 0);
    let kept = scan_message(f, what, keep, |g| {
        if g.number == start_field {
            start = g.int64("start_timestamp")?;
        } else if Some(g.number) == schema_field {
            schema = g.sint32("Histogram.schema")?;
        }
        Ok(())
    })?;
    Ok(Point {
        kept,
        start,
        schema,
    })
}

/// Resolves (name, value) ref pairs against the symbol table (shared with the owned
/// conversion, [`super::v2_to_v1`]).
pub(super) fn resolve<'a, S: AsRef<str>>(
    symbols: &'a [S],
    refs: &[u32],
    series: usize,
) -> Result<Vec<(&'a str, &'a str)>, ConvertError> {
    let mut out = Vec::with_capacity(refs.len() / 2);
    resolve_into(symbols, refs, series, &mut out)?;
    Ok(out)
}

/// [`resolve`] into `out` (cleared first).
fn resolve_into<'a, S: AsRef<str>>(
    symbols: &'a [S],
    refs: &[u32],
    series: usize,
    out: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), ConvertError> {
    out.clear();
    if refs.len() % 2 == 1 {
        return Err(ConvertError::OddRefs { series });
    }
    let symbol = |reference: u32| {
        symbols
            .get(reference as usize)
            .map(AsRef::as_ref)
            .ok_or(ConvertError::RefOutOfRange { series, reference })
    };
    for pair in refs.chunks_exact(2) {
        if let [name, value] = pair {
            out.push((symbol(*name)?, symbol(*value)?));
        }
    }
    Ok(())
}

/// Walks the fields of the length-delimited message in `f`, calling `visit` on each, and
/// returns the byte length of the fields `keep` accepts.
fn scan_message(
    f: &Field<'_>,
    what: &'static str,
    keep: fn(u32) -> bool,
    mut visit: impl FnMut(&Field<'_>) -> Result<(), DecodeError>,
) -> Result<usize, DecodeError> {
    let mut r = Reader::new(f.bytes(what)?, f.value_offset, what).at_depth(2);
    let mut kept = 0usize;
    while let Some(g) = r.next_field()? {
        visit(&g)?;
        if keep(g.number) {
            kept += g.end.saturating_sub(g.start);
        }
    }
    Ok(kept)
}

/// Appends field `number` (length-delimited) holding `labels` as v1 `Label` messages in
/// field 1, then the fields of the message in `f` that `keep` accepts, copied from
/// `decoded` byte for byte. `kept` is their length, from [`scan_message`] with the same
/// `keep`. Fails before writing anything when `out` would pass `cap`.
fn copy_message(
    decoded: &[u8],
    f: &Field<'_>,
    (number, kept, keep): (u32, usize, fn(u32) -> bool),
    labels: &[(&str, &str)],
    cap: Cap,
    out: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    let msg = f.bytes("message")?;
    let labels_len = labels_field_len(labels);
    let len = labels_len.saturating_add(kept);
    cap.room(out, field_len(len))?;
    put_len_tag(out, number);
    put_varint(out, len as u64);
    for (name, value) in labels {
        write_label(name, value, out);
    }
    if kept == msg.len() {
        out.extend_from_slice(msg);
        return Ok(());
    }
    let mut r = Reader::new(msg, f.value_offset, "message").at_depth(2);
    while let Some(g) = r.next_field()? {
        if keep(g.number) {
            // Field ranges are absolute offsets inside `decoded` (the reader's invariant),
            // so this never fails for `msg` taken from `decoded`.
            let raw = decoded.get(g.start..g.end).ok_or(DecodeError::new(
                DecodeErrorKind::Truncated,
                "message",
                g.start,
            ))?;
            out.extend_from_slice(raw);
        }
    }
    Ok(())
}

/// Appends `value` as a protobuf varint. Hand-written: prost's `encode_varint` goes through
/// `BufMut` with a capacity check per byte, a measurable share of this hot loop.
#[inline]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends the tag of length-delimited field `number` (every number written here is below
/// 16, so the tag is one byte).
#[inline]
fn put_len_tag(out: &mut Vec<u8>, number: u32) {
    out.push(((number << 3) | 2) as u8);
}

/// Encoded length of a length-delimited field (one-byte tag) with a payload of `len`.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// Encoded length of a string field (0 when empty: proto3 omits it, as prost does).
fn string_field_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        1 + encoded_len_varint(s.len() as u64) + s.len()
    }
}

fn write_string_field(number: u32, s: &str, out: &mut Vec<u8>) {
    if !s.is_empty() {
        put_len_tag(out, number);
        put_varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
}

/// Encoded length of a `Label` message's payload.
fn label_len(name: &str, value: &str) -> usize {
    string_field_len(name) + string_field_len(value)
}

/// Encoded length of a `Label` as field 1 of its parent (tag, length, payload).
fn label_field_len(name: &str, value: &str) -> usize {
    field_len(label_len(name, value))
}

/// Encoded length of `labels` as field 1 of their parent (saturating: a sum of many long
/// strings may exceed a 32-bit `usize`; the cap then refuses it).
fn labels_field_len(labels: &[(&str, &str)]) -> usize {
    labels.iter().fold(0usize, |sum, (n, v)| {
        sum.saturating_add(label_field_len(n, v))
    })
}

fn write_label(name: &str, value: &str, out: &mut Vec<u8>) {
    put_len_tag(out, 1);
    put_varint(out, label_len(name, value) as u64);
    write_string_field(1, name, out);
    write_string_field(2, value, out);
}

/// Appends one v1 `TimeSeries` (WriteRequest field 1): labels, then the copied points.
/// Fails before writing anything when `out` would pass `cap`.
fn write_series(
    labels: &[(&str, &str)],
    points: &[u8],
    cap: Cap,
    out: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    let labels_len = labels_field_len(labels);
    let len = labels_len.saturating_add(points.len());
    cap.room(out, field_len(len))?;
    put_len_tag(out, 1);
    put_varint(out, len as u64);
    for (name, value) in labels {
        write_label(name, value, out);
    }
    out.extend_from_slice(points);
    Ok(())
}

/// Appends one v1 `MetricMetadata` (WriteRequest field 3). Fails before writing anything
/// when `out` would pass `cap`.
fn write_metadata(
    family: &str,
    meta: &Meta<'_>,
    cap: Cap,
    out: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    // int32/enum fields are varints of the sign-extended value (prost's encoding).
    let type_value = i64::from(meta.r#type) as u64;
    let type_len = if meta.r#type == 0 {
        0
    } else {
        1 + encoded_len_varint(type_value)
    };
    let len = type_len
        + string_field_len(family)
        + string_field_len(meta.help)
        + string_field_len(meta.unit);
    cap.room(out, field_len(len))?;
    put_len_tag(out, 3);
    put_varint(out, len as u64);
    if meta.r#type != 0 {
        // Field 1, wire type 0 (varint).
        out.push(1 << 3);
        put_varint(out, type_value);
    }
    write_string_field(2, family, out);
    write_string_field(4, meta.help, out);
    write_string_field(5, meta.unit, out);
    Ok(())
}

#[cfg(test)]
mod tests;
