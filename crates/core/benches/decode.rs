//! Decode + validate throughput beside the floor (`snap::raw::Decoder` alone) and beside
//! prost decoding into owned structs, on two realistic payloads:
//! - `k8s_2000x1`: 2,000 series x 1 sample, 10 Kubernetes-style labels each;
//! - `batch_500x10`: 500 series x 10 samples, 5 labels each.
//!
//! Group `bytes` reports decoded MB/s; group `samples` reports samples/s.
//! Run: `cargo bench -p prw-core --bench decode -- --quick`.
//!
//! Profiling: with `PRW_PROFILE=validate|facts|snappy` set, the binary skips criterion and
//! runs that step over `k8s_2000x1` 200 times, for
//! `valgrind --tool=callgrind target/release/deps/decode-*` (instruction counts stay
//! stable on a loaded machine, where timings do not).

// Unwraps are fine on our own payloads.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group};
use prost::Message;
use prw_core::proto::v1;
use prw_core::validate::{Mode, validate, validate_with_facts};
use prw_core::{Limits, Protocol, codec};
use std::hint::black_box;

fn label(n: &str, v: String) -> v1::Label {
    v1::Label {
        name: n.into(),
        value: v,
    }
}

fn k8s_2000x1() -> v1::WriteRequest {
    let timeseries = (0..2000)
        .map(|i| v1::TimeSeries {
            labels: vec![
                label("__name__", format!("container_metric_{}", i % 40)),
                label("container", format!("app-{}", i % 7)),
                label("endpoint", "https-metrics".into()),
                label(
                    "image",
                    format!("registry.example.com/team/app:v1.{}", i % 13),
                ),
                label("instance", format!("10.0.{}.{}:10250", i % 16, i % 250)),
                label("job", "kubelet".into()),
                label("namespace", format!("ns-{}", i % 11)),
                label("node", format!("node-{}", i % 32)),
                label("pod", format!("app-{}-7d9f8c6b5-{:05x}", i % 7, i * 7919)),
                label("service", "kubelet".into()),
            ],
            samples: vec![v1::Sample {
                value: i as f64 * 1.5,
                timestamp: 1_700_000_000_000,
            }],
            ..Default::default()
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

fn batch_500x10() -> v1::WriteRequest {
    let timeseries = (0..500)
        .map(|i| v1::TimeSeries {
            labels: vec![
                label("__name__", format!("http_requests_total_{}", i % 20)),
                label("code", format!("{}", 200 + i % 5)),
                label("instance", format!("host-{}:9100", i % 50)),
                label("job", "api".into()),
                label(
                    "method",
                    if i % 2 == 0 {
                        "GET".into()
                    } else {
                        "POST".into()
                    },
                ),
            ],
            samples: (0..10)
                .map(|t| v1::Sample {
                    value: (i * t) as f64,
                    timestamp: 1_700_000_000_000 + t * 15_000,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

fn bench_payload(c: &mut Criterion, name: &str, req: &v1::WriteRequest) {
    let decoded = req.encode_to_vec();
    let body = codec::compress(&decoded).unwrap();
    let samples: u64 = req.timeseries.iter().map(|t| t.samples.len() as u64).sum();
    let limits = Limits::default();
    let v2_decoded = prw_core::convert::v1_to_v2(req).encode_to_vec();
    for (group, throughput) in [
        ("bytes", Throughput::Bytes(decoded.len() as u64)),
        ("samples", Throughput::Elements(samples)),
    ] {
        let mut g = c.benchmark_group(format!("{name}/{group}"));
        g.throughput(throughput);
        let mut out = Vec::with_capacity(decoded.len());
        g.bench_function("snappy_only", |b| {
            b.iter(|| {
                out.resize(decoded.len(), 0);
                snap::raw::Decoder::new()
                    .decompress(black_box(&body), &mut out)
                    .unwrap()
            })
        });
        g.bench_function("snappy+validate_v1", |b| {
            b.iter(|| {
                codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
                validate(&out, Protocol::V1, &limits, Mode::Verdict).unwrap()
            })
        });
        let mut facts = Vec::with_capacity(req.timeseries.len());
        g.bench_function("snappy+validate_v1+facts", |b| {
            b.iter(|| {
                codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
                facts.clear();
                validate_with_facts(&out, Protocol::V1, &limits, Mode::Verdict, &mut facts).unwrap()
            })
        });
        g.bench_function("validate_v2_only", |b| {
            b.iter(|| {
                validate(black_box(&v2_decoded), Protocol::V2, &limits, Mode::Verdict).unwrap()
            })
        });
        g.bench_function("snappy+prost_owned", |b| {
            b.iter(|| {
                codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
                v1::WriteRequest::decode(out.as_slice()).unwrap()
            })
        });
        g.finish();
    }
}

/// The `PRW_PROFILE` loop (see the module docs).
fn profile(step: &str) {
    let req = k8s_2000x1();
    let decoded = req.encode_to_vec();
    let body = codec::compress(&decoded).unwrap();
    let limits = Limits::default();
    let mut out = Vec::with_capacity(decoded.len());
    let mut facts = Vec::with_capacity(req.timeseries.len());
    for _ in 0..200 {
        codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
        match step {
            "validate" => {
                black_box(validate(&out, Protocol::V1, &limits, Mode::Verdict).unwrap());
            }
            "facts" => {
                facts.clear();
                black_box(
                    validate_with_facts(&out, Protocol::V1, &limits, Mode::Verdict, &mut facts)
                        .unwrap(),
                );
            }
            _ => {}
        }
    }
}

fn benches(c: &mut Criterion) {
    bench_payload(c, "k8s_2000x1", &k8s_2000x1());
    bench_payload(c, "batch_500x10", &batch_500x10());
}

criterion_group!(decode, benches);

fn main() {
    if let Ok(step) = std::env::var("PRW_PROFILE") {
        profile(&step);
        return;
    }
    decode();
    Criterion::default().configure_from_args().final_summary();
}
