//! Scale-out with real processes (issue 12): two Prometheus 2.42 senders and a load
//! generator with its own tenant -> Envoy 1.40 with `envoy/cluster.yaml` -> three
//! `prw relay`s -> a Prometheus 2.42 receiver with an out-of-order window and
//! VictoriaMetrics. During the run one relay is killed with `kill -9` and started again on
//! its WAL 20 scrapes later, another is drained with SIGTERM and started again.
//!
//! At the end: the (series, timestamp) pairs in each sender's own TSDB over the window equal
//! those in each receiver; every pair the load generator had acknowledged is at both
//! receivers; no sender saw an error (nothing failed, dropped or retried: Envoy retried the
//! writes that hit the dead or draining relay on another one); Envoy's stats show those
//! retries, an outlier ejection and failed health checks; every relay delivered something.
//!
//! The three streams are spread over the three relays on purpose: Envoy hashes the tenant
//! header together with the sender's address, and the ring depends on the relays' (random)
//! ports, so the test probes candidates first ([`Cluster::one_per_relay`]). Each Prometheus
//! sender writes through its own [`Forwarder`] (its own 127.0.0.K source address, as senders
//! on separate hosts have), because Debian's Prometheus 2.42 ignores `remote_write.headers`;
//! the load generator uses the tenant half of the hash (`X-Scope-OrgID`).
//!
//! Tools: `$PRW_BIN`, `$ENVOY_BIN`, `$PRW_ENVOY_FILTER_WASM`, `$PROMETHEUS_BIN`,
//! `$VICTORIA_METRICS_BIN` (as `cargo xtask test` sets them). With `CI=true` a missing tool
//! fails the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use prw_e2e::cluster::Cluster;
use prw_e2e::envoy::Template;
use prw_e2e::forwarder::Forwarder;
use prw_e2e::load::Load;
use prw_e2e::prometheus::{self, Prometheus, Role};
use prw_e2e::receivers::Receivers;
use prw_e2e::relay;
use prw_e2e::target::ScrapeTarget;
use prw_e2e::victoria::{self, Victoria};
use prw_e2e::{http, tools, wait};

/// Series each sender's target serves.
const SERIES: usize = 1000;
/// Everything the two Prometheus senders scraped.
const SENDERS: &str = r#"{job=~"gen-a|gen-b"}"#;
/// What the load generator wrote.
const LOAD: &str = r#"{job="load-c"}"#;
/// The drained relay's `--shutdown-grace`: Envoy checks `/-/ready` every second and takes a
/// 503 at once, so 2 s is plenty here (the relay's default is 5 s).
const GRACE: Duration = Duration::from_secs(2);
/// How long the receivers may take to hold everything once the run ends.
const CONVERGE: Duration = Duration::from_secs(90);
/// Relay metric: samples delivered (all destinations).
const DELIVERED: &str = "prometheus_remote_storage_samples_total";

