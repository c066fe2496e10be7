//! One test per rule: a payload that breaks it and one that does not.

use alloc::vec::Vec;

use super::*;
use crate::convert::v1_to_v2;
use crate::fixtures::*;
use crate::proto::{v1, v2};
use prost::Message;

fn run_with(bytes: &[u8], protocol: Protocol, limits: &Limits) -> Validation {
    validate(bytes, protocol, limits, Mode::Report).unwrap()
}

fn ids(bytes: &[u8], protocol: Protocol) -> Vec<&'static str> {
    run_with(bytes, protocol, &Limits::default())
        .findings
        .iter()
        .map(|f| f.rule.id())
        .collect()
}

fn v1_ids(series: Vec<v1::TimeSeries>) -> Vec<&'static str> {
    ids(&v1_bytes(series), Protocol::V1)
}

/// The same series as v2 (through convert).
fn v2_ids(series: Vec<v1::TimeSeries>) -> Vec<&'static str> {
    let req = v1_to_v2(&v1::WriteRequest {
        timeseries: series,
        metadata: Vec::new(),
    });
    ids(&req.encode_to_vec(), Protocol::V2)
}

fn severity_of(bytes: &[u8], protocol: Protocol, rule: Rule) -> Option<Severity> {
    run_with(bytes, protocol, &Limits::default())
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .map(|f| f.severity)
}

#[test]
fn valid_v1_and_v2_payloads_have_no_findings() {
    let v = run_with(&v1_bytes(vec![up()]), Protocol::V1, &Limits::default());
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!(
        v.counts,
        Counts {
            series: 1,
            samples: 1,
            max_timestamp: up().samples.first().map(|s| s.timestamp),
            ..Counts::default()
        }
    );
    assert_eq!(v.status(), 204);
    assert_eq!(
        ids(&v2_bytes(&SYMBOLS, vec![v2_up()]), Protocol::V2),
        Vec::<&str>::new()
    );
}

#[test]
fn metadata_only_v1_request_is_valid() {
    let req = v1::WriteRequest {
        timeseries: vec![],
        metadata: vec![v1::MetricMetadata {
            r#type: v1::MetricType::Counter as i32,
            metric_family_name: "http_requests".into(),
            help: "Requests.".into(),
            unit: String::new(),
        }],
    };
    let v = run_with(&req.encode_to_vec(), Protocol::V1, &Limits::default());
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!(v.counts.metadata, 1);
}

#[test]
fn labels_unsorted() {
    let bad = v1_series(&[("job", "x"), ("__name__", "up")], &[(1, 1.0)]);
    assert_eq!(v1_ids(vec![bad.clone()]), ["labels.unsorted"]);
    assert_eq!(v2_ids(vec![bad]), ["labels.unsorted"]);
    assert!(v1_ids(vec![up()]).is_empty());
}

#[test]
fn labels_duplicate_name_adjacent_and_not() {
    let adjacent = v1_series(
        &[("__name__", "up"), ("job", "x"), ("job", "y")],
        &[(1, 1.0)],
    );
    assert_eq!(v1_ids(vec![adjacent]), ["labels.duplicate_name"]);
    let apart = v1_series(
        &[("__name__", "up"), ("job", "x"), ("a", "b"), ("job", "y")],
        &[(1, 1.0)],
    );
    assert_eq!(
        v1_ids(vec![apart]),
        ["labels.unsorted", "labels.duplicate_name"]
    );
    let distinct = v1_series(
        &[("__name__", "up"), ("job", "x"), ("jobs", "x")],
        &[(1, 1.0)],
    );
    assert!(v1_ids(vec![distinct]).is_empty());
}

#[test]
fn labels_empty_name_and_empty_value() {
    let bad = v1_series(&[("", "v"), ("__name__", "up")], &[(1, 1.0)]);
    assert_eq!(v1_ids(vec![bad]), ["labels.empty_name"]);
    let bad = v1_series(&[("__name__", "up"), ("job", "")], &[(1, 1.0)]);
    assert_eq!(v1_ids(vec![bad.clone()]), ["labels.empty_value"]);
    assert_eq!(v2_ids(vec![bad]), ["labels.empty_value"]);
}

