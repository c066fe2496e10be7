//! Delivering one batch: encode, send, classify the answer, and retry until it is acknowledged,
//! dropped, or the destination is stopped.
//!
//! Rules (DESIGN.md status table, remote-write.md 4.5):
//! - 2xx: delivered (v2 with fewer written than sent: the difference is counted failed, logged).
//! - 5xx and transport errors: retried for ever, delays from the core [`Schedule`](prw_core::classify::Schedule)
//!   (`min_backoff` doubling to `max_backoff`, jittered), or exactly `Retry-After` when given.
//! - 429: like 5xx when `retry_on_http_429`, otherwise dropped.
//! - Any other status: dropped at once, never resent; counted by status, 1 KiB of body logged.
//! - v2 answered 415 or 2xx without Written headers: the destination switches to v1 and the
//!   same items are sent again at once as v1 (not a retry: no delay, no `Retry-Attempt`).
//! - A request decorator ([`super::decorate`]) runs last on every attempt; its error is retried
//!   like a transport error; its `ResendNow` after a non-2xx answer resends the batch at once,
//!   once per batch (counted retried), before the normal classification.
//! - Every attempt is reported once to the destination's attempt observers
//!   ([`super::observe`]), after classification and before any backoff sleep.
//! - `sample_age_limit`: before every attempt, data older than the limit is removed from the
//!   batch (counted dropped `too_old`); a batch left empty is finished.
//!
//! Invariant: a batch is never sent again after a drop decision or a 2xx, and never sent after
//! the stop token fired (an attempt in flight at that moment is abandoned).

use std::time::Duration;

use bytes::Bytes;
use prw_core::Protocol;
use prw_core::classify::{
    Jitter, NoJitter, RetryDecision, SplitMix64, WrittenCounts, classify, classify_transport_error,
    parse_retry_after,
};

use super::age::{AgeOutcome, drop_older_than};
use super::attempt::{AttemptError, Attempted, attempt};
use super::batch::{Batch, ItemCounts, SeriesItem};
use super::context::SendContext;
use super::decorate::AfterAnswer;
use super::encode::{BatchEncoder, V1Encoder};
use super::observe::{AttemptFacts, AttemptOutcome};
use super::transport::{OutgoingRequest, Response};
use super::whole::whole_body;

/// Where the jitter of backoff delays comes from.
#[derive(Debug, Clone)]
pub enum JitterSource {
    /// No jitter: Prometheus's exact schedule.
    None,
    /// Seeded pseudo-random jitter.
    Seeded(SplitMix64),
}

impl Jitter for JitterSource {
    fn unit(&mut self) -> f64 {
        match self {
            JitterSource::None => NoJitter.unit(),
            JitterSource::Seeded(rng) => rng.unit(),
        }
    }
}

/// The encoders of one shard.
#[derive(Debug, Default)]
pub struct Encoders {
    /// Always available.
    pub v1: V1Encoder,
    /// Present for v2 destinations.
    pub v2: Option<Box<dyn BatchEncoder>>,
}

impl Encoders {
    fn for_protocol(&mut self, protocol: Protocol) -> &mut dyn BatchEncoder {
        match (protocol, self.v2.as_mut()) {
            (Protocol::V2, Some(v2)) => v2.as_mut(),
            _ => &mut self.v1,
        }
    }
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged with a 2xx.
    Delivered,
    /// Given up on after a non-retryable answer (`None`: the batch could not be encoded).
    Dropped {
        /// The status that decided it.
        status: Option<u16>,
    },
    /// Every item became older than `sample_age_limit` before it could be delivered.
    TooOld,
    /// Metadata to a v2 destination: v2 carries metadata inside series, nothing to send.
    NotApplicable,
    /// The stop token fired first: not acknowledged, the WAL replays it.
    Aborted,
}

impl Outcome {
    /// Whether the items count as acknowledged (their records may pass the cursor).
    pub fn acknowledged(self) -> bool {
        !matches!(self, Outcome::Aborted)
    }
}

