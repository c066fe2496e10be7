//! The rejection hook: a [`RejectionObserver`] sees every write request [`super::WalIngest`]
//! answered with a 4xx (415, 400, 413), with what it was sent and why it was refused (to keep
//! refused requests for inspection, for example).
//!
//! Invariants: called once per 4xx answer, after the rejection is counted and before the
//! answer is returned, on the request's task (keep it quick: hand the bytes to a channel or a
//! blocking task); never for 2xx or 503 answers, nor for what the server answers itself
//! (401 listener auth, 404, 405). `body` is the body exactly as received (still compressed),
//! `None` when it was not read in full (413 on Content-Length or while reading, a broken
//! connection). Without an observer (the default) the body is not kept for it.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::StatusCode;
use prw_core::Protocol;

use super::rejection::Rejection;

/// Watches the write requests refused with a 4xx.
pub trait RejectionObserver: Send + Sync + fmt::Debug {
    /// One refused request.
    fn rejected(&self, write: &RejectedWrite<'_>);
}

/// A write request answered 4xx.
#[derive(Debug, Clone, Copy)]
pub struct RejectedWrite<'a> {
    /// The request headers, as received.
    pub headers: &'a HeaderMap,
    /// The peer's address (`None` when the server did not provide one, e.g. in unit tests).
    pub remote_addr: Option<SocketAddr>,
    /// The body exactly as received; `None` when it was not read in full.
    pub body: Option<&'a Bytes>,
    /// The protocol the Content-Type names (`None`: neither v1 nor v2).
    pub claimed: Option<Protocol>,
    /// The status answered.
    pub status: StatusCode,
    /// Why: [`Rejection::reason`] (a class or the first rule id), [`Rejection::findings`]
    /// (every error finding, with rule ids), and its text (`Display`) as answered.
    pub rejection: &'a Rejection,
}