#[test]
fn labels_invalid_name_is_error_in_v1_and_warning_in_v2() {
    let bad = v1_series(&[("__name__", "up"), ("bad-name", "x")], &[(1, 1.0)]);
    let b1 = v1_bytes(vec![bad.clone()]);
    assert_eq!(
        severity_of(&b1, Protocol::V1, Rule::LabelsInvalidName),
        Some(Severity::Error)
    );
    let b2 = v1_to_v2(&v1::WriteRequest {
        timeseries: vec![bad],
        metadata: vec![],
    })
    .encode_to_vec();
    assert_eq!(
        severity_of(&b2, Protocol::V2, Rule::LabelsInvalidName),
        Some(Severity::Warning)
    );
    assert_eq!(
        run_with(&b2, Protocol::V2, &Limits::default()).status(),
        204
    );
    let good = v1_series(&[("__name__", "up"), ("_ok9", "x")], &[(1, 1.0)]);
    assert!(v1_ids(vec![good]).is_empty());
}

#[test]
fn labels_empty_set() {
    assert_eq!(v1_ids(vec![v1_series(&[], &[(1, 1.0)])]), ["labels.empty"]);
}

#[test]
fn metric_name_missing() {
    let bad = v1_series(&[("job", "x")], &[(1, 1.0)]);
    assert_eq!(v1_ids(vec![bad.clone()]), ["metric_name.missing"]);
    assert_eq!(v2_ids(vec![bad]), ["metric_name.missing"]);
}

#[test]
fn metric_name_invalid_is_error_in_v1_and_warning_in_v2() {
    let bad = v1_series(&[("__name__", "1up")], &[(1, 1.0)]);
    let b1 = v1_bytes(vec![bad.clone()]);
    assert_eq!(
        severity_of(&b1, Protocol::V1, Rule::MetricNameInvalid),
        Some(Severity::Error)
    );
    let b2 = v1_to_v2(&v1::WriteRequest {
        timeseries: vec![bad],
        metadata: vec![],
    })
    .encode_to_vec();
    assert_eq!(
        severity_of(&b2, Protocol::V2, Rule::MetricNameInvalid),
        Some(Severity::Warning)
    );
    let colon = v1_series(&[("__name__", "job:up:rate5m")], &[(1, 1.0)]);
    assert!(v1_ids(vec![colon]).is_empty());
}

#[test]
fn samples_out_of_order() {
    let bad = v1_series(&[("__name__", "up")], &[(2, 1.0), (1, 1.0)]);
    let v = run_with(&v1_bytes(vec![bad]), Protocol::V1, &Limits::default());
    assert_eq!(v.findings.len(), 1);
    assert_eq!(
        (
            v.findings[0].rule,
            v.findings[0].series,
            v.findings[0].sample
        ),
        (Rule::SamplesOutOfOrder, Some(0), Some(1))
    );
    let equal = v1_series(&[("__name__", "up")], &[(1, 1.0), (1, 1.0), (2, 1.0)]);
    assert!(v1_ids(vec![equal]).is_empty());
}

#[test]
fn histograms_out_of_order() {
    let mut s = v1_series(&[("__name__", "h")], &[]);
    s.histograms = vec![int_histogram(2, 1, 1, &[]), int_histogram(1, 1, 1, &[])];
    assert_eq!(v1_ids(vec![s.clone()]), ["histograms.out_of_order"]);
    s.histograms.reverse();
    assert!(v1_ids(vec![s]).is_empty());
}

#[test]
fn series_with_samples_and_histograms_is_a_v2_error_only() {
    let mut s = up();
    s.histograms = vec![int_histogram(1, 1, 1, &[])];
    assert!(v1_ids(vec![s.clone()]).is_empty());
    let mut v2s = v2_up();
    v2s.histograms = vec![
        crate::convert::v1_to_v2(&v1::WriteRequest {
            timeseries: vec![s],
            metadata: vec![],
        })
        .timeseries[1]
            .histograms[0]
            .clone(),
    ];
    assert_eq!(
        ids(&v2_bytes(&SYMBOLS, vec![v2s]), Protocol::V2),
        ["series.samples_and_histograms"]
    );
}

