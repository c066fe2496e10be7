//! A one-pass, allocation-free summary of an encoded native histogram (v1 and v2 share the
//! numbering; v2 adds `start_timestamp` = 17).
//!
//! Integer histograms carry bucket *deltas* (each relative to the previous bucket of the
//! same side); the summary turns them into absolute counts as it goes and keeps their sum,
//! so the validator can check that buckets add up to the count without storing buckets.

use crate::wire::{DecodeError, Reader, zigzag64};

/// An encoded `Histogram`: its timestamp is read eagerly, the rest on demand by
/// [`HistogramView::summary`] (keeps the series field enum small: it is moved once per
/// label on the hot path).
#[derive(Clone, Copy, Debug)]
pub struct HistogramView<'a> {
    bytes: &'a [u8],
    base: usize,
    v2: bool,
    /// Timestamp in ms (field 15).
    pub timestamp: i64,
}

impl<'a> HistogramView<'a> {
    pub(crate) fn read(bytes: &'a [u8], base: usize, v2: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, base, "Histogram").at_depth(2);
        let mut timestamp = 0;
        while let Some(f) = r.next_field()? {
            if f.number == 15 {
                timestamp = f.int64("Histogram.timestamp")?;
            }
        }
        Ok(HistogramView {
            bytes,
            base,
            v2,
            timestamp,
        })
    }

    /// Reads the whole histogram in one pass.
    pub fn summary(&self) -> Result<HistogramSummary, DecodeError> {
        HistogramSummary::read(self.bytes, self.base, self.v2)
    }
}

/// The count oneof.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HistogramCount {
    /// Neither field present.
    Unset,
    /// Integer histogram.
    Int(u64),
    /// Float histogram.
    Float(f64),
}

impl HistogramCount {
    /// As a float (0 when unset).
    pub fn as_f64(self) -> f64 {
        match self {
            HistogramCount::Unset => 0.0,
            HistogramCount::Int(v) => v as f64,
            HistogramCount::Float(v) => v,
        }
    }
}

/// One side (positive or negative) of a histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BucketSide {
    /// Number of spans.
    pub spans: u64,
    /// Sum of span lengths (the number of buckets the spans describe).
    pub span_buckets: u64,
    /// Number of deltas (integer buckets).
    pub deltas: u64,
    /// Number of float counts.
    pub counts: u64,
    /// Sum of absolute integer bucket counts.
    pub int_total: i128,
    /// Whether an absolute integer bucket count went negative.
    pub negative_bucket: bool,
    /// Sum of float bucket counts.
    pub float_total: f64,
    /// Whether a float bucket count is negative.
    pub negative_float: bool,
    running: i64,
}

/// The facts of one histogram the validator needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramSummary {
    /// Observation count.
    pub count: HistogramCount,
    /// Zero bucket count.
    pub zero_count: HistogramCount,
    /// Sum of observations.
    pub sum: f64,
    /// Schema.
    pub schema: i32,
    /// Zero bucket width.
    pub zero_threshold: f64,
    /// Reset hint (raw enum value).
    pub reset_hint: i32,
    /// Timestamp in ms.
    pub timestamp: i64,
    /// Start timestamp in ms (v2; 0 = unset).
    pub start_timestamp: i64,
    /// Positive buckets.
    pub positive: BucketSide,
    /// Negative buckets.
    pub negative: BucketSide,
    /// Number of custom bucket bounds.
    pub custom_values: u64,
    /// Whether custom bounds are strictly increasing.
    pub custom_values_increasing: bool,
    last_custom: f64,
}

impl HistogramSummary {
    /// Reads an encoded `Histogram` message; `v2` accepts field 17.
    pub fn read(bytes: &[u8], base: usize, v2: bool) -> Result<Self, DecodeError> {
        let mut h = HistogramSummary {
            count: HistogramCount::Unset,
            zero_count: HistogramCount::Unset,
            sum: 0.0,
            schema: 0,
            zero_threshold: 0.0,
            reset_hint: 0,
            timestamp: 0,
            start_timestamp: 0,
            positive: BucketSide::default(),
            negative: BucketSide::default(),
            custom_values: 0,
            custom_values_increasing: true,
            last_custom: f64::NEG_INFINITY,
        };
        let mut r = Reader::new(bytes, base, "Histogram").at_depth(2);
        while let Some(f) = r.next_field()? {
            match f.number {
                1 => h.count = HistogramCount::Int(f.varint("Histogram.count_int")?),
                2 => h.count = HistogramCount::Float(f.double("Histogram.count_float")?),
                3 => h.sum = f.double("Histogram.sum")?,
                4 => h.schema = f.sint32("Histogram.schema")?,
                5 => h.zero_threshold = f.double("Histogram.zero_threshold")?,
                6 => h.zero_count = HistogramCount::Int(f.varint("Histogram.zero_count_int")?),
                7 => h.zero_count = HistogramCount::Float(f.double("Histogram.zero_count_float")?),
                8 => read_span(
                    &mut h.negative,
                    f.bytes("Histogram.negative_spans")?,
                    f.value_offset,
                )?,
                9 => read_deltas(&mut h.negative, f.varints("Histogram.negative_deltas")?)?,
                10 => read_counts(&mut h.negative, f.doubles("Histogram.negative_counts")?),
                11 => read_span(
                    &mut h.positive,
                    f.bytes("Histogram.positive_spans")?,
                    f.value_offset,
                )?,
                12 => read_deltas(&mut h.positive, f.varints("Histogram.positive_deltas")?)?,
                13 => read_counts(&mut h.positive, f.doubles("Histogram.positive_counts")?),
                14 => h.reset_hint = f.varint("Histogram.reset_hint")? as i32,
                15 => h.timestamp = f.int64("Histogram.timestamp")?,
                16 => {
                    for v in f.doubles("Histogram.custom_values")? {
                        h.custom_values += 1;
                        if v.is_nan() || v <= h.last_custom {
                            h.custom_values_increasing = false;
                        }
                        h.last_custom = v;
                    }
                }
                17 if v2 => h.start_timestamp = f.int64("Histogram.start_timestamp")?,
                _ => {}
            }
        }
        Ok(h)
    }

    /// Whether this is a float histogram.
    pub fn is_float(&self) -> bool {
        matches!(self.count, HistogramCount::Float(_))
    }
}

fn read_span(side: &mut BucketSide, bytes: &[u8], base: usize) -> Result<(), DecodeError> {
    let mut r = Reader::new(bytes, base, "BucketSpan").at_depth(3);
    let mut length: u64 = 0;
    while let Some(f) = r.next_field()? {
        match f.number {
            1 => {
                f.sint32("BucketSpan.offset")?;
            }
            2 => length = u64::from(f.varint("BucketSpan.length")? as u32),
            _ => {}
        }
    }
    side.spans += 1;
    side.span_buckets = side.span_buckets.saturating_add(length);
    Ok(())
}

fn read_deltas(side: &mut BucketSide, deltas: crate::wire::Varints<'_>) -> Result<(), DecodeError> {
    for d in deltas {
        let d = zigzag64(d?);
        side.deltas += 1;
        side.running = side.running.wrapping_add(d);
        if side.running < 0 {
            side.negative_bucket = true;
        }
        side.int_total = side.int_total.saturating_add(i128::from(side.running));
    }
    Ok(())
}

fn read_counts(side: &mut BucketSide, counts: crate::wire::Doubles<'_>) {
    for c in counts {
        side.counts += 1;
        if c < 0.0 {
            side.negative_float = true;
        }
        side.float_total += c;
    }
}
