//! The server's own readiness switch, beside the pipeline's [`Ingest::ready`]: withdrawn at
//! the start of a graceful shutdown so `GET /-/ready` answers 503 while writes are still
//! accepted. Load balancers that health-check `/-/ready` (Envoy, Kubernetes) then move
//! senders to other relays before this one stops taking writes, so no sender sees an error.
//!
//! Invariants: once withdrawn, readiness never comes back (a process that started shutting
//! down stays down); `/-/ready` is 200 only when the switch is on *and* the pipeline is ready.
//! While withdrawn every response also carries `x-envoy-immediate-health-check-fail: true`,
//! which makes an Envoy with active health checking mark this host failed on the next answer
//! it relays, without waiting for its next check (ignored by everything else).
//!
//! [`Ingest::ready`]: super::Ingest::ready

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hyper::header::{HeaderName, HeaderValue};

/// Envoy's header for "take me out of load balancing now" (router filter and HTTP health
/// checker honour it when the cluster has active health checks).
pub const IMMEDIATE_HEALTH_CHECK_FAIL: HeaderName =
    HeaderName::from_static("x-envoy-immediate-health-check-fail");

/// A shared on/off switch; clones see the same state.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    withdrawn: Arc<AtomicBool>,
}

impl Readiness {
    /// Turns `/-/ready` to 503 for good (idempotent).
    pub fn withdraw(&self) {
        self.withdrawn.store(true, Ordering::SeqCst);
    }

    /// Whether [`Readiness::withdraw`] was called.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.load(Ordering::SeqCst)
    }

    /// The header every response carries while withdrawn, if any.
    pub fn response_header(&self) -> Option<(HeaderName, HeaderValue)> {
        self.is_withdrawn().then(|| {
            (
                IMMEDIATE_HEALTH_CHECK_FAIL,
                HeaderValue::from_static("true"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withdrawal_is_shared_by_clones_and_permanent() {
        let readiness = Readiness::default();
        let seen_by_server = readiness.clone();
        assert!(!seen_by_server.is_withdrawn());
        assert!(seen_by_server.response_header().is_none());
        readiness.withdraw();
        readiness.withdraw();
        assert!(seen_by_server.is_withdrawn());
        let (name, value) = seen_by_server.response_header().unwrap();
        assert_eq!(name.as_str(), "x-envoy-immediate-health-check-fail");
        assert_eq!(value, "true");
    }
}
