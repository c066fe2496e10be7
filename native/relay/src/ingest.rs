//! The receive path: [`WalIngest`] answers `POST /api/v1/write` (and `/api/v1/push`).
//!
//! Order of checks (remote-write.md section 7; the server already answered 405 for other
//! methods and 401 for failed listener auth): shutting down (503) -> Content-Type and
//! Content-Encoding (415) -> forwarded header values (400) -> Content-Length over
//! `max_body_bytes` (413, body not read) -> body read with a hard cap (413) -> snappy preamble
//! over `max_decoded_bytes` (413, nothing allocated) -> snappy (400) -> protobuf (400) ->
//! validation, verdict mode (400 with the findings) -> WAL append -> 204.
//!
//! Invariants:
//! - 204 is answered only after the WAL writer (`ingest/writer.rs`) reported the record
//!   durable (under `sync: always`: every request pending at once shares one append and one
//!   fsync) and in the tail.
//! - Each body is decompressed and validated once ([`prepare`]): the decoded body and the
//!   per-series facts of that pass travel to delivery through the tail, never recomputed;
//!   when every destination forwards such a record whole ([`crate::tail::Tail::whole_limit`])
//!   the facts are skipped and only the body as received travels (`ingest/prepare.rs`).
//!   Bodies up to 512 KiB are decoded on the request's task, larger ones on the blocking
//!   pool; the append runs on the writer thread, never on a runtime worker.
//! - A rejected request writes nothing to the WAL.
//! - Every answer to a v2 request carries the three Written headers (0 unless 2xx); v1
//!   answers carry none (`answer`).
//! - Every 4xx answer is shown to the [`RejectionObserver`], if one is set (`ingest/observe.rs`).
//! - The stored record holds the body exactly as received (snappy), the counts, the newest
//!   timestamp and the configured forwarded headers; a record over the WAL's
//!   `max_record_bytes` is answered 413 before it reaches the writer.

mod answer;
mod body;
mod check;
mod metrics;
mod observe;
mod prepare;
mod rejection;
mod writer;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::header::HeaderName;
use hyper::{HeaderMap, Request, Response};
use prometheus_client::registry::Registry;
use prw_core::{Limits, Protocol};
use prw_wal::Wal;

pub use check::{BodyFacts, CheckedBody, check_body, decode_body};
pub use metrics::{IngestMetrics, RejectLabels, RequestLabels};
pub use observe::{RejectedWrite, RejectionObserver};
pub use prepare::{PrepareSettings, Prepared, prepare};
pub use rejection::{RETRY_AFTER_SECS, Rejection, finding_line};

use crate::clock::{Clock, SystemClock};
use crate::handler::{BoxFuture, Ingest, RemoteAddr, ResponseBody};
use crate::record::ForwardedHeader;
use crate::tail::Tail;
use writer::WalWriter;

/// Bodies up to this size (compressed) are decoded and validated on the request's own task
/// (about 1 ms for 2,000 series): handing them to the blocking pool would cost more in
/// thread wake-ups than it saves. Larger ones go to the blocking pool.
const INLINE_DECODE_MAX_BYTES: usize = 512 << 10;

/// The relay's [`Ingest`]: validates write requests and appends them to the WAL.
/// Cheap to clone (shared state); keep a clone to call [`WalIngest::begin_shutdown`].
#[derive(Clone, Debug)]
pub struct WalIngest {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    wal: Arc<Wal>,
    writer: Option<WalWriter>,
    tail: Arc<Tail>,
    max_record_bytes: u64,
    limits: Limits,
    forward_headers: Vec<HeaderName>,
    metrics: IngestMetrics,
    clock: Arc<dyn Clock>,
    rejection_observer: Option<Arc<dyn RejectionObserver>>,
    shutting_down: AtomicBool,
    wal_failure_logged: AtomicBool,
    /// `received_at_ms` of the newest durable record (for delivery's lag metric).
    newest_received_ms: Arc<AtomicI64>,
}

impl WalIngest {
    /// A pipeline appending to `wal`, enforcing `limits`, storing the `forward_headers`
    /// (config order) with each record; its metrics go into `registry`. Stamps records with
    /// the system clock.
    pub fn new(
        wal: Arc<Wal>,
        limits: Limits,
        forward_headers: Vec<HeaderName>,
        registry: &mut Registry,
    ) -> Self {
        Self::with_clock(
            wal,
            limits,
            forward_headers,
            registry,
            Arc::new(SystemClock),
        )
    }

