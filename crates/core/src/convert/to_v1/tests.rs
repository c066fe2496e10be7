//! The byte transcoder against the owned conversion (differential), validity of what it
//! writes, and what it drops.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::convert::{SymbolTable, v2_to_v1};
use crate::fixtures::int_histogram;
use crate::proto::{v1, v2};
use crate::validate::{Mode, Rule, Severity, validate};
use crate::{Limits, Protocol};

fn transcode(req: &v2::Request, custom: CustomBuckets) -> (v1::WriteRequest, Transcoded) {
    let mut out = Vec::new();
    let t = v2_to_v1_bytes(&req.encode_to_vec(), custom, usize::MAX, &mut out).unwrap();
    (v1::WriteRequest::decode(out.as_slice()).unwrap(), t)
}

/// A v2 request built series by series, symbols interned by the conversion's table.
struct Builder<'a> {
    table: SymbolTable<'a>,
    timeseries: Vec<v2::TimeSeries>,
}

impl<'a> Builder<'a> {
    fn new() -> Builder<'a> {
        Builder {
            table: SymbolTable::new(),
            timeseries: Vec::new(),
        }
    }

    fn refs(&mut self, labels: &[(&'a str, &'a str)]) -> Vec<u32> {
        labels
            .iter()
            .flat_map(|(n, v)| [self.table.intern(n), self.table.intern(v)])
            .collect()
    }

    fn series(&mut self, labels: &[(&'a str, &'a str)]) -> &mut v2::TimeSeries {
        let labels_refs = self.refs(labels);
        self.timeseries.push(v2::TimeSeries {
            labels_refs,
            ..Default::default()
        });
        let last = self.timeseries.len() - 1;
        &mut self.timeseries[last]
    }

    fn metadata(&mut self, r#type: i32, help: &'a str, unit: &'a str) -> v2::Metadata {
        v2::Metadata {
            r#type,
            help_ref: self.table.intern(help),
            unit_ref: self.table.intern(unit),
        }
    }

    fn build(self) -> v2::Request {
        v2::Request {
            symbols: self.table.into_symbols(),
            timeseries: self.timeseries,
        }
    }
}

fn sample(timestamp: i64, value: f64, start_timestamp: i64) -> v2::Sample {
    v2::Sample {
        value,
        timestamp,
        start_timestamp,
    }
}

fn exp_histogram(timestamp: i64, buckets: &[u64], start_timestamp: i64) -> v2::Histogram {
    let mut previous = 0i64;
    let deltas: Vec<i64> = buckets
        .iter()
        .map(|&b| {
            let d = b as i64 - previous;
            previous = b as i64;
            d
        })
        .collect();
    let h = int_histogram(timestamp, buckets.iter().sum(), 0, &deltas);
    let mut h = crate::convert::histogram_to_v2(&h);
    h.start_timestamp = start_timestamp;
    h
}

/// A valid custom-bucket histogram: bounds 1, 2, ..., `buckets.len() - 1` (the last bucket
/// is +Inf), one span over every bucket.
fn custom_histogram(timestamp: i64, buckets: &[u64]) -> v2::Histogram {
    let mut h = exp_histogram(timestamp, buckets, 0);
    h.schema = CUSTOM_BUCKETS_SCHEMA;
    h.zero_threshold = 0.0;
    h.zero_count = None;
    h.custom_values = (1..buckets.len()).map(|b| b as f64).collect();
    h
}

#[test]
fn an_empty_request_converts_to_an_empty_one() {
    let mut out = vec![1, 2, 3];
    let t = v2_to_v1_bytes(&[], CustomBuckets::Keep, usize::MAX, &mut out).unwrap();
    assert!(out.is_empty());
    assert_eq!(t, Transcoded::default());
}

