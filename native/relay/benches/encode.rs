//! Delivery's work per record, on 2,000 series x 1 sample with 10 Kubernetes-style labels
//! (the "G" payload of floors.md); throughput is the decoded v1 bytes in every row, so rows
//! compare:
//! - batch encoding: v1 items as v1 (hand framing + snappy), v1 items as v2 (v1 in, v2 out)
//!   and v2 items as v2 (v2 in, v2 out: refs mapped into an interned table), all from
//!   borrowed views;
//! - the WAL read-back of a destination behind the tail: snappy decompression of the stored
//!   body (the floor, same run), the trusted facts pass (`record::facts`), and both.
//!
//! Run: `cargo bench -p prw-relay --bench encode`

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use prw_core::Protocol;
use prw_core::proto::v1::{Label, Sample, TimeSeries, WriteRequest};
use prw_core::wire::Reader;
use prw_relay::record::V2Symbols;
use prw_relay::record::facts::trusted_facts;
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
                symbols: None,
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

/// The v1 request holding `items`' series.
fn request(items: &[SeriesItem]) -> WriteRequest {
    WriteRequest {
        timeseries: items
            .iter()
            .map(|i| TimeSeries::decode(i.series.clone()).unwrap())
            .collect(),
        metadata: Vec::new(),
    }
}

/// The same series as v2 items of one v2 record (its symbol table shared).
fn v2_items(v1: &[SeriesItem]) -> Vec<SeriesItem> {
    let body = Bytes::from(prw_core::convert::v1_to_v2(&request(v1)).encode_to_vec());
    let (facts, _) = trusted_facts(&body, Protocol::V2).unwrap();
    let symbols = Arc::new(V2Symbols::parse(&body, facts.len()).unwrap());
    v1.iter()
        .zip(facts)
        .map(|(item, f)| {
            let mut reader = Reader::new(&body[f.range.clone()], f.range.start, "Request");
            let field = reader.next_field().unwrap().unwrap();
            SeriesItem {
                series: body.slice(field.value_offset..field.end),
                symbols: Some(Arc::clone(&symbols)),
                ..item.clone()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let items = items();
    let v2_items = v2_items(&items);
    let decoded: u64 = items.iter().map(|i| i.series.len() as u64 + 3).sum();
    let mut group = c.benchmark_group("encode_2000_series");
    group.throughput(Throughput::Bytes(decoded));
    let mut v1 = V1Encoder::new();
    group.bench_function("v1", |b| b.iter(|| v1.encode_series(&items)));
    let mut v2 = V2Encoder::new();
    group.bench_function("v2 from v1 items", |b| b.iter(|| v2.encode_series(&items)));
    group.bench_function("v2 from v2 items", |b| {
        b.iter(|| v2.encode_series(&v2_items))
    });
    group.finish();

    let body = request(&items).encode_to_vec();
    let stored = snap::raw::Encoder::new().compress_vec(&body).unwrap();
    let mut out = vec![0; body.len()];
    let mut group = c.benchmark_group("wal_read_back_2000_series");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("snappy decompress (floor)", |b| {
        b.iter(|| snap::raw::Decoder::new().decompress(&stored, &mut out))
    });
    group.bench_function("trusted facts", |b| {
        b.iter(|| trusted_facts(&body, Protocol::V1))
    });
    group.bench_function("decompress + trusted facts", |b| {
        b.iter(|| {
            let n = snap::raw::Decoder::new()
                .decompress(&stored, &mut out)
                .unwrap();
            trusted_facts(&out[..n], Protocol::V1)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