/// Delivers `batch` (see the module docs for the rules).
pub async fn deliver(
    ctx: &SendContext,
    encoders: &mut Encoders,
    jitter: &mut JitterSource,
    mut batch: Batch,
) -> Outcome {
    let mut schedule = ctx.policy.backoff.schedule();
    let mut body: Option<(Protocol, Bytes)> = None;
    let mut resent_now = false;
    loop {
        if ctx.stop.is_cancelled() {
            return Outcome::Aborted;
        }
        if let Batch::Series(items) = &mut batch {
            if apply_age_limit(ctx, items) {
                body = None;
            }
            if items.is_empty() {
                return Outcome::TooOld;
            }
        }
        let protocol = ctx.protocol.current();
        if let Batch::Metadata(_) = batch
            && protocol == Protocol::V2
        {
            return Outcome::NotApplicable;
        }
        let Some(payload) = encode(ctx, encoders, &batch, protocol, &mut body) else {
            return Outcome::Dropped { status: None };
        };
        let counts = batch.counts();
        let forwarded = batch.headers().map(|h| &**h).unwrap_or_default();
        let retry_attempt = schedule.retries();
        let request = OutgoingRequest {
            url: ctx.url.clone(),
            headers: ctx.headers.build(protocol, retry_attempt, forwarded),
            body: payload,
        };
        let Attempted { body: sent, answer } = attempt(ctx, request, &batch, counts).await;
        let facts = AttemptFacts {
            destination: &ctx.name,
            url: &ctx.url,
            protocol,
            retry_attempt,
            body: &sent,
            forwarded,
            counts,
        };
        let report = |answer: Option<&Response>, outcome| {
            facts.report(&ctx.observers, answer, outcome);
        };
        let Some(answer) = answer else {
            report(None, AttemptOutcome::Aborted);
            return Outcome::Aborted;
        };
        let response = answer.as_ref().ok();
        let (decision, retry_after) = classify_answer(ctx, protocol, counts, &answer);
        if let Some(response) = response
            && resend_now(ctx, response.status, decision, &mut resent_now)
        {
            ctx.metrics.retried(counts);
            report(
                Some(response),
                AttemptOutcome::Retrying {
                    delay: Duration::ZERO,
                },
            );
            continue;
        }

        match decision {
            RetryDecision::Success => {
                ctx.stats
                    .record_success(batch.newest_timestamp_ms().unwrap_or(i64::MIN));
                if let Some(highest) = ctx.stats.highest_sent_ms() {
                    ctx.metrics.highest_sent(highest);
                }
                report(response, AttemptOutcome::Delivered);
                return Outcome::Delivered;
            }
            RetryDecision::FallBackToV1 => {
                if ctx.protocol.fall_back() {
                    ctx.metrics.fallback();
                    tracing::warn!(
                        url = %ctx.url,
                        status = response.map_or(0, |r| r.status),
                        "destination does not take Remote Write 2.0; switching it to 1.0 and resending"
                    );
                }
                report(response, AttemptOutcome::FellBackToV1);
                continue;
            }
            decision if decision.resends(ctx.policy.retry_on_http_429) => {
                let delay = schedule.next_delay(retry_after, jitter);
                ctx.stats.record_backoff(delay);
                tracing::debug!(url = %ctx.url, ?delay, attempt = schedule.retries(), "retrying");
                report(response, AttemptOutcome::Retrying { delay });
                tokio::select! {
                    biased;
                    () = ctx.stop.cancelled() => return Outcome::Aborted,
                    () = tokio::time::sleep(delay) => {}
                }
                ctx.metrics.retried(counts);
            }
            _ => {
                ctx.metrics.failed(counts);
                report(response, AttemptOutcome::Dropped);
                let (status, body) = match response {
                    Some(r) => (
                        r.status,
                        String::from_utf8_lossy(&r.body_prefix).into_owned(),
                    ),
                    None => (0, String::new()),
                };
                tracing::error!(
                    url = %ctx.url,
                    status,
                    body = %body,
                    samples = counts.samples,
                    histograms = counts.histograms,
                    exemplars = counts.exemplars,
                    "non-recoverable answer; batch dropped"
                );
                return Outcome::Dropped {
                    status: Some(status),
                };
            }
        }
    }
}

