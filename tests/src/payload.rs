//! Building Remote Write request bodies for tests (snappy-compressed v1 and v2).
//!
//! Invariant: [`v1`] and [`v2`] produce exactly what a spec-conforming sender would send
//! for the given series (labels in the order given, so tests can also build invalid ones).

use prost::Message;
use prw_core::proto::{v1 as p1, v2 as p2};

/// One series: labels (in the order to encode) and (timestamp ms, value) samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Labels, encoded in this order.
    pub labels: Vec<(String, String)>,
    /// Samples.
    pub samples: Vec<(i64, f64)>,
}

impl Series {
    /// A series from borrowed labels and samples.
    pub fn new(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            samples: samples.to_vec(),
        }
    }
}

fn compress(raw: &[u8]) -> Vec<u8> {
    // Compression only fails above 4 GiB; test payloads are far smaller.
    prw_core::codec::compress(raw).unwrap_or_default()
}

/// The decoded (uncompressed) v1 `WriteRequest`.
pub fn v1_raw(series: &[Series]) -> Vec<u8> {
    let request = p1::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| p1::TimeSeries {
                labels: s
                    .labels
                    .iter()
                    .map(|(n, v)| p1::Label {
                        name: n.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|(t, v)| p1::Sample {
                        value: *v,
                        timestamp: *t,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: Vec::new(),
    };
    request.encode_to_vec()
}

/// A snappy-compressed v1 body.
pub fn v1(series: &[Series]) -> Vec<u8> {
    compress(&v1_raw(series))
}

/// A snappy-compressed v2 body (symbols interned in first-use order, `symbols[0] == ""`).
pub fn v2(series: &[Series]) -> Vec<u8> {
    let mut symbols = vec![String::new()];
    let mut intern = |s: &String| -> u32 {
        let index = symbols.iter().position(|x| x == s).unwrap_or_else(|| {
            symbols.push(s.clone());
            symbols.len() - 1
        });
        u32::try_from(index).unwrap_or(0)
    };
    let timeseries = series
        .iter()
        .map(|s| p2::TimeSeries {
            labels_refs: s
                .labels
                .iter()
                .flat_map(|(n, v)| [intern(n), intern(v)])
                .collect(),
            samples: s
                .samples
                .iter()
                .map(|(t, v)| p2::Sample {
                    value: *v,
                    timestamp: *t,
                    start_timestamp: 0,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    compress(
        &p2::Request {
            symbols,
            timeseries,
        }
        .encode_to_vec(),
    )
}

/// Valid series `{__name__="test_metric", instance="instance-<k>", job="bench"}` with one
/// sample each at `t`, enough that the decoded v1 body is at least `decoded_bytes` long.
pub fn series_of_size(decoded_bytes: usize, t: i64) -> Vec<Series> {
    let make = |k: usize| {
        let instance = format!("instance-{k:08}");
        Series::new(
            &[
                ("__name__", "test_metric"),
                ("instance", &instance),
                ("job", "bench"),
            ],
            &[(t, 1.0)],
        )
    };
    // Every series encodes to the same length (fixed-width instance numbers).
    let one = v1_raw(&[make(0)]).len().max(1);
    (0..decoded_bytes.div_ceil(one).max(1)).map(make).collect()
}
