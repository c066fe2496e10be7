//! The fast path against the general path, and the facts against prost.
//!
//! - Differential: on generated requests that hit every branch of the fast path (names
//!   and values of every length class, two-byte lengths, long and invalid names,
//!   non-ASCII and invalid UTF-8, unsorted and duplicate names, missing or invalid
//!   `__name__`, omitted sample fields, stale markers, out-of-order samples, exemplars,
//!   histograms, repeated label sets for the memo), also mutated and truncated, and under
//!   tight limits, validation with the fast path returns exactly what the general path
//!   alone returns: the same findings, counts, facts or decode error, in both modes.
//! - Facts: for valid v1 and v2 requests, every [`SeriesFacts`] is what prost decoding of
//!   the same body gives (range, message, hash, counts, oldest and newest timestamp).
//! - One test per rule the fast path checks, at the edge where it starts to fire.

use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::convert::v1_to_v2;
use crate::fixtures::*;
use crate::hash::label_set_hash;
use crate::proto::{v1, v2};

/// Both paths on one body: their results must be identical.
fn same_on_both_paths(body: &[u8], protocol: Protocol, limits: &Limits, mode: Mode) {
    let (mut fast, mut general) = (Vec::new(), Vec::new());
    let a = validate_with_facts(body, protocol, limits, mode, &mut fast);
    let b = validate_with_facts_general(body, protocol, limits, mode, &mut general);
    assert_eq!(a, b, "paths disagree on the result");
    assert_eq!(fast, general, "paths disagree on the facts");
    if let Ok(a) = &a {
        assert_eq!(
            a.counts.max_timestamp,
            fast.iter().filter_map(|f| f.max_timestamp).max(),
            "the counts' newest timestamp is not the facts' newest"
        );
    }
    assert_eq!(
        validate(body, protocol, limits, mode),
        b,
        "validate and validate_with_facts disagree"
    );
}

const NAMES: &[&str] = &[
    "__name__",
    "a",
    "job",
    "instance",
    "namespace",
    "container_label_io_kubernetes_pod_name",
    "zz",
    "Up",
    "_x",
    "1bad",
    "a-b",
    "",
    "é",
    "abcdefghijklmnop",
    "abcdefghijklmnopq",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("x".into()),
        Just("up".into()),
        Just("http_requests_total".into()),
        Just("bad-metric".into()),
        Just(":colon:start".into()),
        Just("9starts_with_digit".into()),
        Just("é".into()),
        "[a-z_:]{1,40}",
        "\\PC{0,20}",
        "[a-z]{120,140}",
    ]
}

fn sample() -> impl Strategy<Value = v1::Sample> {
    let value = prop_oneof![
        Just(0.0),
        Just(1.5),
        Just(f64::NAN),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(f64::from_bits(STALE_NAN_BITS | 0x0008_0000_0000_0000)),
        any::<f64>(),
    ];
    let timestamp = prop_oneof![
        Just(0i64),
        Just(1),
        Just(-5),
        Just(1_700_000_000_000),
        Just(i64::MAX),
        any::<i64>(),
    ];
    (value, timestamp).prop_map(|(value, timestamp)| v1::Sample { value, timestamp })
}

fn series() -> impl Strategy<Value = v1::TimeSeries> {
    (
        proptest::collection::vec((proptest::sample::select(NAMES), value()), 0..6),
        any::<bool>(),
        proptest::collection::vec(sample(), 0..4),
        any::<bool>(),
        0u8..8,
    )
        .prop_map(|(labels, sort, mut samples, order, extra)| {
            let mut labels: Vec<v1::Label> =
                labels.into_iter().map(|(n, v)| label(n, &v)).collect();
            if sort {
                labels.sort_by(|a, b| a.name.cmp(&b.name));
            }
            if order {
                samples.sort_by_key(|s| s.timestamp);
            }
            let mut ts = v1::TimeSeries {
                labels,
                samples,
                ..Default::default()
            };
            match extra {
                0 => ts.exemplars.push(v1::Exemplar {
                    labels: vec![label("trace_id", "abc")],
                    value: 1.0,
                    timestamp: 5,
                }),
                1 => ts.histograms.push(int_histogram(7, 3, 1, &[1, 1])),
                _ => {}
            }
            ts
        })
}

