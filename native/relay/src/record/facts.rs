//! The per-series facts of a body read back from the WAL, without validating it again.
//!
//! A stored body passed validation when it was accepted (and its record's CRC when it was
//! read), so delivery only needs what validation's facts pass gives: each series' byte
//! range (and header length), label-set hash, counts and oldest and newest timestamp
//! (samples, histograms and exemplars). This walk computes exactly those
//! [`SeriesFacts`] (same hash input: `name 0xFF value 0xFF` per label in wire order, the
//! labels of a v2 series resolved through its symbols) with none of the rule checks and no
//! UTF-8 checks, at a fraction of validation's cost: the catch-up path of a destination that
//! fell behind the tail must not cost much more than the tail itself.
//!
//! Hand-written because prw-core offers facts only as part of validation; it is checked
//! against validation's facts by the tail/WAL equivalence property test
//! (`tests/equivalence.rs`) and never panics on arbitrary bytes (every read is
//! bounds-checked; a body that does not parse is an error).

use std::ops::Range;

use prw_core::Protocol;
use prw_core::hash::HashInput;
use prw_core::view::SeriesFacts;

/// Why the facts of a stored body could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// The body is not the protobuf message of its protocol.
    #[error("malformed protobuf at byte {offset}")]
    Malformed {
        /// Offset in the decoded body.
        offset: usize,
    },
    /// A v2 series refers to a symbol the request does not have.
    #[error("series {series}: symbol ref {reference} out of range")]
    SymbolRef {
        /// Series index.
        series: usize,
        /// The reference.
        reference: u64,
    },
}

/// The facts of every series of `decoded` and its number of v1 metadata entries.
pub fn trusted_facts(
    decoded: &[u8],
    protocol: Protocol,
) -> Result<(Vec<SeriesFacts>, u64), FactsError> {
    let mut key = HashInput::new();
    match protocol {
        Protocol::V1 => v1(decoded, &mut key),
        Protocol::V2 => v2(decoded, &mut key).map(|facts| (facts, 0)),
    }
}

/// A protobuf field: number, wire type, and for wire type 2 the payload's range.
#[derive(Clone)]
struct Field {
    number: u64,
    start: usize,
    /// Payload (wire type 2) or value bytes (others) as a range of the message.
    value: Range<usize>,
    /// The varint value for wire type 0.
    varint: u64,
    wire: u8,
}

/// A bounds-checked cursor over one message. Offsets in errors are absolute (`base`).
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Cursor {
            bytes,
            pos: 0,
            base,
        }
    }

    fn error(&self) -> FactsError {
        FactsError::Malformed {
            offset: self.base.saturating_add(self.pos),
        }
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64, FactsError> {
        // Tags, lengths and small refs are one byte.
        if let Some(&byte) = self.bytes.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.long_varint()
    }

    fn long_varint(&mut self) -> Result<u64, FactsError> {
        let mut value = 0u64;
        for shift in 0..10 {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| self.error())?;
            self.pos += 1;
            value |= u64::from(byte & 0x7F) << (7 * shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error())
    }

    #[inline(always)]
    fn skip(&mut self, len: usize) -> Result<Range<usize>, FactsError> {
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error())?;
        self.pos = end;
        Ok(start..end)
    }

    #[inline(always)]
    fn next(&mut self) -> Result<Option<Field>, FactsError> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let start = self.pos;
        let tag = self.varint()?;
        let wire = (tag & 7) as u8;
        let mut varint = 0;
        let value = match wire {
            0 => {
                let at = self.pos;
                varint = self.varint()?;
                at..self.pos
            }
            1 => self.skip(8)?,
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| self.error())?;
                self.skip(len)?
            }
            5 => self.skip(4)?,
            _ => return Err(self.error()),
        };
        Ok(Some(Field {
            number: tag >> 3,
            start,
            value,
            varint,
            wire,
        }))
    }

    /// The payload of a length-delimited field.
    #[inline]
    fn payload(&self, field: &Field) -> Result<&'a [u8], FactsError> {
        if field.wire != 2 {
            return Err(FactsError::Malformed {
                offset: self.base.saturating_add(field.start),
            });
        }
        Ok(self.bytes.get(field.value.clone()).unwrap_or_default())
    }

    fn absolute(&self, range: &Range<usize>) -> usize {
        self.base.saturating_add(range.start)
    }
}