#[test]
fn three_relays_behind_envoy_lose_nothing_when_one_is_killed_and_one_drained() {
    let started = Instant::now();
    let Some(prw) = relay::bin().unwrap() else {
        return;
    };
    let Some(envoy_bin) = tools::envoy().unwrap() else {
        return;
    };
    let Some(prom_bin) = prometheus::bin().unwrap() else {
        return;
    };
    let Some(vm_bin) = victoria::bin().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();

    let receiver = Prometheus::start(
        &prom_bin,
        &Role::OutOfOrderReceiver {
            window: "30m".to_string(),
        },
    )
    .unwrap();
    let victoria = Victoria::start(&vm_bin).unwrap();
    let relay_yaml = relay::forwarding_config(&[
        ("prometheus", &receiver.write_url()),
        ("victoria", &victoria.write_url()),
    ]);
    let mut cluster = Cluster::start(
        &prw,
        &envoy_bin,
        Template::Cluster,
        &relay_yaml,
        GRACE,
        &wasm,
    )
    .unwrap();
    let edge = cluster.envoy.listener();

    // One stream per relay: sender A on relay 0, sender B on relay 1, the load on relay 2.
    let forwarders = cluster.source_per_relay().unwrap();
    let tenants = cluster.tenant_per_relay().unwrap();
    let (killed, drained, steady) = (0, 1, 2);
    let (via_a, via_b, tenant_c) = (&forwarders[killed], &forwarders[drained], &tenants[steady]);
    println!(
        "streams: sender A from {} -> relay {killed}, sender B from {} -> relay {drained}, \
         load with X-Scope-OrgID {tenant_c} -> relay {steady}",
        via_a.source(),
        via_b.source()
    );

    let target_a = ScrapeTarget::start(SERIES).unwrap();
    let target_b = ScrapeTarget::start(SERIES).unwrap();
    let sender = |target: &ScrapeTarget, job: &str, via: &Forwarder| {
        Prometheus::start(
            &prom_bin,
            &Role::Sender {
                target: target.addr(),
                job: job.to_string(),
                url: via.write_url(),
            },
        )
        .unwrap()
    };
    let sender_a = sender(&target_a, "gen-a", via_a);
    let sender_b = sender(&target_b, "gen-b", via_b);
    let load_from = wait::now_ms();
    let load = Load::start_with_headers(
        edge,
        "load-c",
        200,
        Duration::from_millis(500),
        &[("X-Scope-OrgID", tenant_c)],
    );
    println!("stack up in {:?}", started.elapsed());

    let receivers = Receivers {
        prometheus: &receiver,
        victoria: &victoria,
    };
    receivers
        .wait_for_series(SENDERS, 2 * SERIES, Duration::from_secs(60))
        .unwrap();
    let from = wait::now_ms();
    target_a.wait_scrapes(3, "healthy").unwrap();

    // Fault 1: kill -9 of sender A's relay; started again 20 scrapes later on its WAL.
    let fault = Instant::now();
    let mut delivered = [0.0; 3];
    delivered[killed] += cluster.relays[killed].metric(DELIVERED).unwrap();
    cluster.relays[killed].kill9();
    // Writes on A's stream right after the kill: refused by the dead relay, retried on
    // another one inside Envoy; the writer only ever sees 2xx.
    for _ in 0..5 {
        let probe = prw_e2e::payload::v1(&[prw_e2e::payload::Series::new(
            &[("__name__", "prw_e2e_probe"), ("job", "probe")],
            &[(wait::now_ms(), 1.0)],
        )]);
        let status = http::post_v1(via_a.addr(), &[], &probe).unwrap().status;
        assert!(
            (200..300).contains(&status),
            "a write after the kill got {status}"
        );
    }
    target_a.wait_scrapes(20, "relay killed").unwrap();
    cluster.relays[killed].restart().unwrap();
    cluster.wait_healthy(3, Duration::from_secs(30)).unwrap();
    println!(
        "fault 1 (kill -9, 20 scrapes down, restart): {:?}",
        fault.elapsed()
    );
    target_a.wait_scrapes(5, "after fault 1").unwrap();

    // Fault 2: SIGTERM drains sender B's relay (ready -> 503, grace, drain), then restart.
    let fault = Instant::now();
    delivered[drained] += cluster.relays[drained].metric(DELIVERED).unwrap();
    let code = cluster.relays[drained].terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "the drained relay's exit code");
    cluster.relays[drained].restart().unwrap();
    cluster.wait_healthy(3, Duration::from_secs(30)).unwrap();
    println!("fault 2 (SIGTERM drain, restart): {:?}", fault.elapsed());
    target_a.wait_scrapes(5, "after fault 2").unwrap();
    let to = wait::now_ms();
    let load = load.stop();

    let held = receivers
        .wait_for_pairs(
            SENDERS,
            from,
            to,
            || {
                let mut both = sender_a
                    .pairs(SENDERS, from, to)
                    .map_err(|e| e.to_string())?;
                both.extend(
                    &sender_b
                        .pairs(SENDERS, from, to)
                        .map_err(|e| e.to_string())?,
                );
                Ok(both)
            },
            CONVERGE,
        )
        .unwrap();
    println!(
        "window {:.1} s: senders {} pairs in {} series; receiver Prometheus {}; \
         VictoriaMetrics {} distinct ({} stored with repeats)",
        (to - from) as f64 / 1000.0,
        held.expected.unique_count(),
        held.expected.series_count(),
        held.prometheus.unique_count(),
        held.victoria.unique_count(),
        held.victoria.total(),
    );
    let load_to = wait::now_ms();
    wait::until(
        "both receivers to hold every pair the load generator had acknowledged",
        CONVERGE,
        || {
            let (p, v) = receivers.pairs(LOAD, load_from - 1, load_to)?;
            let held = [("receiver Prometheus", p), ("VictoriaMetrics", v)];
            for (who, held) in held {
                let (missing, examples) = held.missing_from(&load.acked);
                if missing > 0 {
                    return Err(format!(
                        "{who} lacks {missing} acknowledged pairs, e.g. {examples:?}"
                    ));
                }
                let (extra, examples) = load.sent.missing_from(&held);
                if extra > 0 {
                    return Err(format!(
                        "{who} holds {extra} pairs never sent, e.g. {examples:?}"
                    ));
                }
            }
            Ok(())
        },
    )
    .unwrap();
    println!(
        "load: {} pairs acknowledged, statuses {:?}",
        load.acked.unique_count(),
        load.statuses
    );
    assert!(
        load.statuses.keys().all(|s| (200..300).contains(s)),
        "the load generator saw {:?}",
        load.statuses
    );

    for (name, sender) in [("A", &sender_a), ("B", &sender_b)] {
        for metric in [
            "prometheus_remote_storage_samples_failed_total",
            "prometheus_remote_storage_samples_dropped_total",
            "prometheus_remote_storage_samples_retried_total",
        ] {
            let value = sender.metric(metric).unwrap();
            println!("sender {name}: {metric} {value}");
            assert_eq!(value, 0.0, "sender {name}: {metric}");
        }
    }
    let refused = receiver
        .metric("prometheus_tsdb_out_of_order_samples_total")
        .unwrap();
    let late = receiver
        .metric("prometheus_tsdb_head_out_of_order_samples_appended_total")
        .unwrap();
    println!("receiver Prometheus: {late} late samples accepted by the window, {refused} refused");
    assert_eq!(refused, 0.0, "the receiver refused out-of-order samples");

    let stat = |name: &str| cluster.envoy_stat(name).unwrap();
    let retries = stat("envoy_cluster_upstream_rq_retry");
    let ejections = stat("envoy_cluster_outlier_detection_ejections_enforced_total");
    let checks_failed = stat("envoy_cluster_health_check_failure");
    println!(
        "Envoy: {retries} retries, {ejections} ejections, {checks_failed} failed health checks"
    );
    assert!(retries > 0.0, "Envoy retried no write");
    assert!(ejections > 0.0, "Envoy ejected no relay");
    assert!(checks_failed > 0.0, "no health check failed");

    for (k, relay) in cluster.relays.iter().enumerate() {
        delivered[k] += relay.metric(DELIVERED).unwrap();
    }
    println!("samples delivered per relay (all lifetimes): {delivered:?}");
    for (k, d) in delivered.iter().enumerate() {
        assert!(*d > 0.0, "relay {k} delivered nothing");
    }
    println!("cluster test took {:?}", started.elapsed());
}
