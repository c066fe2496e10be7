//! Decoding mode: decode each v1/v2 body with prw-core and count what arrived.
//!
//! Invariants: a (series, timestamp) pair is unique when its label-set hash
//! (`prw_core::hash::label_set_hash`) and timestamp were not seen before; a repeat counts as
//! a duplicate; a timestamp lower than the newest one seen for the same series (in any
//! earlier request) counts as out of order. A body that does not decode counts as a decode
//! error and nothing else.
//!
//! [`Decoder::parse`] does the expensive part (decompress, walk, hash) and needs no `&mut`,
//! so a server decodes outside its lock and only [`Decoder::count`]s under it. The sets use
//! foldhash: they hold tens of millions of pairs in a benchmark, and SipHash on every insert
//! made this receiver slower than the relays it measures.

use std::collections::{HashMap, HashSet};

use foldhash::fast::FixedState;

use prw_core::Protocol;
use prw_core::hash::label_set_hash;
use serde::Serialize;

/// What the decoding receiver has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DecodeStats {
    /// Requests decoded without error.
    pub requests: u64,
    /// Requests whose body did not decode (bad snappy or protobuf).
    pub decode_errors: u64,
    /// Series entries (one per TimeSeries message, repeats included).
    pub series: u64,
    /// Float samples plus histograms.
    pub samples: u64,
    /// Distinct (series, timestamp) pairs.
    pub unique_pairs: u64,
    /// Pairs seen again.
    pub duplicates: u64,
    /// Samples older than the newest already seen for their series.
    pub out_of_order: u64,
}

/// Accumulates [`DecodeStats`].
#[derive(Debug, Default)]
pub struct Decoder {
    stats: DecodeStats,
    pairs: HashSet<(u64, i64), FixedState>,
    newest: HashMap<u64, i64, FixedState>,
}

/// A body decoded outside any lock: each series' label-set hash and timestamps.
#[derive(Debug)]
pub struct ParsedBody(Vec<(u64, Vec<i64>)>);

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not snappy block data, or over the limits.
    #[error("snappy: {0}")]
    Snappy(#[from] prw_core::codec::CodecError),
    /// Not protobuf of the schema.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prw_core::DecodeError),
}

/// One series' hash and timestamps, read from a decoded body.
fn series_of(decoded: &[u8], protocol: Protocol) -> Result<Vec<(u64, Vec<i64>)>, BodyError> {
    let mut out = Vec::new();
    match protocol {
        Protocol::V1 => {
            use prw_core::view::v1::{Item, SeriesField, WriteRequest};
            for item in WriteRequest::new(decoded).items() {
                let Item::Series(series) = item? else {
                    continue;
                };
                let mut labels = Vec::new();
                let mut stamps = Vec::new();
                for field in series.fields() {
                    match field? {
                        SeriesField::Label(l) => labels.push((l.name, l.value)),
                        SeriesField::Sample(s) => stamps.push(s.timestamp),
                        SeriesField::Histogram(h) => stamps.push(h.timestamp),
                        SeriesField::Exemplar(_) => {}
                    }
                }
                out.push((label_set_hash(labels), stamps));
            }
        }
        Protocol::V2 => {
            use prw_core::view::v2::{Request, SeriesField};
            let request = Request::new(decoded);
            let mut symbols = Vec::new();
            request.symbols_into(&mut symbols)?;
            for series in request.series() {
                let series = series?;
                let mut refs = Vec::new();
                let mut stamps = Vec::new();
                for field in series.fields() {
                    match field? {
                        SeriesField::LabelsRefs(values) => {
                            for v in values {
                                refs.push(v?);
                            }
                        }
                        SeriesField::Sample(s) => stamps.push(s.timestamp),
                        SeriesField::Histogram(h) => stamps.push(h.timestamp),
                        _ => {}
                    }
                }
                let symbol = |r: &u64| {
                    usize::try_from(*r)
                        .ok()
                        .and_then(|i| symbols.get(i))
                        .copied()
                        .unwrap_or("")
                };
                let labels = refs
                    .chunks(2)
                    .map(|p| (p.first().map_or("", symbol), p.get(1).map_or("", symbol)));
                out.push((label_set_hash(labels), stamps));
            }
        }
    }
    Ok(out)
}

impl Decoder {
    /// Decodes one snappy-compressed body of `protocol` (no counting: see [`Decoder::count`]).
    pub fn parse(body: &[u8], protocol: Protocol) -> Result<ParsedBody, BodyError> {
        let limits = prw_core::Limits::default();
        let decoded = prw_core::codec::decompress(body, &limits)?;
        series_of(&decoded, protocol).map(ParsedBody)
    }

    /// Counts a body that did not decode.
    pub fn count_error(&mut self) {
        self.stats.decode_errors += 1;
    }

    /// Decodes one snappy-compressed body of `protocol` and counts it; returns the samples
    /// (timestamps) it held.
    pub fn add(&mut self, body: &[u8], protocol: Protocol) -> Result<u64, BodyError> {
        match Self::parse(body, protocol) {
            Ok(parsed) => Ok(self.count(parsed)),
            Err(e) => {
                self.count_error();
                Err(e)
            }
        }
    }

    /// Counts a decoded body; returns the samples (timestamps) it held.
    pub fn count(&mut self, parsed: ParsedBody) -> u64 {
        self.stats.requests += 1;
        let mut samples = 0u64;
        for (hash, stamps) in parsed.0 {
            self.stats.series += 1;
            for t in stamps {
                self.stats.samples += 1;
                samples += 1;
                if self.pairs.insert((hash, t)) {
                    self.stats.unique_pairs += 1;
                } else {
                    self.stats.duplicates += 1;
                }
                let newest = self.newest.entry(hash).or_insert(t);
                if t < *newest {
                    self.stats.out_of_order += 1;
                } else {
                    *newest = t;
                }
            }
        }
        samples
    }

    /// The counts so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// The exact set of distinct (series, timestamp) pairs seen: per series (its label-set
    /// hash, as 16 hex digits), the sorted timestamps.
    pub fn pairs(&self) -> std::collections::BTreeMap<String, Vec<i64>> {
        let mut out: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
        for (hash, t) in &self.pairs {
            out.entry(format!("{hash:016x}")).or_default().push(*t);
        }
        for stamps in out.values_mut() {
            stamps.sort_unstable();
        }
        out
    }
}
