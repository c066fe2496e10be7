//! Conversion tests and round-trip properties.

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::fixtures::*;
use crate::validate::{Mode, validate};
use crate::{Limits, Protocol};

#[test]
fn v1_to_v2_interns_with_empty_first_symbol() {
    let req = v1::WriteRequest {
        timeseries: vec![up(), up()],
        metadata: vec![],
    };
    let v2 = v1_to_v2(&req);
    assert_eq!(v2.symbols, ["", "__name__", "up", "job", "prometheus"]);
    assert_eq!(v2.timeseries[0].labels_refs, [1, 2, 3, 4]);
    assert_eq!(v2.timeseries[1].labels_refs, [1, 2, 3, 4]);
}

#[test]
fn metadata_attaches_to_family_series_and_comes_back() {
    let mut counter = v1_series(&[("__name__", "http_requests_total")], &[(1, 1.0)]);
    counter.labels.push(label("code", "200"));
    let req = v1::WriteRequest {
        timeseries: vec![counter],
        metadata: vec![v1::MetricMetadata {
            r#type: 1,
            metric_family_name: "http_requests".into(),
            help: "Requests.".into(),
            unit: "".into(),
        }],
    };
    let v2 = v1_to_v2(&req);
    let m = v2.timeseries[0].metadata.unwrap();
    assert_eq!(
        (
            m.r#type,
            v2.symbols[m.help_ref as usize].as_str(),
            m.unit_ref
        ),
        (1, "Requests.", 0)
    );
    let back = v2_to_v1(&v2).unwrap();
    assert_eq!(back.metadata[0].help, "Requests.");
    assert_eq!(back.metadata[0].metric_family_name, "http_requests_total");
}

#[test]
fn series_with_samples_and_histograms_splits_in_v2() {
    let mut s = up();
    s.histograms = vec![int_histogram(1, 1, 1, &[])];
    let v2 = v1_to_v2(&v1::WriteRequest {
        timeseries: vec![s],
        metadata: vec![],
    });
    assert_eq!(v2.timeseries.len(), 2);
    let v = validate(
        &v2.encode_to_vec(),
        Protocol::V2,
        &Limits::default(),
        Mode::Report,
    )
    .unwrap();
    assert!(v.findings.is_empty(), "{:?}", v.findings);
}

#[test]
fn v2_to_v1_rejects_bad_refs() {
    let bad = v2::Request {
        symbols: vec!["".into()],
        timeseries: vec![v2_series(&[1, 2], &[])],
    };
    assert_eq!(
        v2_to_v1(&bad),
        Err(ConvertError::RefOutOfRange {
            series: 0,
            reference: 1
        })
    );
    let odd = v2::Request {
        symbols: vec!["".into(), "a".into()],
        timeseries: vec![v2_series(&[1], &[])],
    };
    assert_eq!(v2_to_v1(&odd), Err(ConvertError::OddRefs { series: 0 }));
}

proptest! {
    #[test]
    fn v1_encode_decode_round_trips(req in arb_v1_request()) {
        let bytes = req.encode_to_vec();
        let back = v1::WriteRequest::decode(bytes.as_slice()).unwrap();
        prop_assert_eq!(back.encode_to_vec(), bytes);
    }

    #[test]
    fn v1_to_v2_to_v1_keeps_everything(req in arb_v1_request()) {
        let v2 = v1_to_v2(&req);
        prop_assert_eq!(v2.symbols.first().map(String::as_str), Some(""));
        let v2_bytes = v2.encode_to_vec();
        let v2_back = v2::Request::decode(v2_bytes.as_slice()).unwrap();
        let back = v2_to_v1(&v2_back).unwrap();
        prop_assert_eq!(back.encode_to_vec(), req.encode_to_vec());
    }

    #[test]
    fn view_and_prost_agree_on_generated_requests(req in arb_v1_request()) {
        let bytes = req.encode_to_vec();
        let v = validate(&bytes, Protocol::V1, &Limits::default(), Mode::Report).unwrap();
        prop_assert_eq!(v.counts.series, req.timeseries.len() as u64);
        let samples: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
        prop_assert_eq!(v.counts.samples, samples as u64);
        let v2bytes = v1_to_v2(&req).encode_to_vec();
        let v2v = validate(&v2bytes, Protocol::V2, &Limits::default(), Mode::Report).unwrap();
        prop_assert_eq!(v2v.counts.samples, samples as u64);
    }

    #[test]
    fn view_accepts_exactly_what_prost_accepts(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let view_v1 = validate(&bytes, Protocol::V1, &Limits::default(), Mode::Report).is_ok();
        prop_assert_eq!(view_v1, v1::WriteRequest::decode(bytes.as_slice()).is_ok());
        let view_v2 = validate(&bytes, Protocol::V2, &Limits::default(), Mode::Report).is_ok();
        prop_assert_eq!(view_v2, v2::Request::decode(bytes.as_slice()).is_ok());
    }

    #[test]
    fn mutated_valid_bodies_agree_with_prost(req in arb_v1_request(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = req.encode_to_vec();
        if !bytes.is_empty() {
            for (i, b) in flips {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
        }
        let view = validate(&bytes, Protocol::V1, &Limits::default(), Mode::Report).is_ok();
        prop_assert_eq!(view, v1::WriteRequest::decode(bytes.as_slice()).is_ok());
    }
}
