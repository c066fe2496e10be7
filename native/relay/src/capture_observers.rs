//! The hooks that feed the [`CaptureStore`]: [`RejectionCapture`] is ingest's
//! [`RejectionObserver`] (every write answered 4xx), [`RefusalCapture`] is a destination's
//! [`AttemptObserver`] (attempts dropped after a 4xx answer).
//!
//! Invariants: both only copy what they are shown into the store (bounded there) and return;
//! [`RefusalCapture`] keeps exactly the attempts whose outcome is
//! [`AttemptOutcome::Dropped`] with a 4xx status (a transport error, a 5xx or a 429 that is
//! retried never is). This module sits above [`crate::ingest`] and [`crate::send`]; only the
//! binary that assembles the relay imports it.

use std::sync::Arc;

use crate::capture::{CaptureStore, RefusedBatch, RejectedRequest};
use crate::ingest::{RejectedWrite, RejectionObserver, finding_line};
use crate::send::observe::{AttemptObserver, AttemptOutcome, AttemptReport};

/// Keeps every write request ingest answered 4xx.
#[derive(Debug, Clone)]
pub struct RejectionCapture(pub Arc<CaptureStore>);

impl RejectionObserver for RejectionCapture {
    fn rejected(&self, write: &RejectedWrite<'_>) {
        let findings: Vec<(&'static str, String)> = write
            .rejection
            .findings()
            .iter()
            .map(|f| (f.rule.id(), finding_line(f)))
            .collect();
        let answer = write.rejection.to_string();
        self.0.add_rejected(&RejectedRequest {
            headers: write.headers,
            remote: write.remote_addr,
            body: write.body.map(|b| &b[..]),
            protocol: write.claimed,
            status: write.status.as_u16(),
            reason: write.rejection.reason(),
            findings: &findings,
            answer: &answer,
        });
    }
}

/// Keeps every batch a destination refused with a non-retryable 4xx.
#[derive(Debug, Clone)]
pub struct RefusalCapture(pub Arc<CaptureStore>);

impl AttemptObserver for RefusalCapture {
    fn observe(&self, attempt: &AttemptReport<'_>) {
        if attempt.outcome != AttemptOutcome::Dropped {
            return;
        }
        let Some(status) = attempt.status.filter(|s| (400..500).contains(s)) else {
            return;
        };
        let forwarded: Vec<(&str, &str)> = attempt
            .forwarded
            .iter()
            .map(|h| (h.name(), h.value()))
            .collect();
        self.0.add_refused(&RefusedBatch {
            destination: attempt.destination,
            protocol: attempt.protocol,
            body: attempt.body,
            forwarded: &forwarded,
            status,
            answer: attempt.answer_prefix,
            retry_attempt: attempt.retry_attempt,
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use hyper::header::{CONTENT_TYPE, HeaderValue};
    use hyper::{HeaderMap, StatusCode};
    use prometheus_client::registry::Registry;
    use prw_core::Protocol;
    use prw_core::validate::{Finding, Rule, Severity};

    use super::*;
    use crate::capture::CaptureKind;
    use crate::clock::SystemClock;
    use crate::config::{Capture, CaptureDecision};
    use crate::ingest::Rejection;
    use crate::record::ForwardedHeader;
    use crate::send::ItemCounts;

    fn store() -> Arc<CaptureStore> {
        let settings = Capture {
            decision: CaptureDecision::OnByDefault,
            max_rejected: 10,
            max_refused: 10,
            max_bytes: 1 << 20,
            secret_headers: Vec::new(),
        };
        Arc::new(CaptureStore::new(
            &settings,
            vec![hyper::header::HeaderName::from_static("x-scope-orgid")],
            Arc::new(SystemClock),
            &mut Registry::default(),
        ))
    }

    #[test]
    fn a_validation_rejection_is_kept_with_its_rule_and_answer() {
        let store = store();
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        let rejection = Rejection::Invalid(vec![Finding {
            rule: Rule::LabelsUnsorted,
            severity: Severity::Error,
            series: Some(1),
            sample: None,
            label: None,
        }]);
        let body = Bytes::from_static(b"payload");
        RejectionCapture(Arc::clone(&store)).rejected(&RejectedWrite {
            headers: &headers,
            remote_addr: Some("127.0.0.1:9".parse().unwrap()),
            body: Some(&body),
            claimed: Some(Protocol::V1),
            status: StatusCode::BAD_REQUEST,
            rejection: &rejection,
        });
        let listed = store.newest_first();
        let (_, entry) = listed.first().unwrap();
        assert_eq!(entry.kind, CaptureKind::Rejected);
        assert_eq!(entry.rules, ["labels.unsorted"]);
        assert!(
            entry.summary.starts_with("labels.unsorted: series 1"),
            "{}",
            entry.summary
        );
        assert_eq!(entry.answer, rejection.to_string());
        assert_eq!(entry.body.as_deref(), Some(&b"payload"[..]));
    }

    fn report<'a>(
        body: &'a Bytes,
        forwarded: &'a [ForwardedHeader],
        url: &'a hyper::http::Uri,
        status: Option<u16>,
        outcome: AttemptOutcome,
    ) -> AttemptReport<'a> {
        AttemptReport {
            destination: "mimir",
            url,
            protocol: Protocol::V1,
            retry_attempt: 2,
            body,
            forwarded,
            counts: ItemCounts::default(),
            status,
            answer_prefix: b"out of order sample",
            outcome,
        }
    }

    #[test]
    fn only_batches_dropped_after_a_4xx_are_kept() {
        let store = store();
        let observer = RefusalCapture(Arc::clone(&store));
        let body = Bytes::from_static(b"batch");
        let forwarded = [ForwardedHeader::new("x-scope-orgid", "team").unwrap()];
        let url: hyper::http::Uri = "http://mimir/api/v1/push".parse().unwrap();
        let retrying = AttemptOutcome::Retrying {
            delay: std::time::Duration::from_secs(1),
        };
        for (status, outcome) in [
            (Some(503), retrying),
            (Some(429), retrying),
            (None, AttemptOutcome::Dropped),
            (Some(500), AttemptOutcome::Dropped),
            (Some(204), AttemptOutcome::Delivered),
            (Some(415), AttemptOutcome::FellBackToV1),
        ] {
            observer.observe(&report(&body, &forwarded, &url, status, outcome));
        }
        assert!(store.newest_first().is_empty());
        observer.observe(&report(
            &body,
            &forwarded,
            &url,
            Some(400),
            AttemptOutcome::Dropped,
        ));
        let listed = store.newest_first();
        let (_, entry) = listed.first().unwrap();
        assert_eq!(entry.kind, CaptureKind::Refused);
        assert_eq!(entry.status, 400);
        assert_eq!(entry.summary, "out of order sample");
        assert_eq!(entry.tenant.as_deref(), Some("team"));
        assert_eq!(entry.retry_attempt, Some(2));
        assert_eq!(entry.body.as_deref(), Some(&b"batch"[..]));
    }
}