#[test]
fn labels_samples_and_exemplars_are_resolved_and_start_timestamps_counted() {
    let mut b = Builder::new();
    let trace = b.refs(&[("trace_id", "abc")]);
    let s = b.series(&[("__name__", "up"), ("job", "api")]);
    s.samples = vec![sample(1000, 1.0, 0), sample(2000, 2.0, 500)];
    s.exemplars = vec![v2::Exemplar {
        labels_refs: trace,
        value: 7.0,
        timestamp: 1500,
    }];
    let (v1, t) = transcode(&b.build(), CustomBuckets::Keep);
    let ts = &v1.timeseries[0];
    let labels: Vec<(&str, &str)> = ts
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(labels, [("__name__", "up"), ("job", "api")]);
    let samples: Vec<(i64, f64)> = ts.samples.iter().map(|s| (s.timestamp, s.value)).collect();
    assert_eq!(samples, [(1000, 1.0), (2000, 2.0)]);
    assert_eq!(ts.exemplars[0].labels[0].value, "abc");
    assert_eq!(
        (ts.exemplars[0].value, ts.exemplars[0].timestamp),
        (7.0, 1500)
    );
    assert_eq!(
        t.written,
        V1Written {
            series: 1,
            samples: 2,
            histograms: 0,
            exemplars: 1,
            metadata: 0
        }
    );
    assert_eq!(t.dropped.start_timestamps, 1);
}

#[test]
fn custom_bucket_histograms_are_kept_with_custom_values_or_dropped_and_counted() {
    let mut b = Builder::new();
    let trace = b.refs(&[("trace_id", "x")]);
    let nhcb = b.series(&[("__name__", "latency")]);
    nhcb.histograms = vec![custom_histogram(1000, &[1, 2, 3])];
    nhcb.exemplars = vec![v2::Exemplar {
        labels_refs: trace,
        value: 0.5,
        timestamp: 1000,
    }];
    let exp = b.series(&[("__name__", "size")]);
    exp.histograms = vec![exp_histogram(1000, &[1, 1], 900)];
    let req = b.build();

    let (kept, t) = transcode(&req, CustomBuckets::Keep);
    assert_eq!(kept.timeseries.len(), 2);
    assert_eq!(kept.timeseries[0].histograms[0].custom_values, [1.0, 2.0]);
    assert_eq!(
        kept.timeseries[0].histograms[0].schema,
        CUSTOM_BUCKETS_SCHEMA
    );
    assert_eq!((t.written.histograms, t.written.exemplars), (2, 1));
    assert_eq!(t.dropped.custom_bucket_histograms, 0);
    assert_eq!(t.dropped.start_timestamps, 1);

    let (dropped, t) = transcode(&req, CustomBuckets::Drop);
    assert_eq!(dropped.timeseries.len(), 1);
    assert_eq!(dropped.timeseries[0].labels[0].value, "size");
    assert_eq!(
        t.dropped,
        V1Dropped {
            start_timestamps: 1,
            custom_bucket_histograms: 1,
            series: 1,
            exemplars: 1,
            metadata: 0
        }
    );
    assert_eq!(t.written.series, 1);
}