/// The body of `batch` in `protocol`: the cached one when it is still right, else freshly
/// encoded (and cached). `None`: the batch cannot be encoded; it is dropped (counted failed).
fn encode(
    ctx: &SendContext,
    encoders: &mut Encoders,
    batch: &Batch,
    protocol: Protocol,
    cached: &mut Option<(Protocol, Bytes)>,
) -> Option<Bytes> {
    if let Some((p, bytes)) = cached
        && *p == protocol
    {
        return Some(bytes.clone());
    }
    let encoder = encoders.for_protocol(protocol);
    let encoded = match batch {
        Batch::Series(items) => encoder.encode_series(items),
        Batch::Metadata(item) => encoder.encode_metadata(item),
        Batch::Whole(items) => whole_body(items, protocol),
    };
    match encoded {
        Ok(bytes) => {
            *cached = Some((protocol, bytes.clone()));
            Some(bytes)
        }
        Err(error) => {
            tracing::error!(url = %ctx.url, %error, "batch could not be encoded; dropped");
            ctx.metrics.failed(batch.counts());
            None
        }
    }
}

/// The retry decision for an answer, and the `Retry-After` delay it honours.
fn classify_answer(
    ctx: &SendContext,
    protocol: Protocol,
    counts: ItemCounts,
    answer: &Result<Response, AttemptError>,
) -> (RetryDecision, Option<Duration>) {
    let Ok(response) = answer else {
        return (classify_transport_error(), None);
    };
    let written = WrittenCounts::from_headers(|name| response.header(name));
    let decision = classify(response.status, protocol, written);
    let now_secs = ctx.clock.now_unix_ms().div_euclid(1000);
    let retry_after = response
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, now_secs).ok())
        .filter(|_| decision.honours_retry_after());
    if decision == RetryDecision::Success
        && let Some(written) = written
    {
        account_partial_write(ctx, counts, written);
    }
    (decision, retry_after)
}

/// Shows the decorator the answer's status; true when it asks for an immediate resend and
/// the batch may still have one (not after a 2xx, once per batch).
fn resend_now(
    ctx: &SendContext,
    status: u16,
    decision: RetryDecision,
    resent_now: &mut bool,
) -> bool {
    let Some(decorator) = &ctx.decorator else {
        return false;
    };
    let asked = decorator.after_answer(status) == AfterAnswer::ResendNow;
    if !asked || *resent_now || decision == RetryDecision::Success {
        return false;
    }
    *resent_now = true;
    tracing::info!(url = %ctx.url, status, "request decorator asked to resend the batch at once");
    true
}

/// Removes too-old data; true when the batch changed (so it must be re-encoded).
fn apply_age_limit(ctx: &SendContext, items: &mut Vec<SeriesItem>) -> bool {
    let Some(limit) = ctx.policy.sample_age_limit else {
        return false;
    };
    let cutoff = cutoff_ms(ctx.clock.now_unix_ms(), limit);
    let mut changed = false;
    let mut kept = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        match drop_older_than(&item, cutoff) {
            AgeOutcome::Unchanged | AgeOutcome::Undecodable => kept.push(item),
            AgeOutcome::Trimmed { item, dropped } => {
                ctx.metrics.dropped("too_old", dropped);
                ctx.stats.record_dropped(dropped.total());
                kept.push(item);
                changed = true;
            }
            AgeOutcome::AllTooOld => {
                ctx.metrics.dropped("too_old", item.counts);
                ctx.stats.record_dropped(item.counts.total());
                changed = true;
            }
        }
    }
    *items = kept;
    changed
}

/// `now - limit`, in ms, saturating.
pub fn cutoff_ms(now_unix_ms: i64, limit: Duration) -> i64 {
    now_unix_ms.saturating_sub(i64::try_from(limit.as_millis()).unwrap_or(i64::MAX))
}

/// v2 2xx with fewer written than sent: Prometheus counts the difference failed and logs it.
fn account_partial_write(ctx: &SendContext, sent: ItemCounts, written: WrittenCounts) {
    let missing = ItemCounts {
        samples: sent.samples.saturating_sub(written.samples),
        histograms: sent.histograms.saturating_sub(written.histograms),
        exemplars: sent.exemplars.saturating_sub(written.exemplars),
    };
    if missing.total() > 0 {
        ctx.metrics.failed(missing);
        tracing::error!(
            url = %ctx.url,
            samples = missing.samples,
            histograms = missing.histograms,
            exemplars = missing.exemplars,
            "2xx from the receiver, yet its Written headers say some data was not written"
        );
    }
}

#[cfg(test)]
mod tests;
