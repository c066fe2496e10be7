//! The `tenants` limits on one checked request: `max_series_per_request` (400), then the
//! token bucket with cost = samples + histograms: more than the burst is 400 (it can never
//! be admitted), more than the tokens left is 429 with a `Retry-After` from the bucket.
//!
//! Invariants: only an admitted request with a rate and a cost above 0 yields a bucket
//! state to write back; a rejected request takes no tokens; every rejection names the rule,
//! the tenant and the limit; a 429 carries `Retry-After` (at least 1 s). Observe mode is the
//! caller's [`admission_verdict`]: the outcome is what enforce mode would do, the bucket is
//! charged the same way, nothing is rejected.

use alloc::format;

use super::bucket::{BucketState, Take, take};
use super::outcome::TenantOutcome;
use super::reply::{Rejection, Verdict};
use super::request::{reject, settle};
use super::tenants::ResolvedTenant;
use super::{EdgeConfig, EdgeRule};
use crate::Protocol;
use crate::validate::Counts;

/// What the limits decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// The outcome (counted per tenant stats label).
    pub outcome: TenantOutcome,
    /// The bucket state to write back, when tokens were taken.
    pub new_state: Option<BucketState>,
    /// The reply of a rejected outcome.
    pub rejection: Option<Rejection>,
}

impl Admission {
    fn admitted(new_state: Option<BucketState>) -> Admission {
        Admission {
            outcome: TenantOutcome::Admitted,
            new_state,
            rejection: None,
        }
    }

    fn rejected(outcome: TenantOutcome, rejection: Rejection) -> Admission {
        Admission {
            outcome,
            new_state: None,
            rejection: Some(rejection),
        }
    }

    /// 429 when the shared bucket could not be updated (every compare-and-swap lost to
    /// other workers): the limit holds, and the sender retries in a second.
    pub fn contended(tenant: &ResolvedTenant<'_>, protocol: Protocol) -> Admission {
        let message = format!(
            "tenant {:?}: the ingestion rate bucket is busy; retry after 1 s",
            tenant.id
        );
        Admission::rejected(
            TenantOutcome::RateLimited,
            with_retry_after(
                reject(EdgeRule::IngestionRate, 429, &message, Some(protocol)),
                1,
            ),
        )
    }
}

/// Samples + histograms: what the rate counts (Mimir's `ingestion_rate`).
pub fn cost(counts: &Counts) -> u64 {
    counts.samples.saturating_add(counts.histograms)
}

fn with_retry_after(mut rejection: Rejection, seconds: u32) -> Rejection {
    rejection
        .reply
        .headers
        .push(("retry-after", format!("{seconds}")));
    rejection
}

/// Decides on a checked request of `tenant` carrying `counts`, against the bucket `state`
/// (`None`: not created yet, a full bucket) at `now_ms`.
pub fn decide_admission(
    tenant: &ResolvedTenant<'_>,
    counts: &Counts,
    protocol: Protocol,
    state: Option<BucketState>,
    now_ms: i64,
) -> Admission {
    let p = Some(protocol);
    if let Some(max) = tenant.limits.max_series_per_request
        && counts.series > max
    {
        let message = format!(
            "request has {} series, more than tenant {:?}'s max_series_per_request of {max}",
            counts.series, tenant.id
        );
        return Admission::rejected(
            TenantOutcome::SeriesLimited,
            reject(EdgeRule::MaxSeriesPerRequest, 400, &message, p),
        );
    }
    let Some(rate) = tenant.limits.rate else {
        return Admission::admitted(None);
    };
    let cost = cost(counts);
    if cost == 0 {
        return Admission::admitted(None);
    }
    match take(&rate, state, cost, now_ms) {
        Take::Admitted(new_state) => Admission::admitted(Some(new_state)),
        Take::TooLarge => {
            let message = format!(
                "request has {cost} samples and histograms, more than tenant {:?}'s ingestion_burst_size of {}: it can never be accepted; send smaller requests",
                tenant.id,
                rate.burst()
            );
            Admission::rejected(
                TenantOutcome::BurstExceeded,
                reject(EdgeRule::IngestionBurstSize, 400, &message, p),
            )
        }
        Take::Limited {
            retry_after_secs,
            available,
        } => {
            let message = format!(
                "tenant {:?} is over its ingestion_rate of {} samples and histograms per second (burst {}): this request has {cost}, {available} are available; retry after {retry_after_secs} s",
                tenant.id,
                rate.per_second_text(),
                rate.burst()
            );
            Admission::rejected(
                TenantOutcome::RateLimited,
                with_retry_after(
                    reject(EdgeRule::IngestionRate, 429, &message, p),
                    retry_after_secs,
                ),
            )
        }
    }
}

