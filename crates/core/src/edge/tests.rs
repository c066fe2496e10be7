//! Decision tests: every status class, observe mode, and a proptest over arbitrary input.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::Protocol;
use crate::negotiate::{CONTENT_TYPE_V1, CONTENT_TYPE_V2};
use crate::proto::{v1, v2};

const NOW: i64 = 1_700_000_000_000;

fn v1_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| v1::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|(t, v)| v1::Sample {
                value: *v,
                timestamp: *t,
            })
            .collect(),
        ..Default::default()
    }
}

fn v1_body(series: Vec<v1::TimeSeries>) -> Vec<u8> {
    let raw = v1::WriteRequest {
        timeseries: series,
        metadata: vec![],
    }
    .encode_to_vec();
    crate::codec::compress(&raw).unwrap()
}

fn valid_v1() -> Vec<u8> {
    v1_body(vec![v1_series(
        &[("__name__", "up"), ("job", "api")],
        &[(NOW, 1.0)],
    )])
}

fn unsorted_v1() -> Vec<u8> {
    v1_body(vec![
        v1_series(&[("__name__", "up"), ("job", "api")], &[(NOW, 1.0)]),
        v1_series(
            &[("__name__", "up"), ("zone", "b"), ("job", "api")],
            &[(NOW, 1.0)],
        ),
    ])
}

fn v2_body(symbols: &[&str], refs: Vec<u32>, ts: i64) -> Vec<u8> {
    let request = v2::Request {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: refs,
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: ts,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    };
    crate::codec::compress(&request.encode_to_vec()).unwrap()
}

fn valid_v2() -> Vec<u8> {
    v2_body(&["", "__name__", "up", "job", "api"], vec![1, 2, 3, 4], NOW)
}

fn exam(protocol: Protocol) -> Examination {
    Examination {
        protocol,
        content_type: None,
    }
}

fn observe() -> EdgeConfig {
    EdgeConfig {
        mode: Mode::Observe,
        ..EdgeConfig::default()
    }
}

fn headers<'a>(ct: Option<&'a str>, ce: Option<&'a str>) -> RequestHeaders<'a> {
    RequestHeaders {
        content_type: ct,
        content_encoding: ce,
        ..RequestHeaders::default()
    }
}

