use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use prw_core::proto::{v1, v2};

use super::*;
use crate::record::facts::trusted_facts;

fn label(name: &str, value: &str) -> v1::Label {
    v1::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn arb_request() -> impl Strategy<Value = v1::WriteRequest> {
    let series = (
        "[a-z]{1,4}",
        prop::collection::vec(("[a-z]{1,4}", "[ -~]{0,6}"), 0..3),
        prop::collection::vec((-1e6f64..1e6, 0i64..1 << 40), 0..3),
        prop::option::of(("[a-f0-9]{1,6}", 0i64..1 << 40)),
        prop::option::of(0i64..1 << 40),
    )
        .prop_map(|(name, labels, samples, exemplar, histogram)| {
            let mut all = vec![label("__name__", &name)];
            all.extend(labels.iter().map(|(n, v)| label(&format!("l_{n}"), v)));
            v1::TimeSeries {
                labels: all,
                samples: samples
                    .into_iter()
                    .map(|(value, timestamp)| v1::Sample { value, timestamp })
                    .collect(),
                exemplars: exemplar
                    .map(|(trace, timestamp)| v1::Exemplar {
                        labels: vec![label("trace_id", &trace)],
                        value: 1.5,
                        timestamp,
                    })
                    .into_iter()
                    .collect(),
                histograms: histogram
                    .map(|timestamp| v1::Histogram {
                        timestamp,
                        schema: 2,
                        ..Default::default()
                    })
                    .into_iter()
                    .collect(),
            }
        });
    prop::collection::vec(series, 1..6).prop_map(|timeseries| v1::WriteRequest {
        metadata: timeseries
            .iter()
            .take(2)
            .map(|s| v1::MetricMetadata {
                r#type: 2,
                metric_family_name: s.labels[0].value.clone(),
                help: "help".into(),
                unit: String::new(),
            })
            .collect(),
        timeseries,
    })
}

proptest! {
    #[test]
    fn each_series_translates_like_prw_cores_conversion(request in arb_request()) {
        let v2_request = prw_core::convert::v1_to_v2(&request);
        let body = Bytes::from(v2_request.encode_to_vec());
        let (facts, _) = trusted_facts(&body, prw_core::Protocol::V2).unwrap();
        let symbols = V2Symbols::parse(&body, facts.len()).unwrap();
        let expected = prw_core::convert::v2_to_v1(&v2_request).unwrap();
        let mut translator = Translator::default();
        for (i, ts) in v2_request.timeseries.iter().enumerate() {
            let mut out = Vec::new();
            let translated = translator
                .translate(&ts.encode_to_vec(), &symbols, i, &mut out)
                .unwrap();
            let got = v1::TimeSeries::decode(out.as_slice()).unwrap();
            prop_assert_eq!(got.encode_to_vec(), expected.timeseries[i].encode_to_vec());
            let f = translated.facts.unwrap();
            prop_assert_eq!(f.hash, facts[i].hash);
            prop_assert_eq!(f.max_timestamp, facts[i].max_timestamp);
            prop_assert_eq!(
                (f.samples, f.histograms, f.exemplars),
                (facts[i].samples, facts[i].histograms, facts[i].exemplars)
            );
            prop_assert_eq!(translated.metadata.is_some(), ts.metadata.is_some());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let symbols = V2Symbols::from_strings(["", "a", "b"]);
        let _ = Translator::default().translate(&bytes, &symbols, 0, &mut Vec::new());
    }
}

#[test]
fn a_ref_past_the_table_names_the_series_and_the_ref() {
    let series = v2::TimeSeries {
        labels_refs: vec![1, 9],
        ..Default::default()
    };
    let symbols = V2Symbols::from_strings(["", "a"]);
    let err = Translator::default()
        .translate(&series.encode_to_vec(), &symbols, 4, &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err,
        FactsError::SymbolRef {
            series: 4,
            reference: 9
        }
    );
}

#[test]
fn a_sample_loses_its_start_timestamp_and_keeps_the_rest() {
    let series = v2::TimeSeries {
        labels_refs: vec![1, 2],
        samples: vec![
            v2::Sample {
                value: 2.5,
                timestamp: 1_700_000_000_000,
                start_timestamp: 1_600_000_000_000,
            },
            v2::Sample {
                value: 0.0,
                timestamp: 5,
                start_timestamp: 0,
            },
        ],
        ..Default::default()
    };
    let symbols = V2Symbols::from_strings(["", "__name__", "up"]);
    let mut out = Vec::new();
    let translated = Translator::default()
        .translate(&series.encode_to_vec(), &symbols, 0, &mut out)
        .unwrap();
    let got = v1::TimeSeries::decode(out.as_slice()).unwrap();
    assert_eq!(
        got.samples,
        vec![
            v1::Sample {
                value: 2.5,
                timestamp: 1_700_000_000_000
            },
            v1::Sample {
                value: 0.0,
                timestamp: 5
            }
        ]
    );
    assert_eq!(got.labels, vec![label("__name__", "up")]);
    assert_eq!(
        translated.facts.unwrap().max_timestamp,
        Some(1_700_000_000_000)
    );
    assert_eq!(translated.family.map(|r| &out[r]), Some(b"up".as_slice()));
}
