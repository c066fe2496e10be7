//! Test-only builders of v1/v2 payloads and proptest strategies.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use proptest::prelude::*;
use prost::Message;

use crate::proto::{v1, v2};

pub(crate) fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

pub(crate) fn v1_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        exemplars: Vec::new(),
        histograms: Vec::new(),
    }
}

pub(crate) fn up() -> v1::TimeSeries {
    v1_series(&[("__name__", "up"), ("job", "prometheus")], &[(1000, 1.0)])
}

pub(crate) fn v1_bytes(timeseries: Vec<v1::TimeSeries>) -> Vec<u8> {
    v1::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
    .encode_to_vec()
}

/// A v2 request with `symbols` verbatim.
pub(crate) fn v2_bytes(symbols: &[&str], timeseries: Vec<v2::TimeSeries>) -> Vec<u8> {
    v2::Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries,
    }
    .encode_to_vec()
}

/// Symbols for [`v2_up`]: refs 1..=4 are `__name__`, `up`, `job`, `prometheus`.
pub(crate) const SYMBOLS: [&str; 5] = ["", "__name__", "up", "job", "prometheus"];

/// A small 2.0 body whose 1.0 form is huge: `series` identical series (one sample each),
/// each with `__name__="amplified"` and `labels - 1` more labels (`l01`, `l02`, ...) whose
/// value is one `symbol_len`-byte symbol. 2.0 sends that symbol once; 1.0 repeats it
/// `series x (labels - 1)` times. Valid under the default limits for `labels <= 30`,
/// `symbol_len <= 2048`, `series <= 100_000`. Built by repeating one encoded series, so
/// 100,000 series cost milliseconds.
pub(crate) fn amplifying_v2(series: usize, labels: usize, symbol_len: usize) -> Vec<u8> {
    let long = "x".repeat(symbol_len);
    let names: Vec<String> = (1..labels).map(|i| alloc::format!("l{i:02}")).collect();
    let mut symbols = alloc::vec!["", "__name__", "amplified", long.as_str()];
    symbols.extend(names.iter().map(String::as_str));
    let mut refs = alloc::vec![1, 2];
    for i in 0..names.len() {
        refs.extend([4 + i as u32, 3]);
    }
    let mut body = v2_bytes(&symbols, Vec::new());
    let mut one = Vec::new();
    prost::encoding::message::encode(5, &v2_series(&refs, &[(1, 1.0)]), &mut one);
    for _ in 0..series {
        body.extend_from_slice(&one);
    }
    body
}

pub(crate) fn v2_series(labels_refs: &[u32], samples: &[(i64, f64)]) -> v2::TimeSeries {
    v2::TimeSeries {
        labels_refs: labels_refs.to_vec(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v2::Sample {
                value,
                timestamp,
                start_timestamp: 0,
            })
            .collect(),
        histograms: Vec::new(),
        exemplars: Vec::new(),
        metadata: None,
    }
}

pub(crate) fn v2_up() -> v2::TimeSeries {
    v2_series(&[1, 2, 3, 4], &[(1000, 1.0)])
}

/// An integer histogram: `count`, zero bucket `zero`, one positive span over `deltas`.
pub(crate) fn int_histogram(
    timestamp: i64,
    count: u64,
    zero: u64,
    deltas: &[i64],
) -> v1::Histogram {
    v1::Histogram {
        count: Some(v1::histogram::Count::CountInt(count)),
        sum: 10.0,
        schema: 3,
        zero_threshold: 0.001,
        zero_count: Some(v1::histogram::ZeroCount::ZeroCountInt(zero)),
        positive_spans: alloc::vec![v1::BucketSpan {
            offset: 0,
            length: deltas.len() as u32
        }],
        positive_deltas: deltas.to_vec(),
        timestamp,
        ..Default::default()
    }
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

/// A valid-looking v1 series: sorted unique label names, `__name__` first, samples in
/// order, or (one in four) integer histograms instead of samples.
pub(crate) fn arb_v1_series() -> impl Strategy<Value = v1::TimeSeries> {
    (
        "[a-z_:][a-z0-9_:]{0,10}",
        proptest::collection::btree_map(label_name(), "\\PC{1,12}", 0..6),
        proptest::collection::vec((any::<i32>(), any::<f64>()), 0..5),
        proptest::collection::vec(proptest::collection::vec(-3i64..4, 0..4), 0..3),
        any::<bool>(),
        proptest::collection::vec(
            ("[a-z]{1,5}", "[a-z0-9]{1,8}", 1i64..1 << 40, any::<f64>()),
            0..2,
        ),
    )
        .prop_map(|(name, labels, samples, hists, use_hist, exemplars)| {
            let mut ls = alloc::vec![label("__name__", &name)];
            ls.extend(
                labels
                    .iter()
                    .filter(|(n, _)| n.as_str() > "__name__")
                    .map(|(n, v)| label(n, v)),
            );
            let mut samples: Vec<v1::Sample> = samples
                .into_iter()
                .map(|(t, value)| v1::Sample {
                    value,
                    timestamp: i64::from(t),
                })
                .collect();
            samples.sort_by_key(|s| s.timestamp);
            let histograms: Vec<v1::Histogram> = if use_hist {
                hists
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let mut running = 0i64;
                        let total: i64 = d
                            .iter()
                            .map(|x| {
                                running += x;
                                running
                            })
                            .sum();
                        int_histogram(i as i64, total.max(0) as u64, 0, d)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            v1::TimeSeries {
                labels: ls,
                samples: if use_hist { Vec::new() } else { samples },
                exemplars: exemplars
                    .into_iter()
                    .map(|(n, v, timestamp, value)| v1::Exemplar {
                        labels: alloc::vec![label(&n, &v)],
                        value,
                        timestamp,
                    })
                    .collect(),
                histograms,
            }
        })
}

/// A v1 request without metadata.
pub(crate) fn arb_v1_request() -> impl Strategy<Value = v1::WriteRequest> {
    proptest::collection::vec(arb_v1_series(), 0..6).prop_map(|timeseries| v1::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    })
}
