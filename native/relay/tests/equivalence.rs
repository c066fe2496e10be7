//! Issue 11: the in-memory path (a record decoded once at ingest, handed through the tail)
//! and the WAL path (the stored record read back and decoded again) yield the same items and
//! the same batches, for random v1 and v2 requests, with and without relabelling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use prw_core::proto::v1;
use prw_core::{Limits, Protocol};
use prw_relay::config::{Overrides, parse};
use prw_relay::delivery::forward::whole_item;
use prw_relay::delivery::{RecordItems, cut, cut_for};
use prw_relay::ingest::{PrepareSettings, prepare};
use prw_relay::queue::QueueItem;
use prw_relay::record::{DecodedRecord, ForwardedHeader, ReceivedBody};
use prw_relay::relabel::RelabelRule;
use prw_relay::send::encode::V2Encoder;
use prw_relay::send::{BatchEncoder, SeriesItem, V1Encoder};

const BASE_MS: i64 = 1_700_000_000_000;

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// One valid series: sorted labels (`__name__`, some of a..d, a unique `id`), 1-3 samples in
/// time order, 0-1 exemplar.
fn series(index: usize) -> impl Strategy<Value = v1::TimeSeries> {
    (
        "[a-z]{1,6}",
        proptest::collection::vec(proptest::option::of("[a-z0-9]{1,8}"), 4),
        proptest::collection::vec((1i64..5_000, -1e6f64..1e6), 1..4),
        proptest::option::of((0i64..5_000, "[a-f0-9]{4,16}")),
    )
        .prop_map(move |(name, optional, deltas, exemplar)| {
            let mut labels = vec![label("__name__", &format!("m_{name}"))];
            for (key, value) in ["a", "b", "c", "d"].iter().zip(optional) {
                if let Some(value) = value {
                    labels.push(label(key, &value));
                }
            }
            labels.push(label("id", &format!("{index:04}")));
            let mut ts = BASE_MS;
            let samples = deltas
                .into_iter()
                .map(|(delta, value)| {
                    ts += delta;
                    v1::Sample {
                        value,
                        timestamp: ts,
                    }
                })
                .collect();
            let exemplars = exemplar
                .map(|(delta, trace)| v1::Exemplar {
                    labels: vec![label("trace_id", &trace)],
                    value: 1.0,
                    timestamp: BASE_MS + delta,
                })
                .into_iter()
                .collect();
            v1::TimeSeries {
                labels,
                samples,
                exemplars,
                histograms: Vec::new(),
            }
        })
}

fn request() -> impl Strategy<Value = v1::WriteRequest> {
    (1usize..30, 0usize..3)
        .prop_flat_map(|(count, metadata)| {
            let all: Vec<_> = (0..count).map(series).collect();
            (all, Just(metadata))
        })
        .prop_map(|(timeseries, metadata)| v1::WriteRequest {
            metadata: (0..metadata)
                .map(|i| v1::MetricMetadata {
                    r#type: 1,
                    metric_family_name: format!("m_{i}"),
                    help: format!("help {i}"),
                    unit: String::new(),
                })
                .collect(),
            timeseries,
        })
}

fn rules(which: u8) -> Vec<RelabelRule> {
    let yaml = match which {
        0 => return Vec::new(),
        1 => "      - source_labels: [a]\n        regex: '[a-m].*'\n        action: drop\n",
        _ => "      - action: labeldrop\n        regex: b\n",
    };
    let text =
        format!("remote_write:\n  - url: http://127.0.0.1:1/\n    write_relabel_configs:\n{yaml}");
    parse(&text, &Overrides::default())
        .unwrap()
        .config
        .destinations[0]
        .relabel
        .clone()
}

fn series_items(items: &RecordItems) -> Vec<SeriesItem> {
    items
        .items
        .iter()
        .filter_map(|i| match i {
            QueueItem::Series(s) => Some(s.clone()),
            QueueItem::Metadata(_) | QueueItem::Whole(_) => None,
        })
        .collect()
}

