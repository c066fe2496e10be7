//! Unit tests of the checks and of the rejection table (no sockets; those are in
//! `tests/ingest.rs`).

use hyper::HeaderMap;
use hyper::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use prw_core::validate::{Finding, Rule, Severity};
use prw_core::{Limits, Protocol};
use prw_wal::WalError;

use super::check::{
    check_body, check_declared_length, claimed_protocol, forwarded_headers, negotiate_headers,
};
use super::rejection::{Rejection, finding_line};

const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/core/testdata")
            .join(name),
    )
    .unwrap()
}

fn headers(pairs: &[(HeaderName, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name.clone(), HeaderValue::from_static(value));
    }
    map
}

#[test]
fn v2_request_sent_gzip_is_refused_but_still_claims_v2() {
    let map = headers(&[(CONTENT_TYPE, V2), (CONTENT_ENCODING, "gzip")]);
    let err = negotiate_headers(&map).unwrap_err();
    assert_eq!(err.status(), 415);
    assert_eq!(claimed_protocol(&map), Some(Protocol::V2));
}

#[test]
fn missing_content_type_is_v1() {
    assert_eq!(negotiate_headers(&HeaderMap::new()).unwrap(), Protocol::V1);
}

#[test]
fn declared_length_over_the_limit_is_413_before_reading() {
    let limits = Limits {
        max_body_bytes: 10,
        ..Limits::default()
    };
    let over = headers(&[(CONTENT_LENGTH, "11")]);
    let err = check_declared_length(&over, &limits).unwrap_err();
    assert_eq!(err.status(), 413);
    assert_eq!(err.reason(), "too_large");
    assert!(check_declared_length(&headers(&[(CONTENT_LENGTH, "10")]), &limits).is_ok());
}

#[test]
fn forwarded_headers_keep_every_value_in_config_order_and_refuse_unstorable_ones() {
    let tenant = HeaderName::from_static("x-scope-orgid");
    let other = HeaderName::from_static("x-other");
    let mut map = headers(&[
        (other.clone(), "o"),
        (tenant.clone(), "a"),
        (tenant.clone(), "b"),
    ]);
    let got = forwarded_headers(&map, &[tenant.clone(), other.clone()]).unwrap();
    let got: Vec<_> = got.iter().map(|h| (h.name(), h.value())).collect();
    assert_eq!(
        got,
        vec![
            ("x-scope-orgid", "a"),
            ("x-scope-orgid", "b"),
            ("x-other", "o")
        ]
    );
    map.insert(tenant.clone(), HeaderValue::from_bytes(b"caf\xe9").unwrap());
    let err = forwarded_headers(&map, &[tenant]).unwrap_err();
    assert_eq!((err.status().as_u16(), err.reason()), (400, "bad_header"));
}

#[test]
fn prometheus_capture_checks_out_with_counts_and_newest_timestamp() {
    let facts = check_body(
        &testdata("prometheus-2.42/samples.bin"),
        Protocol::V1,
        &Limits::default(),
    )
    .unwrap();
    assert!(facts.samples > 0);
    assert_eq!(facts.histograms, 0);
    assert!(facts.max_timestamp_ms.is_some());
}

#[test]
fn a_finding_reads_as_rule_place_and_explanation() {
    let finding = Finding {
        rule: Rule::LabelsUnsorted,
        severity: Severity::Error,
        series: Some(3),
        sample: None,
        label: Some("job".to_owned()),
    };
    assert_eq!(
        finding_line(&finding),
        format!(
            "labels.unsorted: series 3, label \"job\": {}",
            Rule::LabelsUnsorted.explanation()
        )
    );
}

#[test]
fn wal_errors_map_to_503_with_retry_after_except_an_oversized_record() {
    let full = Rejection::from_wal(WalError::Full {
        used: 1,
        max_bytes: 1,
        needed: 1,
    });
    assert_eq!(
        (full.status().as_u16(), full.reason(), full.retry_after()),
        (503, "wal_full", Some(5))
    );
    let disk_full = Rejection::from_wal(WalError::Io {
        op: "write",
        path: "seg".into(),
        source: std::io::ErrorKind::StorageFull.into(),
    });
    assert_eq!(
        (disk_full.status().as_u16(), disk_full.reason()),
        (503, "wal_full")
    );
    let poisoned = Rejection::from_wal(WalError::Poisoned);
    assert_eq!(
        (poisoned.status().as_u16(), poisoned.reason()),
        (503, "wal_error")
    );
    let too_large = Rejection::from_wal(WalError::RecordTooLarge { len: 2, max: 1 });
    assert_eq!(
        (too_large.status().as_u16(), too_large.retry_after()),
        (413, None)
    );
    assert_eq!(Rejection::ShuttingDown.retry_after(), Some(5));
}