#[test]
fn series_empty_is_warning_in_v1_and_error_in_v2() {
    let b1 = v1_bytes(vec![v1_series(&[("__name__", "up")], &[])]);
    assert_eq!(
        severity_of(&b1, Protocol::V1, Rule::SeriesEmpty),
        Some(Severity::Warning)
    );
    let b2 = v2_bytes(&SYMBOLS, vec![v2_series(&[1, 2], &[])]);
    assert_eq!(
        severity_of(&b2, Protocol::V2, Rule::SeriesEmpty),
        Some(Severity::Error)
    );
}

#[test]
fn empty_request_is_a_warning() {
    assert_eq!(ids(&[], Protocol::V1), ["request.empty"]);
    assert_eq!(
        run_with(&[], Protocol::V2, &Limits::default()).status(),
        204
    );
    // A v2 body read as v1 is empty (fields 4/5 are unknown to v1).
    assert_eq!(
        ids(&v2_bytes(&SYMBOLS, vec![v2_up()]), Protocol::V1),
        ["request.empty"]
    );
}

#[test]
fn v2_symbols_first_not_empty() {
    let bad = v2_bytes(
        &["x", "__name__", "up"],
        vec![v2_series(&[1, 2], &[(1, 1.0)])],
    );
    assert_eq!(ids(&bad, Protocol::V2), ["v2.symbols_first_not_empty"]);
}

#[test]
fn v2_label_ref_out_of_range() {
    let bad = v2_bytes(&SYMBOLS, vec![v2_series(&[1, 2, 3, 99], &[(1, 1.0)])]);
    assert_eq!(ids(&bad, Protocol::V2), ["v2.label_ref_out_of_range"]);
    let good = v2_bytes(&SYMBOLS, vec![v2_series(&[1, 2, 3, 4], &[(1, 1.0)])]);
    assert!(ids(&good, Protocol::V2).is_empty());
}

#[test]
fn v2_labels_refs_odd() {
    let bad = v2_bytes(&SYMBOLS, vec![v2_series(&[1, 2, 3], &[(1, 1.0)])]);
    assert_eq!(ids(&bad, Protocol::V2), ["v2.labels_refs_odd"]);
}

#[test]
fn v2_metadata_ref_out_of_range() {
    let mut s = v2_up();
    s.metadata = Some(v2::Metadata {
        r#type: 1,
        help_ref: 99,
        unit_ref: 0,
    });
    assert_eq!(
        ids(&v2_bytes(&SYMBOLS, vec![s.clone()]), Protocol::V2),
        ["v2.metadata_ref_out_of_range"]
    );
    s.metadata = Some(v2::Metadata {
        r#type: 1,
        help_ref: 2,
        unit_ref: 0,
    });
    let v = run_with(
        &v2_bytes(&SYMBOLS, vec![s]),
        Protocol::V2,
        &Limits::default(),
    );
    assert!(v.findings.is_empty());
    assert_eq!(v.counts.metadata, 1);
}

fn with_histogram(h: v1::Histogram) -> Vec<v1::TimeSeries> {
    let mut s = v1_series(&[("__name__", "h")], &[]);
    s.histograms = vec![h];
    vec![s]
}

#[test]
fn histogram_count_mismatch() {
    // Deltas 1, 1 are absolute counts 1, 2: buckets 3 + zero 1 = 4.
    assert_eq!(
        v1_ids(with_histogram(int_histogram(1, 5, 1, &[1, 1]))),
        ["histogram.count_mismatch"]
    );
    assert!(v1_ids(with_histogram(int_histogram(1, 4, 1, &[1, 1]))).is_empty());
    // With a NaN sum, fewer buckets than the count is allowed.
    let mut nan = int_histogram(1, 5, 1, &[1, 1]);
    nan.sum = f64::NAN;
    assert!(v1_ids(with_histogram(nan)).is_empty());
    let float = v1::Histogram {
        count: Some(v1::histogram::Count::CountFloat(2.5)),
        zero_count: Some(v1::histogram::ZeroCount::ZeroCountFloat(0.5)),
        positive_spans: vec![v1::BucketSpan {
            offset: 0,
            length: 1,
        }],
        positive_counts: vec![2.0],
        ..Default::default()
    };
    assert!(v1_ids(with_histogram(float.clone())).is_empty());
    let wrong = v1::Histogram {
        count: Some(v1::histogram::Count::CountFloat(3.0)),
        ..float
    };
    assert_eq!(v1_ids(with_histogram(wrong)), ["histogram.count_mismatch"]);
}

