// Shared by the fuzz targets (`fuzz_targets/*.rs`) and the regression test
// (`tests/fuzz_regressions.rs`) through `include!`, so every crash replays exactly.
//
// Properties (`check`, target `decode_validate`): nothing panics; the borrowed view
// accepts exactly the bodies prost accepts (report mode reads everything); verdict mode
// never finds an error report mode misses; facts agree with counts; the report builds;
// conversion of what decodes does not panic. It also runs the two checks below on every
// body it sees.
//
// `check_paths` (target `validate_paths`): validation with the single-pass fast path
// returns exactly what the general path alone returns (findings, counts, facts, decode
// error), in both modes and under tight limits.
//
// `check_facts` (target `facts`): for every body prost decodes (v1 and v2), each series'
// facts are what prost gives: its range and message decode to the same series, counts,
// oldest and newest timestamp, and the label-set hash (v2: over the resolved symbols,
// for series whose refs all resolve).

/// Runs every property on one input.
pub fn check(data: &[u8]) {
    use prost::Message;
    use prw_core::proto::{v1, v2};
    use prw_core::validate::{Mode, validate, validate_with_facts};
    use prw_core::{Limits, Protocol};

    let limits = Limits::default();
    let mut bodies = vec![data.to_vec()];
    if let Ok(decoded) = prw_core::codec::decompress(data, &limits) {
        bodies.push(decoded);
    }
    for body in &bodies {
        for protocol in [Protocol::V1, Protocol::V2] {
            let report = validate(body, protocol, &limits, Mode::Report);
            let prost_ok = match protocol {
                Protocol::V1 => v1::WriteRequest::decode(body.as_slice()).is_ok(),
                Protocol::V2 => v2::Request::decode(body.as_slice()).is_ok(),
            };
            assert_eq!(report.is_ok(), prost_ok, "view and prost disagree ({protocol}): {report:?}");
            let verdict = validate(body, protocol, &limits, Mode::Verdict);
            if let (Ok(r), Ok(v)) = (&report, &verdict) {
                assert_eq!(r.has_errors(), v.has_errors(), "verdict and report disagree");
            }
            let mut facts = Vec::new();
            if let (Ok(r), Ok(_)) =
                (&report, validate_with_facts(body, protocol, &limits, Mode::Report, &mut facts))
            {
                assert_eq!(facts.len() as u64, r.counts.series);
                let samples: u64 = facts.iter().map(|f| u64::from(f.samples)).sum();
                assert_eq!(samples, r.counts.samples);
                for f in &facts {
                    assert!(body.get(f.range.clone()).is_some(), "range out of the body");
                }
            }
        }
        if let Ok(req) = v1::WriteRequest::decode(body.as_slice()) {
            let v2 = prw_core::convert::v1_to_v2(&req);
            assert_eq!(v2.symbols.first().map(String::as_str), Some(""));
        }
        if let Ok(req) = v2::Request::decode(body.as_slice()) {
            let _ = prw_core::convert::v2_to_v1(&req);
        }
    }
    for body in &bodies {
        check_paths(0, body);
        check_facts(body);
    }
    let _ = prw_core::report::build(data, &prw_core::report::ReportOptions::default());
}

/// Limits chosen by one byte: the defaults, or small ones that make the limit rules and
/// their edges reachable.
pub fn limits_from(selector: u8) -> prw_core::Limits {
    let limits = prw_core::Limits::default();
    if selector == 0 {
        return limits;
    }
    let small = usize::from(selector);
    prw_core::Limits {
        max_series: small % 7,
        max_labels_per_series: small % 5,
        max_label_name_bytes: small % 19,
        max_label_value_bytes: small % 131,
        ..limits
    }
}

/// The fast path and the general path agree on `body` as v1 (and v2, which has one path).
pub fn check_paths(limits_selector: u8, body: &[u8]) {
    use prw_core::Protocol;
    use prw_core::validate::{Mode, validate, validate_with_facts, validate_with_facts_general};

    let limits = limits_from(limits_selector);
    for protocol in [Protocol::V1, Protocol::V2] {
        for mode in [Mode::Report, Mode::Verdict] {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            let a = validate_with_facts(body, protocol, &limits, mode, &mut fast);
            let b = validate_with_facts_general(body, protocol, &limits, mode, &mut general);
            assert_eq!(a, b, "fast and general paths disagree ({protocol}, {mode:?})");
            assert_eq!(fast, general, "fast and general facts disagree ({protocol}, {mode:?})");
            assert_eq!(validate(body, protocol, &limits, mode), b, "validate disagrees");
        }
    }
}

