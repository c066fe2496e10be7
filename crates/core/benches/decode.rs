//! Decode + validate throughput beside the floor (`snap::raw::Decoder` alone) and beside
//! prost decoding into owned structs, on the payloads of floors.md:
//! - `F_prometheus`: floors.md's F, a real Prometheus 2.42 request: the captured
//!   `testdata/prometheus-2.42/samples.bin` as it is (353 series x 1 sample, 3.8 labels
//!   on average, 48 KB decoded; snappy decompresses it at the speed floors.md measured
//!   for its 500-series F);
//! - `G_k8s2000`: floors.md's G, 2,000 series x 1 sample, 10 Kubernetes-style labels each;
//! - `batch_500x10`: 500 series x 10 samples, 5 labels each.
//!
//! Reports decoded MB/s. Rows: `snappy_only` (the floor), `snappy+validate_v1` and
//! `+facts` (what the relay runs), `+facts_general` (the same through the general path
//! only: the decoder before the fast path), `validate_v2_only` and `+facts` (the same
//! request converted to v2, already decoded), `snappy+prost_owned`.
//! Run: `cargo bench -p prw-core --bench decode -- --quick`.
//!
//! Profiling: with `PRW_PROFILE=setup|snappy|validate|facts|general|v2|v2facts` (and
//! `PRW_PAYLOAD=F|G|batch`, default G) the binary skips criterion and runs that step 200
//! times (`setup`: none), for `valgrind --tool=callgrind target/release/deps/decode-*`
//! (instruction counts stay stable on a loaded machine, where timings do not).
//! `PRW_PROFILE=min` prints, per payload, the fastest of 3,000 interleaved runs of each
//! step: a ratio to snappy that the machine's load hardly moves.

// Unwraps are fine on our own payloads.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group};
use prost::Message;
use prw_core::proto::v1;
use prw_core::validate::{Mode, validate, validate_with_facts, validate_with_facts_general};
use prw_core::{Limits, Protocol, codec};
use std::hint::black_box;

fn label(n: &str, v: String) -> v1::Label {
    v1::Label {
        name: n.into(),
        value: v,
    }
}

/// floors.md's G.
fn k8s_2000x1() -> Vec<u8> {
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
    .encode_to_vec()
}

fn batch_500x10() -> Vec<u8> {
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
    .encode_to_vec()
}

/// floors.md's F: the captured Prometheus request as it is.
fn prometheus_capture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/prometheus-2.42/samples.bin"
    );
    codec::decompress(&std::fs::read(path).unwrap(), &Limits::default()).unwrap()
}

fn payload(name: &str) -> Vec<u8> {
    match name {
        "F" => prometheus_capture(),
        "batch" => batch_500x10(),
        _ => k8s_2000x1(),
    }
}

fn bench_payload(c: &mut Criterion, name: &str, decoded: &[u8]) {
    let body = codec::compress(decoded).unwrap();
    let limits = Limits::default();
    let req = v1::WriteRequest::decode(decoded).unwrap();
    let v2_decoded = prw_core::convert::v1_to_v2(&req).encode_to_vec();
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(decoded.len() as u64));
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
    g.bench_function("snappy+validate_v1+facts_general", |b| {
        b.iter(|| {
            codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
            facts.clear();
            validate_with_facts_general(&out, Protocol::V1, &limits, Mode::Verdict, &mut facts)
                .unwrap()
        })
    });
    g.bench_function("validate_v2_only", |b| {
        b.iter(|| validate(black_box(&v2_decoded), Protocol::V2, &limits, Mode::Verdict).unwrap())
    });
    g.bench_function("validate_v2_only+facts", |b| {
        b.iter(|| {
            facts.clear();
            validate_with_facts(
                black_box(&v2_decoded),
                Protocol::V2,
                &limits,
                Mode::Verdict,
                &mut facts,
            )
            .unwrap()
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

/// `PRW_PROFILE=min`: the fastest of many interleaved runs of each step (a noise-robust
/// ratio on a shared machine, where criterion's medians move with the load).
fn min_times() {
    let limits = Limits::default();
    for name in ["F", "G", "batch"] {
        let decoded = payload(name);
        let body = codec::compress(&decoded).unwrap();
        let mut out = Vec::with_capacity(decoded.len());
        let mut facts = Vec::new();
        let mut best = [f64::MAX; 4];
        for _ in 0..3000 {
            for (step, slot) in best.iter_mut().enumerate() {
                let t = std::time::Instant::now();
                codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
                facts.clear();
                match step {
                    1 => drop(black_box(validate(
                        &out,
                        Protocol::V1,
                        &limits,
                        Mode::Verdict,
                    ))),
                    2 => drop(black_box(validate_with_facts(
                        &out,
                        Protocol::V1,
                        &limits,
                        Mode::Verdict,
                        &mut facts,
                    ))),
                    3 => drop(black_box(validate_with_facts_general(
                        &out,
                        Protocol::V1,
                        &limits,
                        Mode::Verdict,
                        &mut facts,
                    ))),
                    _ => {}
                }
                *slot = slot.min(t.elapsed().as_secs_f64());
            }
        }
        let mbs = |t: f64| decoded.len() as f64 / t / 1e6;
        println!(
            "{name}: {} bytes; MB/s snappy {:.0}, +validate {:.0} (1/{:.2}), +facts {:.0} (1/{:.2}), +facts general {:.0} (1/{:.2})",
            decoded.len(),
            mbs(best[0]),
            mbs(best[1]),
            best[1] / best[0],
            mbs(best[2]),
            best[2] / best[0],
            mbs(best[3]),
            best[3] / best[0],
        );
    }
}

/// The `PRW_PROFILE` loop (see the module docs).
fn profile(step: &str) {
    if step == "min" {
        min_times();
        return;
    }
    let decoded = payload(&std::env::var("PRW_PAYLOAD").unwrap_or_default());
    let body = codec::compress(&decoded).unwrap();
    let limits = Limits::default();
    let mut out = Vec::with_capacity(decoded.len());
    let mut facts = Vec::new();
    let v2 = prw_core::convert::v1_to_v2(&v1::WriteRequest::decode(decoded.as_slice()).unwrap())
        .encode_to_vec();
    if step == "setup" {
        return;
    }
    for _ in 0..200 {
        codec::decompress_into(black_box(&body), &limits, &mut out).unwrap();
        facts.clear();
        match step {
            "validate" => {
                black_box(validate(&out, Protocol::V1, &limits, Mode::Verdict).unwrap());
            }
            "facts" => {
                black_box(
                    validate_with_facts(&out, Protocol::V1, &limits, Mode::Verdict, &mut facts)
                        .unwrap(),
                );
            }
            "v2" => {
                black_box(validate(&v2, Protocol::V2, &limits, Mode::Verdict).unwrap());
            }
            "v2facts" => {
                black_box(
                    validate_with_facts(&v2, Protocol::V2, &limits, Mode::Verdict, &mut facts)
                        .unwrap(),
                );
            }
            "general" => {
                black_box(
                    validate_with_facts_general(
                        &out,
                        Protocol::V1,
                        &limits,
                        Mode::Verdict,
                        &mut facts,
                    )
                    .unwrap(),
                );
            }
            _ => {}
        }
    }
}

fn benches(c: &mut Criterion) {
    bench_payload(c, "F_prometheus", &prometheus_capture());
    bench_payload(c, "G_k8s2000", &k8s_2000x1());
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
