//! One kept capture and the memory it holds.
//!
//! Invariant: [`CaptureEntry::footprint`] counts every byte the entry owns on the heap plus
//! its own size, so the store's total is what capture really holds (up to allocator slack).

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::header::HeaderValue;
use prw_core::Protocol;

/// Which side refused the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureKind {
    /// A write request the relay answered 4xx at ingest.
    Rejected,
    /// A batch a destination answered with a non-retryable 4xx (dropped).
    Refused,
}

impl CaptureKind {
    /// `rejected` or `refused` (the JSON value and the metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureKind::Rejected => "rejected",
            CaptureKind::Refused => "refused",
        }
    }
}

/// Why a capture holds no body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyMissing {
    /// The relay did not read it in full (413 on `Content-Length` or while reading, or the
    /// connection broke).
    NotRead,
    /// It alone is larger than `capture.max_bytes`.
    OverCap,
}

impl BodyMissing {
    /// A short explanation for the listing.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyMissing::NotRead => {
                "not kept: the relay did not read it in full (over max_body_bytes, or the connection broke)"
            }
            BodyMissing::OverCap => "not kept: larger than capture.max_bytes",
        }
    }
}

/// A kept capture (its id is the store's).
#[derive(Clone, Debug)]
pub struct CaptureEntry {
    /// When it was captured (Unix ms).
    pub time_ms: i64,
    /// Rejected at ingest or refused by a destination.
    pub kind: CaptureKind,
    /// The 4xx status answered (by the relay, or by the destination).
    pub status: u16,
    /// One line: the first finding (rule id first) or the class and text of the rejection,
    /// or the receiver's answer.
    pub summary: String,
    /// The rejection class (`prw_ingest_rejected_total`'s `reason`); `None` for refused.
    pub reason: Option<&'static str>,
    /// Distinct rule ids of the findings, in order (empty when the body did not validate at
    /// all, or for refused batches).
    pub rules: Vec<&'static str>,
    /// The 4xx answer's text: the relay's own answer for a rejected request, the first KiB
    /// of the destination's answer for a refused batch.
    pub answer: String,
    /// The destination (refused).
    pub destination: Option<String>,
    /// The tenant: the first configured forwarded header present (`X-Scope-OrgID`).
    pub tenant: Option<String>,
    /// The sender's address (rejected).
    pub remote: Option<SocketAddr>,
    /// The protocol the Content-Type names, or the protocol sent.
    pub protocol: Option<Protocol>,
    /// The body's size as received or sent (`Content-Length` when it was not read).
    pub bytes: Option<u64>,
    /// The body exactly as received or sent; `None` as [`CaptureEntry::body_missing`] says.
    pub body: Option<Bytes>,
    /// Why there is no body.
    pub body_missing: Option<BodyMissing>,
    /// The body's Content-Type.
    pub content_type: Option<HeaderValue>,
    /// The body's Content-Encoding.
    pub content_encoding: Option<HeaderValue>,
    /// Request headers (rejected) or forwarded headers (refused), credentials removed.
    pub headers: Vec<(String, String)>,
    /// Names of the headers removed as credentials.
    pub removed_headers: Vec<String>,
    /// The attempt's `Retry-Attempt` (refused).
    pub retry_attempt: Option<u32>,
}

impl CaptureEntry {
    /// Bytes this entry holds: its own size, its body, and every string it owns.
    pub fn footprint(&self) -> usize {
        let string = std::mem::size_of::<String>();
        let strings = self.summary.len()
            + self.answer.len()
            + self.destination.as_ref().map_or(0, String::len)
            + self.tenant.as_ref().map_or(0, String::len)
            + self
                .headers
                .iter()
                .map(|(n, v)| 2 * string + n.len() + v.len())
                .sum::<usize>()
            + self
                .removed_headers
                .iter()
                .map(|n| string + n.len())
                .sum::<usize>()
            + self.rules.len() * std::mem::size_of::<&str>()
            + [&self.content_type, &self.content_encoding]
                .iter()
                .map(|v| v.as_ref().map_or(0, HeaderValue::len))
                .sum::<usize>();
        std::mem::size_of::<Self>() + self.body.as_ref().map_or(0, Bytes::len) + strings
    }
}
