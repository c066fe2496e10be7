//! The per-attempt outcome hook: [`AttemptObserver`]s of a destination see every attempt
//! once its fate is known (to keep the batches a receiver refused, or to watch attempts).
//!
//! Invariants (kept by [`super::retry`]): each attempt is reported exactly once, after
//! classification and before any backoff sleep, the last one (delivered or dropped)
//! included; an attempt abandoned by the stop token, while being decorated or in flight, is
//! reported [`AttemptOutcome::Aborted`]. Batches that never become a request (entirely too
//! old, metadata to a v2 destination, not encodable) produce no report. With no observers
//! (the default) nothing is built.
//!
//! Observers run on the shard's task, between attempts: keep them quick (hand the report's
//! bytes to a channel or a blocking task to write them).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::http::Uri;
use prw_core::Protocol;

use super::batch::ItemCounts;
use super::transport::Response;
use crate::record::ForwardedHeader;

/// Watches the attempts of one destination.
pub trait AttemptObserver: Send + Sync + fmt::Debug {
    /// One attempt, after classification.
    fn observe(&self, attempt: &AttemptReport<'_>);
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Acknowledged with a 2xx: the batch is done.
    Delivered,
    /// The same batch is sent again after `delay` (zero: at once, on the decorator's
    /// [`super::AfterAnswer::ResendNow`]).
    Retrying {
        /// The wait before the next attempt.
        delay: Duration,
    },
    /// Non-retryable answer: the batch is dropped, never sent again.
    Dropped,
    /// A v2 attempt the receiver does not take (415, or 2xx without Written headers): the
    /// same items are sent again at once as v1.
    FellBackToV1,
    /// The destination's stop token fired before an answer: not acknowledged, the WAL
    /// replays it.
    Aborted,
}

/// One attempt to send a batch.
#[derive(Debug, Clone, Copy)]
pub struct AttemptReport<'a> {
    /// The destination's `name`.
    pub destination: &'a str,
    /// Where the attempt went.
    pub url: &'a Uri,
    /// The protocol of the body.
    pub protocol: Protocol,
    /// 0 for the first attempt, then the `Retry-Attempt` header's value.
    pub retry_attempt: u32,
    /// The compressed body exactly as sent (after decoration).
    pub body: &'a Bytes,
    /// The forwarded headers of the batch (the tenant).
    pub forwarded: &'a [ForwardedHeader],
    /// Samples, histograms and exemplars in the body (zero for metadata).
    pub counts: ItemCounts,
    /// The answer's status; `None` for a transport or decoration error (or an abort).
    pub status: Option<u16>,
    /// The first KiB of the answer body (empty without an answer).
    pub answer_prefix: &'a [u8],
    /// What the retry loop does next.
    pub outcome: AttemptOutcome,
}

/// What is known of an attempt before its answer: the retry loop reports it with each
/// outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptFacts<'a> {
    pub(crate) destination: &'a str,
    pub(crate) url: &'a Uri,
    pub(crate) protocol: Protocol,
    pub(crate) retry_attempt: u32,
    pub(crate) body: &'a Bytes,
    pub(crate) forwarded: &'a [ForwardedHeader],
    pub(crate) counts: ItemCounts,
}

impl AttemptFacts<'_> {
    /// Tells every observer (nothing is built when there are none).
    pub(crate) fn report(
        &self,
        observers: &[Arc<dyn AttemptObserver>],
        answer: Option<&Response>,
        outcome: AttemptOutcome,
    ) {
        if observers.is_empty() {
            return;
        }
        let report = AttemptReport {
            destination: self.destination,
            url: self.url,
            protocol: self.protocol,
            retry_attempt: self.retry_attempt,
            body: self.body,
            forwarded: self.forwarded,
            counts: self.counts,
            status: answer.map(|r| r.status),
            answer_prefix: answer.map_or(&[][..], |r| &r.body_prefix[..]),
            outcome,
        };
        for observer in observers {
            observer.observe(&report);
        }
    }
}