/// Requests whose series often repeat a label set (the memo's case).
fn request() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(series(), 1..4),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..8),
        any::<bool>(),
    )
        .prop_map(|(pool, picks, metadata)| {
            let timeseries = picks
                .iter()
                .map(|(i, fresh_samples)| {
                    let mut ts = i.get(&pool).clone();
                    if *fresh_samples {
                        ts.samples = vec![v1::Sample {
                            value: 2.0,
                            timestamp: 1_700_000_000_000,
                        }];
                    }
                    ts
                })
                .collect();
            v1::WriteRequest {
                timeseries,
                metadata: if metadata {
                    vec![v1::MetricMetadata {
                        r#type: 1,
                        metric_family_name: "up".into(),
                        help: "h".into(),
                        unit: String::new(),
                    }]
                } else {
                    Vec::new()
                },
            }
            .encode_to_vec()
        })
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0usize..5, 0usize..20, 0usize..140, 0usize..4).prop_map(|(s, n, v, l)| Limits {
            max_series: s,
            max_label_name_bytes: n,
            max_label_value_bytes: v,
            max_labels_per_series: l,
            ..Limits::default()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn fast_and_general_paths_agree(body in request(), limits in limits()) {
        for mode in [Mode::Report, Mode::Verdict] {
            same_on_both_paths(&body, Protocol::V1, &limits, mode);
        }
    }

    #[test]
    fn fast_and_general_paths_agree_on_mutated_bodies(
        body in request(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut body = body;
        if !body.is_empty() {
            for (i, b) in flips {
                let at = i.index(body.len());
                body[at] = b;
            }
            if let Some(cut) = cut {
                body.truncate(cut.index(body.len()));
            }
        }
        for mode in [Mode::Report, Mode::Verdict] {
            same_on_both_paths(&body, Protocol::V1, &Limits::default(), mode);
        }
    }

    #[test]
    fn fast_and_general_paths_agree_on_valid_looking_requests(
        req in arb_v1_request(),
        limits in limits(),
        flip in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let mut body = req.encode_to_vec();
        if let (Some((i, b)), false) = (flip, body.is_empty()) {
            let at = i.index(body.len());
            body[at] = b;
        }
        for mode in [Mode::Report, Mode::Verdict] {
            same_on_both_paths(&body, Protocol::V1, &limits, mode);
        }
    }

    #[test]
    fn v1_facts_are_what_prost_decodes(req in arb_v1_request()) {
        let body = req.encode_to_vec();
        let mut facts = Vec::new();
        // Report mode reads every series: the facts hold for valid and invalid ones alike.
        validate_with_facts(&body, Protocol::V1, &Limits::default(), Mode::Report, &mut facts).unwrap();
        let owned = v1::WriteRequest::decode(body.as_slice()).unwrap();
        prop_assert_eq!(facts.len(), owned.timeseries.len());
        for (f, ts) in facts.iter().zip(&owned.timeseries) {
            // Compared encoded: prost's encoding is deterministic and keeps NaN bits.
            let framed = v1::WriteRequest::decode(&body[f.range.clone()]).unwrap();
            prop_assert_eq!(framed.timeseries.len(), 1);
            prop_assert_eq!(framed.timeseries[0].encode_to_vec(), ts.encode_to_vec());
            prop_assert_eq!(v1::TimeSeries::decode(&body[f.message()]).unwrap().encode_to_vec(), ts.encode_to_vec());
            let labels = ts.labels.iter().map(|l| (l.name.as_str(), l.value.as_str()));
            let stamps = ts.samples.iter().map(|s| s.timestamp)
                .chain(ts.histograms.iter().map(|h| h.timestamp))
                .chain(ts.exemplars.iter().map(|e| e.timestamp));
            prop_assert_eq!(f, &expected_facts(f, labels, stamps, (ts.samples.len(), ts.histograms.len(), ts.exemplars.len())));
        }
    }

    #[test]
    fn v2_facts_are_what_prost_decodes(req in arb_v1_request()) {
        let body = v1_to_v2(&req).encode_to_vec();
        let mut facts = Vec::new();
        validate_with_facts(&body, Protocol::V2, &Limits::default(), Mode::Report, &mut facts).unwrap();
        let owned = v2::Request::decode(body.as_slice()).unwrap();
        prop_assert_eq!(facts.len(), owned.timeseries.len());
        let symbol = |r: &u32| owned.symbols[*r as usize].as_str();
        for (f, ts) in facts.iter().zip(&owned.timeseries) {
            prop_assert_eq!(v2::TimeSeries::decode(&body[f.message()]).unwrap().encode_to_vec(), ts.encode_to_vec());
            let framed = v2::Request::decode(&body[f.range.clone()]).unwrap();
            prop_assert_eq!(framed.timeseries.len(), 1);
            prop_assert_eq!(framed.timeseries[0].encode_to_vec(), ts.encode_to_vec());
            let labels = ts.labels_refs.chunks(2).map(|p| (symbol(&p[0]), symbol(&p[1])));
            let stamps = ts.samples.iter().map(|s| s.timestamp)
                .chain(ts.histograms.iter().map(|h| h.timestamp))
                .chain(ts.exemplars.iter().map(|e| e.timestamp));
            prop_assert_eq!(f, &expected_facts(f, labels, stamps, (ts.samples.len(), ts.histograms.len(), ts.exemplars.len())));
        }
    }
}

/// The facts prost's view of a series gives (the range taken from `got`, checked above).
fn expected_facts<'a>(
    got: &SeriesFacts,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    stamps: impl Iterator<Item = i64> + Clone,
    (samples, histograms, exemplars): (usize, usize, usize),
) -> SeriesFacts {
    SeriesFacts {
        range: got.range.clone(),
        header_len: got.header_len,
        hash: label_set_hash(labels),
        samples: samples as u32,
        histograms: histograms as u32,
        exemplars: exemplars as u32,
        min_timestamp: stamps.clone().min(),
        max_timestamp: stamps.max(),
    }
}

fn ids_with(series: Vec<v1::TimeSeries>, limits: &Limits) -> Vec<&'static str> {
    let body = v1_bytes(series);
    same_on_both_paths(&body, Protocol::V1, limits, Mode::Report);
    validate(&body, Protocol::V1, limits, Mode::Report)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.rule.id())
        .collect()
}

