//! The capture store: turns what was refused into [`CaptureEntry`]s (credentials removed,
//! bodies copied to their exact size) and keeps them in the bounded [`Ring`].
//!
//! Invariants: called on request and shard tasks, so an add holds the lock only to insert
//! (building the entry and dropping evicted ones happen outside it); metrics are updated
//! under the lock so `prw_capture_bytes` never lags behind an insert.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use prometheus_client::registry::Registry;
use prw_core::Protocol;
use prw_core::negotiate::{CONTENT_TYPE_V1, CONTENT_TYPE_V2};

use super::entry::{BodyMissing, CaptureEntry, CaptureKind};
use super::metrics::{CaptureMetrics, EvictedLabels, KindLabels};
use super::ring::{Ring, RingLimits};
use super::scrub::{Secrets, cut};
use crate::clock::Clock;
use crate::config;

/// Bytes kept of a summary line.
const MAX_SUMMARY_BYTES: usize = 512;
/// Bytes kept of the relay's own answer to a rejected request.
const MAX_ANSWER_BYTES: usize = 4096;

/// A write request answered 4xx at ingest.
#[derive(Debug, Clone)]
pub struct RejectedRequest<'a> {
    /// The request headers as received (credentials are removed here).
    pub headers: &'a HeaderMap,
    /// The sender.
    pub remote: Option<SocketAddr>,
    /// The body exactly as received; `None` when it was not read in full.
    pub body: Option<&'a [u8]>,
    /// The protocol the Content-Type names.
    pub protocol: Option<Protocol>,
    /// The status answered.
    pub status: u16,
    /// The rejection class (`prw_ingest_rejected_total`'s `reason`).
    pub reason: &'static str,
    /// The findings as answered, one line each, rule id first (empty when the body did not
    /// get as far as validation).
    pub findings: &'a [(&'static str, String)],
    /// The answer's text.
    pub answer: &'a str,
}

/// A batch a destination refused with a non-retryable 4xx.
#[derive(Debug, Clone)]
pub struct RefusedBatch<'a> {
    /// The destination's name.
    pub destination: &'a str,
    /// The protocol of the body.
    pub protocol: Protocol,
    /// The compressed body as sent.
    pub body: &'a [u8],
    /// The forwarded headers sent with it (the tenant).
    pub forwarded: &'a [(&'a str, &'a str)],
    /// The destination's status.
    pub status: u16,
    /// The first KiB of the destination's answer.
    pub answer: &'a [u8],
    /// The attempt's `Retry-Attempt`.
    pub retry_attempt: u32,
}

/// What the relay refused, kept for inspection (one per relay, shared).
#[derive(Debug)]
pub struct CaptureStore {
    ring: Mutex<Ring>,
    secrets: Secrets,
    tenant_headers: Vec<HeaderName>,
    max_bytes: usize,
    clock: Arc<dyn Clock>,
    metrics: CaptureMetrics,
}

