//! A minimal prost view of the v1 messages the send side needs to look inside: enough to drop
//! too-old samples from a series without losing anything else, and (in tests) an independent
//! decoder for what the hand-written encoder produces.
//!
//! Exemplars and histograms are kept as raw bytes ([`RawSeries`]) and only their timestamp is
//! read ([`TimestampOnly`]), so re-encoding a filtered series loses no field, known or not.
//! TODO(core-proto): switch to `prw_core::proto::v1` once prw-core's proto module is merged.

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

#[cfg(test)]
pub(crate) use test_messages::*;

#[cfg(test)]
mod test_messages {
    use super::Sample;

    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// `prometheus.TimeSeries` (histograms as their timestamp only: enough for tests).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Exemplar>,
        #[prost(message, repeated, tag = "4")]
        pub histograms: Vec<super::HistogramTimestamp>,
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Exemplar`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Exemplar {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(double, tag = "2")]
        pub value: f64,
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// `prometheus.MetricMetadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct MetricMetadata {
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        #[prost(string, tag = "4")]
        pub help: String,
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}