fn rejection(decision: HeadersDecision) -> Rejection {
    match decision {
        HeadersDecision::Decided(Verdict::Reject(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn body_rejection(verdict: Verdict) -> Rejection {
    match verdict {
        Verdict::Reject(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn header<'a>(reply: &'a LocalReply, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn only_posts_to_write_paths_are_examined() {
    let c = EdgeConfig::default();
    assert_eq!(
        decide_request_head(&c, "POST", "/api/v1/write"),
        HeadAction::Examine
    );
    assert_eq!(
        decide_request_head(&c, "POST", "/api/v1/push?x=1"),
        HeadAction::Examine
    );
    assert_eq!(
        decide_request_head(&c, "GET", "/api/v1/write"),
        HeadAction::Pass
    );
    assert_eq!(
        decide_request_head(&c, "PUT", "/api/v1/write"),
        HeadAction::Pass
    );
    assert_eq!(
        decide_request_head(&c, "POST", "/api/v1/query"),
        HeadAction::Pass
    );
    assert_eq!(
        decide_request_head(&c, "POST", "/api/v1/write/extra"),
        HeadAction::Pass
    );
}

#[test]
fn canonical_v1_and_v2_headers_need_the_body_without_rewrite() {
    let c = EdgeConfig::default();
    for (ct, protocol) in [
        (CONTENT_TYPE_V1, Protocol::V1),
        (CONTENT_TYPE_V2, Protocol::V2),
    ] {
        let d = decide_headers(&c, &headers(Some(ct), Some("snappy")));
        assert_eq!(
            d,
            HeadersDecision::NeedBody(Examination {
                protocol,
                content_type: None
            })
        );
    }
}

#[test]
fn lenient_content_type_is_passed_on_in_canonical_form() {
    let c = EdgeConfig::default();
    let lenient = "application/x-protobuf; proto=io.prometheus.write.v2.Request";
    let d = decide_headers(&c, &headers(Some(lenient), None));
    let HeadersDecision::NeedBody(exam) = d else {
        panic!("{d:?}")
    };
    assert_eq!(
        exam,
        Examination {
            protocol: Protocol::V2,
            content_type: Some(CONTENT_TYPE_V2)
        }
    );
    let v = decide_body(&c, &exam, &valid_v2(), NOW);
    assert_eq!(
        v,
        Verdict::Forward {
            content_type: Some(CONTENT_TYPE_V2),
            observed: None
        }
    );
}

#[test]
fn bad_content_type_gets_415_naming_the_rule() {
    let r = rejection(decide_headers(
        &EdgeConfig::default(),
        &headers(Some("application/json"), None),
    ));
    assert_eq!(r.reply.status, 415);
    assert_eq!(r.rule, "edge.content_type");
    assert!(
        r.reply.body.contains("edge.content_type"),
        "{}",
        r.reply.body
    );
    assert_eq!(header(&r.reply, WRITTEN_HEADERS[0]), None);
}

#[test]
fn gzip_gets_415_and_a_v2_rejection_carries_the_written_headers() {
    let r = rejection(decide_headers(
        &EdgeConfig::default(),
        &headers(Some(CONTENT_TYPE_V2), Some("gzip")),
    ));
    assert_eq!((r.reply.status, r.rule), (415, "edge.content_encoding"));
    for name in WRITTEN_HEADERS {
        assert_eq!(header(&r.reply, name), Some("0"), "{name}");
    }
}

#[test]
fn schema_not_accepted_gets_415() {
    let c = EdgeConfig {
        accepted_protocols: vec![Protocol::V1],
        ..EdgeConfig::default()
    };
    let r = rejection(decide_headers(&c, &headers(Some(CONTENT_TYPE_V2), None)));
    assert_eq!(
        (r.reply.status, r.rule),
        (415, "edge.protocol_not_accepted")
    );
}

#[test]
fn missing_tenant_gets_401_or_the_configured_400() {
    let mut c = EdgeConfig {
        tenant_header: Some("X-Scope-OrgID".to_string()),
        ..EdgeConfig::default()
    };
    let r = rejection(decide_headers(&c, &headers(Some(CONTENT_TYPE_V1), None)));
    assert_eq!((r.reply.status, r.rule), (401, "edge.tenant_missing"));
    assert!(r.reply.body.contains("X-Scope-OrgID"));
    c.missing_tenant_status = 400;
    let d = decide_headers(&c, &headers(Some(CONTENT_TYPE_V1), None));
    let HeadersDecision::Decided(v) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(v.outcome(), Outcome::RejectedMissingTenant);
    let r = rejection(d);
    assert_eq!(r.reply.status, 400);
    let pairs = [
        ("content-type", CONTENT_TYPE_V1),
        ("x-scope-orgid", "team-a"),
    ];
    let d = decide_headers(&c, &RequestHeaders::from_pairs(&pairs, &c));
    assert!(matches!(d, HeadersDecision::NeedBody(_)), "{d:?}");
}

#[test]
fn a_limits_tenant_that_is_not_a_tenant_id_gets_400_before_the_body() {
    let c: EdgeConfig = serde_json::from_str(r#"{"tenants": {}}"#).unwrap();
    let pairs = [
        ("content-type", CONTENT_TYPE_V2),
        ("x-scope-orgid", "two words"),
    ];
    let h = RequestHeaders::from_pairs(&pairs, &c);
    assert_eq!(limits_tenant(&h), Some("two words"));
    let r = rejection(decide_headers(&c, &h));
    assert_eq!((r.reply.status, r.rule), (400, "edge.tenant_invalid"));
    assert_eq!(header(&r.reply, WRITTEN_HEADERS[0]), Some("0"));
    // A blank header is no tenant (the anonymous one), not an invalid one.
    let blank = [("content-type", CONTENT_TYPE_V1), ("x-scope-orgid", " ")];
    let h = RequestHeaders::from_pairs(&blank, &c);
    assert_eq!(limits_tenant(&h), None);
    assert!(matches!(
        decide_headers(&c, &h),
        HeadersDecision::NeedBody(_)
    ));
    // Without `tenants` the header is not read.
    let h = RequestHeaders::from_pairs(&pairs, &EdgeConfig::default());
    assert_eq!(h.limits_tenant, None);
}

#[test]
fn check_body_hands_on_the_decoded_body_and_its_counts() {
    let c = EdgeConfig::default();
    let BodyCheck::Passed(checked) = check_body(&c, &exam(Protocol::V2), &valid_v2(), NOW) else {
        panic!("a valid body passes");
    };
    assert_eq!(checked.protocol, Protocol::V2);
    assert_eq!((checked.counts.series, checked.counts.samples), (1, 1));
    let raw = crate::codec::decompress(&valid_v2(), &c.limits).unwrap();
    assert_eq!(checked.decoded, raw);
    assert!(matches!(
        check_body(&c, &exam(Protocol::V1), &unsorted_v1(), NOW),
        BodyCheck::Decided(Verdict::Reject(_))
    ));
}

#[test]
fn content_length_over_the_limit_gets_413_before_the_body() {
    let mut c = EdgeConfig::default();
    c.limits.max_body_bytes = 100;
    let h = RequestHeaders {
        content_length: Some("101"),
        ..headers(Some(CONTENT_TYPE_V1), None)
    };
    let r = rejection(decide_headers(&c, &h));
    assert_eq!((r.reply.status, r.rule), (413, "edge.body_size"));
    let h = RequestHeaders {
        content_length: Some("100"),
        ..h
    };
    assert!(matches!(
        decide_headers(&c, &h),
        HeadersDecision::NeedBody(_)
    ));
}

#[test]
fn valid_v1_and_v2_bodies_are_forwarded() {
    let c = EdgeConfig::default();
    let v = decide_body(&c, &exam(Protocol::V1), &valid_v1(), NOW);
    assert_eq!(v.outcome(), Outcome::Accepted);
    assert_eq!(v.rule(), None);
    let v = decide_body(&c, &exam(Protocol::V2), &valid_v2(), NOW);
    assert_eq!(
        v,
        Verdict::Forward {
            content_type: None,
            observed: None
        }
    );
}

#[test]
fn unsorted_labels_get_400_naming_rule_series_and_labels() {
    let r = body_rejection(decide_body(
        &EdgeConfig::default(),
        &exam(Protocol::V1),
        &unsorted_v1(),
        NOW,
    ));
    assert_eq!((r.reply.status, r.rule), (400, "labels.unsorted"));
    let body = &r.reply.body;
    assert!(body.contains("labels.unsorted"), "{body}");
    assert!(body.contains("series 1"), "{body}");
    assert!(body.contains(r#"zone="b""#), "{body}");
    assert!(body.contains("label"), "{body}");
}

#[test]
fn invalid_v2_gets_400_with_written_headers() {
    // symbols[0] must be "" and refs must be in range.
    let body = v2_body(&["", "__name__", "up"], vec![1, 2, 3, 9], NOW);
    let r = body_rejection(decide_body(
        &EdgeConfig::default(),
        &exam(Protocol::V2),
        &body,
        NOW,
    ));
    assert_eq!(r.reply.status, 400);
    assert!(r.reply.body.contains(r.rule));
    assert_eq!(header(&r.reply, WRITTEN_HEADERS[2]), Some("0"));
}

#[test]
fn corrupt_snappy_gets_400() {
    let r = body_rejection(decide_body(
        &EdgeConfig::default(),
        &exam(Protocol::V1),
        b"\x05\xff\xff\xff",
        NOW,
    ));
    assert_eq!((r.reply.status, r.rule), (400, "edge.snappy"));
}

#[test]
fn snappy_of_garbage_gets_400_protobuf() {
    let body = crate::codec::compress(b"\xff\xff\xff\xff\xff\xff").unwrap();
    let r = body_rejection(decide_body(
        &EdgeConfig::default(),
        &exam(Protocol::V1),
        &body,
        NOW,
    ));
    assert_eq!((r.reply.status, r.rule), (400, "edge.protobuf"));
}

#[test]
fn decompression_bomb_gets_413_from_the_preamble() {
    let mut c = EdgeConfig::default();
    c.limits.max_decoded_bytes = 1000;
    let big = crate::codec::compress(&vec![0u8; 100_000]).unwrap();
    let r = body_rejection(decide_body(&c, &exam(Protocol::V1), &big, NOW));
    assert_eq!((r.reply.status, r.rule), (413, "edge.decoded_size"));
}

#[test]
fn body_over_the_limit_gets_413() {
    let mut c = EdgeConfig::default();
    c.limits.max_body_bytes = 10;
    let r = body_rejection(decide_body(&c, &exam(Protocol::V1), &valid_v1(), NOW));
    assert_eq!((r.reply.status, r.rule), (413, "edge.body_size"));
}

#[test]
fn samples_older_than_max_sample_age_get_400() {
    let c = EdgeConfig {
        max_sample_age: Some(3_600_000),
        ..EdgeConfig::default()
    };
    let old = v1_body(vec![v1_series(
        &[("__name__", "up")],
        &[(NOW - 7_200_000, 1.0)],
    )]);
    let r = body_rejection(decide_body(&c, &exam(Protocol::V1), &old, NOW));
    assert_eq!((r.reply.status, r.rule), (400, "edge.sample_too_old"));
    assert!(
        r.reply.body.contains(r#"__name__="up""#),
        "{}",
        r.reply.body
    );
    let old_v2 = v2_body(&["", "__name__", "up"], vec![1, 2], NOW - 7_200_000);
    let r = body_rejection(decide_body(&c, &exam(Protocol::V2), &old_v2, NOW));
    assert_eq!(r.rule, "edge.sample_too_old");
    assert_eq!(
        decide_body(&c, &exam(Protocol::V1), &valid_v1(), NOW).outcome(),
        Outcome::Accepted
    );
}

#[test]
fn observe_mode_forwards_everything_and_keeps_the_finding() {
    let c = EdgeConfig {
        tenant_header: Some("x-scope-orgid".to_string()),
        ..observe()
    };
    let d = decide_headers(&c, &headers(Some("text/plain"), None));
    let HeadersDecision::Decided(v) = d else {
        panic!("{d:?}")
    };
    assert_eq!(
        (v.outcome(), v.rule(), v.reply()),
        (Outcome::Observed, Some("edge.content_type"), None)
    );
    let d = decide_headers(&c, &headers(Some(CONTENT_TYPE_V1), None));
    let HeadersDecision::Decided(v) = d else {
        panic!("{d:?}")
    };
    assert_eq!(
        (v.outcome(), v.rule()),
        (Outcome::Observed, Some("edge.tenant_missing"))
    );
    for (body, rule) in [
        (unsorted_v1(), "labels.unsorted"),
        (b"\x05\xff".to_vec(), "edge.snappy"),
    ] {
        let v = decide_body(&observe(), &exam(Protocol::V1), &body, NOW);
        assert!(
            matches!(
                v,
                Verdict::Forward {
                    observed: Some(_),
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(
            (v.outcome(), v.rule(), v.reply()),
            (Outcome::Observed, Some(rule), None)
        );
    }
}

#[test]
fn enforce_rejections_count_by_status_class() {
    let cases = [
        (415, Outcome::RejectedUnsupportedMediaType),
        (401, Outcome::RejectedMissingTenant),
        (413, Outcome::RejectedTooLarge),
        (400, Outcome::RejectedInvalid),
    ];
    for (status, outcome) in cases {
        assert_eq!(Outcome::for_reply_status(status), outcome);
    }
}

fn arb_header() -> impl Strategy<Value = (String, String)> {
    let names = prop_oneof![
        Just("content-type".to_string()),
        Just("content-encoding".to_string()),
        Just("content-length".to_string()),
        Just("x-scope-orgid".to_string()),
        "[a-zA-Z-]{1,12}",
    ];
    let values = prop_oneof![
        Just(CONTENT_TYPE_V1.to_string()),
        Just(CONTENT_TYPE_V2.to_string()),
        Just("snappy".to_string()),
        "\\PC{0,40}",
        "[0-9]{1,25}",
    ];
    (names, values)
}

proptest! {
    #[test]
    fn any_request_gets_a_status_from_the_table(
        method in prop_oneof![Just("POST".to_string()), Just("GET".to_string()), "[A-Z]{0,7}"],
        path in prop_oneof![Just("/api/v1/write".to_string()), "\\PC{0,30}"],
        pairs in proptest::collection::vec(arb_header(), 0..6),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            Just(valid_v1()), Just(unsorted_v1()), Just(valid_v2()),
        ],
        observe_mode in any::<bool>(),
        tenant in any::<bool>(),
        age in proptest::option::of(1u64..10_000_000),
        now in any::<i64>(),
        limits in proptest::option::of((1u64..100, 1u64..10, proptest::option::of(any::<[u8; 16]>()))),
        bridge in any::<bool>(),
    ) {
        let mut c = EdgeConfig { max_sample_age: age, ..EdgeConfig::default() };
        if observe_mode { c.mode = Mode::Observe; }
        if tenant { c.tenant_header = Some("x-scope-orgid".to_string()); }
        if bridge { c.upstream_protocol = UpstreamProtocol::V1; }
        let mut bucket = None;
        if let Some((rate, burst, state)) = limits {
            let mut tenants = TenantsConfig::default();
            tenants.default.ingestion_rate = Some(rate as f64);
            tenants.default.ingestion_burst_size = Some(burst);
            tenants.default.max_series_per_request = Some(burst);
            c.tenants = Some(tenants);
            bucket = state.and_then(|b| bucket::BucketState::from_bytes(&b));
        }
        prop_assert_eq!(c.check(), Ok(()));
        c.limits.max_body_bytes = 200;
        let _ = decide_request_head(&c, &method, &path);
        let h = RequestHeaders::from_pairs(&pairs, &c);
        // The filter's flow: headers, body, tenant limits, bridge.
        let verdict = match decide_headers(&c, &h) {
            HeadersDecision::Decided(v) => v,
            HeadersDecision::NeedBody(exam) => match check_body(&c, &exam, &body, now) {
                BodyCheck::Decided(v) => v,
                BodyCheck::Passed(checked) => {
                    let admitted = c.tenants.as_ref().and_then(|tenants| {
                        let tenant = tenants.resolve(limits_tenant(&h));
                        let a = decide_admission(&tenant, &checked.counts, checked.protocol, bucket, now);
                        admission_verdict(&c, &a, exam.content_type)
                    });
                    let bridged = bridge_body(&c, &checked)
                        .and_then(Result::err)
                        .map(|r| settle(&c, r, exam.content_type));
                    admitted.or(bridged).unwrap_or(Verdict::Forward {
                        content_type: exam.content_type,
                        observed: None,
                    })
                }
            },
        };
        if let Some(reply) = verdict.reply() {
            prop_assert_eq!(reply.status == 429, header(reply, "retry-after").is_some());
        }
        if let Some(reply) = verdict.reply() {
            prop_assert!(REPLY_STATUSES.contains(&reply.status), "{}", reply.status);
            prop_assert!(!observe_mode);
            prop_assert!(reply.body.contains(verdict.rule().unwrap_or("?")));
        }
        if let Verdict::Forward { observed: Some(r), .. } = &verdict {
            prop_assert!(REPLY_STATUSES.contains(&r.reply.status));
        }
    }

    #[test]
    fn any_response_keeps_or_maps_its_status_by_the_table(
        status in 100u16..600,
        local in any::<bool>(),
        has_retry_after in any::<bool>(),
    ) {
        let source = if local { ResponseSource::Local } else { ResponseSource::Upstream };
        let d = decide_response(&EdgeConfig::default(), status, source, has_retry_after);
        let shown = d.status.unwrap_or(status);
        if local && status == 408 { prop_assert_eq!(shown, 503); } else { prop_assert_eq!(d.status, None); }
        prop_assert_eq!(d.retry_after.is_some(), !has_retry_after && (shown == 429 || shown == 503));
    }
}

#[test]
fn edge_statuses_agree_with_the_shared_retry_table() {
    use crate::classify::{RetryAdvice, retry_advice};
    // Every local reply is something a sender must not retry (it can never succeed),
    // except the rate limit's 429 (with Retry-After), retried by senders that retry 429s...
    for status in REPLY_STATUSES {
        let expected = if status == 429 {
            RetryAdvice::If429Enabled
        } else {
            RetryAdvice::No
        };
        assert_eq!(retry_advice(status), expected, "{status}");
    }
    // ...while Envoy's own timeout, dropped as a 408, becomes retryable once rewritten.
    assert_eq!(retry_advice(408), RetryAdvice::No);
    let d = decide_response(&EdgeConfig::default(), 408, ResponseSource::Local, false);
    assert_eq!(retry_advice(d.status.unwrap_or(408)), RetryAdvice::Yes);
}

#[test]
fn configured_limits_get_400_naming_the_limit_rule() {
    let mut c = EdgeConfig::default();
    c.limits.max_labels_per_series = 1;
    let r = body_rejection(decide_body(&c, &exam(Protocol::V1), &valid_v1(), NOW));
    assert_eq!((r.reply.status, r.rule), (400, "limits.labels_per_series"));
    let mut c = EdgeConfig::default();
    c.limits.max_series = 1;
    let two = v1_body(vec![
        v1_series(&[("__name__", "a")], &[(NOW, 1.0)]),
        v1_series(&[("__name__", "b")], &[(NOW, 1.0)]),
    ]);
    let r = body_rejection(decide_body(&c, &exam(Protocol::V1), &two, NOW));
    assert_eq!((r.reply.status, r.rule), (400, "limits.series"));
}
