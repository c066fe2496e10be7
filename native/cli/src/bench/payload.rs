//! Pre-generated, pre-compressed Remote Write payloads for `prw bench`.
//!
//! Invariants:
//! - The same [`Shape`] (seed included) and base timestamp always give the same bytes.
//! - Every series of a payload has a distinct label set: `__name__` from a list of real
//!   metric names plus Kubernetes-style labels (`namespace`, `pod`, `container`, `instance`,
//!   `job`, ...), labels sorted by name, no empty value, valid names. Series `i` and series
//!   `i + NAMES.len()` differ in `pod` and `instance`.
//! - Payload `p` carries the timestamps `base + p * samples + j` (ms) for sample `j` of
//!   every series, so payloads never share a (series, timestamp) pair: a receiver's count of
//!   unique pairs tells exactly how many samples of distinct payloads arrived.
//! - Everything is built before the clock starts; a payload is sent as stored.

mod names;

use bytes::Bytes;
use prost::Message;
use prw_core::Protocol;
use prw_core::proto::v1;

pub use names::{LABEL_NAMES, METRIC_NAMES};

/// Most labels a series may have (prw-core's default limit).
pub const MAX_LABELS: usize = 30;

/// What each request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Series per request.
    pub series: usize,
    /// Labels per series, `__name__` included (2..=30).
    pub labels: usize,
    /// Samples per series per request.
    pub samples: usize,
    /// Wire schema.
    pub protocol: Protocol,
    /// Seed of the pseudo-random values (label values and sample values).
    pub seed: u64,
}

/// Why payloads cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShapeError {
    /// `--labels` outside 2..=30.
    #[error("labels per series must be between 2 and {MAX_LABELS} (got {0})")]
    Labels(usize),
    /// `--series` or `--samples` is 0.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The core could not compress the body.
    #[error("cannot compress a payload: {0}")]
    Compress(String),
}

/// One ready-to-send request body.
#[derive(Clone, Debug)]
pub struct Payload {
    /// Snappy-compressed protobuf, as sent.
    pub body: Bytes,
    /// Uncompressed protobuf length.
    pub decoded_len: usize,
    /// Float samples in the body.
    pub samples: u64,
}

/// Generates `count` payloads of `shape`, timestamps starting at `base_ms`.
pub fn generate(shape: &Shape, count: usize, base_ms: i64) -> Result<Vec<Payload>, ShapeError> {
    if !(2..=MAX_LABELS).contains(&shape.labels) {
        return Err(ShapeError::Labels(shape.labels));
    }
    if shape.series == 0 {
        return Err(ShapeError::Zero("series per request"));
    }
    if shape.samples == 0 {
        return Err(ShapeError::Zero("samples per series"));
    }
    let label_sets: Vec<Vec<v1::Label>> = (0..shape.series).map(|i| label_set(shape, i)).collect();
    let samples_per_payload = shape.samples as u64 * shape.series as u64;
    let mut rng = SplitMix64(shape.seed);
    (0..count)
        .map(|p| {
            let first = base_ms.saturating_add((p as i64).saturating_mul(shape.samples as i64));
            let request = v1::WriteRequest {
                timeseries: label_sets
                    .iter()
                    .map(|labels| v1::TimeSeries {
                        labels: labels.clone(),
                        samples: (0..shape.samples)
                            .map(|j| v1::Sample {
                                value: rng.value(),
                                timestamp: first + j as i64,
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                metadata: Vec::new(),
            };
            let decoded = match shape.protocol {
                Protocol::V1 => request.encode_to_vec(),
                Protocol::V2 => prw_core::convert::v1_to_v2(&request).encode_to_vec(),
            };
            let body = prw_core::codec::compress(&decoded)
                .map_err(|e| ShapeError::Compress(e.to_string()))?;
            Ok(Payload {
                body: Bytes::from(body),
                decoded_len: decoded.len(),
                samples: samples_per_payload,
            })
        })
        .collect()
}

/// The sorted label set of series `index`.
fn label_set(shape: &Shape, index: usize) -> Vec<v1::Label> {
    let metric = METRIC_NAMES[index % METRIC_NAMES.len()];
    let replica = index / METRIC_NAMES.len();
    let mut rng = SplitMix64(shape.seed ^ (replica as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut labels = vec![v1::Label {
        name: "__name__".into(),
        value: metric.into(),
    }];
    for k in 0..shape.labels - 1 {
        let (name, value) = match LABEL_NAMES.get(k) {
            Some(name) => (name.to_string(), names::value_of(name, replica, &mut rng)),
            None => (
                format!("extra_label_{k:02}"),
                format!("value-{}", rng.below(1000)),
            ),
        };
        labels.push(v1::Label { name, value });
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

/// A small deterministic generator (SplitMix64): reproducible payloads from a seed, no
/// dependency for what is only test data.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A gauge-like sample value with a few decimals.
    fn value(&mut self) -> f64 {
        (self.below(10_000_000) as f64) / 100.0
    }
}

#[cfg(test)]
mod tests;