#[test]
fn metadata_becomes_one_entry_per_family_and_conflicts_are_counted() {
    let mut b = Builder::new();
    let counter = b.metadata(1, "Requests.", "");
    let other_help = b.metadata(1, "Other text.", "");
    let gauge = b.metadata(2, "Temperature.", "celsius");
    for (code, meta) in [("200", counter), ("500", counter), ("404", other_help)] {
        let s = b.series(&[("__name__", "http_requests_total"), ("code", code)]);
        s.samples = vec![sample(1, 1.0, 0)];
        s.metadata = Some(meta);
    }
    let s = b.series(&[("__name__", "temp")]);
    s.samples = vec![sample(1, 20.0, 0)];
    s.metadata = Some(gauge);
    let (v1, t) = transcode(&b.build(), CustomBuckets::Keep);
    let entries: Vec<(i32, &str, &str, &str)> = v1
        .metadata
        .iter()
        .map(|m| {
            (
                m.r#type,
                m.metric_family_name.as_str(),
                m.help.as_str(),
                m.unit.as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (1, "http_requests_total", "Requests.", ""),
            (2, "temp", "Temperature.", "celsius")
        ]
    );
    assert_eq!((t.written.metadata, t.dropped.metadata), (2, 1));
}

#[test]
fn bad_refs_are_errors_naming_the_series() {
    let mut b = Builder::new();
    b.series(&[("__name__", "ok")]).samples = vec![sample(1, 1.0, 0)];
    b.series(&[]).labels_refs = vec![1, 99];
    let err = v2_to_v1_bytes(
        &b.build().encode_to_vec(),
        CustomBuckets::Keep,
        usize::MAX,
        &mut Vec::new(),
    );
    assert_eq!(
        err,
        Err(TranscodeError::Convert(ConvertError::RefOutOfRange {
            series: 1,
            reference: 99
        }))
    );
    let mut b = Builder::new();
    let s = b.series(&[("__name__", "up")]);
    s.exemplars = vec![v2::Exemplar {
        labels_refs: vec![1],
        value: 1.0,
        timestamp: 1,
    }];
    let err = v2_to_v1_bytes(
        &b.build().encode_to_vec(),
        CustomBuckets::Keep,
        usize::MAX,
        &mut Vec::new(),
    );
    assert_eq!(
        err,
        Err(TranscodeError::Convert(ConvertError::OddRefs { series: 0 }))
    );
}

#[test]
fn a_body_that_is_not_protobuf_is_a_decode_error() {
    let err = v2_to_v1_bytes(
        &[0x22, 0x05, b'a'],
        CustomBuckets::Keep,
        usize::MAX,
        &mut Vec::new(),
    );
    assert!(matches!(err, Err(TranscodeError::Decode(_))), "{err:?}");
}

#[test]
fn an_amplifying_body_stops_at_the_cap_without_reserving_its_1_0_size() {
    // One 2,000-byte symbol as the value of 29 labels of 100,000 series: ~8 MB of 2.0,
    // ~5.8 GB of 1.0.
    let body = crate::fixtures::amplifying_v2(100_000, 30, 2000);
    assert!(body.len() < 10_000_000, "{}", body.len());
    let cap = Limits::default().max_decoded_bytes;
    let mut out = Vec::new();
    let err = v2_to_v1_bytes(&body, CustomBuckets::Keep, cap, &mut out).unwrap_err();
    let TranscodeError::TooLarge { limit, series } = err else {
        panic!("{err:?}");
    };
    assert_eq!(limit, cap);
    // Each series carries at least 29 x 2,000 bytes of label values: no more than this many
    // fit, and the conversion stops at the first that does not.
    assert!(series > 0 && series <= cap / (29 * 2000), "{series}");
    assert!(
        out.len() <= cap && out.capacity() <= cap,
        "{}",
        out.capacity()
    );
    // The same body converts completely under a cap that fits it.
    let small = crate::fixtures::amplifying_v2(3, 30, 2000);
    let t = v2_to_v1_bytes(&small, CustomBuckets::Keep, cap, &mut out).unwrap();
    assert_eq!((t.written.series, t.written.samples), (3, 3));
}

#[test]
fn exemplar_and_metadata_strings_count_against_the_cap() {
    let long = "y".repeat(1000);
    let mut b = Builder::new();
    let s = b.series(&[("__name__", "m")]);
    s.samples = vec![sample(1, 1.0, 0)];
    let refs = b.refs(&[("trace_id", long.as_str())]);
    let help = b.table.intern(long.as_str());
    let s = b.timeseries.last_mut().unwrap();
    s.exemplars = (0..10)
        .map(|i| v2::Exemplar {
            labels_refs: refs.clone(),
            value: 1.0,
            timestamp: i,
        })
        .collect();
    s.metadata = Some(v2::Metadata {
        r#type: 1,
        help_ref: help,
        unit_ref: 0,
    });
    let bytes = b.build().encode_to_vec();
    let mut full = Vec::new();
    v2_to_v1_bytes(&bytes, CustomBuckets::Keep, usize::MAX, &mut full).unwrap();
    // Ten exemplars of 1,000 bytes each, then 1,000 bytes of help.
    assert!(full.len() > 11_000, "{}", full.len());
    for cap in [5_000, full.len() - 500, full.len() - 1] {
        let mut out = Vec::new();
        let err = v2_to_v1_bytes(&bytes, CustomBuckets::Keep, cap, &mut out);
        assert!(
            matches!(err, Err(TranscodeError::TooLarge { limit, .. }) if limit == cap),
            "{cap}: {err:?}"
        );
        assert!(out.len() <= cap);
    }
    let mut out = Vec::new();
    v2_to_v1_bytes(&bytes, CustomBuckets::Keep, full.len(), &mut out).unwrap();
    assert_eq!(out, full);
}

// ---- properties --------------------------------------------------------------------------

/// What one generated series holds.
#[derive(Clone, Debug)]
enum Points {
    Samples(Vec<(i64, f64, i64)>),
    Exponential(Vec<(i64, Vec<u64>, i64)>),
    Custom(Vec<(i64, Vec<u64>)>),
}

#[derive(Clone, Debug)]
struct GenSeries {
    name: String,
    labels: BTreeMap<String, String>,
    points: Points,
    exemplars: Vec<(String, String, i64, f64)>,
    metadata: Option<(i32, String, String)>,
}

fn timestamps() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::btree_set(-(1i64 << 40)..1 << 41, 1..5)
        .prop_map(|set: BTreeSet<i64>| set.into_iter().collect())
}

