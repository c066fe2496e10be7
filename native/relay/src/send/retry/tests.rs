//! The retry loop against the scripted transport, in paused time.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::registry::Registry;
use prost::Message;
use prw_core::classify::Backoff;
use prw_core::proto::v1::{Label, Sample, TimeSeries, WriteRequest};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::TokioClock;
use crate::send::batch::{ItemCounts, MetadataItem};
use crate::send::context::RetryPolicy;
use crate::send::headers::RequestHeaders;
use crate::send::metrics::RemoteStorageMetrics;
use crate::send::scripted::{Answer, ScriptedTransport};
use crate::send::stats::{ProtocolState, SendStats};

/// 2023-11-14T22:13:20Z.
const BASE_MS: i64 = 1_700_000_000_000;

struct Fixture {
    transport: Arc<ScriptedTransport>,
    ctx: SendContext,
    registry: Registry,
    start: Instant,
}

fn fixture(protocol: Protocol, min: u64, max: u64, retry_on_http_429: bool) -> Fixture {
    let transport = Arc::new(ScriptedTransport::new());
    let mut registry = Registry::default();
    let metrics = RemoteStorageMetrics::register(&mut registry).destination("dest", "http://x/");
    let ctx = SendContext {
        name: "dest".to_owned(),
        url: "http://receiver.test/api/v1/write".parse().unwrap(),
        transport: transport.clone(),
        headers: RequestHeaders::default(),
        policy: RetryPolicy {
            backoff: Backoff::new(Duration::from_millis(min), Duration::from_millis(max)).unwrap(),
            retry_on_http_429,
            sample_age_limit: None,
        },
        protocol: Arc::new(ProtocolState::new(protocol)),
        metrics,
        stats: Arc::new(SendStats::new()),
        clock: Arc::new(TokioClock::starting_at(BASE_MS)),
        stop: CancellationToken::new(),
        decorator: None,
        observers: Vec::new(),
    };
    Fixture {
        transport,
        ctx,
        registry,
        start: Instant::now(),
    }
}

fn series(id: u64, timestamps: &[i64]) -> SeriesItem {
    let series = TimeSeries {
        labels: vec![Label {
            name: "id".into(),
            value: id.to_string(),
        }],
        samples: timestamps
            .iter()
            .map(|&timestamp| Sample {
                value: 1.0,
                timestamp,
            })
            .collect(),
        ..TimeSeries::default()
    };
    SeriesItem {
        series: Bytes::from(series.encode_to_vec()),
        symbols: None,
        hash: id,
        counts: ItemCounts {
            samples: timestamps.len() as u64,
            ..ItemCounts::default()
        },
        min_timestamp_ms: timestamps.iter().copied().min().unwrap_or(i64::MAX),
        max_timestamp_ms: timestamps.iter().copied().max().unwrap_or(i64::MIN),
        record_seq: 1,
        headers: Arc::from(Vec::new()),
    }
}

fn batch() -> Batch {
    Batch::Series(vec![series(1, &[BASE_MS]), series(2, &[BASE_MS])])
}

async fn run(f: &Fixture, batch: Batch) -> Outcome {
    deliver(
        &f.ctx,
        &mut Encoders::default(),
        &mut JitterSource::None,
        batch,
    )
    .await
}

/// Request start times, in ms since the fixture was made.
fn offsets_ms(f: &Fixture) -> Vec<u128> {
    f.transport
        .requests()
        .iter()
        .map(|r| (r.started - f.start).as_millis())
        .collect()
}

fn metrics_text(f: &Fixture) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &f.registry).unwrap();
    out
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