    /// Like [`WalIngest::new`], with the clock that stamps `received_at_ms`.
    pub fn with_clock(
        wal: Arc<Wal>,
        limits: Limits,
        forward_headers: Vec<HeaderName>,
        registry: &mut Registry,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::with_options(
            wal,
            IngestOptions {
                clock,
                ..IngestOptions::new(limits, forward_headers)
            },
            registry,
        )
    }

    /// A pipeline appending to `wal` as `options` say; its metrics (and the tail's) go into
    /// `registry`. Starts the WAL writer thread (if it cannot start, which only happens when
    /// the system is out of threads, it is logged and every write is answered 503).
    pub fn with_options(wal: Arc<Wal>, options: IngestOptions, registry: &mut Registry) -> Self {
        let metrics = IngestMetrics::register(registry, Arc::clone(&wal));
        let IngestOptions {
            limits,
            forward_headers,
            clock,
            rejection_observer,
            tail_max_bytes,
            max_record_bytes,
        } = options;
        let tail = Arc::new(Tail::new(tail_max_bytes, wal.stats().next.0));
        tail.metrics().register(registry);
        let writer = WalWriter::spawn(Arc::clone(&wal), Arc::clone(&tail))
            .inspect_err(|error| tracing::error!(%error, "cannot start the WAL writer thread"))
            .ok();
        Self {
            inner: Arc::new(Inner {
                wal,
                writer,
                tail,
                max_record_bytes,
                limits,
                forward_headers,
                metrics,
                clock,
                rejection_observer,
                shutting_down: AtomicBool::new(false),
                wal_failure_logged: AtomicBool::new(false),
                newest_received_ms: Arc::new(AtomicI64::new(0)),
            }),
        }
    }

    /// From now on every write is answered 503 + `Retry-After` (requests already past this
    /// check finish normally). Call when shutdown starts.
    pub fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// When the newest durable record was received (Unix ms, 0 before the first): hand it to
    /// delivery (`DeliverySettings::newest_received_ms`) for the lag metric.
    pub fn newest_received(&self) -> Arc<AtomicI64> {
        Arc::clone(&self.inner.newest_received_ms)
    }

    /// The tail the accepted records are handed to delivery through: give it to
    /// [`crate::delivery::DeliverySettings::tail`].
    pub fn tail(&self) -> Arc<Tail> {
        Arc::clone(&self.inner.tail)
    }

    /// The metrics handles.
    pub fn metrics(&self) -> &IngestMetrics {
        &self.inner.metrics
    }

    /// Answers one write request (what [`Ingest::ingest`] runs; any body type, so tests can
    /// call it without a connection).
    pub(crate) async fn answer<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Arc::clone(&self.inner).answer(request).await
    }
}

/// What a [`WalIngest`] is built from, besides the WAL and the metrics registry.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Body and decoding limits (`limits`).
    pub limits: Limits,
    /// The headers stored with each record and forwarded (`forward_headers`, config order).
    pub forward_headers: Vec<HeaderName>,
    /// Stamps `received_at_ms`.
    pub clock: Arc<dyn Clock>,
    /// Sees every write answered 4xx (`None`: nobody; the body is then not kept for it).
    pub rejection_observer: Option<Arc<dyn RejectionObserver>>,
    /// Cap of the in-memory tail of decoded records (`tail.max_bytes`).
    pub tail_max_bytes: usize,
    /// The WAL's `max_record_bytes`: a larger record is answered 413 before the append.
    pub max_record_bytes: u64,
}

