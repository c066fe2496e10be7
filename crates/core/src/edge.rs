//! The Envoy edge filter's configuration and decisions, as pure functions.
//!
//! The proxy-wasm adapter (`prw-envoy-filter`) only moves bytes between Envoy and these
//! functions; the inspector can run the same functions to show "what would the edge do".
//! The flow for one request is:
//!
//! 1. [`decide_request_head`]: method + path -> [`HeadAction::Examine`] (a POST to a write
//!    path) or [`HeadAction::Pass`] (everything else passes untouched, including its
//!    response).
//! 2. [`decide_headers`]: Content-Type / Content-Encoding (415), tenant header (401 or 400),
//!    a `tenants` header that is no tenant id (400), Content-Length over the body limit
//!    (413) -> a [`Verdict`], or [`HeadersDecision::NeedBody`].
//! 3. [`check_body`] (feature `std`, since snappy is std-only): size limits (413), snappy
//!    preamble over the decoded limit (413, before decoding), decode + validate + optional
//!    `max_sample_age` (400) -> a [`Verdict`], or the decoded body and its counts
//!    ([`CheckedBody`]). [`decide_body`] is the same without the checked body.
//! 4. [`decide_checked`] (`std`) on a checked body: first `upstream_protocol: v1`
//!    ([`bridge_body`]: a 2.0 body converted to 1.0, 413 when its 1.0 form is too big), then
//!    the `tenants` limits ([`shared_bucket::admit_shared`] over [`decide_admission`]: series
//!    per request and burst (400), rate (429 + `Retry-After`) against a token bucket
//!    ([`bucket`]) kept in a store shared by Envoy's workers). Converting first means a
//!    request the bridge refuses costs its tenant no tokens.
//! 5. [`decide_response`]: the status a sender sees -> an optional status rewrite and an
//!    optional `Retry-After` to add ([`status_rewrite`]).
//!
//! Invariants: no function here panics on any input; every local reply's status is one of
//! [`REPLY_STATUSES`] and a 429 carries `Retry-After`; in [`Mode::Observe`] no verdict
//! carries a reply (the would-be reply is still described so it can be counted and
//! logged); every reply to a v2 request carries the three
//! `X-Prometheus-Remote-Write-*-Written: 0` headers. Stats names are fixed
//! ([`Outcome::stat_name`], [`rule_stat_name`], [`TenantOutcome::stat_name`],
//! [`DroppedStat::stat_name`]).

mod admission;
pub mod bucket;
mod config;
mod config_error;
mod duration;
mod outcome;
mod reply;
mod request;
mod response;
#[cfg(feature = "std")]
mod series_text;
pub mod shared_bucket;
mod tenants;

#[cfg(feature = "std")]
mod body;
#[cfg(feature = "std")]
mod bridge;
#[cfg(feature = "std")]
mod checked;

pub use admission::{Admission, admission_verdict, cost, decide_admission};
#[cfg(feature = "std")]
pub use body::{BodyCheck, CheckedBody, check_body, decide_body};
#[cfg(feature = "std")]
pub use bridge::{Bridged, V1_VERSION, bridge_body};
#[cfg(feature = "std")]
pub use checked::{CheckedDecision, TenantDecision, decide_checked};
pub use config::{
    DEFAULT_RETRY_AFTER_SECONDS, EdgeConfig, Mode, RewriteKey, RewriteKeyError, RewriteSource,
    UpstreamProtocol, default_status_rewrites,
};
pub use config_error::{ConfigError, ConfigProblem};
pub use duration::{DurationError, parse_duration_ms};
pub use outcome::{
    DroppedStat, EdgeRule, Outcome, TenantOutcome, rule_stat_name, tenant_stat_name,
};
pub use reply::{LocalReply, REPLY_STATUSES, Rejection, Verdict, WRITTEN_HEADERS};
pub use request::{
    Examination, HeadAction, HeadersDecision, RequestHeaders, decide_headers, decide_request_head,
    limits_tenant, settle,
};
pub use response::{ResponseDecision, ResponseSource, decide_response, status_rewrite};
pub use tenants::{
    ANONYMOUS_TENANT, DEFAULT_MAX_TENANTS, DEFAULT_TENANT_HEADER, LimitSet, OTHER_TENANTS,
    ResolvedTenant, TenantLimits, TenantsConfig, is_valid_tenant_id,
};

#[cfg(test)]
mod tests;