fn decode_body(body: &[u8]) -> WriteRequest {
    WriteRequest::decode(
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .unwrap()
            .as_slice(),
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_on_the_exact_doubling_schedule() {
    let f = fixture(Protocol::V1, 30, 5000, false);
    f.transport
        .push([500, 502, 503, 500, 500, 500, 500, 500, 500].map(Answer::status));
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    // Delays 30, 60, 120, 240, 480, 960, 1920, 3840, then capped at 5000.
    assert_eq!(
        offsets_ms(&f),
        vec![0, 30, 90, 210, 450, 930, 1890, 3810, 7650, 12650]
    );
    let attempts: Vec<_> = f
        .transport
        .requests()
        .iter()
        .map(|r| {
            r.request
                .headers
                .get("retry-attempt")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(attempts[0], None);
    assert_eq!(attempts[1].as_deref(), Some("1"));
    assert_eq!(attempts[9].as_deref(), Some("9"));
    let text = metrics_text(&f);
    assert!(has_line(
        &text,
        r#"prometheus_remote_storage_samples_retried_total{remote_name="dest",url="http://x/"} 18"#
    ));
    assert!(has_line(
        &text,
        r#"prometheus_remote_storage_samples_total{remote_name="dest",url="http://x/"} 20"#
    ));
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_honoured_exactly_and_not_capped() {
    let f = fixture(Protocol::V1, 30, 5000, false);
    f.transport.push([
        Answer::with_headers(503, &[("retry-after", "7")]),
        Answer::status(500),
    ]);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    // 7 s as asked, then the backoff doubles from 7 s and is capped at 5 s.
    assert_eq!(offsets_ms(&f), vec![0, 7000, 12000]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_honoured() {
    let f = fixture(Protocol::V1, 30, 5000, false);
    f.transport.push([Answer::with_headers(
        503,
        &[("retry-after", "Tue, 14 Nov 2023 22:13:40 GMT")],
    )]);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    assert_eq!(offsets_ms(&f), vec![0, 20_000]);
}

#[tokio::test(start_paused = true)]
async fn too_many_requests_is_retried_when_enabled() {
    let f = fixture(Protocol::V1, 30, 5000, true);
    f.transport
        .push([Answer::with_headers(429, &[("retry-after", "2")])]);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    assert_eq!(offsets_ms(&f), vec![0, 2000]);
}

#[tokio::test(start_paused = true)]
async fn too_many_requests_is_dropped_when_not_enabled() {
    let f = fixture(Protocol::V1, 30, 5000, false);
    f.transport
        .push([Answer::with_headers(429, &[("retry-after", "2")])]);
    assert_eq!(
        run(&f, batch()).await,
        Outcome::Dropped { status: Some(429) }
    );
    assert_eq!(f.transport.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn client_errors_drop_the_batch_once_and_are_counted_by_status() {
    for status in [400u16, 401, 413] {
        let f = fixture(Protocol::V1, 30, 5000, true);
        f.transport.push([Answer::Status {
            status,
            headers: Vec::new(),
            body: Bytes::from("x".repeat(2000)),
        }]);
        assert_eq!(
            run(&f, batch()).await,
            Outcome::Dropped {
                status: Some(status)
            }
        );
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(f.transport.requests().len(), 1, "status {status} resent");
        let text = metrics_text(&f);
        assert!(has_line(
            &text,
            &format!(
                r#"prw_remote_requests_total{{remote_name="dest",url="http://x/",status="{status}"}} 1"#
            )
        ));
        assert!(has_line(
            &text,
            r#"prometheus_remote_storage_samples_failed_total{remote_name="dest",url="http://x/"} 2"#
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn transport_errors_are_retried() {
    let f = fixture(Protocol::V1, 100, 5000, false);
    f.transport.push([Answer::ConnectError, Answer::Timeout]);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    assert_eq!(offsets_ms(&f), vec![0, 100, 300]);
    assert!(has_line(
        &metrics_text(&f),
        r#"prw_remote_requests_total{remote_name="dest",url="http://x/",status="transport_error"} 2"#
    ));
}

async fn run_v2(f: &Fixture, batch: Batch) -> Outcome {
    let mut encoders = Encoders {
        v2: Some(Box::new(crate::send::encode::V2Encoder::new())),
        ..Encoders::default()
    };
    deliver(&f.ctx, &mut encoders, &mut JitterSource::None, batch).await
}

fn content_types(f: &Fixture) -> Vec<String> {
    f.transport
        .requests()
        .iter()
        .map(|r| {
            r.request.headers["content-type"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

const V2_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

#[tokio::test(start_paused = true)]
async fn v2_answered_415_falls_back_to_v1_and_resends_the_same_series() {
    let f = fixture(Protocol::V2, 30, 5000, false);
    f.transport.push([Answer::status(415)]);
    assert_eq!(run_v2(&f, batch()).await, Outcome::Delivered);
    assert_eq!(content_types(&f), vec![V2_TYPE, "application/x-protobuf"]);
    assert_eq!(offsets_ms(&f), vec![0, 0]);
    let requests = f.transport.requests();
    assert!(requests[1].request.headers.get("retry-attempt").is_none());
    let resent = decode_body(&requests[1].request.body);
    assert_eq!(resent.timeseries.len(), 2);
    assert_eq!(f.ctx.protocol.current(), Protocol::V1);
    assert!(has_line(
        &metrics_text(&f),
        r#"prw_remote_fallbacks_total{remote_name="dest",url="http://x/"} 1"#
    ));
    // Later batches go straight to v1.
    assert_eq!(run_v2(&f, batch()).await, Outcome::Delivered);
    assert_eq!(content_types(&f)[2], "application/x-protobuf");
}

#[tokio::test(start_paused = true)]
async fn v2_answered_2xx_without_written_headers_falls_back_to_v1() {
    let f = fixture(Protocol::V2, 30, 5000, false);
    f.transport.push([Answer::status(204)]);
    assert_eq!(run_v2(&f, batch()).await, Outcome::Delivered);
    assert_eq!(content_types(&f), vec![V2_TYPE, "application/x-protobuf"]);
}

#[tokio::test(start_paused = true)]
async fn v2_answered_2xx_with_written_headers_is_delivered_as_v2() {
    let f = fixture(Protocol::V2, 30, 5000, false);
    f.transport.push([Answer::with_headers(
        204,
        &[("x-prometheus-remote-write-samples-written", "1")],
    )]);
    assert_eq!(run_v2(&f, batch()).await, Outcome::Delivered);
    assert_eq!(content_types(&f), vec![V2_TYPE]);
    assert_eq!(f.ctx.protocol.current(), Protocol::V2);
    // One of two samples was not written: counted failed.
    assert!(has_line(
        &metrics_text(&f),
        r#"prometheus_remote_storage_samples_failed_total{remote_name="dest",url="http://x/"} 1"#
    ));
}

#[tokio::test(start_paused = true)]
async fn stop_token_ends_the_retries_without_another_attempt() {
    let f = fixture(Protocol::V1, 1000, 1000, false);
    f.transport.set_default(crate::send::scripted::Step {
        delay: Duration::ZERO,
        answer: Answer::status(500),
    });
    let stop = f.ctx.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(3500)).await;
        stop.cancel();
    });
    assert_eq!(run(&f, batch()).await, Outcome::Aborted);
    assert_eq!(offsets_ms(&f), vec![0, 1000, 2000, 3000]);
    assert_eq!(f.start.elapsed(), Duration::from_millis(3500));
}

#[tokio::test(start_paused = true)]
async fn data_that_ages_past_the_limit_while_retrying_is_dropped_as_too_old() {
    let mut f = fixture(Protocol::V1, 1000, 1000, false);
    f.ctx.policy.sample_age_limit = Some(Duration::from_secs(1));
    f.transport.set_default(crate::send::scripted::Step {
        delay: Duration::ZERO,
        answer: Answer::status(500),
    });
    // Series 1 is one sample at BASE; series 2 also has a newer sample.
    let batch = Batch::Series(vec![
        series(1, &[BASE_MS]),
        series(2, &[BASE_MS, BASE_MS + 5000]),
    ]);
    let outcome = tokio::time::timeout(Duration::from_millis(2500), run(&f, batch)).await;
    assert!(outcome.is_err(), "series 2 keeps being retried");
    let requests = f.transport.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(decode_body(&requests[1].request.body).timeseries.len(), 2);
    // At t=2 s the cutoff passed BASE: series 1 is gone, series 2 lost its old sample.
    let last = decode_body(&requests[2].request.body);
    assert_eq!(last.timeseries.len(), 1);
    assert_eq!(last.timeseries[0].samples.len(), 1);
    let text = metrics_text(&f);
    assert!(has_line(
        &text,
        r#"prometheus_remote_storage_samples_dropped_total{remote_name="dest",url="http://x/",reason="too_old"} 2"#
    ));
}

#[tokio::test(start_paused = true)]
async fn batch_entirely_too_old_ends_without_a_request() {
    let mut f = fixture(Protocol::V1, 1000, 1000, false);
    f.ctx.policy.sample_age_limit = Some(Duration::from_secs(1));
    let old = Batch::Series(vec![series(1, &[BASE_MS - 5000])]);
    assert_eq!(run(&f, old).await, Outcome::TooOld);
    assert!(f.transport.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn metadata_is_sent_to_v1_and_skipped_for_v2() {
    let f = fixture(Protocol::V1, 30, 5000, false);
    let item = MetadataItem {
        entries: vec![Bytes::from_static(b"\x08\x01\x12\x02up")],
        record_seq: 1,
        headers: Arc::from(Vec::new()),
    };
    assert_eq!(
        run(&f, Batch::Metadata(item.clone())).await,
        Outcome::Delivered
    );
    assert_eq!(
        decode_body(&f.transport.requests()[0].request.body)
            .metadata
            .len(),
        1
    );
    let f2 = fixture(Protocol::V2, 30, 5000, false);
    assert_eq!(
        run_v2(&f2, Batch::Metadata(item)).await,
        Outcome::NotApplicable
    );
    assert!(f2.transport.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_shortens_delays_by_at_most_a_fifth_never_below_min_backoff() {
    let f = fixture(Protocol::V1, 100, 800, false);
    f.transport.push([500; 6].map(Answer::status));
    let mut jitter = JitterSource::Seeded(SplitMix64::new(7));
    let outcome = deliver(&f.ctx, &mut Encoders::default(), &mut jitter, batch()).await;
    assert_eq!(outcome, Outcome::Delivered);
    let starts = offsets_ms(&f);
    let gaps: Vec<u128> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 6);
    let mut prev_delay: Option<u128> = None;
    for gap in &gaps {
        // The next base is twice the previous (jittered) delay, capped at 800 ms.
        let base = prev_delay.map_or(100, |d| (d * 2).clamp(100, 800));
        assert!(
            *gap <= base && *gap * 5 >= base * 4 - 5 && *gap >= 100,
            "{gaps:?}"
        );
        prev_delay = Some(*gap);
    }
    assert_ne!(
        gaps,
        vec![100, 200, 400, 800, 800, 800],
        "no jitter was applied"
    );
}

mod hooks;
