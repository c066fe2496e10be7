//! What a shard delivers with: the destination's [`SendContext`] (shared by its shards) and
//! its [`RetryPolicy`]. Built by the queue, read by one attempt (`send::attempt`) and the
//! retry loop ([`super::retry`]).

use std::sync::Arc;
use std::time::Duration;

use hyper::http::Uri;
use prw_core::classify::Backoff;
use tokio_util::sync::CancellationToken;

use super::decorate::RequestDecorator;
use super::headers::RequestHeaders;
use super::metrics::DestinationMetrics;
use super::observe::AttemptObserver;
use super::stats::{ProtocolState, SendStats};
use super::transport::Transport;
use crate::clock::Clock;

/// The retry settings of a destination (`queue_config`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// `min_backoff` .. `max_backoff`.
    pub backoff: Backoff,
    /// `retry_on_http_429`.
    pub retry_on_http_429: bool,
    /// `sample_age_limit` (`None`: off).
    pub sample_age_limit: Option<Duration>,
}

/// Everything a shard needs to deliver batches to one destination (shared by its shards).
#[derive(Debug)]
pub struct SendContext {
    /// The destination's `name` (for attempt reports).
    pub name: String,
    /// Where to POST.
    pub url: Uri,
    /// The network.
    pub transport: Arc<dyn Transport>,
    /// Custom headers and credentials.
    pub headers: RequestHeaders,
    /// Backoff, 429 and age settings.
    pub policy: RetryPolicy,
    /// v2 or v1 now.
    pub protocol: Arc<ProtocolState>,
    /// Metrics of this destination.
    pub metrics: DestinationMetrics,
    /// Facts for resharding.
    pub stats: Arc<SendStats>,
    /// Wall clock (age limit, `Retry-After` dates).
    pub clock: Arc<dyn Clock>,
    /// Fires at the shutdown deadline: stop retrying, abandon the attempt in flight.
    pub stop: CancellationToken,
    /// Finishes every attempt's request (`None`: requests go out as built).
    pub decorator: Option<Arc<dyn RequestDecorator>>,
    /// See every attempt's outcome (empty: nothing is reported).
    pub observers: Vec<Arc<dyn AttemptObserver>>,
}
