// Shared by the fuzz target (`fuzz_targets/decode_validate.rs`) and the regression test
// (`tests/fuzz_regressions.rs`) through `include!`, so every crash replays exactly.
//
// Properties: nothing panics; the borrowed view accepts exactly the bodies prost accepts
// (report mode reads everything); verdict mode never finds an error report mode misses;
// facts agree with counts; the report builds; conversion of what decodes does not panic.

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
    let _ = prw_core::report::build(data, &prw_core::report::ReportOptions::default());
}
