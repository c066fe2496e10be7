//! Why a write request was not acknowledged, and what the sender is told.
//!
//! Invariant: every variant maps to exactly one status of DESIGN.md "Status semantics":
//! 4xx only for requests that will never succeed as sent (the sender drops them), 503 +
//! `Retry-After` only for conditions that pass (the sender retries and loses nothing).

use std::sync::Arc;

use hyper::StatusCode;
use hyper::header::HeaderName;
use prw_core::DecodeError;
use prw_core::codec::CodecError;
use prw_core::negotiate::NegotiateError;
use prw_core::validate::Finding;
use prw_wal::WalError;

use crate::record::RecordError;

/// Seconds a sender is asked to wait after a 503 (WAL full or failed, shutting down).
pub const RETRY_AFTER_SECS: u32 = 5;

/// A write request the relay did not acknowledge.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// Content-Type or Content-Encoding not supported (415).
    #[error("{0}")]
    UnsupportedMediaType(NegotiateError),
    /// A configured forwarded header carries a value that cannot be stored (400).
    #[error(
        "header {name} cannot be stored and forwarded: only visible ASCII, space and tab, at most 65535 bytes"
    )]
    ForwardedHeader {
        /// The header.
        name: HeaderName,
    },
    /// The forwarded headers do not fit the record format (400).
    #[error("{0}")]
    Record(RecordError),
    /// Content-Length, or the bytes actually sent, over `max_body_bytes` (413).
    #[error("request body{} exceeds the limit of {limit} bytes", .declared.map(|d| format!(" of {d} bytes")).unwrap_or_default())]
    BodyTooLarge {
        /// The Content-Length, when it was the header that told.
        declared: Option<u64>,
        /// `max_body_bytes`.
        limit: usize,
    },
    /// The body could not be read from the connection (400; the client is usually gone).
    #[error("cannot read the request body: {0}")]
    BodyRead(Box<dyn std::error::Error + Send + Sync>),
    /// Snappy: over the decoded limit (413) or corrupt (400).
    #[error("{0}")]
    Snappy(CodecError),
    /// The decoded body is not the protobuf message its Content-Type names (400).
    #[error("protobuf: {0}")]
    Protobuf(DecodeError),
    /// Validation found errors (400). Holds the error findings.
    #[error("{}", findings_text(.0))]
    Invalid(Vec<Finding>),
    /// The stored record would be over the WAL's `max_record_bytes` (413).
    #[error("request of {len} bytes is over the WAL record limit of {max} bytes")]
    RecordTooLarge {
        /// Record size.
        len: u64,
        /// The WAL's limit.
        max: u64,
    },
    /// The WAL is at its disk cap under the `block` policy, or its disk is full (503).
    #[error("WAL full: retry later")]
    WalFull,
    /// A WAL write or fsync failed (503); the WAL repairs itself on the next append.
    #[error("WAL unavailable: {0}")]
    WalUnavailable(Arc<WalError>),
    /// The relay is shutting down (503).
    #[error("relay is shutting down: retry later")]
    ShuttingDown,
    /// The request's task failed unexpectedly (503: nothing was acknowledged).
    #[error("internal error: retry later")]
    Internal,
}

fn findings_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for (index, finding) in findings.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&finding_line(finding));
    }
    out
}

/// One finding as a line: `rule.id: series 3, sample 1, label "job": explanation`.
pub fn finding_line(finding: &Finding) -> String {
    let mut place = Vec::new();
    if let Some(series) = finding.series {
        place.push(format!("series {series}"));
    }
    if let Some(sample) = finding.sample {
        place.push(format!("sample {sample}"));
    }
    if let Some(label) = &finding.label {
        place.push(format!("label {label:?}"));
    }
    let rule = finding.rule;
    if place.is_empty() {
        format!("{}: {}", rule.id(), rule.explanation())
    } else {
        format!(
            "{}: {}: {}",
            rule.id(),
            place.join(", "),
            rule.explanation()
        )
    }
}

impl Rejection {
    /// The status answered.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::BodyTooLarge { .. } | Rejection::RecordTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Rejection::Snappy(err) => match err.status() {
                413 => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            },
            Rejection::ForwardedHeader { .. }
            | Rejection::Record(_)
            | Rejection::BodyRead(_)
            | Rejection::Protobuf(_)
            | Rejection::Invalid(_) => StatusCode::BAD_REQUEST,
            Rejection::WalFull
            | Rejection::WalUnavailable(_)
            | Rejection::ShuttingDown
            | Rejection::Internal => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `reason` label of `prw_ingest_rejected_total`: a class, or the first error's rule
    /// id for validation failures.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::UnsupportedMediaType(_) => "unsupported_media_type",
            Rejection::ForwardedHeader { .. } | Rejection::Record(_) => "bad_header",
            Rejection::BodyTooLarge { .. } | Rejection::RecordTooLarge { .. } => "too_large",
            Rejection::BodyRead(_) => "body_read",
            Rejection::Snappy(err) => match err.status() {
                413 => "too_large",
                _ => "bad_snappy",
            },
            Rejection::Protobuf(_) => "bad_protobuf",
            Rejection::Invalid(findings) => findings.first().map_or("invalid", |f| f.rule.id()),
            Rejection::WalFull => "wal_full",
            Rejection::WalUnavailable(_) => "wal_error",
            Rejection::ShuttingDown => "shutting_down",
            Rejection::Internal => "internal",
        }
    }

    /// The error findings of a validation failure (rule ids, places); empty for the other
    /// rejections.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Rejection::Invalid(findings) => findings,
            _ => &[],
        }
    }

    /// `Retry-After` seconds for the transient rejections (503), `None` otherwise.
    pub fn retry_after(&self) -> Option<u32> {
        (self.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_SECS)
    }

    /// Maps a failed append: full (the cap, or a full disk) -> 503, too large -> 413, anything
    /// else -> 503. All pass: the WAL repairs itself on the next append.
    pub fn from_wal(err: WalError) -> Self {
        Rejection::from_shared_wal(&Arc::new(err))
    }

    /// Like [`Rejection::from_wal`], for an error shared by the requests of one append.
    pub fn from_shared_wal(err: &Arc<WalError>) -> Self {
        match err.as_ref() {
            err if err.is_out_of_space() => Rejection::WalFull,
            WalError::RecordTooLarge { len, max } => Rejection::RecordTooLarge {
                len: *len,
                max: *max,
            },
            _ => Rejection::WalUnavailable(Arc::clone(err)),
        }
    }
}
