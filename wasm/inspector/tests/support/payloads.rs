//! Request bodies for the inspector's tests, built with prw-core's own messages and snappy
//! encoder (what a Prometheus sender puts on the wire). Test-only code.
// Shared by three test crates, each using a subset.
#![allow(clippy::unwrap_used, dead_code)]

use prost::Message;
use prw_core::proto::v1;

/// The stale marker's exact bit pattern.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
/// 2026-01-01T00:00:00Z in ms.
pub const T0: i64 = 1_767_225_600_000;

fn labels(pairs: &[(&str, &str)]) -> Vec<v1::Label> {
    pairs
        .iter()
        .map(|(n, v)| v1::Label {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect()
}

fn sample(t: i64, v: f64) -> v1::Sample {
    v1::Sample {
        value: v,
        timestamp: t,
    }
}

/// A valid v1 request: two float series (one ending in a stale marker, one with an
/// exemplar), one native histogram series, and one metadata entry.
pub fn v1_valid() -> v1::WriteRequest {
    let histogram = v1::Histogram {
        count: Some(v1::histogram::Count::CountInt(6)),
        sum: 12.5,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: Some(v1::histogram::ZeroCount::ZeroCountInt(1)),
        positive_spans: vec![v1::BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![2, 1],
        timestamp: T0,
        ..Default::default()
    };
    v1::WriteRequest {
        timeseries: vec![
            v1::TimeSeries {
                labels: labels(&[("__name__", "up"), ("instance", "a:9100"), ("job", "node")]),
                samples: vec![
                    sample(T0, 1.0),
                    sample(T0 + 15_000, f64::from_bits(STALE_NAN)),
                ],
                ..Default::default()
            },
            v1::TimeSeries {
                labels: labels(&[
                    ("__name__", "http_requests_total"),
                    ("code", "500"),
                    ("job", "api"),
                ]),
                samples: vec![sample(T0, 42.0)],
                exemplars: vec![v1::Exemplar {
                    labels: labels(&[("trace_id", "abc123")]),
                    value: 1.0,
                    timestamp: T0 - 500,
                }],
                ..Default::default()
            },
            v1::TimeSeries {
                labels: labels(&[("__name__", "rpc_duration_seconds"), ("job", "api")]),
                histograms: vec![histogram],
                ..Default::default()
            },
        ],
        metadata: vec![v1::MetricMetadata {
            r#type: v1::MetricType::Counter as i32,
            metric_family_name: "http_requests_total".into(),
            help: "Requests served.".into(),
            unit: String::new(),
        }],
    }
}

/// A v1 request whose second series has unsorted labels (rule `labels.unsorted`, 400).
pub fn v1_unsorted() -> v1::WriteRequest {
    let mut req = v1_valid();
    req.timeseries[1].labels.reverse();
    req
}

/// Snappy-compresses an encoded message.
pub fn snappy(req: &v1::WriteRequest) -> Vec<u8> {
    prw_core::codec::compress(&req.encode_to_vec()).unwrap()
}

/// `n` valid series `load{instance="i<k>", job="j<k % 10>"}`, one sample each: a large
/// request for pagination and responsiveness.
pub fn v1_many(n: usize) -> v1::WriteRequest {
    let timeseries = (0..n)
        .map(|k| v1::TimeSeries {
            labels: labels(&[
                ("__name__", "load"),
                ("instance", &format!("i{k}")),
                ("job", &format!("j{}", k % 10)),
            ]),
            samples: vec![sample(T0, k as f64)],
            ..Default::default()
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
}
