//! The receive path over real sockets on 127.0.0.1:0 with a real WAL in a temporary
//! directory: what is acknowledged is in the WAL, what is rejected never reaches it, and no
//! request is acknowledged before its fsync. Each test stops the server it started.

// Helpers outside `#[test]` fns are test code too; clippy.toml only exempts test fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "ingest/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{Answer, FIXED_NOW_MS, Relay, fixture, fixture_headers, small_limits};
use hyper::StatusCode;
use hyper::header::RETRY_AFTER;
use prost::Message;
use prw_core::Protocol;
use prw_core::classify::WrittenHeader;
use prw_core::proto::v1;
use prw_relay::record::Record;
use prw_wal::Position;

const V1: &str = "application/x-protobuf";
const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

fn written(answer: &Answer) -> Vec<Option<String>> {
    WrittenHeader::ALL
        .iter()
        .map(|h| {
            answer
                .headers
                .get(h.name())
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

fn no_written(answer: &Answer) -> bool {
    written(answer).iter().all(Option::is_none)
}

fn zero_written(answer: &Answer) -> bool {
    written(answer) == vec![Some("0".to_owned()); 3]
}

fn v1_body(series: Vec<v1::TimeSeries>) -> Vec<u8> {
    let request = v1::WriteRequest {
        timeseries: series,
        ..Default::default()
    };
    prw_core::codec::compress(&request.encode_to_vec()).unwrap()
}

fn series(labels: &[(&str, &str)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| v1::Label {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: 1_767_225_600_000,
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn prometheus_capture_is_acknowledged_and_stored_verbatim_without_written_headers() {
    let relay = Relay::start(Default::default()).await;
    let body = fixture("prometheus-2.42/samples.bin");
    let answer = relay
        .post(
            &fixture_headers("prometheus-2.42/samples.headers"),
            body.clone(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    assert!(no_written(&answer), "v1 answers carry no Written headers");

    let records = relay.records();
    assert_eq!(records.len(), 1);
    let record = Record::decode(&records[0]).unwrap();
    assert_eq!(record.protocol, Protocol::V1);
    assert_eq!(record.body, body, "the body is stored exactly as received");
    assert_eq!(record.received_at_ms, FIXED_NOW_MS);
    let decoded = prw_core::codec::decompress(&body, &Default::default()).unwrap();
    let request = v1::WriteRequest::decode(decoded.as_slice()).unwrap();
    let samples: usize = request.timeseries.iter().map(|s| s.samples.len()).sum();
    let newest = request
        .timeseries
        .iter()
        .flat_map(|s| s.samples.iter().map(|x| x.timestamp))
        .max();
    assert_eq!(record.samples as usize, samples);
    assert_eq!(record.max_timestamp_ms, newest);
    relay.stop().await;
}

#[tokio::test]
async fn prometheus_metadata_only_request_is_acknowledged() {
    let relay = Relay::start(Default::default()).await;
    let answer = relay
        .post(
            &fixture_headers("prometheus-2.42/metadata.headers"),
            fixture("prometheus-2.42/metadata.bin"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let record = Record::decode(&relay.records()[0]).unwrap();
    assert_eq!((record.samples, record.max_timestamp_ms), (0, None));
    relay.stop().await;
}

#[tokio::test]
async fn valid_v1_and_v2_fixtures_are_acknowledged_and_v2_answers_carry_counts() {
    let relay = Relay::start(Default::default()).await;
    let v1_answer = relay
        .post(&[("content-type", V1)], fixture("v1/valid.bin"))
        .await;
    assert_eq!(
        v1_answer.status,
        StatusCode::NO_CONTENT,
        "{}",
        v1_answer.body
    );
    assert!(no_written(&v1_answer));

    let v2_body = fixture("v2/valid.bin");
    let v2_answer = relay.post(&[("content-type", V2)], v2_body.clone()).await;
    assert_eq!(
        v2_answer.status,
        StatusCode::NO_CONTENT,
        "{}",
        v2_answer.body
    );
    // README: 4 samples, 2 histograms, 1 exemplar.
    assert_eq!(
        written(&v2_answer),
        vec![Some("4".into()), Some("2".into()), Some("1".into())]
    );

    let records = relay.records();
    assert_eq!(records.len(), 2);
    let stored = Record::decode(&records[1]).unwrap();
    assert_eq!(stored.protocol, Protocol::V2);
    assert_eq!(stored.body, v2_body);
    assert_eq!(
        (stored.samples, stored.histograms, stored.exemplars),
        (4, 2, 1)
    );
    relay.stop().await;
}

#[tokio::test]
async fn forwarded_headers_are_stored_with_the_record() {
    let relay = Relay::start(Default::default()).await;
    let answer = relay
        .post(
            &[
                ("content-type", V1),
                ("x-scope-orgid", "tenant-7"),
                ("x-not-forwarded", "nope"),
            ],
            fixture("v1/valid.bin"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    let record = Record::decode(&relay.records()[0]).unwrap();
    let headers: Vec<(&str, &str)> = record
        .headers
        .iter()
        .map(|h| (h.name(), h.value()))
        .collect();
    assert_eq!(headers, vec![("x-scope-orgid", "tenant-7")]);
    relay.stop().await;
}

#[tokio::test]
async fn durable_writes_advance_the_newest_received_time_and_rejections_do_not() {
    let relay = Relay::start(Default::default()).await;
    let newest = relay.ingest.newest_received();
    let load = || newest.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(load(), 0);
    let rejected = relay
        .post(&[("content-type", "text/plain")], fixture("v1/valid.bin"))
        .await;
    assert_eq!(rejected.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(load(), 0);
    let answer = relay
        .post(&[("content-type", V1)], fixture("v1/valid.bin"))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    assert_eq!(load(), FIXED_NOW_MS);
    relay.stop().await;
}

struct Bad {
    what: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: StatusCode,
    says: &'static str,
}

fn bad_inputs() -> Vec<Bad> {
    let mut over_limit = fixture("prometheus-2.42/samples.bin");
    over_limit.resize(small_limits().max_body_bytes + 1, 0);
    vec![
        Bad {
            what: "unsupported content type",
            headers: vec![("content-type", "application/json")],
            body: fixture("v1/valid.bin"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            says: "Content-Type",
        },
        Bad {
            what: "gzip",
            headers: fixture_headers("v1/gzip.headers"),
            body: fixture("v1/gzip.bin"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            says: "Content-Encoding",
        },
        Bad {
            what: "body over max_body_bytes",
            headers: vec![("content-type", V1)],
            body: over_limit,
            status: StatusCode::PAYLOAD_TOO_LARGE,
            says: "exceeds the limit",
        },
        Bad {
            what: "snappy bomb",
            headers: vec![("content-type", V1)],
            body: fixture("v1/snappy_bomb.bin"),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            says: "4294967295",
        },
        Bad {
            what: "bad snappy",
            headers: vec![("content-type", V1)],
            body: fixture("v1/random.bin"),
            status: StatusCode::BAD_REQUEST,
            says: "snappy",
        },
        Bad {
            what: "bad protobuf",
            headers: vec![("content-type", V1)],
            body: prw_core::codec::compress(&[0x0f, 0xff, 0xff, 0xff]).unwrap(),
            status: StatusCode::BAD_REQUEST,
            says: "protobuf",
        },
        Bad {
            what: "unsorted labels",
            headers: vec![("content-type", V1)],
            body: v1_body(vec![series(&[
                ("__name__", "up"),
                ("job", "a"),
                ("instance", "x"),
            ])]),
            status: StatusCode::BAD_REQUEST,
            says: "labels.unsorted: series 0",
        },
        Bad {
            what: "duplicate label name",
            headers: vec![("content-type", V1)],
            body: v1_body(vec![series(&[
                ("__name__", "up"),
                ("job", "a"),
                ("job", "b"),
            ])]),
            status: StatusCode::BAD_REQUEST,
            says: "labels.duplicate_name: series 0",
        },
        Bad {
            what: "missing __name__",
            headers: vec![("content-type", V1)],
            body: v1_body(vec![
                series(&[("__name__", "up"), ("job", "a")]),
                series(&[("instance", "x"), ("job", "a")]),
            ]),
            status: StatusCode::BAD_REQUEST,
            says: "metric_name.missing: series 1",
        },
        Bad {
            what: "bad labels fixture",
            headers: vec![("content-type", V1)],
            body: fixture("v1/bad_labels.bin"),
            status: StatusCode::BAD_REQUEST,
            says: "labels.",
        },
        Bad {
            what: "v2 label ref out of range",
            headers: vec![("content-type", V2)],
            body: fixture("v2/label_ref_out_of_range.bin"),
            status: StatusCode::BAD_REQUEST,
            says: "v2.label_ref_out_of_range: series 0",
        },
        Bad {
            what: "v2 sent gzip",
            headers: vec![("content-type", V2), ("content-encoding", "gzip")],
            body: fixture("v1/gzip.bin"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            says: "Content-Encoding",
        },
    ]
}

#[tokio::test]
async fn every_bad_input_gets_its_status_and_nothing_reaches_the_wal() {
    let relay = Relay::start(harness::Options {
        limits: small_limits(),
        ..Default::default()
    })
    .await;
    let before = relay.wal.stats().next;
    for bad in bad_inputs() {
        let answer = relay.post(&bad.headers, bad.body).await;
        assert_eq!(answer.status, bad.status, "{}: {}", bad.what, answer.body);
        assert!(
            answer.body.contains(bad.says),
            "{}: body {:?} should mention {:?}",
            bad.what,
            answer.body,
            bad.says
        );
        let is_v2 = bad.headers.iter().any(|(_, v)| *v == V2);
        if is_v2 {
            assert!(
                zero_written(&answer),
                "{}: v2 rejections carry 0s",
                bad.what
            );
        } else {
            assert!(no_written(&answer), "{}: v1 answers carry none", bad.what);
        }
        assert_eq!(
            relay.wal.stats().next,
            before,
            "{} reached the WAL",
            bad.what
        );
    }
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("prw_ingest_rejected_total{reason=\"labels.unsorted\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("prw_ingest_rejected_total{reason=\"unsupported_media_type\"} 3"),
        "{metrics}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_refused_with_413_while_streaming() {
    let relay = Relay::start(harness::Options {
        limits: small_limits(),
        ..Default::default()
    })
    .await;
    let before = relay.wal.stats().next;
    let chunk = vec![0u8; 1024];
    let chunks = small_limits().max_body_bytes / chunk.len() + 2;
    let status = relay.post_chunked(V1, &chunk, chunks).await;
    assert_eq!(status, 413);
    assert_eq!(relay.wal.stats().next, before);
    relay.stop().await;
}

#[tokio::test]
async fn no_request_is_acknowledged_while_the_fsync_is_held() {
    let relay = Relay::start(Default::default()).await;
    relay.gate.hold();
    let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for tenant in ["a", "b", "c"] {
        let (tx, client) = (tx.clone(), relay.client());
        tokio::spawn(async move {
            let answer = client
                .post(
                    &[("content-type", V1), ("x-scope-orgid", tenant)],
                    fixture("v1/valid.bin"),
                )
                .await;
            let _ = tx.send(answer);
        });
    }
    drop(tx);
    relay.gate.entered().await;
    // An append is inside fsync and held there; the others wait for it (group commit) or
    // for the WAL lock: no answer may arrive.
    let early = tokio::time::timeout(Duration::from_millis(300), answers.recv()).await;
    assert!(early.is_err(), "answered while the fsync was held");
    assert_eq!(relay.wal.stats().durable, Position(0));
    relay.gate.pass();
    let mut acknowledged = 0;
    while let Some(answer) = answers.recv().await {
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
        acknowledged += 1;
    }
    assert_eq!(acknowledged, 3);
    assert_eq!(relay.records().len(), 3);
    relay.stop().await;
}

#[tokio::test]
async fn failed_fsync_answers_503_with_retry_after_and_acknowledges_nothing() {
    let relay = Relay::start(Default::default()).await;
    relay.gate.fail();
    for _ in 0..2 {
        // The first fails in fsync; the second finds the WAL poisoned.
        let answer = relay
            .post(&[("content-type", V2)], fixture("v2/valid.bin"))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.body
        );
        assert_eq!(answer.headers[RETRY_AFTER], "5");
        assert!(zero_written(&answer));
    }
    assert!(
        relay.records().is_empty(),
        "nothing durable may be read back"
    );
    assert_eq!(relay.wal.stats().durable, Position(0));
    // The failure is repaired by the next append, not by a restart.
    assert!(relay.metrics().await.contains("\nprw_wal_poisoned 0"));
    relay.stop().await;
}

#[tokio::test]
async fn full_wal_under_block_policy_answers_503_with_retry_after() {
    let relay = Relay::start(harness::Options {
        wal_max_bytes: Some(8 * 1024),
        ..Default::default()
    })
    .await;
    let body = fixture("prometheus-2.42/samples.bin");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let before = relay.wal.stats().next;
        let answer = relay.post(&[("content-type", V1)], body.clone()).await;
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(answer.headers[RETRY_AFTER], "5");
            assert!(answer.body.contains("WAL full"), "{}", answer.body);
            assert_eq!(
                relay.wal.stats().next,
                before,
                "a refused request was stored"
            );
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses[0], StatusCode::NO_CONTENT);
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        relay
            .metrics()
            .await
            .contains("prw_ingest_rejected_total{reason=\"wal_full\"}")
    );
    relay.stop().await;
}

#[tokio::test]
async fn writes_during_shutdown_get_503_with_retry_after() {
    let relay = Relay::start(Default::default()).await;
    relay.ingest.begin_shutdown();
    let answer = relay
        .post(&[("content-type", V1)], fixture("v1/valid.bin"))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers[RETRY_AFTER], "5");
    assert!(relay.records().is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn metrics_count_acknowledged_samples_and_show_the_wal() {
    let relay = Relay::start(Default::default()).await;
    let answer = relay
        .post(&[("content-type", V2)], fixture("v2/valid.bin"))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let metrics = relay.metrics().await;
    for line in [
        "prw_ingest_requests_total{status=\"204\",protocol=\"v2\"} 1",
        "prw_ingest_samples_total 4",
        "prw_ingest_histograms_total 2",
        "prw_ingest_exemplars_total 1",
        "prw_wal_segments 1",
        "prw_ingest_body_bytes_count 1",
        "prw_ingest_request_duration_seconds_count 1",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("prw_wal_bytes "), "{metrics}");
    relay.stop().await;
}