fn arb_points() -> impl Strategy<Value = Points> {
    prop_oneof![
        (
            timestamps(),
            proptest::collection::vec((any::<f64>(), prop_oneof![Just(0i64), 1i64..1 << 41]), 5)
        )
            .prop_map(|(ts, vals)| Points::Samples(
                ts.into_iter()
                    .zip(vals)
                    .map(|(t, (v, s))| (t, v, s))
                    .collect()
            )),
        (
            timestamps(),
            proptest::collection::vec(
                (
                    proptest::collection::vec(0u64..5, 0..4),
                    prop_oneof![Just(0i64), 1i64..1000]
                ),
                5
            )
        )
            .prop_map(|(ts, hs)| Points::Exponential(
                ts.into_iter()
                    .zip(hs)
                    .map(|(t, (b, s))| (t, b, s))
                    .collect()
            )),
        (
            timestamps(),
            proptest::collection::vec(proptest::collection::vec(0u64..5, 1..4), 5)
        )
            .prop_map(|(ts, hs)| Points::Custom(ts.into_iter().zip(hs).collect())),
    ]
}

fn arb_series() -> impl Strategy<Value = GenSeries> {
    (
        "[a-z_:][a-z0-9_:]{0,6}",
        proptest::collection::btree_map("[a-z][a-z0-9_]{0,5}", "\\PC{1,6}", 0..4),
        arb_points(),
        proptest::collection::vec(
            ("[a-z]{1,4}", "[a-z0-9]{1,6}", 1i64..1 << 41, any::<f64>()),
            0..3,
        ),
        proptest::option::of((
            0i32..8,
            "[A-Za-z .]{0,8}",
            prop_oneof![Just(String::new()), "[a-z]{1,5}"],
        )),
    )
        .prop_map(|(name, labels, points, exemplars, metadata)| GenSeries {
            name,
            labels,
            points,
            exemplars,
            metadata,
        })
}

