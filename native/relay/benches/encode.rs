//! Batch encoding throughput: 2,000 series x 1 sample with 10 Kubernetes-style labels (the
//! "G" payload of floors.md), as v1 (hand framing + snappy) and as v2 (prw-core conversion).
//!
//! Run: `cargo bench -p prw-relay --bench encode`

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use prw_core::proto::v1::{Label, Sample, TimeSeries};
use prw_relay::send::{BatchEncoder, V1Encoder, encode::V2Encoder};
use prw_relay::send::{ItemCounts, SeriesItem};

fn items() -> Vec<SeriesItem> {
    (0..2000u64)
        .map(|i| {
            let labels = [
                ("__name__", "container_cpu_usage_seconds_total".to_owned()),
                ("cluster", "prod-eu-west-1".to_owned()),
                ("container", format!("app-{}", i % 17)),
                ("cpu", "total".to_owned()),
                ("endpoint", "https-metrics".to_owned()),
                ("instance", format!("10.0.{}.{}:10250", i / 250, i % 250)),
                ("job", "kubelet".to_owned()),
                ("namespace", format!("team-{}", i % 23)),
                (
                    "node",
                    format!("ip-10-0-{}-{}.ec2.internal", i / 250, i % 250),
                ),
                ("pod", format!("app-{}-7d9f8c6b5-{:05}", i % 17, i)),
            ];
            let series = TimeSeries {
                labels: labels
                    .into_iter()
                    .map(|(name, value)| Label {
                        name: name.to_owned(),
                        value,
                    })
                    .collect(),
                samples: vec![Sample {
                    value: i as f64 * 0.5,
                    timestamp: 1_700_000_000_000,
                }],
                ..TimeSeries::default()
            };
            SeriesItem {
                series: Bytes::from(series.encode_to_vec()),
                hash: i,
                counts: ItemCounts {
                    samples: 1,
                    ..ItemCounts::default()
                },
                min_timestamp_ms: 1_700_000_000_000,
                max_timestamp_ms: 1_700_000_000_000,
                record_seq: 1,
                headers: Arc::from(Vec::new()),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let items = items();
    let decoded: u64 = items.iter().map(|i| i.series.len() as u64 + 3).sum();
    let mut group = c.benchmark_group("encode_2000_series");
    group.throughput(Throughput::Bytes(decoded));
    let mut v1 = V1Encoder::new();
    group.bench_function("v1", |b| b.iter(|| v1.encode_series(&items)));
    let mut v2 = V2Encoder::new();
    group.bench_function("v2", |b| b.iter(|| v2.encode_series(&items)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
