//! The send side of a destination: from a batch of series items to the receiver's
//! acknowledgement.
//!
//! - [`batch`]: what a batch is made of (series and metadata items, their counts).
//! - [`metrics`]: `prometheus_remote_storage_*` and `prw_remote_*` per destination.
//! - [`encode`]: `BatchEncoder` (v1 by hand-framing + snappy; the v2 seam).
//! - [`headers`]: reserved, custom, auth and forwarded request headers.
//! - [`transport`]: the `Transport` seam; [`http`] is the hyper implementation (with
//!   [`tls`], [`proxy`] and [`redirect`]) and `scripted` (feature `test-util`) the
//!   in-memory one for paused-time tests.
//! - [`decorate`]: the `RequestDecorator` seam (request signing, tokens), run last on every
//!   attempt; [`auth`] holds the decorators (SigV4, OAuth2, credentials files).
//! - [`observe`]: the `AttemptObserver` seam: every attempt's outcome, body and answer.
//! - [`context`]: a destination's `SendContext` and `RetryPolicy`.
//! - [`retry`]: one batch until it is delivered, dropped, or the destination stops.
//! - [`age`]: the `sample_age_limit` filter.

pub mod age;
mod attempt;
pub mod auth;
pub mod batch;
pub mod context;
pub mod decorate;
pub mod encode;
pub mod headers;
pub mod http;
pub mod metrics;
pub mod observe;
pub(crate) mod proto_v1;
pub mod proxy;
pub mod redirect;
pub mod retry;
#[cfg(any(test, feature = "test-util"))]
pub mod scripted;
pub mod stats;
pub mod tls;
pub mod transport;
pub mod whole;

pub use batch::{Batch, HeaderSet, ItemCounts, MetadataItem, SeriesItem, WholeItem};
pub use context::{RetryPolicy, SendContext};
pub use decorate::{AfterAnswer, DecorateError, DecorateFuture, RequestDecorator};
pub use encode::{BatchEncoder, EncodeError, V1Encoder};
pub use headers::RequestHeaders;
pub use http::{ClientSettings, HopDecorator, HttpTransport, TlsError};
pub use metrics::{DestinationMetrics, RemoteStorageMetrics};
pub use observe::{AttemptObserver, AttemptOutcome, AttemptReport};
pub use retry::{Encoders, JitterSource, Outcome, deliver};
pub use stats::{ProtocolState, SendStats};
pub use transport::{OutgoingRequest, Response, Transport, TransportError};