/// A valid v2 request (checked by the property itself).
fn arb_valid_v2() -> impl Strategy<Value = v2::Request> {
    proptest::collection::vec(arb_series(), 0..6).prop_map(|series| {
        let mut b = Builder::new();
        for g in &series {
            let mut labels: Vec<(&str, &str)> = vec![("__name__", g.name.as_str())];
            labels.extend(g.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            let exemplars: Vec<v2::Exemplar> = g
                .exemplars
                .iter()
                .map(|(n, v, timestamp, value)| v2::Exemplar {
                    labels_refs: b.refs(&[(n.as_str(), v.as_str())]),
                    value: *value,
                    timestamp: *timestamp,
                })
                .collect();
            let metadata = g
                .metadata
                .as_ref()
                .map(|(t, h, u)| b.metadata(*t, h.as_str(), u.as_str()));
            let s = b.series(&labels);
            s.exemplars = exemplars;
            s.metadata = metadata;
            match &g.points {
                Points::Samples(p) => {
                    s.samples = p.iter().map(|(t, v, st)| sample(*t, *v, *st)).collect();
                }
                Points::Exponential(p) => {
                    s.histograms = p
                        .iter()
                        .map(|(t, buckets, st)| exp_histogram(*t, buckets, *st))
                        .collect();
                }
                Points::Custom(p) => {
                    s.histograms = p.iter().map(|(t, b)| custom_histogram(*t, b)).collect();
                }
            }
        }
        b.build()
    })
}

fn is_custom(h: &v2::Histogram) -> bool {
    h.schema == CUSTOM_BUCKETS_SCHEMA
}

/// The owned request with what [`CustomBuckets::Drop`] drops removed.
fn without_custom_buckets(req: &v2::Request) -> v2::Request {
    let mut req = req.clone();
    req.timeseries.retain_mut(|ts| {
        let before = ts.histograms.len();
        ts.histograms.retain(|h| !is_custom(h));
        !(before > ts.histograms.len() && ts.samples.is_empty() && ts.histograms.is_empty())
    });
    req
}

/// (series labels, timestamp, value bits or histogram marker) of every point.
type Point = (Vec<(String, String)>, i64, u64);

/// Adds the points of one series: its labels, its (timestamp, value) samples and its
/// (timestamp, sum, schema) histograms.
fn add_points(
    out: &mut BTreeSet<Point>,
    labels: Vec<(String, String)>,
    samples: impl Iterator<Item = (i64, f64)>,
    histograms: impl Iterator<Item = (i64, f64, i32)>,
) {
    for (t, v) in samples {
        out.insert((labels.clone(), t, v.to_bits()));
    }
    for (t, sum, schema) in histograms {
        out.insert((labels.clone(), t, sum.to_bits() ^ schema as u64));
    }
}

fn v2_points(req: &v2::Request) -> BTreeSet<Point> {
    let mut out = BTreeSet::new();
    for ts in &req.timeseries {
        let symbol = |r: u32| req.symbols[r as usize].clone();
        let labels = ts
            .labels_refs
            .chunks(2)
            .map(|p| (symbol(p[0]), symbol(p[1])))
            .collect();
        let samples = ts.samples.iter().map(|s| (s.timestamp, s.value));
        let histograms = ts.histograms.iter().map(|h| (h.timestamp, h.sum, h.schema));
        add_points(&mut out, labels, samples, histograms);
    }
    out
}

fn v1_points(req: &v1::WriteRequest) -> BTreeSet<Point> {
    let mut out = BTreeSet::new();
    for ts in &req.timeseries {
        let labels = ts
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        let samples = ts.samples.iter().map(|s| (s.timestamp, s.value));
        let histograms = ts.histograms.iter().map(|h| (h.timestamp, h.sum, h.schema));
        add_points(&mut out, labels, samples, histograms);
    }
    out
}

fn errors(bytes: &[u8], protocol: Protocol) -> Vec<Rule> {
    validate(bytes, protocol, &Limits::default(), Mode::Report)
        .unwrap()
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule)
        .collect()
}

