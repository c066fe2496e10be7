//! The status table of DESIGN.md in one place, for senders: what an HTTP answer to a
//! Remote Write request means for the batch that was sent.
//!
//! | answer | [`RetryDecision`] | why |
//! |---|---|---|
//! | 2xx (v1, or v2 with any `*-Written` header) | `Success` | written |
//! | 2xx to a v2 request without any `*-Written` header | `FallBackToV1` | a 1.0-only receiver decoded an empty v1 message and stored nothing (spec 2.0: treat as 415) |
//! | 415 to a v2 request | `FallBackToV1` | the receiver does not take 2.0; the same data may be resent as 1.0 |
//! | 429 | `RetryIf429Enabled` | overload; retried only when `retry_on_http_429` is on |
//! | 5xx | `Retry` | transient; MUST be retried with backoff |
//! | any other status (1xx, 3xx, other 4xx, outside 100..=599) | `Drop` | can never succeed; MUST NOT be retried |
//!
//! Network errors and timeouts are not statuses: they are always [`RetryDecision::Retry`]
//! ([`classify_transport_error`]).
//!
//! Invariant: [`classify`] is total (every `u16` maps to exactly one decision) and a 4xx other
//! than 429 (and 415 after v2) is never retried.

mod backoff;
mod retry_after;
mod written;

pub use backoff::{Backoff, BackoffError, Jitter, NoJitter, Schedule, SplitMix64};
pub use retry_after::{RetryAfterError, parse_retry_after};
pub use written::{WrittenCounts, WrittenHeader};

use crate::Protocol;

/// What a sender does with a batch after one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryDecision {
    /// Written: move on to the next batch.
    Success,
    /// Transient failure: retry for ever with backoff, honouring `Retry-After`.
    Retry,
    /// 429: retry (honouring `Retry-After`) only if 429 retries are enabled, else drop.
    RetryIf429Enabled,
    /// Can never succeed: drop the batch, count it, log the answer.
    Drop,
    /// The receiver only speaks 1.0: send the same data again encoded as v1.
    FallBackToV1,
}

/// The retry column of a report (`verdict.retry`): would a sender retry this answer?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAdvice {
    /// Senders retry (5xx).
    Yes,
    /// Senders never retry (2xx: nothing to retry; 4xx: never succeeds).
    No,
    /// Senders retry only with `retry_on_http_429` (429).
    #[serde(rename = "if_429_enabled")]
    If429Enabled,
}

impl RetryDecision {
    /// Whether the batch is sent again (given the sender's 429 setting).
    pub fn resends(self, retry_on_429: bool) -> bool {
        match self {
            RetryDecision::Retry | RetryDecision::FallBackToV1 => true,
            RetryDecision::RetryIf429Enabled => retry_on_429,
            RetryDecision::Success | RetryDecision::Drop => false,
        }
    }

    /// Whether a `Retry-After` header on this answer is to be honoured.
    pub fn honours_retry_after(self) -> bool {
        matches!(
            self,
            RetryDecision::Retry | RetryDecision::RetryIf429Enabled
        )
    }
}

/// Classifies an HTTP answer to a request that was sent as `sent`.
///
/// `written` is what the three `X-Prometheus-Remote-Write-*-Written` headers said
/// ([`WrittenCounts::from_headers`]); `None` when none of them was present.
pub fn classify(status: u16, sent: Protocol, written: Option<WrittenCounts>) -> RetryDecision {
    match (status, sent) {
        (200..=299, Protocol::V2) if written.is_none() => RetryDecision::FallBackToV1,
        (200..=299, _) => RetryDecision::Success,
        (415, Protocol::V2) => RetryDecision::FallBackToV1,
        (429, _) => RetryDecision::RetryIf429Enabled,
        (500..=599, _) => RetryDecision::Retry,
        _ => RetryDecision::Drop,
    }
}

/// A request that got no HTTP answer at all (connect error, reset, timeout) is always retried.
pub fn classify_transport_error() -> RetryDecision {
    RetryDecision::Retry
}

/// The report's view of a status that a receiver would answer: would a sender retry it?
pub fn retry_advice(status: u16) -> RetryAdvice {
    match classify(status, Protocol::V1, None) {
        RetryDecision::Retry => RetryAdvice::Yes,
        RetryDecision::RetryIf429Enabled => RetryAdvice::If429Enabled,
        RetryDecision::Success | RetryDecision::Drop | RetryDecision::FallBackToV1 => {
            RetryAdvice::No
        }
    }
}

#[cfg(test)]
mod tests;