impl CaptureStore {
    /// A store bounded as `settings` say; the tenant is the first of `tenant_headers`
    /// (`forward_headers`) a request carries. Registers `prw_capture_*` into `registry`.
    pub fn new(
        settings: &config::Capture,
        tenant_headers: Vec<HeaderName>,
        clock: Arc<dyn Clock>,
        registry: &mut Registry,
    ) -> Self {
        let metrics = CaptureMetrics::register(registry);
        metrics.enabled.set(1);
        metrics
            .max_bytes
            .set(i64::try_from(settings.max_bytes).unwrap_or(i64::MAX));
        for kind in [CaptureKind::Rejected, CaptureKind::Refused] {
            // Present at 0 from the start, so dashboards see the series.
            let labels = KindLabels {
                kind: kind.as_str(),
            };
            metrics.entries.get_or_create(&labels).set(0);
            metrics.captured.get_or_create(&labels).inc_by(0);
        }
        CaptureStore {
            ring: Mutex::new(Ring::new(RingLimits {
                max_rejected: settings.max_rejected,
                max_refused: settings.max_refused,
                max_bytes: settings.max_bytes,
            })),
            secrets: Secrets::new(&settings.secret_headers),
            tenant_headers,
            max_bytes: settings.max_bytes,
            clock,
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // The ring is consistent between statements: a panic elsewhere leaves it usable.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The metric handles.
    pub fn metrics(&self) -> &CaptureMetrics {
        &self.metrics
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes()
    }

    /// Keeps a rejected request; its id, or `None` when it was not kept.
    pub fn add_rejected(&self, request: &RejectedRequest<'_>) -> Option<u64> {
        let scrubbed = self.secrets.scrub(request.headers);
        let tenant = self.tenant_headers.iter().find_map(|name| {
            let value = request.headers.get(name)?;
            (!self.secrets.is_secret(name.as_str())).then(|| cut(value.as_bytes(), 256))
        });
        let mut rules: Vec<&'static str> = Vec::new();
        for (rule, _) in request.findings {
            if !rules.contains(rule) {
                rules.push(rule);
            }
        }
        let summary = match request.findings {
            [] => format!(
                "{}: {}",
                request.reason,
                request.answer.lines().next().unwrap_or_default()
            ),
            [(_, first)] => first.clone(),
            [(_, first), rest @ ..] => format!("{first} (and {} more)", rest.len()),
        };
        let declared = request
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let entry = CaptureEntry {
            time_ms: self.clock.now_unix_ms(),
            kind: CaptureKind::Rejected,
            status: request.status,
            summary: cut(summary.as_bytes(), MAX_SUMMARY_BYTES),
            reason: Some(request.reason),
            rules,
            answer: cut(request.answer.trim_end().as_bytes(), MAX_ANSWER_BYTES),
            destination: None,
            tenant,
            remote: request.remote,
            protocol: request.protocol,
            bytes: request.body.map(|b| b.len() as u64).or(declared),
            body: request.body.map(Bytes::copy_from_slice),
            body_missing: request.body.is_none().then_some(BodyMissing::NotRead),
            content_type: request.headers.get(CONTENT_TYPE).cloned(),
            content_encoding: request.headers.get(CONTENT_ENCODING).cloned(),
            headers: scrubbed.kept,
            removed_headers: scrubbed.removed,
            retry_attempt: None,
        };
        self.add(entry)
    }

    /// Keeps a refused batch; its id, or `None` when it was not kept.
    pub fn add_refused(&self, batch: &RefusedBatch<'_>) -> Option<u64> {
        let scrubbed = self.secrets.scrub_pairs(
            batch
                .forwarded
                .iter()
                .map(|(name, value)| (*name, value.as_bytes())),
        );
        let tenant = self.tenant_headers.iter().find_map(|name| {
            let (_, value) = batch
                .forwarded
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name.as_str()))?;
            (!self.secrets.is_secret(name.as_str())).then(|| cut(value.as_bytes(), 256))
        });
        let answer = cut(batch.answer, batch.answer.len());
        let first_line = answer.trim().lines().next().unwrap_or_default();
        let summary = if first_line.is_empty() {
            format!("{} with an empty answer", batch.status)
        } else {
            first_line.to_owned()
        };
        let content_type = match batch.protocol {
            Protocol::V1 => CONTENT_TYPE_V1,
            Protocol::V2 => CONTENT_TYPE_V2,
        };
        let entry = CaptureEntry {
            time_ms: self.clock.now_unix_ms(),
            kind: CaptureKind::Refused,
            status: batch.status,
            summary: cut(summary.as_bytes(), MAX_SUMMARY_BYTES),
            reason: None,
            rules: Vec::new(),
            answer,
            destination: Some(batch.destination.to_owned()),
            tenant,
            remote: None,
            protocol: Some(batch.protocol),
            bytes: Some(batch.body.len() as u64),
            body: Some(Bytes::copy_from_slice(batch.body)),
            body_missing: None,
            content_type: Some(HeaderValue::from_static(content_type)),
            content_encoding: Some(HeaderValue::from_static("snappy")),
            headers: scrubbed.kept,
            removed_headers: scrubbed.removed,
            retry_attempt: Some(batch.retry_attempt),
        };
        self.add(entry)
    }

