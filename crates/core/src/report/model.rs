//! The report's data model (serialization only).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Serialize, Serializer};

use crate::Protocol;
use crate::validate::{Counts, Rule, STALE_NAN_BITS, Severity};

/// One payload, summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Always [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The schema the body was read with.
    pub protocol: Protocol,
    /// Size of the snappy body, or null when the input was raw protobuf.
    pub compressed_bytes: Option<u64>,
    /// Size of the decoded protobuf, or null when it could not be decoded.
    pub decoded_bytes: Option<u64>,
    /// Whole counts (never paged).
    pub counts: Counts,
    /// Series (paged by `max_series`).
    pub series: Vec<SeriesReport>,
    /// v1 request-level metadata (empty for v2).
    pub metadata: Vec<MetadataReport>,
    /// Findings.
    pub findings: Vec<FindingReport>,
    /// What a receiver answers and what a sender does with it.
    pub verdict: Verdict,
    /// Why the input could not be read, else null.
    pub error: Option<String>,
}

/// One series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeriesReport {
    /// `[[name, value], ...]` in body order.
    pub labels: Vec<[String; 2]>,
    /// Float samples.
    pub samples: Vec<SampleReport>,
    /// Native histograms.
    pub histograms: Vec<HistogramReport>,
    /// Exemplars.
    pub exemplars: Vec<ExemplarReport>,
    /// v2 series metadata.
    pub metadata: Option<MetadataReport>,
}

/// A float sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SampleReport {
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: Value,
    /// v2 start timestamp (ms), only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<i64>,
}

/// A bucket span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SpanReport {
    /// Offset.
    pub offset: i32,
    /// Length.
    pub length: u32,
}

/// A native histogram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistogramReport {
    /// Timestamp (ms).
    pub t: i64,
    /// Count.
    pub count: Value,
    /// Sum.
    pub sum: Value,
    /// Schema.
    pub schema: i32,
    /// Zero bucket width.
    pub zero_threshold: Value,
    /// Zero bucket count.
    pub zero_count: Value,
    /// Whether this is a float histogram (counts) or integer (deltas).
    pub float: bool,
    /// Positive spans.
    pub positive_spans: Vec<SpanReport>,
    /// Positive buckets as absolute counts (integer deltas resolved).
    pub positive_buckets: Vec<Value>,
    /// Negative spans.
    pub negative_spans: Vec<SpanReport>,
    /// Negative buckets as absolute counts.
    pub negative_buckets: Vec<Value>,
    /// `unknown`, `yes`, `no`, `gauge` (or the raw number).
    pub reset_hint: String,
    /// Custom bucket bounds.
    pub custom_values: Vec<Value>,
    /// v2 start timestamp (ms), only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<i64>,
}

/// An exemplar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExemplarReport {
    /// `[[name, value], ...]`.
    pub labels: Vec<[String; 2]>,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: Value,
}

/// Metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MetadataReport {
    /// v1 family name (absent for v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_family_name: Option<String>,
    /// `counter`, `gauge`, ... or `unknown`.
    pub r#type: String,
    /// HELP.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// A finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    /// Rule id.
    pub rule: Rule,
    /// `error` or `warning`.
    pub severity: Severity,
    /// Human explanation.
    pub message: &'static str,
    /// Series index.
    pub series: Option<usize>,
    /// Sample index within the series.
    pub sample: Option<usize>,
    /// Label name.
    pub label: Option<String>,
}

/// What a receiver answers and what a sender does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// HTTP status (204, 400, 413, 415).
    pub status: u16,
    /// Whether a sender retries.
    pub retry: Retry,
}

/// A sender's retry decision for a status (the single table lives in
/// [`crate::classify`]).
pub use crate::classify::RetryAdvice as Retry;

/// A float that serializes non-finite values as strings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Value(pub f64);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.to_bits() == STALE_NAN_BITS {
            s.serialize_str("StaleNaN")
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("+Inf")
        } else {
            s.serialize_str("-Inf")
        }
    }
}