#[test]
fn histogram_bad_schema() {
    let mut h = int_histogram(1, 4, 1, &[1, 1]);
    h.schema = 9;
    assert_eq!(v1_ids(with_histogram(h.clone())), ["histogram.bad_schema"]);
    h.schema = -4;
    assert!(v1_ids(with_histogram(h.clone())).is_empty());
    // -53 (custom buckets) exists only in v2.
    h.schema = -53;
    h.zero_count = None;
    h.zero_threshold = 0.0;
    h.count = Some(v1::histogram::Count::CountInt(3));
    h.custom_values = vec![1.0, 2.0];
    assert_eq!(v1_ids(with_histogram(h.clone())), ["histogram.bad_schema"]);
    assert!(v2_ids(with_histogram(h)).is_empty());
}

#[test]
fn histogram_spans_mismatch() {
    let mut h = int_histogram(1, 4, 1, &[1, 1]);
    h.positive_spans[0].length = 3;
    assert_eq!(v1_ids(with_histogram(h)), ["histogram.spans_mismatch"]);
}

#[test]
fn histogram_negative_bucket() {
    // Deltas 2, -3 give absolute counts 2, -1.
    assert_eq!(
        v1_ids(with_histogram(int_histogram(1, 1, 0, &[2, -3]))),
        ["histogram.negative_bucket"]
    );
}

#[test]
fn histogram_custom_buckets_invalid() {
    let mut h = int_histogram(1, 3, 0, &[1, 1]);
    h.schema = -53;
    h.zero_threshold = 0.0;
    h.custom_values = vec![2.0, 1.0];
    assert_eq!(
        v2_ids(with_histogram(h.clone())),
        ["histogram.custom_buckets_invalid"]
    );
    h.custom_values = vec![1.0, 2.0];
    assert!(v2_ids(with_histogram(h)).is_empty());
}

#[test]
fn exemplar_missing_timestamp_is_warning_in_v1_and_error_in_v2() {
    let mut s = up();
    s.exemplars = vec![v1::Exemplar {
        labels: vec![label("trace_id", "abc")],
        value: 1.0,
        timestamp: 0,
    }];
    let b1 = v1_bytes(vec![s.clone()]);
    assert_eq!(
        severity_of(&b1, Protocol::V1, Rule::ExemplarMissingTimestamp),
        Some(Severity::Warning)
    );
    let b2 = v1_to_v2(&v1::WriteRequest {
        timeseries: vec![s.clone()],
        metadata: vec![],
    })
    .encode_to_vec();
    assert_eq!(
        severity_of(&b2, Protocol::V2, Rule::ExemplarMissingTimestamp),
        Some(Severity::Error)
    );
    s.exemplars[0].timestamp = 5;
    assert!(v1_ids(vec![s]).is_empty());
}

#[test]
fn stale_marker_reserved_bits() {
    let damaged = f64::from_bits(0xfff0_0000_0000_0002);
    assert_eq!(
        v1_ids(vec![v1_series(&[("__name__", "up")], &[(1, damaged)])]),
        ["stale_marker.reserved_bits"]
    );
    let stale = f64::from_bits(STALE_NAN_BITS);
    assert!(
        v1_ids(vec![v1_series(
            &[("__name__", "up")],
            &[(1, stale), (2, f64::NAN)]
        )])
        .is_empty()
    );
}