    fn add(&self, mut entry: CaptureEntry) -> Option<u64> {
        let kind = entry.kind.as_str();
        let mut footprint = entry.footprint();
        if footprint > self.max_bytes && entry.body.is_some() {
            entry.body = None;
            entry.body_missing = Some(BodyMissing::OverCap);
            footprint = entry.footprint();
            self.metrics
                .bodies_dropped
                .get_or_create(&KindLabels { kind })
                .inc();
        }
        let entry = Arc::new(entry);
        let (inserted, bytes) = {
            let mut ring = self.lock();
            let inserted = ring.insert(entry, footprint);
            let bytes = ring.bytes();
            let m = &self.metrics;
            let bytes_now = i64::try_from(bytes).unwrap_or(i64::MAX);
            m.bytes.set(bytes_now);
            if bytes_now > m.peak_bytes.get() {
                m.peak_bytes.set(bytes_now);
            }
            for k in [CaptureKind::Rejected, CaptureKind::Refused] {
                m.entries
                    .get_or_create(&KindLabels { kind: k.as_str() })
                    .set(i64::try_from(ring.len(k)).unwrap_or(i64::MAX));
            }
            (inserted, bytes)
        };
        if inserted.id.is_some() {
            self.metrics
                .captured
                .get_or_create(&KindLabels { kind })
                .inc();
        }
        for (evicted_kind, why, _) in &inserted.evicted {
            self.metrics
                .evicted
                .get_or_create(&EvictedLabels {
                    kind: evicted_kind.as_str(),
                    reason: why.as_str(),
                })
                .inc();
        }
        tracing::debug!(id = ?inserted.id, kind, bytes, "capture kept");
        // `inserted.evicted` (and its bodies) is dropped here, outside the lock.
        inserted.id
    }

    /// The capture with this id, if it is still kept.
    pub fn get(&self, id: u64) -> Option<Arc<CaptureEntry>> {
        self.lock().get(id)
    }

