use proptest::prelude::*;
use prost::Message;
use prw_core::proto::{v1, v2};

use super::*;
use crate::record::testing::stored;

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn series(instance: &str, ts: i64) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: vec![label("__name__", "up"), label("instance", instance)],
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: ts,
        }],
        ..Default::default()
    }
}

#[test]
fn a_stored_v1_record_gives_each_series_framed_range_and_each_metadata_payload() {
    let meta = v1::MetricMetadata {
        r#type: 1,
        metric_family_name: "up".into(),
        help: "is it up".into(),
        unit: String::new(),
    };
    let request = v1::WriteRequest {
        timeseries: vec![series("a", 1000), series("b", 2000)],
        metadata: vec![meta.clone()],
    };
    let record = DecodedRecord::from_stored(
        9,
        stored(Protocol::V1, &request.encode_to_vec()).into(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(record.seq(), 9);
    assert_eq!(record.headers()[0].value(), "tenant-a");
    assert_eq!(record.series().len(), 2);
    for (facts, ts) in record.series().iter().zip(&request.timeseries) {
        let framed = &record.body()[facts.range.clone()];
        let one = v1::WriteRequest::decode(framed).unwrap();
        assert_eq!(&one.timeseries, std::slice::from_ref(ts));
        assert_eq!(facts.samples, 1);
    }
    assert_eq!(record.metadata().len(), 1);
    let payload = &record.body()[record.metadata()[0].clone()];
    assert_eq!(v1::MetricMetadata::decode(payload).unwrap(), meta);
}

#[test]
fn a_v1_record_is_its_own_v1_form() {
    let request = v1::WriteRequest {
        timeseries: vec![series("a", 1000)],
        metadata: vec![],
    };
    let record = Arc::new(
        DecodedRecord::from_stored(
            1,
            stored(Protocol::V1, &request.encode_to_vec()).into(),
            &Limits::default(),
        )
        .unwrap(),
    );
    assert!(Arc::ptr_eq(&record, &record.as_v1().unwrap()));
}

fn v2_request() -> v2::Request {
    v2::Request {
        symbols: vec![
            String::new(),
            "__name__".into(),
            "up".into(),
            "instance".into(),
            "a".into(),
            "b".into(),
            "help text".into(),
        ],
        timeseries: vec![
            v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![v2::Sample {
                    value: 1.0,
                    timestamp: 1000,
                    ..Default::default()
                }],
                metadata: Some(v2::Metadata {
                    r#type: 1,
                    help_ref: 6,
                    unit_ref: 0,
                }),
                ..Default::default()
            },
            v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 5],
                samples: vec![v2::Sample {
                    value: 2.0,
                    timestamp: 2000,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

#[test]
fn a_v2_record_is_converted_to_v1_once_with_facts_for_each_converted_series() {
    let request = v2_request();
    let record = Arc::new(
        DecodedRecord::from_stored(
            4,
            stored(Protocol::V2, &request.encode_to_vec()).into(),
            &Limits::default(),
        )
        .unwrap(),
    );
    assert_eq!(record.series().len(), 2);
    let v1_form = record.as_v1().unwrap();
    assert!(Arc::ptr_eq(&v1_form, &record.as_v1().unwrap()), "cached");
    assert_eq!(v1_form.protocol(), Protocol::V1);
    assert_eq!(v1_form.seq(), 4);
    let expected = prw_core::convert::v2_to_v1(&request).unwrap();
    let whole = v1::WriteRequest::decode(v1_form.body().as_ref()).unwrap();
    assert_eq!(whole, expected);
    for (facts, ts) in v1_form.series().iter().zip(&expected.timeseries) {
        let one = v1::WriteRequest::decode(&v1_form.body()[facts.range.clone()]).unwrap();
        assert_eq!(&one.timeseries, std::slice::from_ref(ts));
        assert_eq!(
            facts.hash,
            prw_core::hash::label_set_hash(
                ts.labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str()))
            )
        );
        assert_eq!(
            facts.max_timestamp,
            ts.samples.iter().map(|s| s.timestamp).max()
        );
    }
    // The v2 facts of the original and of the conversion agree on the label-set hash.
    for (original, converted) in record.series().iter().zip(v1_form.series()) {
        assert_eq!(original.hash, converted.hash);
    }
    assert_eq!(v1_form.metadata().len(), expected.metadata.len());
}

#[test]
fn a_v2_record_whose_symbols_are_missing_fails_its_conversion_without_panicking() {
    let mut request = v2_request();
    request.symbols.truncate(3);
    let info = RecordInfo {
        seq: 1,
        protocol: Protocol::V2,
        received_at_ms: 0,
        headers: Arc::from(Vec::new()),
    };
    let body = request.encode_to_vec();
    // The series' ranges, as ingest's facts would give them (the refs are not checked here).
    let mut series = Vec::new();
    let mut top = prw_core::wire::Reader::new(&body, 0, "Request");
    while let Some(field) = top.next_field().unwrap() {
        if field.number == 5 {
            series.push(SeriesFacts {
                range: field.start..field.end,
                header_len: u8::try_from(field.value_offset - field.start).unwrap(),
                hash: 0,
                samples: 1,
                histograms: 0,
                exemplars: 0,
                min_timestamp: None,
                max_timestamp: None,
            });
        }
    }
    let record = Arc::new(DecodedRecord::new(info, Bytes::from(body), series, 0).unwrap());
    assert!(matches!(
        record.as_v1().map(|_| ()).unwrap_err().as_ref(),
        UndecodableRecord::Facts(FactsError::SymbolRef { series: 0, .. })
    ));
}

proptest! {
    #[test]
    fn stored_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = DecodedRecord::from_stored(0, bytes.into(), &Limits::default());
    }
}
