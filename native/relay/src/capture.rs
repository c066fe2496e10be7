//! Capture: the relay keeps what it refused, so an operator can see which payload, which
//! series and which rule (`GET /api/v1/captures`, the inspector page's "Recent rejections").
//!
//! Two kinds ([`CaptureKind`]): `rejected`, a write request the relay answered 4xx at ingest
//! (the body exactly as received, the request headers without credentials, the status, rule
//! ids and answer text, protocol, peer, tenant, time); `refused`, a batch a destination
//! answered with a non-retryable 4xx and that was dropped (the encoded body as sent, the
//! destination's name, the status, the first KiB of the receiver's answer, time).
//!
//! Invariants:
//! - Memory is bounded: at most `max_rejected` and `max_refused` captures of each kind, and
//!   one cap (`max_bytes`) over both; the oldest captures go first (`ring.rs`). A body that
//!   alone does not fit under the cap is dropped and the capture kept without it. The bytes
//!   counted are the bytes held: bodies are copied into allocations of their exact size.
//! - Credentials never enter the store: `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie` and the configured `secret_headers` are removed before anything is kept
//!   (`scrub.rs`); only their names are listed.
//! - Ids are 1, 2, 3, ... in arrival order over both kinds and never reused; an evicted id
//!   is gone for good.
//!
//! Layering: imports [`crate::config`] and [`crate::clock`] only. The server serves it; the
//! hooks that feed it from ingest and from the send side are in `crate::capture_observers`.

mod entry;
mod listing;
mod metrics;
mod ring;
mod scrub;
mod store;

pub use entry::{BodyMissing, CaptureEntry, CaptureKind};
pub use listing::{Listed, listing_json};
pub use metrics::{CaptureMetrics, register_disabled};
pub use scrub::CREDENTIAL_HEADERS;
pub use store::{CaptureStore, RefusedBatch, RejectedRequest};
