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

pub use histogram::{BucketSide, HistogramCount, HistogramSummary, HistogramView};

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
///
/// Invariant (proptest against prost, and the `facts` fuzz target): for a body that
/// validates without error, these are exactly what decoding `range` with prost gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesFacts {
    /// Byte range of the whole encoded `TimeSeries` field (tag, length and payload) in the
    /// decoded body. For v1, concatenating ranges of chosen series gives a valid
    /// `WriteRequest`; for v2 the series still refers to the request's symbol table.
    pub range: Range<usize>,
    /// Bytes of tag and length at the start of `range`: the encoded `TimeSeries` message
    /// itself is [`SeriesFacts::message`].
    pub header_len: u8,
    /// [`crate::hash::label_set_hash`] of the series' labels (v2: resolved via symbols).
    pub hash: u64,
    /// Float samples in the series.
    pub samples: u32,
    /// Histograms in the series.
    pub histograms: u32,
    /// Exemplars in the series.
    pub exemplars: u32,
    /// The oldest timestamp of any sample, histogram or exemplar (an exemplar without a
    /// timestamp counts as 0), if the series has any.
    pub min_timestamp: Option<i64>,
    /// The newest timestamp of any sample, histogram or exemplar, if the series has any.
    pub max_timestamp: Option<i64>,
}

impl SeriesFacts {
    /// Facts of a series framed by `range` whose message starts at `message_start`, with
    /// nothing counted yet.
    pub fn empty(range: Range<usize>, message_start: usize) -> Self {
        let header_len = message_start.saturating_sub(range.start);
        SeriesFacts {
            range,
            header_len: u8::try_from(header_len).unwrap_or(u8::MAX),
            hash: 0,
            samples: 0,
            histograms: 0,
            exemplars: 0,
            min_timestamp: None,
            max_timestamp: None,
        }
    }

    /// Byte range of the encoded `TimeSeries` message (without its tag and length).
    pub fn message(&self) -> Range<usize> {
        self.range
            .start
            .saturating_add(usize::from(self.header_len))..self.range.end
    }

    /// Widens the timestamp range by `timestamp`.
    #[inline]
    pub fn timestamp(&mut self, timestamp: i64) {
        self.min_timestamp = Some(self.min_timestamp.map_or(timestamp, |m| m.min(timestamp)));
        self.max_timestamp = Some(self.max_timestamp.map_or(timestamp, |m| m.max(timestamp)));
    }
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

/// A varint at the start of `bytes` and the rest, with prost's rules (at most 10 bytes,
/// the tenth holding only the 64th bit); `None` otherwise.
#[inline]
pub(crate) fn split_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().take(10).enumerate() {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

/// Reads one encoded `Sample` (v1 fields 1-2; v2 adds `start_timestamp` = 3, which a v1
/// sample does not have and skips like any unknown field). Tries the canonical encoding
/// first ([`canonical_sample`]), then the general field loop.
pub(crate) fn read_sample(
    f: &crate::wire::Field<'_>,
    v2: bool,
) -> Result<Sample, crate::wire::DecodeError> {
    let bytes = f.bytes("TimeSeries.samples")?;
    if let Some(sample) = canonical_sample(bytes, v2) {
        return Ok(sample);
    }
    let mut r = crate::wire::Reader::new(bytes, f.value_offset, "Sample").at_depth(2);
    let mut s = Sample {
        value: 0.0,
        timestamp: 0,
        start_timestamp: 0,
    };
    while let Some(f) = r.next_field()? {
        match f.number {
            1 => s.value = f.double("Sample.value")?,
            2 => s.timestamp = f.int64("Sample.timestamp")?,
            3 if v2 => s.start_timestamp = f.int64("Sample.start_timestamp")?,
            _ => {}
        }
    }
    Ok(s)
}

/// Fast path for the sample encoding senders produce: `09 value(8) 10 timestamp` (value
/// and timestamp both set, in field order), then for v2 optionally `18 start_timestamp`,
/// and nothing else. Anything else (defaults omitted, other order, unknown fields) takes
/// the general path, which gives the same result or the precise error.
#[inline]
pub(crate) fn canonical_sample(bytes: &[u8], v2: bool) -> Option<Sample> {
    let (&[0x09], rest) = bytes.split_first_chunk::<1>()? else {
        return None;
    };
    let (value, rest) = rest.split_first_chunk::<8>()?;
    let (&[0x10], rest) = rest.split_first_chunk::<1>()? else {
        return None;
    };
    let (timestamp, rest) = split_varint(rest)?;
    let start_timestamp = match rest {
        [] => 0,
        [0x18, tail @ ..] if v2 => match split_varint(tail)? {
            (st, []) => st as i64,
            _ => return None,
        },
        _ => return None,
    };
    Some(Sample {
        value: f64::from_le_bytes(*value),
        timestamp: timestamp as i64,
        start_timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{v1, v2};
    use proptest::prelude::*;
    use prost::Message;

    proptest! {
        #[test]
        fn sample_fast_path_matches_prost(value in any::<f64>(), t in any::<i64>(), st in any::<i64>()) {
            let bytes = v2::Sample { value, timestamp: t, start_timestamp: st }.encode_to_vec();
            let owned = v2::Sample::decode(bytes.as_slice()).unwrap();
            if let Some(fast) = canonical_sample(&bytes, true) {
                prop_assert_eq!(fast.value.to_bits(), owned.value.to_bits());
                prop_assert_eq!((fast.timestamp, fast.start_timestamp), (owned.timestamp, owned.start_timestamp));
            }
            // v1 never takes a start timestamp from the fast path.
            let v1bytes = v1::Sample { value, timestamp: t }.encode_to_vec();
            if let Some(fast) = canonical_sample(&v1bytes, false) {
                prop_assert_eq!((fast.timestamp, fast.start_timestamp), (t, 0));
            }
            prop_assert!(canonical_sample(&bytes, false).is_none() || st == 0);
        }
    }

    #[test]
    fn detects_v2_only_from_fields_4_and_5() {
        let v2body = v2::Request {
            symbols: vec!["".into()],
            timeseries: vec![],
        }
        .encode_to_vec();
        assert_eq!(detect_protocol(&v2body), crate::Protocol::V2);
        assert_eq!(detect_protocol(&[]), crate::Protocol::V1);
        let v1body = v1::WriteRequest {
            timeseries: vec![Default::default()],
            metadata: vec![],
        }
        .encode_to_vec();
        assert_eq!(detect_protocol(&v1body), crate::Protocol::V1);
    }
}
