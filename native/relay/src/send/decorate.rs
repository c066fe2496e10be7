//! The one place where a request is finished before it goes out: a per-destination
//! [`RequestDecorator`], for auth methods that must see the final request (AWS SigV4 signs
//! the headers and the body hash; OAuth2 adds a bearer token and refreshes it).
//!
//! Rules the retry loop ([`super::retry`]) applies:
//! - [`RequestDecorator::decorate`] runs for every attempt (retries included), last, just
//!   before the transport: the standard headers, `Retry-Attempt` and the final body are in
//!   place. It is abandoned when the destination's stop token fires.
//! - A [`DecorateError`] is handled like a transport error: logged, counted
//!   (`prw_remote_decorate_errors_total`), retried with backoff, never a drop.
//! - [`RequestDecorator::after_answer`] sees the status of every HTTP answer to a decorated
//!   attempt. [`AfterAnswer::ResendNow`] on a non-2xx answer makes the loop send the same
//!   batch again at once (no backoff delay), at most once per batch; otherwise, and on 2xx,
//!   the normal classification applies.
//!
//! A destination without a decorator (`None`, the default) runs none of this.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::transport::{BoxError, OutgoingRequest};

/// What [`RequestDecorator::decorate`] returns.
pub type DecorateFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DecorateError>> + Send + 'a>>;

/// Finishes the requests of one destination.
pub trait RequestDecorator: Send + Sync + fmt::Debug {
    /// Finishes one attempt's request (all standard headers, `Retry-Attempt` and the final
    /// body are already in place). Runs for every attempt, last, just before the transport.
    fn decorate<'a>(&'a self, request: &'a mut OutgoingRequest) -> DecorateFuture<'a>;

    /// Sees the answer status of an attempt this decorator decorated. Returning
    /// [`AfterAnswer::ResendNow`] (e.g. OAuth2 after a 401: token invalidated) makes the retry
    /// loop send the same batch again at once, at most once per batch; otherwise (and always
    /// on a 2xx) the normal classification applies.
    fn after_answer(&self, status: u16) -> AfterAnswer {
        let _ = status;
        AfterAnswer::Proceed
    }
}

/// What the retry loop does after an answer, as far as the decorator is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAnswer {
    /// Classify the answer as usual.
    Proceed,
    /// Send the same batch again at once (once per batch; ignored on 2xx).
    ResendNow,
}

/// A request could not be decorated (credentials unavailable, token endpoint down, ...).
#[derive(Debug, thiserror::Error)]
#[error("{what}{}", .source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
pub struct DecorateError {
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl DecorateError {
    /// An error saying what failed.
    pub fn new(what: impl Into<String>) -> Self {
        DecorateError {
            what: what.into(),
            source: None,
        }
    }

    /// An error saying what failed, and why.
    pub fn with_source(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        DecorateError {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// What failed.
    pub fn what(&self) -> &str {
        &self.what
    }
}