#[test]
fn limits_series_labels_and_lengths() {
    let limits = Limits {
        max_series: 1,
        max_labels_per_series: 2,
        max_label_name_bytes: 8,
        max_label_value_bytes: 4,
        ..Limits::default()
    };
    let rules = |series: Vec<v1::TimeSeries>| -> Vec<&'static str> {
        run_with(&v1_bytes(series), Protocol::V1, &limits)
            .findings
            .iter()
            .map(|f| f.rule.id())
            .collect()
    };
    assert_eq!(
        rules(vec![up(), up()]),
        [
            "limits.label_value_length",
            "limits.series",
            "limits.label_value_length"
        ]
    );
    let s = v1_series(&[("__name__", "up"), ("a", "b"), ("c", "d")], &[(1, 1.0)]);
    assert_eq!(rules(vec![s]), ["limits.labels_per_series"]);
    let s = v1_series(&[("__name__", "up"), ("long_name", "b")], &[(1, 1.0)]);
    assert_eq!(rules(vec![s]), ["limits.label_name_length"]);
    assert!(rules(vec![v1_series(&[("__name__", "up")], &[(1, 1.0)])]).is_empty());
}

#[test]
fn verdict_mode_stops_at_first_error() {
    let bad = v1_series(&[("job", "x"), ("__name__", "")], &[(2, 1.0), (1, 1.0)]);
    let report = validate(
        &v1_bytes(vec![bad.clone(), bad.clone()]),
        Protocol::V1,
        &Limits::default(),
        Mode::Report,
    )
    .unwrap();
    assert!(report.findings.len() > 2);
    let verdict = validate(
        &v1_bytes(vec![bad.clone(), bad]),
        Protocol::V1,
        &Limits::default(),
        Mode::Verdict,
    )
    .unwrap();
    assert_eq!(verdict.findings.len(), 1);
    assert_eq!(verdict.status(), 400);
}

#[test]
fn truncated_body_is_a_decode_error_naming_field_and_offset() {
    let mut bytes = v1_bytes(vec![up()]);
    bytes.truncate(bytes.len() - 3);
    let err = validate(&bytes, Protocol::V1, &Limits::default(), Mode::Report).unwrap_err();
    assert_eq!(err.kind(), crate::wire::DecodeErrorKind::Truncated);
    assert_eq!(err.field(), "WriteRequest");
    assert_eq!(err.offset(), 2, "where the truncated payload begins");
    assert_eq!(err.status(), 400);
}

#[test]
fn invalid_utf8_label_is_a_decode_error() {
    let mut bytes = v1_bytes(vec![v1_series(&[("__name__", "up")], &[])]);
    let pos = bytes.iter().position(|&b| b == b'u').unwrap();
    bytes[pos] = 0xff;
    let err = validate(&bytes, Protocol::V1, &Limits::default(), Mode::Report).unwrap_err();
    assert_eq!(err.kind(), crate::wire::DecodeErrorKind::InvalidUtf8);
    assert_eq!(err.field(), "Label.value");
}

#[test]
fn unpacked_repeated_scalars_are_accepted() {
    // v2 TimeSeries with labels_refs 1,2 unpacked (two varint fields) and one sample.
    #[rustfmt::skip]
    let series = [
        0x08, 0x01,                    // labels_refs = 1 (unpacked)
        0x08, 0x02,                    // labels_refs = 2 (unpacked)
        0x12, 0x0b,                    // samples, 11 bytes
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // value = 1.0
            0x10, 0x01,                // timestamp = 1
    ];
    let mut body = v2_bytes(&["", "__name__", "up"], vec![]);
    body.push(0x2a);
    body.push(series.len() as u8);
    body.extend_from_slice(&series);
    let v = run_with(&body, Protocol::V2, &Limits::default());
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!(v.counts.samples, 1);
    let owned = v2::Request::decode(body.as_slice()).unwrap();
    assert_eq!(owned.timeseries[0].labels_refs, [1, 2]);
}