/// The verdict for a rejected admission (enforce: the rejection; observe: a forward that
/// records it); `None` when admitted.
pub fn admission_verdict(
    config: &EdgeConfig,
    admission: &Admission,
    content_type: Option<&'static str>,
) -> Option<Verdict> {
    admission
        .rejection
        .clone()
        .map(|rejection| settle(config, rejection, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::Mode;
    use crate::edge::bucket::{MICRO, Rate};
    use crate::edge::tenants::TenantLimits;

    fn tenant(rate: Option<Rate>, max_series: Option<u64>) -> ResolvedTenant<'static> {
        ResolvedTenant {
            id: "t1",
            stats_label: "t1",
            overridden: true,
            limits: TenantLimits {
                rate,
                max_series_per_request: max_series,
            },
        }
    }

    fn counts(series: u64, samples: u64, histograms: u64) -> Counts {
        Counts {
            series,
            samples,
            histograms,
            ..Counts::default()
        }
    }

    #[test]
    fn within_the_rate_takes_samples_plus_histograms() {
        let t = tenant(Rate::new(10.0, 100), None);
        let a = decide_admission(&t, &counts(2, 30, 10), Protocol::V1, None, 0);
        assert_eq!(a.outcome, TenantOutcome::Admitted);
        assert_eq!(a.new_state.map(|s| s.micro_tokens), Some(60 * MICRO));
        assert_eq!(a.rejection, None);
    }

    #[test]
    fn over_the_rate_is_429_with_retry_after_and_takes_nothing() {
        let t = tenant(Rate::new(10.0, 100), None);
        let empty = BucketState {
            micro_tokens: 5 * MICRO,
            updated_ms: 0,
        };
        let a = decide_admission(&t, &counts(1, 25, 0), Protocol::V2, Some(empty), 0);
        assert_eq!((a.outcome, a.new_state), (TenantOutcome::RateLimited, None));
        let reply = a.rejection.unwrap().reply;
        assert_eq!(reply.status, 429);
        // 20 tokens missing at 10/s: 2 s.
        assert!(reply.headers.contains(&("retry-after", "2".into())));
        assert!(reply.body.contains("edge.ingestion_rate"), "{}", reply.body);
        assert!(
            reply
                .headers
                .iter()
                .any(|(n, v)| *n == "x-prometheus-remote-write-samples-written" && v == "0")
        );
    }

    #[test]
    fn more_than_the_burst_is_400_naming_the_limit() {
        let t = tenant(Rate::new(10.0, 100), None);
        let a = decide_admission(&t, &counts(1, 101, 0), Protocol::V1, None, 0);
        assert_eq!(a.outcome, TenantOutcome::BurstExceeded);
        let reply = a.rejection.unwrap().reply;
        assert_eq!(reply.status, 400);
        assert!(
            reply.body.contains("ingestion_burst_size of 100"),
            "{}",
            reply.body
        );
    }

    #[test]
    fn too_many_series_is_400_before_the_bucket() {
        let t = tenant(Rate::new(10.0, 100), Some(2));
        let a = decide_admission(&t, &counts(3, 3, 0), Protocol::V1, None, 0);
        assert_eq!(
            (a.outcome, a.new_state),
            (TenantOutcome::SeriesLimited, None)
        );
        assert!(
            a.rejection
                .unwrap()
                .reply
                .body
                .contains("max_series_per_request of 2")
        );
    }

    #[test]
    fn no_rate_or_nothing_to_count_writes_no_state() {
        let a = decide_admission(&tenant(None, None), &counts(9, 9, 9), Protocol::V1, None, 0);
        assert_eq!(a, Admission::admitted(None));
        let t = tenant(Rate::new(10.0, 100), None);
        let a = decide_admission(&t, &counts(0, 0, 0), Protocol::V1, None, 0);
        assert_eq!(a, Admission::admitted(None));
    }

    #[test]
    fn observe_mode_forwards_what_enforce_mode_rejects() {
        let t = tenant(Rate::new(10.0, 100), None);
        let a = decide_admission(&t, &counts(1, 101, 0), Protocol::V1, None, 0);
        let enforce = admission_verdict(&EdgeConfig::default(), &a, None).unwrap();
        assert!(matches!(enforce, Verdict::Reject(_)));
        let observe = EdgeConfig {
            mode: Mode::Observe,
            ..EdgeConfig::default()
        };
        let verdict = admission_verdict(&observe, &a, None).unwrap();
        assert!(matches!(
            verdict,
            Verdict::Forward {
                observed: Some(_),
                ..
            }
        ));
        let admitted = Admission::admitted(None);
        assert_eq!(admission_verdict(&observe, &admitted, None), None);
    }
}
