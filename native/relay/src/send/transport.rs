//! The seam between the retry loop and the network: send one request, get one answer.
//!
//! Invariants: one call is one HTTP attempt (no retries inside a transport); the answer body
//! is cut to [`BODY_PREFIX_LIMIT`] bytes, which is all a sender logs.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use hyper::http::{HeaderMap, Uri};

/// How much of an answer body is kept (and logged on a dropped batch).
pub const BODY_PREFIX_LIMIT: usize = 1024;

/// One request to a destination.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    /// Where to POST.
    pub url: Uri,
    /// All request headers, final.
    pub headers: HeaderMap,
    /// The compressed body.
    pub body: Bytes,
}

/// A destination's answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (`Retry-After`, the Written headers).
    pub headers: HeaderMap,
    /// The first [`BODY_PREFIX_LIMIT`] bytes of the body.
    pub body_prefix: Bytes,
}

impl Response {
    /// A header value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A boxed error from the HTTP stack.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// No HTTP answer was obtained.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The connection (TCP or TLS) could not be established.
    #[error("connecting to the destination failed: {0}")]
    Connect(#[source] BoxError),
    /// No complete answer within `remote_timeout`.
    #[error("no answer within the remote timeout of {0:?}")]
    Timeout(Duration),
    /// The connection broke while sending or reading.
    #[error("the request or the answer failed in transit: {0}")]
    Io(#[source] BoxError),
}

/// What a transport call returns.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response, TransportError>> + Send + 'a>>;

/// Sends one request (one attempt).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and waits for the answer (head and the body prefix).
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_>;
}