fn ids(series: Vec<v1::TimeSeries>) -> Vec<&'static str> {
    ids_with(series, &Limits::default())
}

fn one(labels: &[(&str, &str)]) -> v1::TimeSeries {
    v1_series(labels, &[(1, 1.0)])
}

#[test]
fn the_fast_path_accepts_what_senders_send() {
    // Every series of these goes through the fast path: the paths agree and nothing fires.
    let series = vec![
        one(&[("__name__", "up"), ("job", "a")]),
        one(&[("__name__", "up"), ("job", "b")]),
        one(&[
            ("__name__", "http_requests_total"),
            ("instance", "h:9090"),
            ("job", "a"),
        ]),
        one(&[
            ("__name__", "x"),
            ("container_label_io_kubernetes_pod_name", "p"),
        ]),
        one(&[("__name__", "x"), ("job", &"v".repeat(120))]),
        one(&[("__name__", "x"), ("job", "é")]),
        v1_series(
            &[("__name__", "zero")],
            &[(5, 0.0), (5, 0.0), (6, f64::from_bits(STALE_NAN_BITS))],
        ),
        v1_series(&[("__name__", "no_timestamp")], &[(0, 1.0)]),
    ];
    let count = series.len();
    let before = super::v1_fast::ACCEPTED.with(|n| n.get());
    let body = v1_bytes(series.clone());
    validate(&body, Protocol::V1, &Limits::default(), Mode::Verdict).unwrap();
    let accepted = super::v1_fast::ACCEPTED.with(|n| n.get()) - before;
    assert_eq!(accepted, count, "every series takes the fast path");
    assert_eq!(ids(series), Vec::<&str>::new());
    // A label message of 128 bytes or more (a two-byte length) takes the general path.
    let before = super::v1_fast::ACCEPTED.with(|n| n.get());
    let long = vec![one(&[("__name__", "x"), ("job", &"v".repeat(121))])];
    assert!(ids(long).is_empty());
    assert_eq!(super::v1_fast::ACCEPTED.with(|n| n.get()), before);
}