    /// Every capture kept, newest first, with its id.
    pub fn newest_first(&self) -> Vec<(u64, Arc<CaptureEntry>)> {
        self.lock().newest_first()
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::AUTHORIZATION;

    use super::*;
    use crate::clock::SystemClock;
    use crate::config::CaptureDecision;

    fn settings(max_bytes: usize) -> config::Capture {
        config::Capture {
            decision: CaptureDecision::OnByDefault,
            max_rejected: 10,
            max_refused: 10,
            max_bytes,
            secret_headers: vec![HeaderName::from_static("x-api-key")],
        }
    }

    fn store(max_bytes: usize) -> (CaptureStore, Registry) {
        let mut registry = Registry::default();
        let store = CaptureStore::new(
            &settings(max_bytes),
            vec![HeaderName::from_static("x-scope-orgid")],
            Arc::new(SystemClock),
            &mut registry,
        );
        (store, registry)
    }

    fn rejected_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_V1));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer t0ken"));
        headers.insert("x-api-key", HeaderValue::from_static("k3y"));
        headers.insert("x-scope-orgid", HeaderValue::from_static("team-a"));
        headers
    }

    #[test]
    fn a_rejected_request_keeps_body_rules_tenant_and_no_credentials() {
        let (store, _registry) = store(1 << 20);
        let headers = rejected_headers();
        let findings = [
            (
                "labels.unsorted",
                "labels.unsorted: series 1: not sorted".to_owned(),
            ),
            (
                "labels.unsorted",
                "labels.unsorted: series 2: not sorted".to_owned(),
            ),
        ];
        let id = store
            .add_rejected(&RejectedRequest {
                headers: &headers,
                remote: Some("127.0.0.1:5000".parse().unwrap()),
                body: Some(b"body bytes"),
                protocol: Some(Protocol::V1),
                status: 400,
                reason: "labels.unsorted",
                findings: &findings,
                answer: "labels.unsorted: series 1: not sorted\nlabels.unsorted: series 2: not sorted\n",
            })
            .unwrap();
        let entry = store.get(id).unwrap();
        assert_eq!(entry.body.as_deref(), Some(&b"body bytes"[..]));
        assert_eq!(entry.rules, ["labels.unsorted"]);
        assert_eq!(
            entry.summary,
            "labels.unsorted: series 1: not sorted (and 1 more)"
        );
        assert_eq!(entry.tenant.as_deref(), Some("team-a"));
        assert_eq!(entry.bytes, Some(10));
        assert_eq!(entry.content_type.as_ref().unwrap(), CONTENT_TYPE_V1);
        let all = format!("{entry:?}");
        assert!(!all.contains("t0ken") && !all.contains("k3y"), "{all}");
        assert!(entry.removed_headers.contains(&"authorization".to_owned()));
    }

    #[test]
    fn a_body_larger_than_the_cap_is_dropped_and_the_capture_kept() {
        let (store, _registry) = store(1 << 20);
        let headers = rejected_headers();
        let body = vec![7u8; 2 << 20];
        let id = store
            .add_rejected(&RejectedRequest {
                headers: &headers,
                remote: None,
                body: Some(&body),
                protocol: Some(Protocol::V1),
                status: 400,
                reason: "bad_protobuf",
                findings: &[],
                answer: "protobuf: invalid wire type\n",
            })
            .unwrap();
        let entry = store.get(id).unwrap();
        assert!(entry.body.is_none());
        assert_eq!(entry.body_missing, Some(BodyMissing::OverCap));
        assert_eq!(entry.bytes, Some(2 << 20));
        assert_eq!(entry.summary, "bad_protobuf: protobuf: invalid wire type");
        assert!(store.bytes() < 1 << 20);
        assert_eq!(
            store
                .metrics()
                .bodies_dropped
                .get_or_create(&KindLabels { kind: "rejected" })
                .get(),
            1
        );
    }

    #[test]
    fn a_refused_batch_keeps_the_answer_and_the_tenant() {
        let (store, _registry) = store(1 << 20);
        let id = store
            .add_refused(&RefusedBatch {
                destination: "mimir",
                protocol: Protocol::V2,
                body: b"sent",
                forwarded: &[("x-scope-orgid", "team-b")],
                status: 400,
                answer: b"out of order sample\n",
                retry_attempt: 0,
            })
            .unwrap();
        let entry = store.get(id).unwrap();
        assert_eq!(entry.summary, "out of order sample");
        assert_eq!(entry.destination.as_deref(), Some("mimir"));
        assert_eq!(entry.tenant.as_deref(), Some("team-b"));
        assert_eq!(entry.content_type.as_ref().unwrap(), CONTENT_TYPE_V2);
        assert_eq!(entry.content_encoding.as_ref().unwrap(), "snappy");
    }

    #[test]
    fn bytes_never_exceed_the_cap_and_the_metrics_say_so() {
        let (store, registry) = store(1 << 20);
        let headers = rejected_headers();
        let body = vec![1u8; 300 << 10];
        for _ in 0..20 {
            store.add_rejected(&RejectedRequest {
                headers: &headers,
                remote: None,
                body: Some(&body),
                protocol: None,
                status: 400,
                reason: "bad_snappy",
                findings: &[],
                answer: "snappy: corrupt input\n",
            });
            assert!(store.bytes() <= 1 << 20);
        }
        let m = store.metrics();
        assert!(m.peak_bytes.get() <= 1 << 20);
        assert!(m.peak_bytes.get() >= 3 * (300 << 10));
        assert_eq!(m.bytes.get(), i64::try_from(store.bytes()).unwrap());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("prw_capture_evicted_total{kind=\"rejected\",reason=\"memory\"} 17"),
            "{text}"
        );
        assert!(
            text.contains("prw_capture_entries{kind=\"rejected\"} 3"),
            "{text}"
        );
        assert!(text.contains("prw_capture_max_bytes 1048576"), "{text}");
    }
}
