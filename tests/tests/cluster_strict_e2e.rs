//! Strict mode with real processes (issue 12): a load generator with its own tenant ->
//! Envoy 1.40 with `envoy/cluster-strict.yaml` -> three `prw relay`s -> the recording test
//! receiver. The tenant's relay is killed with `kill -9` and started again on its WAL.
//!
//! While it is down, every write of that tenant gets 503 from Envoy (the sender keeps the
//! batch and retries) and no other relay receives one of them: the stream is never moved.
//! At the end the receiver holds every acknowledged pair, nothing that was never sent, and
//! no series received a new sample older than one it already had (replayed duplicates of
//! the killed relay's in-flight batches aside). The tenant header reached the receiver.
//!
//! Tools: `$PRW_BIN`, `$ENVOY_BIN`, `$PRW_ENVOY_FILTER_WASM` (as `cargo xtask test` sets
//! them). With `CI=true` a missing tool fails the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use prw_e2e::cluster::Cluster;
use prw_e2e::envoy::Template;
use prw_e2e::load::Load;
use prw_e2e::receiver::{BlockingReceiver, ReceiverConfig};
use prw_e2e::{pairs, relay, tools, wait};

/// Batches of the load generator that must be answered in each phase.
const BATCHES: u64 = 10;

#[test]
fn in_strict_mode_a_dead_relays_tenant_gets_503_and_nothing_is_reordered() {
    let started = Instant::now();
    let Some(prw) = relay::bin().unwrap() else {
        return;
    };
    let Some(envoy_bin) = tools::envoy().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let relay_yaml = relay::forwarding_config(&[("receiver", &receiver.url("/api/v1/write"))]);
    let mut cluster = Cluster::start(
        &prw,
        &envoy_bin,
        Template::ClusterStrict,
        &relay_yaml,
        Duration::from_secs(1),
        &wasm,
    )
    .unwrap();
    let edge = cluster.envoy.listener();
    let tenants = cluster.tenant_per_relay().unwrap();
    let victim = 1;
    let tenant = tenants[victim].clone();
    println!("tenant {tenant} -> relay {victim}");

    let load = Load::start_with_headers(
        edge,
        "strict",
        50,
        Duration::from_millis(100),
        &[("X-Scope-OrgID", &tenant)],
    );
    let answered = |status: u16, more: u64, phase: &str| {
        let goal = load.report().statuses.get(&status).copied().unwrap_or(0) + more;
        wait::until(
            &format!("{more} writes answered {status} ({phase})"),
            Duration::from_secs(60),
            || {
                let report = load.report();
                let n = report.statuses.get(&status).copied().unwrap_or(0);
                if n >= goal {
                    Ok(())
                } else {
                    Err(format!("statuses {:?}", report.statuses))
                }
            },
        )
        .unwrap();
    };
    answered(204, BATCHES, "healthy");

    cluster.relays[victim].kill9();
    let others_before = cluster.requests_per_relay();
    answered(503, BATCHES, "its relay dead");
    let others_after = cluster.requests_per_relay();
    for k in (0..others_before.len()).filter(|k| *k != victim) {
        assert_eq!(
            others_before[k], others_after[k],
            "relay {k} received writes while the tenant's relay was down"
        );
    }
    let statuses = load.report().statuses;
    assert!(
        statuses.keys().all(|s| [204, 503].contains(s)),
        "only 204 and 503 expected while the relay was down: {statuses:?}"
    );

    cluster.relays[victim].restart().unwrap();
    answered(204, BATCHES, "its relay back");
    let report = load.stop();
    println!("load statuses {:?}", report.statuses);

    let received = wait::until(
        "the receiver to hold every acknowledged pair",
        Duration::from_secs(60),
        || {
            let got = pairs::of_recorded(&receiver.recorded())?;
            let (missing, examples) = got.missing_from(&report.acked);
            if missing == 0 {
                Ok(got)
            } else {
                Err(format!("{missing} missing, e.g. {examples:?}"))
            }
        },
    )
    .unwrap();
    let written = received.only_job("strict");
    let (extra, examples) = report.sent.missing_from(&written);
    assert_eq!(extra, 0, "pairs never sent arrived: {examples:?}");
    println!(
        "received {} distinct pairs ({} with repeats) of {} acknowledged",
        written.unique_count(),
        written.total(),
        report.acked.unique_count()
    );
    assert_eq!(
        written.new_out_of_order(),
        0,
        "a series received a new sample older than one it already had"
    );
    let tenants_seen: std::collections::BTreeSet<Option<String>> = receiver
        .recorded()
        .iter()
        .filter(|r| pairs::of_request(r).is_ok_and(|p| p.only_job("strict").series_count() > 0))
        .map(|r| r.header("x-scope-orgid").map(str::to_string))
        .collect();
    assert_eq!(
        tenants_seen,
        [Some(tenant.clone())].into(),
        "the tenant header every relay forwarded"
    );
    println!("strict test took {:?}", started.elapsed());
}