#[test]
fn label_value_length_limit_fires_one_byte_over() {
    let limits = Limits {
        max_label_value_bytes: 4,
        ..Limits::default()
    };
    assert!(ids_with(vec![one(&[("__name__", "abcd")])], &limits).is_empty());
    assert_eq!(
        ids_with(
            vec![one(&[("__name__", "abcd")]), one(&[("__name__", "abcde")])],
            &limits
        ),
        ["limits.label_value_length"]
    );
}

#[test]
fn label_name_length_limit_fires_one_byte_over_also_for_remembered_names() {
    let limits = Limits {
        max_label_name_bytes: 8,
        ..Limits::default()
    };
    let ok = one(&[("__name__", "up"), ("abcdefgh", "v")]);
    let long = one(&[("__name__", "up"), ("abcdefghi", "v")]);
    assert_eq!(
        ids_with(vec![ok.clone(), long.clone(), ok, long], &limits),
        ["limits.label_name_length", "limits.label_name_length"]
    );
}

#[test]
fn labels_per_series_limit_fires_one_label_over() {
    let limits = Limits {
        max_labels_per_series: 2,
        ..Limits::default()
    };
    let two = one(&[("__name__", "up"), ("a", "v")]);
    let three = one(&[("__name__", "up"), ("a", "v"), ("b", "v")]);
    assert_eq!(
        ids_with(vec![two.clone(), three, two], &limits),
        ["limits.labels_per_series"]
    );
}

#[test]
fn order_and_duplicates_are_checked_after_a_remembered_prefix() {
    let base = one(&[("__name__", "up"), ("a", "v"), ("b", "v")]);
    assert_eq!(
        ids(vec![
            base.clone(),
            one(&[("__name__", "up"), ("a", "v"), ("a", "w")])
        ]),
        ["labels.duplicate_name"]
    );
    assert_eq!(
        ids(vec![
            base.clone(),
            one(&[("__name__", "up"), ("b", "v"), ("a", "w")])
        ]),
        ["labels.unsorted"]
    );
    // Names over 16 bytes are compared the long way.
    let long_a = "container_label_a_long_name";
    let long_b = "container_label_b_long_name";
    assert_eq!(
        ids(vec![one(&[
            ("__name__", "up"),
            (long_b, "v"),
            (long_a, "v")
        ])]),
        ["labels.unsorted"]
    );
    assert_eq!(
        ids(vec![one(&[("__name__", "up"), (long_a, "v"), ("b", "v")])]),
        ["labels.unsorted"]
    );
    assert!(
        ids(vec![one(&[
            ("__name__", "up"),
            (long_a, "v"),
            (long_b, "v")
        ])])
        .is_empty()
    );
}

#[test]
fn invalid_names_are_found_in_every_length_class() {
    for name in [
        "1",
        "A-",
        "a-",
        "a.b",
        "abcdefg-",
        "abcdefgh-",
        "abcdefghijklmno-",
        "abcdefghijklmnopq-",
    ] {
        let mut labels = [("__name__", "up"), (name, "v")];
        labels.sort();
        let got = ids(vec![one(&labels)]);
        assert_eq!(got, ["labels.invalid_name"], "{name}");
    }
}