/// Facts being gathered for one series.
struct Gather {
    facts: SeriesFacts,
}

impl Gather {
    /// A series framed by `range` whose message starts at `message_start`.
    fn new(range: Range<usize>, message_start: usize) -> Self {
        Gather {
            facts: SeriesFacts::empty(range, message_start),
        }
    }

    /// Widens the series' timestamp range.
    #[inline]
    fn timestamp(&mut self, timestamp: i64) {
        self.facts.timestamp(timestamp);
    }

    fn sample(&mut self, sample: &[u8], base: usize) -> Result<(), FactsError> {
        self.facts.samples = self.facts.samples.saturating_add(1);
        let timestamp = sample_timestamp(sample, base)?;
        self.timestamp(timestamp);
        Ok(())
    }

    fn histogram(&mut self, histogram: &[u8], base: usize) -> Result<(), FactsError> {
        self.facts.histograms = self.facts.histograms.saturating_add(1);
        let timestamp = int64_field(histogram, base, 15)?;
        self.timestamp(timestamp);
        Ok(())
    }

    /// An exemplar (its timestamp is field 3 in v1 and v2; 0 when absent).
    fn exemplar(&mut self, exemplar: &[u8], base: usize) -> Result<(), FactsError> {
        self.facts.exemplars = self.facts.exemplars.saturating_add(1);
        let timestamp = int64_field(exemplar, base, 3)?;
        self.timestamp(timestamp);
        Ok(())
    }

    fn finish(mut self, key: &HashInput) -> SeriesFacts {
        self.facts.hash = key.finish();
        self.facts
    }
}

fn v1(decoded: &[u8], key: &mut HashInput) -> Result<(Vec<SeriesFacts>, u64), FactsError> {
    let mut out = Vec::new();
    let mut metadata = 0u64;
    let mut top = Cursor::new(decoded, 0);
    while let Some(field) = top.next()? {
        match field.number {
            1 => {
                let payload = top.payload(&field)?;
                let range = field.start..field.value.end;
                out.push(v1_series(payload, field.value.start, range, key)?);
            }
            3 => metadata = metadata.saturating_add(1),
            _ => {}
        }
    }
    Ok((out, metadata))
}

fn v1_series(
    payload: &[u8],
    base: usize,
    range: Range<usize>,
    key: &mut HashInput,
) -> Result<SeriesFacts, FactsError> {
    key.clear();
    let mut series = Gather::new(range, base);
    let mut fields = Cursor::new(payload, base);
    while let Some(field) = fields.next()? {
        let at = fields.absolute(&field.value);
        match field.number {
            1 => {
                let (name, value) = v1_label(fields.payload(&field)?, at)?;
                key.push_bytes(name, value);
            }
            2 => series.sample(fields.payload(&field)?, at)?,
            3 => series.exemplar(fields.payload(&field)?, at)?,
            4 => series.histogram(fields.payload(&field)?, at)?,
            _ => {}
        }
    }
    Ok(series.finish(key))
}

/// A v1 `Label` encoded as senders encode it, `0A len name 12 len value` with one-byte
/// lengths: its name and value (`None` for any other encoding: read it field by field).
#[inline]
pub fn canonical_label(label: &[u8]) -> Option<(&[u8], &[u8])> {
    if let [0x0A, name_len, rest @ ..] = label
        && *name_len < 0x80
        && let Some((name, rest)) = rest.split_at_checked(usize::from(*name_len))
        && let [0x12, value_len, value @ ..] = rest
        && usize::from(*value_len) == value.len()
    {
        return Some((name, value));
    }
    None
}

