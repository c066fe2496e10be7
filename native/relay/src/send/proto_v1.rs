//! Minimal prost views of a v1 and a v2 `TimeSeries`: enough to drop too-old samples from a
//! series without losing anything else (prw-core's owned structs would drop unknown fields).
//!
//! Exemplars and histograms are kept as raw bytes ([`RawSeries`]) and only their timestamp is
//! read ([`TimestampOnly`]), so re-encoding a filtered series loses no field, known or not.

use bytes::Bytes;

/// `prometheus.TimeSeries` with labels, exemplars and histograms left as raw message bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RawSeries {
    /// Field 1: `Label` messages, untouched.
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub labels: Vec<Bytes>,
    /// Field 2: samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Field 3: `Exemplar` messages, untouched.
    #[prost(bytes = "bytes", repeated, tag = "3")]
    pub exemplars: Vec<Bytes>,
    /// Field 4: `Histogram` messages, untouched.
    #[prost(bytes = "bytes", repeated, tag = "4")]
    pub histograms: Vec<Bytes>,
}

/// `prometheus.Sample`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Sample {
    /// Field 1.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Field 2, ms.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The timestamp of an `Exemplar` (field 3) or a `Histogram` (field 15); other fields skipped.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct ExemplarTimestamp {
    /// `Exemplar.timestamp`.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// The timestamp of a `Histogram` (field 15); other fields skipped.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct HistogramTimestamp {
    /// `Histogram.timestamp`.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// `io.prometheus.write.v2.TimeSeries` with everything but the samples left as raw bytes
/// (its refs stay valid: the record's symbol table is unchanged).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RawSeriesV2 {
    /// Field 1: the packed `labels_refs`, untouched.
    #[prost(bytes = "bytes", repeated, tag = "1")]
    pub labels_refs: Vec<Bytes>,
    /// Field 2: samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<SampleV2>,
    /// Field 3: `Histogram` messages, untouched.
    #[prost(bytes = "bytes", repeated, tag = "3")]
    pub histograms: Vec<Bytes>,
    /// Field 4: `Exemplar` messages, untouched.
    #[prost(bytes = "bytes", repeated, tag = "4")]
    pub exemplars: Vec<Bytes>,
    /// Field 5: `Metadata`, untouched.
    #[prost(bytes = "bytes", optional, tag = "5")]
    pub metadata: Option<Bytes>,
}

/// `io.prometheus.write.v2.Sample`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct SampleV2 {
    /// Field 1.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Field 2, ms.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    /// Field 3, ms.
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}