#[test]
fn metric_names_are_checked_also_when_seen_before() {
    for bad in ["9up", "up-x", "a b", "http_requests_total-", "x.y"] {
        let got = ids(vec![
            one(&[("__name__", "up")]),
            one(&[("__name__", bad)]),
            one(&[("__name__", "up")]),
        ]);
        assert_eq!(got, ["metric_name.invalid"], "{bad}");
    }
    assert!(
        ids(vec![
            one(&[("__name__", ":a:b:")]),
            one(&[("__name__", ":a:b:")])
        ])
        .is_empty()
    );
}

#[test]
fn missing_or_empty_things_are_found() {
    assert_eq!(ids(vec![one(&[("job", "a")])]), ["metric_name.missing"]);
    assert_eq!(
        ids(vec![one(&[("__name__", "up"), ("job", "")])]),
        ["labels.empty_value"]
    );
    assert_eq!(
        ids(vec![v1_series(&[("__name__", "up")], &[])]),
        ["series.empty"]
    );
    assert_eq!(ids(vec![v1_series(&[], &[(1, 1.0)])]), ["labels.empty"]);
}

#[test]
fn samples_out_of_order_and_damaged_stale_markers_are_found() {
    assert_eq!(
        ids(vec![v1_series(
            &[("__name__", "up")],
            &[(5, 1.0), (4, 1.0)]
        )]),
        ["samples.out_of_order"]
    );
    let damaged = f64::from_bits(STALE_NAN_BITS | 0x8000_0000_0000_0000);
    assert_eq!(
        ids(vec![v1_series(&[("__name__", "up")], &[(5, damaged)])]),
        ["stale_marker.reserved_bits"]
    );
}

#[test]
fn invalid_utf8_in_a_value_is_a_decode_error_on_both_paths() {
    for value in ["ab", "abcdefghijklmnopqrstuvwxyz0123456789"] {
        let mut body = v1_bytes(vec![one(&[("__name__", "up"), ("job", value)])]);
        let at = body.iter().rposition(|&b| b == b'b').unwrap();
        body[at] = 0xc3; // a lead byte without its continuation
        same_on_both_paths(&body, Protocol::V1, &Limits::default(), Mode::Report);
        let err = validate(&body, Protocol::V1, &Limits::default(), Mode::Report).unwrap_err();
        assert_eq!(err.kind(), crate::wire::DecodeErrorKind::InvalidUtf8);
    }
}

#[test]
fn every_canonical_length_encoding_gives_the_same_facts() {
    // Values of 127 and 128 bytes: one- and two-byte lengths in the label and the series.
    for len in [1, 15, 16, 17, 31, 32, 33, 120, 127, 128, 200] {
        let value = "v".repeat(len);
        let series = vec![
            one(&[("__name__", "up"), ("job", &value)]),
            one(&[("__name__", "up"), ("job", "x")]),
        ];
        let body = v1_bytes(series.clone());
        let mut facts = Vec::new();
        validate_with_facts(
            &body,
            Protocol::V1,
            &Limits::default(),
            Mode::Verdict,
            &mut facts,
        )
        .unwrap();
        for (f, ts) in facts.iter().zip(&series) {
            let labels = ts
                .labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()));
            assert_eq!(f.hash, label_set_hash(labels), "{len}");
        }
        same_on_both_paths(&body, Protocol::V1, &Limits::default(), Mode::Verdict);
    }
}

#[test]
fn label_sets_too_long_for_the_fast_hash_input_hash_the_same() {
    let values: Vec<String> = (0..20).map(|i| format!("{i}{}", "x".repeat(100))).collect();
    let names: Vec<String> = (0..20).map(|i| format!("l{i:02}")).collect();
    let mut labels = vec![("__name__", "up")];
    labels.extend(
        names
            .iter()
            .map(String::as_str)
            .zip(values.iter().map(String::as_str)),
    );
    let body = v1_bytes(vec![one(&labels)]);
    let mut facts = Vec::new();
    validate_with_facts(
        &body,
        Protocol::V1,
        &Limits::default(),
        Mode::Verdict,
        &mut facts,
    )
    .unwrap();
    assert_eq!(facts[0].hash, label_set_hash(labels.iter().copied()));
}
