use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use prw_core::proto::{v1, v2};

use super::*;
use crate::record::facts::trusted_facts;
use crate::send::batch::ItemCounts;

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn arb_series() -> impl Strategy<Value = v1::TimeSeries> {
    (
        "[a-z]{1,5}",
        prop::collection::vec(("[a-z_]{1,6}", "[ -~]{0,12}"), 0..4),
        prop::collection::vec((-1e9f64..1e9, 0i64..1 << 40), 0..4),
        prop::collection::vec(("[a-f0-9]{0,8}", 0i64..1 << 40), 0..2),
        prop::option::of(0i64..1 << 40),
    )
        .prop_map(|(name, labels, samples, exemplars, histogram)| {
            let mut all = vec![label("__name__", &name)];
            all.extend(labels.iter().map(|(n, v)| label(n, v)));
            v1::TimeSeries {
                labels: all,
                samples: samples
                    .into_iter()
                    .map(|(value, timestamp)| v1::Sample { value, timestamp })
                    .collect(),
                exemplars: exemplars
                    .into_iter()
                    .map(|(trace, timestamp)| v1::Exemplar {
                        labels: vec![label("trace_id", &trace)],
                        value: 0.5,
                        timestamp,
                    })
                    .collect(),
                histograms: histogram
                    .map(|timestamp| v1::Histogram {
                        timestamp,
                        sum: 3.0,
                        schema: 1,
                        zero_threshold: 0.001,
                        ..Default::default()
                    })
                    .into_iter()
                    .collect(),
            }
        })
}

fn item(series: Bytes, symbols: Option<Arc<V2Symbols>>, seq: u64) -> SeriesItem {
    SeriesItem {
        series,
        symbols,
        hash: 0,
        counts: ItemCounts::default(),
        min_timestamp_ms: 0,
        max_timestamp_ms: 0,
        record_seq: seq,
        headers: Arc::from(Vec::new()),
    }
}

fn decode(body: &[u8]) -> v2::Request {
    let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
    v2::Request::decode(raw.as_slice()).unwrap()
}

/// The v2 items of a v2 request body: each series' payload, sharing the request's table.
fn v2_items(body: &Bytes, seq: u64) -> Vec<SeriesItem> {
    let (facts, _) = trusted_facts(body, Protocol::V2).unwrap();
    let symbols = Arc::new(V2Symbols::parse(body, facts.len()).unwrap());
    facts
        .iter()
        .map(|f| {
            let framed = &body[f.range.clone()];
            let mut reader = Reader::new(framed, f.range.start, "Request");
            let field = reader.next_field().unwrap().unwrap();
            item(
                body.slice(field.value_offset..field.end),
                Some(Arc::clone(&symbols)),
                seq,
            )
        })
        .collect()
}

/// Series as v1 (labels, samples, exemplars, histograms), compared through their encoding
/// (NaN-proof).
fn as_v1(request: &v2::Request) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let converted = prw_core::convert::v2_to_v1(request).unwrap();
    (
        converted
            .timeseries
            .iter()
            .map(Message::encode_to_vec)
            .collect(),
        converted
            .metadata
            .iter()
            .map(Message::encode_to_vec)
            .collect(),
    )
}

fn assert_minimal_table(request: &v2::Request) {
    assert_eq!(request.symbols.first().map(String::as_str), Some(""));
    let distinct: BTreeSet<_> = request.symbols.iter().collect();
    assert_eq!(distinct.len(), request.symbols.len(), "every symbol once");
}