/// The request bodies of the series, cut into batches of `per_batch` items.
fn batches(encoder: &mut dyn BatchEncoder, items: &[SeriesItem], per_batch: usize) -> Vec<Bytes> {
    items
        .chunks(per_batch)
        .map(|chunk| encoder.encode_series(chunk).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_tail_and_the_wal_give_the_same_items_and_batches(
        request in request(),
        v2 in any::<bool>(),
        which_rules in 0u8..3,
        per_batch in 1usize..12,
        seq in 0u64..1_000_000,
        whole_limit in proptest::option::of(0u64..64),
    ) {
        let protocol = if v2 { Protocol::V2 } else { Protocol::V1 };
        let body = match protocol {
            Protocol::V1 => request.encode_to_vec(),
            Protocol::V2 => prw_core::convert::v1_to_v2(&request).encode_to_vec(),
        };
        let compressed = Bytes::from(prw_core::codec::compress(&body).unwrap());
        let settings = PrepareSettings {
            protocol,
            limits: Limits::default(),
            headers: vec![ForwardedHeader::new("X-Scope-OrgID", "tenant").unwrap()],
            received_at_ms: BASE_MS,
            max_record_bytes: u64::from(u32::MAX),
            whole_limit: None,
        };
        // Ingest keeps the record as received only when every destination takes it whole
        // (`whole_limit`, random here): the WAL record is the same, and so is everything
        // cut from it.
        let eager = prepare(&compressed, &settings).unwrap();
        let prepared = prepare(&compressed, &PrepareSettings { whole_limit, ..settings.clone() });
        prop_assert!(prepared.is_ok(), "generated request refused: {:?}", prepared.err());
        let prepared = prepared.unwrap();
        let stored = prepared.record();
        prop_assert_eq!(&stored, &eager.record());
        prop_assert_eq!(prepared.facts, eager.facts);
        let total = u64::from(eager.facts.samples)
            + u64::from(eager.facts.histograms)
            + u64::from(eager.facts.exemplars);
        prop_assert_eq!(
            prepared.decoded.is_undecoded(),
            whole_limit.is_some_and(|limit| total <= limit)
        );
        let in_memory = Arc::new(prepared.decoded.at_seq(seq));
        let from_wal =
            Arc::new(DecodedRecord::from_stored(seq, stored.clone().into(), &Limits::default()).unwrap());
        // Forwarded whole: the tail's record, the WAL record decoded and the WAL record
        // only read (what a forwarding feed does) give the same item, carrying the body as
        // received and the counts validation found.
        let stored = Bytes::from(stored);
        let (head, read_only) = ReceivedBody::read(&stored).unwrap();
        let whole = |received: &ReceivedBody| {
            whole_item(seq, protocol, Arc::clone(in_memory.headers()), received)
        };
        let memory_whole = whole(in_memory.received().unwrap());
        prop_assert_eq!(&memory_whole, &whole(from_wal.received().unwrap()));
        prop_assert_eq!(&memory_whole, &whole(&read_only));
        prop_assert_eq!(&memory_whole.body, &compressed);
        prop_assert_eq!(head.protocol, protocol);
        let sent: u64 = request.timeseries.iter().map(|s| s.samples.len() as u64).sum();
        prop_assert_eq!(memory_whole.counts.samples, sent);

        let rules = rules(which_rules);
        let memory_items = cut(&in_memory, &rules).unwrap();
        let wal_items = cut(&from_wal, &rules).unwrap();
        prop_assert_eq!(&memory_items, &wal_items);

        let series = series_items(&memory_items);
        if which_rules == 0 {
            // Neither path is wrong in the same way: every series arrives, as sent (v1) or
            // with the same labels and samples (v2, converted).
            prop_assert_eq!(series.len(), request.timeseries.len());
            for (item, sent) in series.iter().zip(&request.timeseries) {
                let got = v1::TimeSeries::decode(item.series.clone()).unwrap();
                prop_assert_eq!(&got.labels, &sent.labels);
                prop_assert_eq!(&got.samples, &sent.samples);
                prop_assert_eq!(item.record_seq, seq);
                prop_assert_eq!(item.counts.samples, sent.samples.len() as u64);
            }
        }
        let wal_series = series_items(&wal_items);
        prop_assert_eq!(
            batches(&mut V1Encoder::new(), &series, per_batch),
            batches(&mut V1Encoder::new(), &wal_series, per_batch)
        );
        prop_assert_eq!(
            batches(&mut V2Encoder::new(), &series, per_batch),
            batches(&mut V2Encoder::new(), &wal_series, per_batch)
        );

        // For a v2 destination: v2 records stay v2 (items share the record's symbols), and
        // both paths still agree.
        let memory_v2 = cut_for(&in_memory, &rules, Protocol::V2).unwrap();
        let wal_v2 = cut_for(&from_wal, &rules, Protocol::V2).unwrap();
        prop_assert_eq!(&memory_v2, &wal_v2);
        let memory_v2 = series_items(&memory_v2);
        if which_rules == 0 {
            prop_assert!(memory_v2.iter().all(|i| i.symbols.is_some() == v2));
        }
        prop_assert_eq!(
            batches(&mut V2Encoder::new(), &memory_v2, per_batch),
            batches(&mut V2Encoder::new(), &series_items(&wal_v2), per_batch)
        );
    }
}