/// A `Label`'s name and value.
#[inline]
fn v1_label(label: &[u8], base: usize) -> Result<(&[u8], &[u8]), FactsError> {
    if let Some(parts) = canonical_label(label) {
        return Ok(parts);
    }
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut parts = Cursor::new(label, base);
    while let Some(part) = parts.next()? {
        match part.number {
            1 => name = parts.payload(&part)?,
            2 => value = parts.payload(&part)?,
            _ => {}
        }
    }
    Ok((name, value))
}

/// The byte ranges of a v2 request's symbols in `decoded`, in table order (symbols may
/// come anywhere on the wire).
pub fn v2_symbols(decoded: &[u8]) -> Result<Vec<Range<usize>>, FactsError> {
    let mut symbols = Vec::new();
    let mut top = Cursor::new(decoded, 0);
    while let Some(field) = top.next()? {
        if field.number == 4 {
            top.payload(&field)?;
            symbols.push(field.value);
        }
    }
    Ok(symbols)
}

fn v2(decoded: &[u8], key: &mut HashInput) -> Result<Vec<SeriesFacts>, FactsError> {
    let symbols: Vec<&[u8]> = v2_symbols(decoded)?
        .into_iter()
        .map(|range| decoded.get(range).unwrap_or_default())
        .collect();
    let mut out = Vec::new();
    let mut top = Cursor::new(decoded, 0);
    while let Some(field) = top.next()? {
        if field.number != 5 {
            continue;
        }
        let payload = top.payload(&field)?;
        let index = out.len();
        key.clear();
        let mut series = Gather::new(field.start..field.value.end, field.value.start);
        let mut pending_name: Option<&[u8]> = None;
        let mut label = |reference: u64| -> Result<(), FactsError> {
            let symbol = usize::try_from(reference)
                .ok()
                .and_then(|r| symbols.get(r))
                .copied()
                .ok_or(FactsError::SymbolRef {
                    series: index,
                    reference,
                })?;
            match pending_name.take() {
                None => pending_name = Some(symbol),
                Some(name) => key.push_bytes(name, symbol),
            }
            Ok(())
        };
        let mut fields = Cursor::new(payload, field.value.start);
        while let Some(part) = fields.next()? {
            let at = fields.absolute(&part.value);
            match (part.number, part.wire) {
                (1, 0) => label(part.varint)?,
                (1, _) => {
                    let mut refs = Cursor::new(fields.payload(&part)?, at);
                    while refs.pos < refs.bytes.len() {
                        label(refs.varint()?)?;
                    }
                }
                (2, _) => series.sample(fields.payload(&part)?, at)?,
                (3, _) => series.histogram(fields.payload(&part)?, at)?,
                (4, _) => series.exemplar(fields.payload(&part)?, at)?,
                _ => {}
            }
        }
        out.push(series.finish(key));
    }
    Ok(out)
}

/// A sample's timestamp (field 2): the `09 value(8) 10 timestamp` encoding senders produce
/// directly, anything else field by field.
#[inline]
fn sample_timestamp(sample: &[u8], base: usize) -> Result<i64, FactsError> {
    if let Some((&0x09, rest)) = sample.split_first()
        && let Some((&0x10, varint)) = rest.get(8..).and_then(<[u8]>::split_first)
    {
        let mut cursor = Cursor::new(varint, base + 10);
        if let Ok(value) = cursor.varint()
            && cursor.pos == varint.len()
        {
            return Ok(value as i64);
        }
    }
    int64_field(sample, base, 2)
}

