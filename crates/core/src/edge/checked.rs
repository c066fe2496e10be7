//! What becomes of a body that passed every check ([`decide_checked`]): the 2.0 -> 1.0
//! bridge, then the `tenants` limits. The one sequence the Envoy filter runs (against
//! Envoy's shared data) and the inspector simulates (against a fresh [`MemoryStore`]).
//!
//! Order: convert first, admit second. A request the bridge refuses (413
//! `edge.converted_size`, 400 `edge.convert`) never reaches the tenant's bucket, so tokens
//! are taken only for requests that go upstream: [`super::admission`]'s "a rejected request
//! takes no tokens" holds across both steps. A request over its tenant's limits is refused
//! after its conversion (the conversion is wasted, nothing is sent).
//!
//! Invariants: `bridged` is set only with a forward verdict; a forward verdict that comes
//! with `bridged` has no Content-Type to canonicalise (the caller sends the bridged one; if
//! it cannot, it sends the request as it came, canonicalised by the [`Examination`]); in
//! observe mode a refused conversion forwards the request as sent without charging the
//! bucket (enforce mode would have refused it first), and a request over its limits is
//! still converted and forwarded; `tenant` is set exactly when `tenants` is configured and
//! the conversion did not refuse the request.
//!
//! [`MemoryStore`]: super::shared_bucket::MemoryStore

use alloc::string::String;

use super::body::CheckedBody;
use super::bridge::{Bridged, bridge_body};
use super::outcome::TenantOutcome;
use super::reply::Verdict;
use super::request::{Examination, settle};
use super::shared_bucket::{SharedStore, admit_shared};
use super::tenants::ResolvedTenant;
use super::{EdgeConfig, admission_verdict};

/// What the `tenants` limits decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantDecision<'a> {
    /// The tenant, its limits and stats label.
    pub tenant: ResolvedTenant<'a>,
    /// The outcome (counted under the stats label).
    pub outcome: TenantOutcome,
    /// Charged to the shared overflow bucket (`max_tenants` reached).
    pub overflow: bool,
    /// A store failure that let the request pass unlimited (fail open).
    pub host_error: Option<String>,
}

/// The decision on a checked body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDecision<'a> {
    /// Forward (possibly observed) or reject.
    pub verdict: Verdict,
    /// The 1.0 request to send instead of the 2.0 one (`upstream_protocol: v1`).
    pub bridged: Option<Bridged>,
    /// The `tenants` limits' decision.
    pub tenant: Option<TenantDecision<'a>>,
}

/// Decides on `checked` (examined as `exam`): the bridge, then the limits of the tenant
/// named `tenant` (the header's value; `None` = missing) against the buckets in `store`
/// at `now_ms`.
pub fn decide_checked<'a>(
    config: &'a EdgeConfig,
    exam: &Examination,
    checked: &CheckedBody,
    tenant: Option<&'a str>,
    store: &mut impl SharedStore,
    now_ms: i64,
) -> CheckedDecision<'a> {
    let (mut verdict, bridged) = match bridge_body(config, checked) {
        None => (forward(exam.content_type), None),
        Some(Ok(bridged)) => (forward(None), Some(bridged)),
        Some(Err(rejection)) => {
            return CheckedDecision {
                verdict: settle(config, rejection, exam.content_type),
                bridged: None,
                tenant: None,
            };
        }
    };
    let Some(tenants) = &config.tenants else {
        return CheckedDecision {
            verdict,
            bridged,
            tenant: None,
        };
    };
    let resolved = tenants.resolve(tenant);
    let shared = admit_shared(
        store,
        tenants,
        &resolved,
        &checked.counts,
        checked.protocol,
        now_ms,
    );
    let content_type = match &verdict {
        Verdict::Forward { content_type, .. } => *content_type,
        Verdict::Reject(_) => None,
    };
    let mut bridged = bridged;
    match admission_verdict(config, &shared.admission, content_type) {
        Some(reject @ Verdict::Reject(_)) => {
            verdict = reject;
            bridged = None;
        }
        Some(observed) => verdict = observed,
        None => {}
    }
    CheckedDecision {
        verdict,
        bridged,
        tenant: Some(TenantDecision {
            tenant: resolved,
            outcome: shared.admission.outcome,
            overflow: shared.overflow,
            host_error: shared.host_error,
        }),
    }
}

fn forward(content_type: Option<&'static str>) -> Verdict {
    Verdict::Forward {
        content_type,
        observed: None,
    }
}

#[cfg(test)]
mod tests;
