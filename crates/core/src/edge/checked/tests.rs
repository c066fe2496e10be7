//! The bridge-then-limits sequence: who is charged, what is sent, in both modes.

use alloc::vec::Vec;

use super::*;
use crate::Protocol;
use crate::codec;
use crate::edge::shared_bucket::MemoryStore;
use crate::edge::{BodyCheck, check_body};
use crate::fixtures::{SYMBOLS, amplifying_v2, v2_bytes, v2_series};

const V2: Examination = Examination {
    protocol: Protocol::V2,
    content_type: None,
};

fn config(json: &str) -> EdgeConfig {
    let config: EdgeConfig = serde_json::from_str(json).unwrap();
    config.check().unwrap();
    config
}

fn checked(config: &EdgeConfig, decoded: &[u8]) -> CheckedBody {
    match check_body(config, &V2, &codec::compress(decoded).unwrap(), 0) {
        BodyCheck::Passed(c) => c,
        BodyCheck::Decided(v) => panic!("{v:?}"),
    }
}

/// One series `up` with `n` samples: costs `n` tokens, converts to a few hundred bytes.
fn samples(n: i64) -> Vec<u8> {
    let points: Vec<(i64, f64)> = (1..=n).map(|t| (t, 1.0)).collect();
    v2_bytes(&SYMBOLS, alloc::vec![v2_series(&[1, 2], &points)])
}

/// Converted: 50 series of 29 x 2,000-byte labels, ~2.9 MB of 1.0 (over the cap below).
fn amplified() -> Vec<u8> {
    amplifying_v2(50, 30, 2000)
}

/// Bridge on, decoded cap 100 kB, tenant burst 50 at 1 per second.
const BRIDGE_AND_LIMITS: &str = r#"{"upstream_protocol": "v1",
    "limits": {"max_decoded_bytes": 100000},
    "tenants": {"default": {"ingestion_rate": 1, "ingestion_burst_size": 50}}}"#;

fn status(verdict: &Verdict) -> Option<(u16, &'static str)> {
    match verdict {
        Verdict::Reject(r) => Some((r.reply.status, r.rule)),
        Verdict::Forward { .. } => None,
    }
}

#[test]
fn a_request_the_bridge_refuses_takes_no_tokens() {
    let config = config(BRIDGE_AND_LIMITS);
    let mut store = MemoryStore::default();
    let big = checked(&config, &amplified());
    assert_eq!(big.counts.samples, 50);
    let refused = decide_checked(&config, &V2, &big, Some("t1"), &mut store, 0);
    assert_eq!(status(&refused.verdict), Some((413, "edge.converted_size")));
    assert_eq!((refused.bridged, refused.tenant), (None, None));
    assert!(store.is_empty(), "the bucket was touched");
    // The whole burst is still there: 50 samples pass at the same instant.
    let small = checked(&config, &samples(50));
    let admitted = decide_checked(&config, &V2, &small, Some("t1"), &mut store, 0);
    assert_eq!(status(&admitted.verdict), None);
    assert_eq!(
        admitted.tenant.map(|t| t.outcome),
        Some(TenantOutcome::Admitted)
    );
    assert_eq!(
        admitted.bridged.map(|b| b.transcoded.written.samples),
        Some(50)
    );
    // And now it is spent.
    let limited = decide_checked(&config, &V2, &small, Some("t1"), &mut store, 0);
    assert_eq!(status(&limited.verdict), Some((429, "edge.ingestion_rate")));
    assert_eq!(limited.bridged, None, "a refused request is not sent");
}

#[test]
fn observe_mode_forwards_a_refused_conversion_as_sent_without_charging() {
    let mut config = config(BRIDGE_AND_LIMITS);
    config.mode = crate::edge::Mode::Observe;
    let mut store = MemoryStore::default();
    let big = checked(&config, &amplified());
    let d = decide_checked(&config, &V2, &big, Some("t1"), &mut store, 0);
    let Verdict::Forward {
        observed: Some(rejection),
        ..
    } = &d.verdict
    else {
        panic!("{:?}", d.verdict);
    };
    assert_eq!(rejection.rule, "edge.converted_size");
    assert_eq!((d.bridged, d.tenant), (None, None));
    assert!(store.is_empty());
}

#[test]
fn observe_mode_still_converts_a_request_over_its_limits() {
    let mut config = config(BRIDGE_AND_LIMITS);
    config.mode = crate::edge::Mode::Observe;
    let mut store = MemoryStore::default();
    let over = checked(&config, &samples(51));
    let d = decide_checked(&config, &V2, &over, None, &mut store, 0);
    assert!(matches!(
        &d.verdict,
        Verdict::Forward { observed: Some(r), .. } if r.rule == "edge.ingestion_burst_size"
    ));
    assert!(d.bridged.is_some());
    let tenant = d.tenant.unwrap();
    assert_eq!(
        (tenant.tenant.id, tenant.outcome),
        ("anonymous", TenantOutcome::BurstExceeded)
    );
}

#[test]
fn without_bridge_or_limits_the_request_is_forwarded_as_examined() {
    let config = config("{}");
    let lenient = Examination {
        protocol: Protocol::V2,
        content_type: Some(crate::negotiate::CONTENT_TYPE_V2),
    };
    let body = checked(&config, &samples(3));
    let decide = |config: &EdgeConfig| {
        let mut store = MemoryStore::default();
        let d = decide_checked(config, &lenient, &body, None, &mut store, 0);
        (d.verdict, d.bridged.is_some(), d.tenant.is_some())
    };
    let (verdict, bridged, tenant) = decide(&config);
    assert_eq!(
        verdict,
        Verdict::Forward {
            content_type: Some(crate::negotiate::CONTENT_TYPE_V2),
            observed: None
        }
    );
    assert_eq!((bridged, tenant), (false, false));
    // Converted, the Content-Type is the 1.0 one the bridge sets: nothing to canonicalise.
    let (verdict, bridged, _) = decide(&self::config(r#"{"upstream_protocol": "v1"}"#));
    assert!(matches!(
        verdict,
        Verdict::Forward {
            content_type: None,
            observed: None
        }
    ));
    assert!(bridged);
}