#[test]
fn facts_carry_range_hash_counts_and_max_timestamp() {
    let a = v1_series(&[("__name__", "up"), ("job", "a")], &[(5, 1.0), (9, 2.0)]);
    let b = v1_series(&[("__name__", "up"), ("job", "b")], &[(7, 1.0)]);
    let body = v1_bytes(vec![a.clone(), b]);
    let mut facts = Vec::new();
    validate_with_facts(
        &body,
        Protocol::V1,
        &Limits::default(),
        Mode::Verdict,
        &mut facts,
    )
    .unwrap();
    assert_eq!(facts.len(), 2);
    assert_eq!((facts[0].samples, facts[0].max_timestamp), (2, Some(9)));
    assert_eq!(
        facts[0].hash,
        crate::hash::label_set_hash([("__name__", "up"), ("job", "a")])
    );
    assert_ne!(facts[0].hash, facts[1].hash);
    // The range alone is a valid WriteRequest holding exactly that series.
    let only_a = &body[facts[0].range.clone()];
    assert_eq!(
        v1::WriteRequest::decode(only_a).unwrap().timeseries,
        vec![a.clone()]
    );
    // v2 hashes the same labels the same.
    let v2body = v1_to_v2(&v1::WriteRequest {
        timeseries: vec![a],
        metadata: vec![],
    })
    .encode_to_vec();
    let mut f2 = Vec::new();
    validate_with_facts(
        &v2body,
        Protocol::V2,
        &Limits::default(),
        Mode::Verdict,
        &mut f2,
    )
    .unwrap();
    assert_eq!(f2[0].hash, facts[0].hash);
}

proptest::proptest! {
    #[test]
    fn label_name_word_check_matches_the_byte_definition(name in "[a-zA-Z0-9_:\\- .é\\x00\\x7f]{0,20}") {
        let bytes = name.as_bytes();
        let expected = bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        proptest::prop_assert_eq!(labels::is_valid_label_name(&name), expected);
    }
}

#[test]
fn label_name_word_check_sees_every_byte_of_long_names() {
    for len in 1..40 {
        for at in 0..len {
            for bad in [b'-', b'.', b':', b'`', b'{', b'@', b'[', b'/', 0x7f] {
                let mut name = alloc::vec![b'a'; len];
                name[at] = bad;
                let name = core::str::from_utf8(&name).unwrap();
                assert!(!labels::is_valid_label_name(name), "{name:?}");
            }
        }
        let ok: alloc::string::String = "aZ_09".chars().cycle().take(len).collect();
        assert!(labels::is_valid_label_name(&ok), "{ok:?}");
    }
}

/// A v1 request whose series carry the given label sets and one sample each.
fn request_with_label_sets(sets: &[Vec<(String, String)>]) -> Vec<u8> {
    v1::WriteRequest {
        timeseries: sets
            .iter()
            .map(|set| v1::TimeSeries {
                labels: set
                    .iter()
                    .map(|(name, value)| v1::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                samples: alloc::vec![v1::Sample {
                    value: 1.0,
                    timestamp: 1
                }],
                ..Default::default()
            })
            .collect(),
        metadata: alloc::vec![],
    }
    .encode_to_vec()
}

use alloc::string::String;

proptest::proptest! {
    /// The "same names as the previous series" shortcut must not change any finding: each
    /// series of a request gets exactly the findings it gets alone.
    #[test]
    fn series_get_the_findings_they_get_alone(
        sets in proptest::collection::vec(
            proptest::collection::vec(("(__name__|a|b|c|1x|b-c|)", "(|x|up|9z)"), 0..5),
            1..6,
        ),
    ) {
        let limits = Limits { max_label_name_bytes: 3, ..Limits::default() };
        let together = validate(&request_with_label_sets(&sets), Protocol::V1, &limits, Mode::Report).unwrap();
        let mut alone = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let one = validate(&request_with_label_sets(core::slice::from_ref(set)), Protocol::V1, &limits, Mode::Report).unwrap();
            alone.extend(one.findings.into_iter().map(|mut f| {
                f.series = f.series.map(|_| i);
                f
            }));
        }
        proptest::prop_assert_eq!(together.findings, alone);
    }
}

proptest::proptest! {
    #[test]
    fn word_wise_name_equality_matches_slice_equality(a in "[ab]{0,20}", b in "[ab]{0,20}") {
        proptest::prop_assert_eq!(labels::same_bytes(a.as_bytes(), b.as_bytes()), a == b);
    }
}

proptest::proptest! {
    #[test]
    fn metric_name_word_check_matches_the_byte_definition(name in "[a-zA-Z0-9_:\\- .é\\x00\\x7f]{0,24}") {
        let bytes = name.as_bytes();
        let expected = bytes.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b':')
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':');
        proptest::prop_assert_eq!(labels::is_valid_metric_name(&name), expected);
    }
}