proptest! {
    #[test]
    fn v1_items_become_the_same_series_in_v2(series in prop::collection::vec(arb_series(), 0..10)) {
        let items: Vec<_> = series
            .iter()
            .map(|s| item(Bytes::from(s.encode_to_vec()), None, 1))
            .collect();
        let request = decode(&V2Encoder::new().encode_series(&items).unwrap());
        assert_minimal_table(&request);
        let expected = v1::WriteRequest { timeseries: series.clone(), metadata: vec![] };
        let (got, _) = as_v1(&request);
        let (want, _) = as_v1(&prw_core::convert::v1_to_v2(&expected));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn v2_items_keep_their_series_with_refs_into_the_batch_table(
        first in prop::collection::vec(arb_series(), 1..8),
        second in prop::collection::vec(arb_series(), 1..8),
        keep_every in 1usize..3,
    ) {
        // Two records with their own tables, and metadata riding on the series.
        let records: Vec<v1::WriteRequest> = [first, second]
            .into_iter()
            .map(|timeseries| v1::WriteRequest {
                metadata: timeseries
                    .iter()
                    .map(|s| v1::MetricMetadata {
                        r#type: 1,
                        metric_family_name: s.labels[0].value.clone(),
                        help: format!("help of {}", s.labels[0].value),
                        unit: "seconds".into(),
                    })
                    .collect(),
                timeseries,
            })
            .collect();
        let mut items = Vec::new();
        let mut expected = Vec::new();
        for (seq, record) in records.iter().enumerate() {
            let v2_request = prw_core::convert::v1_to_v2(record);
            let body = Bytes::from(v2_request.encode_to_vec());
            for (i, it) in v2_items(&body, seq as u64).into_iter().enumerate() {
                if i % keep_every == 0 {
                    items.push(it);
                    expected.push(v2::Request {
                        symbols: v2_request.symbols.clone(),
                        timeseries: vec![v2_request.timeseries[i].clone()],
                    });
                }
            }
        }
        let request = decode(&V2Encoder::new().encode_series(&items).unwrap());
        assert_minimal_table(&request);
        prop_assert_eq!(request.timeseries.len(), items.len());
        for (i, want) in expected.iter().enumerate() {
            let one = v2::Request {
                symbols: request.symbols.clone(),
                timeseries: vec![request.timeseries[i].clone()],
            };
            prop_assert_eq!(as_v1(&one), as_v1(want));
        }
        // Through the v1 encoder (a destination that fell back to v1): the same series.
        let v1_body = crate::send::V1Encoder::new().encode_series(&items).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&v1_body).unwrap();
        let v1_request = v1::WriteRequest::decode(raw.as_slice()).unwrap();
        let want: Vec<Vec<u8>> = expected.iter().flat_map(|r| as_v1(r).0).collect();
        let got: Vec<Vec<u8>> = v1_request.timeseries.iter().map(Message::encode_to_vec).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_ref_past_the_record_table_is_refused_naming_the_record() {
    let request = v2::Request {
        symbols: vec!["".into(), "__name__".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 7],
            ..Default::default()
        }],
    };
    // The batch is mostly another record's (whose table is sent whole), so this item's refs
    // are mapped, and the bad one is found.
    let good = v2::TimeSeries {
        labels_refs: vec![1, 1],
        ..Default::default()
    };
    let other = Arc::new(V2Symbols::from_strings(["", "up"]));
    let symbols = Arc::new(V2Symbols::from_strings(["", "__name__"]));
    let series = Bytes::from(request.timeseries[0].encode_to_vec());
    let items = vec![
        item(Bytes::from(good.encode_to_vec()), Some(other), 8),
        item(series, Some(symbols), 9),
    ];
    let err = V2Encoder::new().encode_series(&items).unwrap_err();
    assert!(
        matches!(err, EncodeError::BadSeries { record_seq: 9 }),
        "{err}"
    );
}

#[test]
fn a_refs_field_longer_than_127_bytes_keeps_every_ref() {
    let series = v1::TimeSeries {
        labels: (0..90)
            .map(|i| label(&format!("l{i:03}"), &format!("v{i}")))
            .collect(),
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: 5,
        }],
        ..Default::default()
    };
    let request = prw_core::convert::v1_to_v2(&v1::WriteRequest {
        timeseries: vec![series],
        metadata: vec![],
    });
    let body = Bytes::from(request.encode_to_vec());
    let got = decode(&V2Encoder::new().encode_series(&v2_items(&body, 1)).unwrap());
    assert_eq!(as_v1(&got), as_v1(&request));
}

#[test]
fn a_record_table_with_a_duplicate_is_not_sent_as_is() {
    let series = v2::TimeSeries {
        labels_refs: vec![1, 2, 3, 4],
        samples: vec![v2::Sample {
            value: 1.0,
            timestamp: 7,
            start_timestamp: 0,
        }],
        ..Default::default()
    };
    let record = v2::Request {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "up".into(),
            "job".into(),
            "up".into(),
        ],
        timeseries: vec![series],
    };
    let body = Bytes::from(record.encode_to_vec());
    let got = decode(&V2Encoder::new().encode_series(&v2_items(&body, 1)).unwrap());
    assert_minimal_table(&got);
    assert_eq!(as_v1(&got), as_v1(&record));
}
