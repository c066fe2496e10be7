//! `io.prometheus.write.v2.Request` (Remote Write 2.0-rc.4 numbering).
//!
//! Fields 1-3 of `Request` are reserved, so a v1 body read as v2 (or the reverse) decodes
//! to an empty message rather than failing.

use alloc::string::String;
use alloc::vec::Vec;

pub use super::v1::BucketSpan;
pub use super::v1::histogram::{Count, ZeroCount};

/// The v2 request body.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// Interned strings; `symbols[0]` must be `""`.
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    /// Series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series. Field 6 (`created_timestamp` before rc.4) is reserved.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// (name_ref, value_ref) pairs into `symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Float samples (exclusive with `histograms`).
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histograms (exclusive with `samples`).
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    /// Exemplars.
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
    /// Metadata of this series.
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<Metadata>,
}

/// A float sample.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    /// Start (created) timestamp in ms; 0 = unset (rc.4).
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}

/// An exemplar.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// (name_ref, value_ref) pairs into `symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the Unix epoch (required since rc.3).
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// Metadata of a series.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Metadata {
    /// The metric type.
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    /// HELP text as a symbol ref (field 2 does not exist).
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    /// Unit as a symbol ref (0 = unset).
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

/// v2 metric types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Unspecified.
    Unspecified = 0,
    /// Counter.
    Counter = 1,
    /// Gauge.
    Gauge = 2,
    /// Histogram.
    Histogram = 3,
    /// Gauge histogram.
    Gaugehistogram = 4,
    /// Summary.
    Summary = 5,
    /// Info.
    Info = 6,
    /// State set.
    Stateset = 7,
}

/// A native histogram: v1's fields 1-16 plus `start_timestamp` (17).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Observation count.
    #[prost(oneof = "Count", tags = "1, 2")]
    pub count: Option<Count>,
    /// Sum of observations.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// -4..8 exponential, -53 custom buckets.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Width of the zero bucket.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// Zero bucket count.
    #[prost(oneof = "ZeroCount", tags = "6, 7")]
    pub zero_count: Option<ZeroCount>,
    /// Negative bucket spans.
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket deltas.
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Negative bucket counts.
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    /// Positive bucket spans.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket deltas.
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Positive bucket counts.
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    /// Counter reset hint (same values as v1).
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    /// Custom bucket upper bounds (schema -53).
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
    /// Start timestamp in ms; 0 = unset (rc.4).
    #[prost(int64, tag = "17")]
    pub start_timestamp: i64,
}