/// The `int64` field `number` of `message` (the last occurrence wins; 0 when absent, as in
/// protobuf).
fn int64_field(message: &[u8], base: usize, number: u64) -> Result<i64, FactsError> {
    let mut cursor = Cursor::new(message, base);
    let mut out = 0;
    while let Some(field) = cursor.next()? {
        if field.number == number && field.wire == 0 {
            out = field.varint as i64;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;
    use prw_core::Limits;
    use prw_core::proto::v1;
    use prw_core::validate::{Mode, validate_with_facts};

    use super::*;

    fn request(series: usize, samples: usize) -> v1::WriteRequest {
        v1::WriteRequest {
            timeseries: (0..series)
                .map(|i| v1::TimeSeries {
                    labels: vec![
                        v1::Label {
                            name: "__name__".into(),
                            value: "up".into(),
                        },
                        v1::Label {
                            name: "i".into(),
                            value: i.to_string(),
                        },
                    ],
                    samples: (0..samples)
                        .map(|s| v1::Sample {
                            value: 1.0,
                            timestamp: 1_000 + s as i64,
                        })
                        .collect(),
                    exemplars: vec![v1::Exemplar {
                        labels: vec![],
                        value: 1.0,
                        timestamp: 99_999,
                    }],
                    histograms: vec![v1::Histogram {
                        timestamp: 5_000 + i as i64,
                        ..Default::default()
                    }],
                })
                .collect(),
            metadata: vec![v1::MetricMetadata::default()],
        }
    }

    fn facts_of_validation(body: &[u8], protocol: Protocol) -> Vec<SeriesFacts> {
        let mut facts = Vec::new();
        validate_with_facts(body, protocol, &Limits::default(), Mode::Report, &mut facts).unwrap();
        facts
    }

    #[test]
    fn v1_and_v2_facts_are_validations_facts() {
        let request = request(5, 3);
        let body = request.encode_to_vec();
        let (facts, metadata) = trusted_facts(&body, Protocol::V1).unwrap();
        assert_eq!(facts, facts_of_validation(&body, Protocol::V1));
        assert_eq!(metadata, 1);
        // The exemplar (99_999) is the newest point, the first sample the oldest.
        assert_eq!(facts[2].max_timestamp, Some(99_999));
        assert_eq!(facts[2].min_timestamp, Some(1_000));
        let v2 = prw_core::convert::v1_to_v2(&request).encode_to_vec();
        let (facts, _) = trusted_facts(&v2, Protocol::V2).unwrap();
        assert_eq!(facts, facts_of_validation(&v2, Protocol::V2));
    }

    #[test]
    fn fields_out_of_the_usual_order_give_the_same_facts() {
        // Label with value before name and an unknown field; sample with the timestamp
        // first; series with the sample before the labels.
        let label = [0x12, 1, b'x', 0x1A, 0, 0x0A, 8]
            .into_iter()
            .chain(*b"__name__")
            .collect::<Vec<u8>>();
        let sample = [0x10, 0xE8, 0x07, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F];
        let mut series = vec![0x12, sample.len() as u8];
        series.extend_from_slice(&sample);
        series.extend_from_slice(&[0x0A, label.len() as u8]);
        series.extend_from_slice(&label);
        let mut body = vec![0x0A, series.len() as u8];
        body.extend_from_slice(&series);
        let (facts, _) = trusted_facts(&body, Protocol::V1).unwrap();
        assert_eq!(facts, facts_of_validation(&body, Protocol::V1));
        assert_eq!(facts[0].max_timestamp, Some(1000));
        assert_eq!(
            facts[0].hash,
            prw_core::hash::label_set_hash([("__name__", "x")])
        );
    }

    #[test]
    fn labels_of_every_length_and_a_label_set_past_the_buffer_hash_like_validation() {
        let mut request = request(1, 1);
        let labels = &mut request.timeseries[0].labels;
        for (i, len) in [0usize, 1, 3, 4, 7, 8, 9, 16, 17, 31, 32, 33, 200, 900, 1500]
            .into_iter()
            .enumerate()
        {
            labels.push(v1::Label {
                name: format!("l{i:02}"),
                value: "v".repeat(len),
            });
        }
        let body = request.encode_to_vec();
        let (facts, _) = trusted_facts(&body, Protocol::V1).unwrap();
        assert_eq!(facts, facts_of_validation(&body, Protocol::V1));
    }

    #[test]
    fn a_v2_ref_past_the_symbols_is_an_error() {
        let mut request = prw_core::convert::v1_to_v2(&request(1, 1));
        request.symbols.truncate(2);
        assert!(matches!(
            trusted_facts(&request.encode_to_vec(), Protocol::V2),
            Err(FactsError::SymbolRef { series: 0, .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), v2 in any::<bool>()) {
            let _ = trusted_facts(&bytes, if v2 { Protocol::V2 } else { Protocol::V1 });
        }
    }
}
