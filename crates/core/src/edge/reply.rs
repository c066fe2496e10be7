//! Verdicts and local replies.
//!
//! Invariant: a [`LocalReply`] status is always one of [`REPLY_STATUSES`]; a reply to a v2
//! request carries the three Written headers with `0`; a 429 carries `Retry-After`.

use alloc::string::String;
use alloc::vec::Vec;

use super::Outcome;
use crate::Protocol;

/// Every status a local reply can have.
pub const REPLY_STATUSES: [u16; 5] = [400, 401, 413, 415, 429];

/// The three v2 response headers that say how much was written.
pub const WRITTEN_HEADERS: [&str; 3] = [
    "x-prometheus-remote-write-samples-written",
    "x-prometheus-remote-write-histograms-written",
    "x-prometheus-remote-write-exemplars-written",
];

/// A response the edge makes itself instead of forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status, one of [`REPLY_STATUSES`].
    pub status: u16,
    /// Human-readable body naming the rule (and series and label where known).
    pub body: String,
    /// Headers to send (lower-case names).
    pub headers: Vec<(&'static str, String)>,
}

impl LocalReply {
    /// A plain-text reply; v2 requests also get the Written headers (0).
    pub(crate) fn new(status: u16, body: String, protocol: Option<Protocol>) -> LocalReply {
        let mut headers = Vec::with_capacity(4);
        headers.push(("content-type", String::from("text/plain; charset=utf-8")));
        if protocol == Some(Protocol::V2) {
            headers.extend(WRITTEN_HEADERS.iter().map(|h| (*h, String::from("0"))));
        }
        LocalReply {
            status,
            body,
            headers,
        }
    }
}

/// A request the edge would reject: the rule that fired and the reply it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The rule id (an [`super::EdgeRule`] id or a prw-core validation rule id).
    pub rule: &'static str,
    /// The reply.
    pub reply: LocalReply,
}

/// The decision on a request after its headers or its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it upstream.
    Forward {
        /// Set when the Content-Type must be replaced by this canonical form.
        content_type: Option<&'static str>,
        /// Observe mode: what would have been rejected.
        observed: Option<Rejection>,
    },
    /// Answer locally; the upstream never sees the request (enforce mode only).
    Reject(Rejection),
}

impl Verdict {
    /// The outcome to count.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Forward { observed: None, .. } => Outcome::Accepted,
            Verdict::Forward {
                observed: Some(_), ..
            } => Outcome::Observed,
            Verdict::Reject(r) if r.rule == super::EdgeRule::TenantMissing.id() => {
                Outcome::RejectedMissingTenant
            }
            Verdict::Reject(r) => Outcome::for_reply_status(r.reply.status),
        }
    }

    /// The rule that fired, if any (counted per rule in both modes).
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            Verdict::Forward { observed, .. } => observed.as_ref().map(|r| r.rule),
            Verdict::Reject(r) => Some(r.rule),
        }
    }

    /// The local reply to send, if any.
    pub fn reply(&self) -> Option<&LocalReply> {
        match self {
            Verdict::Reject(r) => Some(&r.reply),
            Verdict::Forward { .. } => None,
        }
    }
}
