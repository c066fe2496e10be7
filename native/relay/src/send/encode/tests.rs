use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::send::batch::ItemCounts;
use prw_core::proto::v1::{Label, MetricMetadata, Sample, TimeSeries, WriteRequest};

fn series_item(series: &TimeSeries) -> SeriesItem {
    SeriesItem {
        series: Bytes::from(series.encode_to_vec()),
        symbols: None,
        hash: 0,
        counts: ItemCounts {
            samples: series.samples.len() as u64,
            ..ItemCounts::default()
        },
        min_timestamp_ms: 0,
        max_timestamp_ms: 0,
        record_seq: 1,
        headers: Arc::from(Vec::new()),
    }
}

fn decode(body: &[u8]) -> WriteRequest {
    let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
    WriteRequest::decode(raw.as_slice()).unwrap()
}

fn arb_series() -> impl Strategy<Value = TimeSeries> {
    (
        prop::collection::vec(("[a-z_]{1,8}", ".{0,300}"), 0..4),
        prop::collection::vec((any::<f64>(), any::<i64>()), 0..20),
    )
        .prop_map(|(labels, samples)| TimeSeries {
            labels: labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect(),
            samples: samples
                .into_iter()
                .map(|(value, timestamp)| Sample { value, timestamp })
                .collect(),
            exemplars: Vec::new(),
            histograms: Vec::new(),
        })
}

proptest! {
    #[test]
    fn v1_batch_decodes_with_prost_to_the_same_series_in_order(
        series in prop::collection::vec(arb_series(), 0..12)
    ) {
        let items: Vec<_> = series.iter().map(series_item).collect();
        let body = V1Encoder::new().encode_series(&items).unwrap();
        let decoded = decode(&body);
        // Compare encodings: NaN samples make PartialEq on f64 useless.
        let expected: Vec<_> = series.iter().map(Message::encode_to_vec).collect();
        let got: Vec<_> = decoded.timeseries.iter().map(Message::encode_to_vec).collect();
        prop_assert_eq!(got, expected);
        prop_assert!(decoded.metadata.is_empty());
    }

    #[test]
    fn v2_batch_converts_back_to_the_same_v1_series(
        series in prop::collection::vec(arb_series(), 0..12)
    ) {
        let items: Vec<_> = series.iter().map(series_item).collect();
        let body = V2Encoder::new().encode_series(&items).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let v2 = prw_core::proto::v2::Request::decode(raw.as_slice()).unwrap();
        prop_assert_eq!(v2.symbols.first().map(String::as_str), Some(""));
        let back = prw_core::convert::v2_to_v1(&v2).unwrap();
        let expected: Vec<_> = series.iter().map(Message::encode_to_vec).collect();
        let got: Vec<_> = back.timeseries.iter().map(Message::encode_to_vec).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn varint_matches_prost(value in any::<u64>()) {
        let mut ours = Vec::new();
        write_varint(&mut ours, value);
        let mut theirs = Vec::new();
        prost::encoding::encode_varint(value, &mut theirs);
        prop_assert_eq!(ours, theirs);
    }
}

#[test]
fn metadata_item_becomes_a_metadata_only_request() {
    let entry = MetricMetadata {
        r#type: 1,
        metric_family_name: "http_requests_total".into(),
        help: "Requests.".into(),
        unit: String::new(),
    };
    let item = MetadataItem {
        entries: vec![Bytes::from(entry.encode_to_vec()); 2],
        record_seq: 3,
        headers: Arc::from(Vec::new()),
    };
    let decoded = decode(&V1Encoder::new().encode_metadata(&item).unwrap());
    assert!(decoded.timeseries.is_empty());
    assert_eq!(decoded.metadata, vec![entry.clone(), entry]);
}

#[test]
fn v2_encoder_names_the_record_of_a_series_that_does_not_decode() {
    let mut bad = series_item(&TimeSeries::default());
    bad.series = Bytes::from_static(&[0x0A, 0xFF]);
    bad.record_seq = 42;
    let err = V2Encoder::new().encode_series(&[bad]).unwrap_err();
    assert!(
        matches!(err, EncodeError::BadSeries { record_seq: 42 }),
        "{err}"
    );
}

#[test]
fn encoder_reuses_its_buffer_between_batches() {
    let mut encoder = V1Encoder::new();
    let big = series_item(&TimeSeries {
        labels: vec![Label {
            name: "a".into(),
            value: "x".repeat(4096),
        }],
        ..TimeSeries::default()
    });
    encoder.encode_series(std::slice::from_ref(&big)).unwrap();
    let capacity = encoder.raw.capacity();
    let small = encoder.encode_series(&[]).unwrap();
    assert_eq!(encoder.raw.capacity(), capacity);
    assert!(decode(&small).timeseries.is_empty());
}
