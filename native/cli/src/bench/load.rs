//! The load loop: N workers on one keep-alive HTTP/1.1 client (hyper 1 + hyper-util),
//! each sending pre-built payloads until the request count or the deadline is reached,
//! optionally paced to a target request rate.
//!
//! Invariants:
//! - Request `k` (0-based, in issue order across all workers) carries payload
//!   `k % payloads.len()`; with a rate, it is not sent before `start + k / rate`.
//! - A request counts as acknowledged only when the answer is 2xx and its body was read;
//!   its samples then count as accepted. Latency runs from sending the request to the end
//!   of the answer's body (so it includes queueing in the client when all connections
//!   are busy, never time spent waiting for the pacing slot).
//! - A transport error is classified as `connect` (nothing was sent) or `in_flight` (the
//!   connection failed after the request was written: the answer is unknown). After a
//!   `connect` error a worker pauses 10 ms, so a dead target does not spin the CPU.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prw_core::Protocol;

use super::payload::Payload;

/// When to stop and how fast to go.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Target URL.
    pub url: hyper::Uri,
    /// Wire schema of the payloads (selects the headers).
    pub protocol: Protocol,
    /// Concurrent requests.
    pub concurrency: usize,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Requests per second over all workers; `None`: as fast as possible.
    pub rate: Option<f64>,
    /// Extra headers on every request (`--header`, e.g. a tenant's `X-Scope-OrgID`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Live counters for the progress line.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests answered 2xx.
    pub ok: AtomicU64,
    /// Samples in those requests.
    pub samples: AtomicU64,
    /// Requests that failed (non-2xx or transport).
    pub failed: AtomicU64,
}

/// What the run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Requests sent (or attempted).
    pub sent: u64,
    /// Requests answered 2xx.
    pub ok: u64,
    /// Samples in requests answered 2xx.
    pub ok_samples: u64,
    /// Non-2xx answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Connection could not be opened (nothing sent).
    pub connect_errors: u64,
    /// Connection failed after sending: the answer is unknown.
    pub in_flight_errors: u64,
    /// Latency of 2xx answers in microseconds.
    pub latency_us: Histogram<u64>,
    /// The numbers of the requests answered 2xx (unordered).
    pub acked: Vec<u64>,
}

/// Runs the plan; `live` is updated as answers arrive.
pub async fn run(
    plan: Plan,
    payloads: Arc<Vec<Payload>>,
    live: Arc<Live>,
) -> Result<Outcome, hdrhistogram::CreationError> {
    let histogram = new_histogram()?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(plan.concurrency)
        .build(connector);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = plan.duration.map(|d| start + d);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency.max(1) {
        let worker = Worker {
            client: client.clone(),
            plan: plan.clone(),
            payloads: Arc::clone(&payloads),
            live: Arc::clone(&live),
            next: Arc::clone(&next),
            start,
            deadline,
            histogram: histogram.clone(),
        };
        workers.spawn(worker.run());
    }
    let mut outcome = Outcome {
        elapsed: Duration::ZERO,
        sent: 0,
        ok: 0,
        ok_samples: 0,
        statuses: BTreeMap::new(),
        connect_errors: 0,
        in_flight_errors: 0,
        latency_us: histogram,
        acked: Vec::new(),
    };
    while let Some(done) = workers.join_next().await {
        let Ok(part) = done else { continue };
        outcome.sent += part.sent;
        outcome.ok += part.ok;
        outcome.ok_samples += part.ok_samples;
        for (status, n) in part.statuses {
            *outcome.statuses.entry(status).or_default() += n;
        }
        outcome.connect_errors += part.connect_errors;
        outcome.in_flight_errors += part.in_flight_errors;
        outcome.acked.extend(part.acked);
        let _ = outcome.latency_us.add(&part.latency_us);
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits.
fn new_histogram() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    Histogram::new_with_bounds(1, 600_000_000, 3)
}

struct Worker {
    client: Client<HttpConnector, Full<Bytes>>,
    plan: Plan,
    payloads: Arc<Vec<Payload>>,
    live: Arc<Live>,
    next: Arc<AtomicU64>,
    start: Instant,
    deadline: Option<Instant>,
    histogram: Histogram<u64>,
}

impl Worker {
    async fn run(self) -> Outcome {
        let mut out = Outcome {
            elapsed: Duration::ZERO,
            sent: 0,
            ok: 0,
            ok_samples: 0,
            statuses: BTreeMap::new(),
            connect_errors: 0,
            in_flight_errors: 0,
            latency_us: self.histogram.clone(),
            acked: Vec::new(),
        };
        let (content_type, version) = match self.plan.protocol {
            Protocol::V1 => ("application/x-protobuf", "0.1.0"),
            Protocol::V2 => (
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                "2.0.0",
            ),
        };
        loop {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            if self.plan.requests.is_some_and(|n| k >= n) {
                break;
            }
            if let Some(rate) = self.plan.rate {
                let slot = self.start + Duration::from_secs_f64(k as f64 / rate.max(1e-9));
                if self.deadline.is_some_and(|d| slot >= d) {
                    break;
                }
                tokio::time::sleep_until(slot.into()).await;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let len = self.payloads.len().max(1) as u64;
            let Some(payload) = self.payloads.get((k % len) as usize) else {
                break;
            };
            let mut request = Request::post(self.plan.url.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
                .header(CONTENT_ENCODING, HeaderValue::from_static("snappy"))
                .header(
                    "X-Prometheus-Remote-Write-Version",
                    HeaderValue::from_static(version),
                )
                .header(USER_AGENT, HeaderValue::from_static("prw-bench"));
            for (name, value) in &self.plan.headers {
                request = request.header(name, value);
            }
            let request = request.body(Full::new(payload.body.clone()));
            let Ok(request) = request else { break };
            out.sent += 1;
            let sent_at = Instant::now();
            match self.client.request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.into_body().collect().await;
                    if body.is_err() {
                        out.in_flight_errors += 1;
                        self.live.failed.fetch_add(1, Ordering::Relaxed);
                    } else if (200..300).contains(&status) {
                        let micros =
                            u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX);
                        out.latency_us.saturating_record(micros.max(1));
                        out.ok += 1;
                        out.acked.push(k);
                        out.ok_samples += payload.samples;
                        self.live.ok.fetch_add(1, Ordering::Relaxed);
                        self.live
                            .samples
                            .fetch_add(payload.samples, Ordering::Relaxed);
                    } else {
                        *out.statuses.entry(status).or_default() += 1;
                        self.live.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(err) => {
                    self.live.failed.fetch_add(1, Ordering::Relaxed);
                    if err.is_connect() {
                        out.connect_errors += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else {
                        out.in_flight_errors += 1;
                    }
                }
            }
        }
        out
    }
}
