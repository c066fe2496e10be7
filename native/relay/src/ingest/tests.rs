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

// === the rejection observer ===

/// Owned copy of a [`RejectedWrite`].
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    remote_addr: Option<std::net::SocketAddr>,
    body: Option<bytes::Bytes>,
    claimed: Option<Protocol>,
    status: u16,
    reason: &'static str,
    rules: std::collections::BTreeSet<&'static str>,
    text: String,
}

#[derive(Debug, Default)]
struct Recorder {
    seen: std::sync::Mutex<Vec<Seen>>,
}

impl super::RejectionObserver for Recorder {
    fn rejected(&self, write: &super::RejectedWrite<'_>) {
        self.seen.lock().unwrap().push(Seen {
            headers: write.headers.clone(),
            remote_addr: write.remote_addr,
            body: write.body.cloned(),
            claimed: write.claimed,
            status: write.status.as_u16(),
            reason: write.rejection.reason(),
            rules: write
                .rejection
                .findings()
                .iter()
                .map(|f| f.rule.id())
                .collect(),
            text: write.rejection.to_string(),
        });
    }
}

struct Observed {
    ingest: super::WalIngest,
    recorder: std::sync::Arc<Recorder>,
    _dir: tempfile::TempDir,
}

fn observed(limits: Limits) -> Observed {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = prw_wal::Wal::open(dir.path(), prw_wal::WalConfig::default()).unwrap();
    let recorder = std::sync::Arc::new(Recorder::default());
    let ingest = super::WalIngest::with_options(
        std::sync::Arc::new(wal),
        super::IngestOptions {
            rejection_observer: Some(recorder.clone()),
            ..super::IngestOptions::new(limits, Vec::new())
        },
        &mut prometheus_client::registry::Registry::default(),
    );
    Observed {
        ingest,
        recorder,
        _dir: dir,
    }
}

const PEER: &str = "192.0.2.7:40123";

fn write(
    headers: &[(&'static str, &'static str)],
    body: Vec<u8>,
) -> hyper::Request<http_body_util::Full<bytes::Bytes>> {
    let mut request = hyper::Request::post("/api/v1/write");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    request
        .extensions_mut()
        .insert(crate::handler::RemoteAddr(PEER.parse().unwrap()));
    request
}

const V1_HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/x-protobuf"),
    ("content-encoding", "snappy"),
    ("x-tenant", "team-a"),
];

/// The rules `crates/core/testdata/expected.json` lists for a fixture.
fn expected_rules(file: &str) -> std::collections::BTreeSet<String> {
    let expected: serde_json::Value = serde_json::from_slice(&testdata("expected.json")).unwrap();
    expected["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["file"] == file)
        .unwrap()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_invalid_write_is_shown_to_the_observer_with_its_headers_peer_body_and_findings() {
    let o = observed(Limits::default());
    let body = testdata("v1/bad_labels.bin");
    let response = o.ingest.answer(write(&V1_HEADERS, body.clone())).await;
    assert_eq!(response.status(), 400);
    let seen = o.recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.status, 400);
    assert_eq!(seen.remote_addr, Some(PEER.parse().unwrap()));
    assert_eq!(
        seen.body.as_deref(),
        Some(body.as_slice()),
        "body as received"
    );
    assert_eq!(seen.claimed, Some(Protocol::V1));
    assert_eq!(seen.headers["x-tenant"], "team-a");
    let rules: std::collections::BTreeSet<String> =
        seen.rules.iter().map(|r| (*r).to_owned()).collect();
    // Verdict mode stops at the first error: one of the fixture's known rule violations.
    assert!(!rules.is_empty());
    assert!(
        rules.is_subset(&expected_rules("v1/bad_labels.bin")),
        "{rules:?}"
    );
    assert!(seen.rules.contains(seen.reason), "reason is a rule id");
    assert!(seen.text.contains("labels.unsorted"), "{}", seen.text);
}

#[tokio::test]
async fn a_write_refused_on_its_content_length_is_shown_without_a_body() {
    let o = observed(Limits {
        max_body_bytes: 10,
        ..Limits::default()
    });
    let mut headers = V1_HEADERS.to_vec();
    headers.push(("content-length", "11"));
    let response = o.ingest.answer(write(&headers, vec![0; 11])).await;
    assert_eq!(response.status(), 413);
    let unsupported = o
        .ingest
        .answer(write(&[("content-encoding", "gzip")], vec![1, 2, 3]))
        .await;
    assert_eq!(unsupported.status(), 415);
    let seen = o.recorder.seen.lock().unwrap().clone();
    let summary: Vec<_> = seen
        .iter()
        .map(|s| (s.status, s.reason, s.body.is_some()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (413, "too_large", false),
            (415, "unsupported_media_type", false)
        ]
    );
}

#[tokio::test]
async fn accepted_writes_and_503s_are_not_shown_to_the_observer() {
    let o = observed(Limits::default());
    let valid = testdata("v1/valid.bin");
    let accepted = o.ingest.answer(write(&V1_HEADERS, valid.clone())).await;
    assert_eq!(accepted.status(), 204);
    o.ingest.begin_shutdown();
    let refused = o.ingest.answer(write(&V1_HEADERS, valid)).await;
    assert_eq!(refused.status(), 503);
    assert!(o.recorder.seen.lock().unwrap().is_empty());
}
