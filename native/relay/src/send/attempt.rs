//! One attempt of the retry loop ([`super::retry`]): the request is decorated (when the
//! destination has a [`super::RequestDecorator`]), counted, sent and timed; the answer is
//! counted by status. Classifying it is the loop's job.
//!
//! Invariants: a request whose decoration failed is never sent and is counted
//! `prw_remote_decorate_errors_total`, not as a request; the stop token abandons the attempt
//! at any point (decoration or transport), and an abandoned attempt counts nothing but what
//! was already sent.

use bytes::Bytes;
use tokio::time::Instant;

use super::batch::{Batch, ItemCounts};
use super::context::SendContext;
use super::decorate::DecorateError;
use super::transport::{OutgoingRequest, Response, TransportError};

/// Why an attempt got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptError {
    /// The decorator failed: the request was not sent.
    #[error("request decoration failed: {0}")]
    Decorate(#[source] DecorateError),
    /// The transport failed.
    #[error("{0}")]
    Transport(#[source] TransportError),
}

/// An attempt made: the body as sent (after decoration) and the answer; `answer` is `None`
/// when the stop token fired first.
pub(crate) struct Attempted {
    pub(crate) body: Bytes,
    pub(crate) answer: Option<Result<Response, AttemptError>>,
}

/// Decorates, sends and times `request`, the attempt of `batch` carrying `counts`.
pub(crate) async fn attempt(
    ctx: &SendContext,
    mut request: OutgoingRequest,
    batch: &Batch,
    counts: ItemCounts,
) -> Attempted {
    if let Some(decorator) = &ctx.decorator {
        let decorated = tokio::select! {
            biased;
            () = ctx.stop.cancelled() => None,
            decorated = decorator.decorate(&mut request) => Some(decorated),
        };
        match decorated {
            None => return abandoned(request.body),
            Some(Ok(())) => {}
            Some(Err(error)) => {
                ctx.metrics.decorate_error();
                tracing::warn!(url = %ctx.url, %error, "request decoration failed; will retry");
                return Attempted {
                    body: request.body,
                    answer: Some(Err(AttemptError::Decorate(error))),
                };
            }
        }
    }
    let body = request.body.clone();
    match batch {
        Batch::Series(_) | Batch::Whole(_) => ctx.metrics.attempt(counts, body.len()),
        Batch::Metadata(item) => ctx.metrics.metadata_attempt(item.entries.len()),
    }
    let started = Instant::now();
    let answer = tokio::select! {
        biased;
        () = ctx.stop.cancelled() => return abandoned(body),
        answer = ctx.transport.send(request) => answer,
    };
    let took = started.elapsed();
    ctx.metrics.batch_duration(took.as_secs_f64());
    ctx.stats.record_send(counts.total(), took);
    match &answer {
        Ok(response) => ctx.metrics.request(Some(response.status)),
        Err(error) => {
            ctx.metrics.request(None);
            tracing::warn!(url = %ctx.url, %error, "send failed; will retry");
        }
    }
    Attempted {
        body,
        answer: Some(answer.map_err(AttemptError::Transport)),
    }
}

fn abandoned(body: Bytes) -> Attempted {
    Attempted { body, answer: None }
}