/// Every series' facts are what prost decodes from the same body.
pub fn check_facts(body: &[u8]) {
    use prost::Message;
    use prw_core::hash::label_set_hash;
    use prw_core::proto::{v1, v2};
    use prw_core::validate::{Mode, Rule, validate_with_facts};
    use prw_core::{Limits, Protocol};

    let limits = Limits::default();
    let mut facts = Vec::new();
    if let (Ok(owned), Ok(_)) = (
        v1::WriteRequest::decode(body),
        validate_with_facts(body, Protocol::V1, &limits, Mode::Report, &mut facts),
    ) {
        assert_eq!(facts.len(), owned.timeseries.len(), "v1 facts per series");
        for (f, ts) in facts.iter().zip(&owned.timeseries) {
            let framed = v1::WriteRequest::decode(&body[f.range.clone()]).expect("v1 range decodes");
            // Compared encoded: prost's encoding is deterministic and keeps NaN bits.
            assert_eq!(framed.timeseries.len(), 1, "v1 range is one series");
            assert_eq!(framed.timeseries[0].encode_to_vec(), ts.encode_to_vec(), "v1 range is the series");
            assert!(framed.metadata.is_empty(), "v1 range is only the series");
            let message = v1::TimeSeries::decode(&body[f.message()]).expect("v1 message decodes");
            assert_eq!(message.encode_to_vec(), ts.encode_to_vec(), "v1 message is the series");
            let labels = ts.labels.iter().map(|l| (l.name.as_str(), l.value.as_str()));
            assert_eq!(f.hash, label_set_hash(labels), "v1 hash");
            let stamps: Vec<i64> = ts.samples.iter().map(|s| s.timestamp)
                .chain(ts.histograms.iter().map(|h| h.timestamp))
                .chain(ts.exemplars.iter().map(|e| e.timestamp))
                .collect();
            assert_eq!(
                (f.samples as usize, f.histograms as usize, f.exemplars as usize),
                (ts.samples.len(), ts.histograms.len(), ts.exemplars.len()),
                "v1 counts"
            );
            assert_eq!(f.min_timestamp, stamps.iter().copied().min(), "v1 oldest");
            assert_eq!(f.max_timestamp, stamps.iter().copied().max(), "v1 newest");
        }
    }
    let mut facts = Vec::new();
    if let (Ok(owned), Ok(validation)) = (
        v2::Request::decode(body),
        validate_with_facts(body, Protocol::V2, &limits, Mode::Report, &mut facts),
    ) {
        assert_eq!(facts.len(), owned.timeseries.len(), "v2 facts per series");
        for (i, (f, ts)) in facts.iter().zip(&owned.timeseries).enumerate() {
            let framed = v2::Request::decode(&body[f.range.clone()]).expect("v2 range decodes");
            assert_eq!(framed.timeseries.len(), 1, "v2 range is one series");
            assert_eq!(framed.timeseries[0].encode_to_vec(), ts.encode_to_vec(), "v2 range is the series");
            assert!(framed.symbols.is_empty(), "v2 range is only the series");
            let message = v2::TimeSeries::decode(&body[f.message()]).expect("v2 message decodes");
            assert_eq!(message.encode_to_vec(), ts.encode_to_vec(), "v2 message is the series");
            let unresolved = validation.findings.iter().any(|finding| {
                finding.series == Some(i)
                    && finding.sample.is_none()
                    && matches!(finding.rule, Rule::V2LabelRefOutOfRange | Rule::V2LabelsRefsOdd)
            });
            if !unresolved {
                let symbol = |r: &u32| owned.symbols[*r as usize].as_str();
                let labels = ts.labels_refs.chunks(2).map(|p| (symbol(&p[0]), symbol(&p[1])));
                assert_eq!(f.hash, label_set_hash(labels), "v2 hash");
            }
            let stamps: Vec<i64> = ts.samples.iter().map(|s| s.timestamp)
                .chain(ts.histograms.iter().map(|h| h.timestamp))
                .chain(ts.exemplars.iter().map(|e| e.timestamp))
                .collect();
            assert_eq!(
                (f.samples as usize, f.histograms as usize, f.exemplars as usize),
                (ts.samples.len(), ts.histograms.len(), ts.exemplars.len()),
                "v2 counts"
            );
            assert_eq!(f.min_timestamp, stamps.iter().copied().min(), "v2 oldest");
            assert_eq!(f.max_timestamp, stamps.iter().copied().max(), "v2 newest");
        }
    }
}
