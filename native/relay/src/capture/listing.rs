//! The JSON of `GET /api/v1/captures`: one object per capture, newest first.
//!
//! Fields (docs/inspector.md): `id`, `time` (Unix ms), `kind` (`rejected`|`refused`),
//! `status`, `summary`, `destination`, `tenant`, `remote`, `bytes`, `protocol` (`v1`|`v2`|
//! null), then `reason`, `rules`, `answer`, `body` (whether `GET /api/v1/captures/{id}`
//! returns it), `body_missing` (why not), `content_type`, `content_encoding`, `headers`
//! (credentials removed), `removed_headers`, `retry_attempt`.

use std::sync::Arc;

use hyper::header::HeaderValue;
use prw_core::Protocol;
use serde::Serialize;

use super::entry::CaptureEntry;

/// One capture as listed.
#[derive(Debug, Serialize)]
pub struct Listed<'a> {
    /// The capture's id.
    pub id: u64,
    /// When it was captured (Unix ms).
    pub time: i64,
    /// `rejected` or `refused`.
    pub kind: &'static str,
    /// The 4xx status.
    pub status: u16,
    /// One line: the first finding, the rejection, or the receiver's answer.
    pub summary: &'a str,
    /// The destination (refused).
    pub destination: Option<&'a str>,
    /// The tenant header's value.
    pub tenant: Option<&'a str>,
    /// The sender's `ip:port` (rejected).
    pub remote: Option<String>,
    /// The body's size as received or sent.
    pub bytes: Option<u64>,
    /// `v1`, `v2`, or null (the Content-Type names neither).
    pub protocol: Option<&'static str>,
    /// The rejection class (rejected).
    pub reason: Option<&'static str>,
    /// Rule ids of the findings.
    pub rules: &'a [&'static str],
    /// The 4xx answer's text.
    pub answer: &'a str,
    /// Whether the body is kept.
    pub body: bool,
    /// Why the body is not kept.
    pub body_missing: Option<&'static str>,
    /// The body's Content-Type.
    pub content_type: Option<String>,
    /// The body's Content-Encoding.
    pub content_encoding: Option<String>,
    /// Headers kept, credentials removed.
    pub headers: &'a [(String, String)],
    /// Headers removed as credentials (names only).
    pub removed_headers: &'a [String],
    /// `Retry-Attempt` of the refused attempt.
    pub retry_attempt: Option<u32>,
}

fn text(value: Option<&HeaderValue>) -> Option<String> {
    value.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

impl<'a> Listed<'a> {
    /// The listing view of capture `id`.
    pub fn new(id: u64, entry: &'a CaptureEntry) -> Self {
        Listed {
            id,
            time: entry.time_ms,
            kind: entry.kind.as_str(),
            status: entry.status,
            summary: &entry.summary,
            destination: entry.destination.as_deref(),
            tenant: entry.tenant.as_deref(),
            remote: entry.remote.map(|a| a.to_string()),
            bytes: entry.bytes,
            protocol: entry.protocol.map(|p| match p {
                Protocol::V1 => "v1",
                Protocol::V2 => "v2",
            }),
            reason: entry.reason,
            rules: &entry.rules,
            answer: &entry.answer,
            body: entry.body.is_some(),
            body_missing: entry.body_missing.map(|m| m.as_str()),
            content_type: text(entry.content_type.as_ref()),
            content_encoding: text(entry.content_encoding.as_ref()),
            headers: &entry.headers,
            removed_headers: &entry.removed_headers,
            retry_attempt: entry.retry_attempt,
        }
    }
}

/// The listing of `captures` (already newest first) as JSON.
pub fn listing_json(captures: &[(u64, Arc<CaptureEntry>)]) -> Result<String, serde_json::Error> {
    let listed: Vec<Listed<'_>> = captures
        .iter()
        .map(|(id, entry)| Listed::new(*id, entry))
        .collect();
    serde_json::to_string(&listed)
}
