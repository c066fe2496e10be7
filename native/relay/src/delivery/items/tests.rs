use prost::Message;
use prw_core::Protocol;
use prw_core::proto::{v1, v2};

use super::*;
use crate::config::{Overrides, parse};
use crate::record::testing::stored;

fn series(name: &str, instance: &str, samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: vec![
            v1::Label {
                name: "__name__".into(),
                value: name.into(),
            },
            v1::Label {
                name: "instance".into(),
                value: instance.into(),
            },
        ],
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn rules(yaml: &str) -> Vec<RelabelRule> {
    let text =
        format!("remote_write:\n  - url: http://127.0.0.1:1/\n    write_relabel_configs:\n{yaml}");
    let loaded = parse(&text, &Overrides::default()).unwrap();
    loaded.config.destinations[0].relabel.clone()
}

fn series_items(items: &RecordItems) -> Vec<&SeriesItem> {
    items
        .items
        .iter()
        .filter_map(|i| match i {
            QueueItem::Series(s) => Some(s),
            QueueItem::Metadata(_) | QueueItem::Whole(_) => None,
        })
        .collect()
}

#[test]
fn v1_series_items_are_the_exact_encoded_series_with_hash_counts_and_times() {
    let a = series("up", "a", &[(1000, 1.0), (2000, 1.0)]);
    let b = series("up", "b", &[(1500, 0.0)]);
    let meta = v1::MetricMetadata {
        r#type: 1,
        metric_family_name: "up".into(),
        help: "is it up".into(),
        unit: String::new(),
    };
    let body = v1::WriteRequest {
        timeseries: vec![a.clone(), b.clone()],
        metadata: vec![meta.clone()],
    }
    .encode_to_vec();
    let items = record_items(7, &stored(Protocol::V1, &body), &[], &Limits::default()).unwrap();
    let got = series_items(&items);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].series.as_ref(), a.encode_to_vec().as_slice());
    assert_eq!(got[1].series.as_ref(), b.encode_to_vec().as_slice());
    assert_eq!(
        got[0].hash,
        prw_core::hash::label_set_hash([("__name__", "up"), ("instance", "a")])
    );
    assert_eq!(got[0].counts.samples, 2);
    assert_eq!(
        (got[0].min_timestamp_ms, got[0].max_timestamp_ms),
        (1000, 2000)
    );
    assert_eq!(got[0].record_seq, 7);
    assert_eq!(got[0].headers[0].value(), "tenant-a");
    assert_eq!(items.received_at_ms, 1_700_000_000_000);
    let QueueItem::Metadata(m) = items.items.last().unwrap() else {
        panic!("metadata item last");
    };
    assert_eq!(m.entries, vec![Bytes::from(meta.encode_to_vec())]);
    assert_eq!(m.record_seq, 7);
}

#[test]
fn v2_series_become_v1_time_series_with_resolved_labels() {
    let body = v2::Request {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "up".into(),
            "instance".into(),
            "a".into(),
        ],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: 5000,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let items = record_items(3, &stored(Protocol::V2, &body), &[], &Limits::default()).unwrap();
    let got = series_items(&items);
    assert_eq!(got.len(), 1);
    let ts = v1::TimeSeries::decode(got[0].series.as_ref()).unwrap();
    assert_eq!(ts, series("up", "a", &[(5000, 1.0)]));
    assert_eq!(
        got[0].hash,
        prw_core::hash::label_set_hash([("__name__", "up"), ("instance", "a")])
    );
}

#[test]
fn relabel_drop_removes_the_series_and_reports_its_samples() {
    let body = v1::WriteRequest {
        timeseries: vec![
            series("up", "a", &[(1000, 1.0)]),
            series("down", "b", &[(1000, 1.0), (2000, 2.0)]),
        ],
        metadata: vec![],
    }
    .encode_to_vec();
    let rules =
        rules("      - source_labels: [__name__]\n        regex: down\n        action: drop\n");
    let items = record_items(1, &stored(Protocol::V1, &body), &rules, &Limits::default()).unwrap();
    let got = series_items(&items);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].series.as_ref(),
        series("up", "a", &[(1000, 1.0)]).encode_to_vec().as_slice()
    );
    assert_eq!(items.relabel_dropped.samples, 2);
}

#[test]
fn relabel_rewrite_reencodes_the_series_and_hashes_the_new_labels() {
    let body = v1::WriteRequest {
        timeseries: vec![series("up", "a", &[(1000, 1.0)])],
        metadata: vec![],
    }
    .encode_to_vec();
    let rules = rules("      - action: labeldrop\n        regex: instance\n");
    let items = record_items(1, &stored(Protocol::V1, &body), &rules, &Limits::default()).unwrap();
    let got = series_items(&items);
    let ts = v1::TimeSeries::decode(got[0].series.as_ref()).unwrap();
    assert_eq!(ts.labels.len(), 1);
    assert_eq!(ts.samples.len(), 1);
    assert_eq!(
        got[0].hash,
        prw_core::hash::label_set_hash([("__name__", "up")])
    );
}

#[test]
fn undecodable_records_are_errors_not_panics() {
    let limits = Limits::default();
    assert!(matches!(
        record_items(1, &[9, 1, 2], &[], &limits)
            .map_err(|e| matches!(*e, UndecodableRecord::Record(_))),
        Err(true)
    ));
    let mut bad_body = stored(Protocol::V1, b"");
    bad_body.truncate(bad_body.len().saturating_sub(1));
    bad_body.extend_from_slice(&[0xff, 0xff, 0xff]);
    assert!(record_items(1, &bad_body, &[], &limits).is_err());
    let garbage = stored(Protocol::V1, &[0x0a, 0x05, 0x01]);
    assert!(record_items(1, &garbage, &[], &limits).is_err());
}