proptest! {
    #[test]
    fn every_valid_v2_request_converts_to_a_valid_v1_request_with_the_same_points(
        req in arb_valid_v2(),
    ) {
        let v2_bytes = req.encode_to_vec();
        // What the bytes say (prost does not encode -0.0).
        let req = v2::Request::decode(v2_bytes.as_slice()).unwrap();
        prop_assert_eq!(errors(&v2_bytes, Protocol::V2), vec![]);
        for custom in [CustomBuckets::Keep, CustomBuckets::Drop] {
            let mut out = Vec::new();
            let t = v2_to_v1_bytes(&v2_bytes, custom, usize::MAX, &mut out).unwrap();
            // 1.0 validation knows no custom buckets: with Keep they are its only finding.
            let v1_errors = errors(&out, Protocol::V1);
            match custom {
                CustomBuckets::Drop => prop_assert_eq!(&v1_errors, &vec![]),
                CustomBuckets::Keep => prop_assert!(
                    v1_errors.iter().all(|r| *r == Rule::HistogramBadSchema),
                    "{:?}", v1_errors
                ),
            }
            let expected = match custom {
                CustomBuckets::Keep => req.clone(),
                CustomBuckets::Drop => without_custom_buckets(&req),
            };
            let v1 = v1::WriteRequest::decode(out.as_slice()).unwrap();
            prop_assert_eq!(v1_points(&v1), v2_points(&expected));
            let counts = validate(&out, Protocol::V1, &Limits::default(), Mode::Report).unwrap().counts;
            prop_assert_eq!(
                (t.written.series, t.written.samples, t.written.histograms, t.written.exemplars),
                (counts.series, counts.samples, counts.histograms, counts.exemplars)
            );
            prop_assert_eq!(t.written.metadata, v1.metadata.len() as u64);
        }
    }

    #[test]
    fn the_transcoder_agrees_with_the_owned_conversion(req in arb_valid_v2()) {
        let v2_bytes = req.encode_to_vec();
        for custom in [CustomBuckets::Keep, CustomBuckets::Drop] {
            let mut out = Vec::new();
            let t = v2_to_v1_bytes(&v2_bytes, custom, usize::MAX, &mut out).unwrap();
            let owned_input = match custom {
                CustomBuckets::Keep => req.clone(),
                CustomBuckets::Drop => without_custom_buckets(&req),
            };
            let owned = v2_to_v1(&owned_input).unwrap();
            let ours = v1::WriteRequest::decode(out.as_slice()).unwrap();
            // Compare through prost's encoding (field order, NaN bits and -0.0 normalised).
            prop_assert_eq!(ours.encode_to_vec(), owned.encode_to_vec());
            let starts = owned_input.timeseries.iter().map(|ts| {
                ts.samples.iter().filter(|s| s.start_timestamp != 0).count()
                    + ts.histograms.iter().filter(|h| h.start_timestamp != 0).count()
            }).sum::<usize>();
            prop_assert_eq!(t.dropped.start_timestamps, starts as u64);
            let custom_count = req.timeseries.iter()
                .flat_map(|ts| &ts.histograms).filter(|h| is_custom(h)).count();
            let expect_dropped = if custom == CustomBuckets::Drop { custom_count } else { 0 };
            prop_assert_eq!(t.dropped.custom_bucket_histograms, expect_dropped as u64);
            prop_assert_eq!(
                t.dropped.series,
                (req.timeseries.len() - owned_input.timeseries.len()) as u64
            );
        }
    }

    #[test]
    fn a_cap_either_fits_the_whole_conversion_or_stops_it_below_the_cap(
        req in arb_valid_v2(),
        fraction in 0u32..=120,
    ) {
        let v2_bytes = req.encode_to_vec();
        let mut full = Vec::new();
        v2_to_v1_bytes(&v2_bytes, CustomBuckets::Keep, usize::MAX, &mut full).unwrap();
        let cap = full.len() * fraction as usize / 100;
        let mut out = Vec::new();
        match v2_to_v1_bytes(&v2_bytes, CustomBuckets::Keep, cap, &mut out) {
            Ok(_) => {
                prop_assert!(full.len() <= cap);
                prop_assert_eq!(&out, &full);
            }
            Err(TranscodeError::TooLarge { limit, .. }) => {
                prop_assert!(full.len() > cap);
                prop_assert_eq!(limit, cap);
                prop_assert!(out.len() <= cap);
            }
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let mut out = Vec::new();
        let _ = v2_to_v1_bytes(&bytes, CustomBuckets::Drop, usize::MAX, &mut out);
        let _ = v2_to_v1_bytes(&bytes, CustomBuckets::Keep, 64, &mut out);
        prop_assert!(out.len() <= 64);
    }
}
