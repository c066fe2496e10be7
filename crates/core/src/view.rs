//! Borrowed, allocation-free views over decoded (decompressed) Remote Write bodies.
//!
//! This is the hot path: the validator and the relay read bodies through these views, never
//! through the owned [`crate::proto`] structs, because prost has no zero-copy decode and
//! allocates a `String` per label name and value (about 20x slower than snappy itself).
//! Every view is a pair of (bytes, absolute offset); iterators yield `Result`s and stop
//! being useful after the first error. Nothing here panics or indexes out of bounds.
//!
//! Invariant: a body the views decode without error is one prost decodes without error,
//! and the reverse (checked by proptest and the fuzz target).

pub mod histogram;
pub mod v1;
pub mod v2;

use core::ops::Range;

pub use histogram::{BucketSide, HistogramCount, HistogramSummary};

/// A label with borrowed name and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label<'a> {
    /// Name.
    pub name: &'a str,
    /// Value.
    pub value: &'a str,
}

/// A float sample (v1 has no start timestamp: it reads as 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Start timestamp in ms (v2 only; 0 = unset).
    pub start_timestamp: i64,
}

/// What the relay needs from one series, gathered in the validation pass (no allocation
/// per label). See [`crate::validate::validate_with_facts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesFacts {
    /// Byte range of the whole encoded `TimeSeries` field (tag, length and payload) in the
    /// decoded body. For v1, concatenating ranges of chosen series gives a valid
    /// `WriteRequest`; for v2 the series still refers to the request's symbol table.
    pub range: Range<usize>,
    /// [`crate::hash::label_set_hash`] of the series' labels (v2: resolved via symbols).
    pub hash: u64,
    /// Float samples in the series.
    pub samples: u32,
    /// Histograms in the series.
    pub histograms: u32,
    /// Exemplars in the series.
    pub exemplars: u32,
    /// The newest sample or histogram timestamp, if any.
    pub max_timestamp: Option<i64>,
}

/// Guesses the schema of a decoded body without a Content-Type: v2 when its top level has
/// only fields 4/5 (symbols, timeseries) and at least one of them, else v1 (fields 1/3, or
/// empty). Reads only top-level tags; a body that fails to parse is reported as v1.
pub fn detect_protocol(decoded: &[u8]) -> crate::Protocol {
    let mut reader = crate::wire::Reader::new(decoded, 0, "Request");
    let (mut v1, mut v2) = (false, false);
    while let Ok(Some(field)) = reader.next_field() {
        match field.number {
            1 | 3 => v1 = true,
            4 | 5 => v2 = true,
            _ => {}
        }
    }
    if v2 && !v1 {
        crate::Protocol::V2
    } else {
        crate::Protocol::V1
    }
}