impl IngestOptions {
    /// `limits` and `forward_headers`, the system clock, no rejection observer, the default
    /// tail cap and WAL record limit.
    pub fn new(limits: Limits, forward_headers: Vec<HeaderName>) -> Self {
        IngestOptions {
            limits,
            forward_headers,
            clock: Arc::new(SystemClock),
            rejection_observer: None,
            tail_max_bytes: crate::tail::DEFAULT_MAX_BYTES,
            max_record_bytes: prw_wal::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

impl Ingest for WalIngest {
    fn ready(&self) -> bool {
        !self.inner.shutting_down.load(Ordering::SeqCst)
            && self.inner.writer.is_some()
            && !self.inner.wal.stats().poisoned
    }

    fn ingest(&self, request: Request<Incoming>) -> BoxFuture<Response<ResponseBody>> {
        let this = self.clone();
        Box::pin(async move { this.answer(request).await })
    }
}

fn protocol_label(protocol: Option<Protocol>) -> &'static str {
    match protocol {
        Some(Protocol::V1) => "v1",
        Some(Protocol::V2) => "v2",
        None => "unknown",
    }
}

impl Inner {
    async fn answer<B>(self: Arc<Self>, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let claimed = check::claimed_protocol(&parts.headers);
        let mut kept = None;
        let received = Arc::clone(&self)
            .receive(&parts.headers, body, &mut kept)
            .await;
        let response = match received {
            Ok(facts) => {
                let m = &self.metrics;
                m.samples.inc_by(u64::from(facts.samples));
                m.histograms.inc_by(u64::from(facts.histograms));
                m.exemplars.inc_by(u64::from(facts.exemplars));
                answer::acknowledged(claimed, &facts)
            }
            Err(rejection) => {
                self.log(&rejection);
                self.metrics
                    .rejected
                    .get_or_create(&RejectLabels {
                        reason: rejection.reason(),
                    })
                    .inc();
                let response = answer::rejected(claimed, &rejection);
                if let Some(observer) = &self.rejection_observer
                    && response.status().is_client_error()
                {
                    observer.rejected(&RejectedWrite {
                        headers: &parts.headers,
                        remote_addr: parts.extensions.get::<RemoteAddr>().map(|a| a.0),
                        body: kept.as_ref(),
                        claimed,
                        status: response.status(),
                        rejection: &rejection,
                    });
                }
                response
            }
        };
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                status: response.status().as_u16(),
                protocol: protocol_label(claimed),
            })
            .inc();
        self.metrics
            .duration
            .observe(started.elapsed().as_secs_f64());
        response
    }

    fn log(&self, rejection: &Rejection) {
        match rejection {
            Rejection::WalUnavailable(err) => {
                if self.wal_failure_logged.swap(true, Ordering::SeqCst) {
                    tracing::debug!(error = %err, "write refused: WAL unavailable");
                } else {
                    tracing::error!(
                        error = %err,
                        "WAL append failed: answered 503 + Retry-After; the WAL repairs itself on the next append"
                    );
                }
            }
            Rejection::WalFull => tracing::debug!("write refused: WAL full"),
            other => {
                tracing::debug!(status = %other.status(), reason = other.reason(), "write rejected")
            }
        }
    }

    /// Checks and stores one request; the body read is left in `kept` when a rejection
    /// observer may need it.
    async fn receive<B>(
        self: Arc<Self>,
        headers: &HeaderMap,
        body: B,
        kept: &mut Option<Bytes>,
    ) -> Result<BodyFacts, Rejection>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(Rejection::ShuttingDown);
        }
        let protocol = check::negotiate_headers(headers)?;
        let forwarded = check::forwarded_headers(headers, &self.forward_headers)?;
        check::check_declared_length(headers, &self.limits)?;
        let body = body::read_capped(body, self.limits.max_body_bytes).await?;
        self.metrics.body_bytes.observe(body.len() as f64);
        if self.rejection_observer.is_some() {
            *kept = Some(body.clone());
        }
        let received_at_ms = self.clock.now_unix_ms();
        let prepared = if body.len() <= INLINE_DECODE_MAX_BYTES {
            prepare(
                &body,
                &self.prepare_settings(protocol, forwarded, received_at_ms),
            )
        } else {
            let settings = self.prepare_settings(protocol, forwarded, received_at_ms);
            tokio::task::spawn_blocking(move || prepare(&body, &settings))
                .await
                .map_err(|_| Rejection::Internal)?
        };
        let Prepared {
            facts,
            head,
            body,
            decoded,
        } = prepared?;
        let writer = self.writer.as_ref().ok_or(Rejection::Internal)?;
        writer.write(head, body, decoded).await?;
        self.newest_received_ms
            .fetch_max(received_at_ms, Ordering::SeqCst);
        Ok(facts)
    }

    fn prepare_settings(
        &self,
        protocol: Protocol,
        headers: Vec<ForwardedHeader>,
        received_at_ms: i64,
    ) -> PrepareSettings {
        PrepareSettings {
            protocol,
            limits: self.limits,
            headers,
            received_at_ms,
            max_record_bytes: self.max_record_bytes,
            whole_limit: self.tail.whole_limit(protocol),
        }
    }
}
