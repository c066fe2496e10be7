//! Scale-out with real processes (issue 12): two Prometheus 2.42 senders and a load
//! generator with its own tenant -> Envoy 1.40 with `envoy/cluster.yaml` -> three
//! `prw relay`s -> a Prometheus 2.42 receiver with an out-of-order window and
//! VictoriaMetrics. During the run one relay is killed with `kill -9` and started again on
//! its WAL 20 scrapes later, another is drained with SIGTERM and started again.
//!
//! The killed relay holds a backlog when it dies: its deliveries go through two closable
//! forwarders (one per receiver), closed a few scrapes before the kill. After its restart it
//! delivers that backlog late (the receiver Prometheus appends it through its out-of-order
//! window: the count of late samples grows by at least three scrapes of the sender, and the
//! restarted relay's delivered count grows at least as much).
//!
//! The drain is invisible to Envoy: `/-/ready` answers 503 during the shutdown grace, the
//! relay exits 0 after the grace and its drain (within [`DRAIN_BOUND`] of the grace); from
//! SIGTERM until the relay is back, Envoy retries nothing, counts no 5xx from the cluster and
//! no error for that relay, and the relay answers no write with its shutdown 503 (with
//! `--shutdown-grace 0s` all of these move). Sender B, whose stream it carried, sees no
//! failed or retried sample, and its pairs all reach both receivers.
//!
//! At the end: the (series, timestamp) pairs in each sender's own TSDB over the window equal
//! those in each receiver; every pair the load generator had acknowledged is at both
//! receivers; no sender saw an error (nothing failed, dropped or retried: Envoy retried the
//! writes that hit the dead relay on another one); Envoy's stats show those retries, an
//! outlier ejection and failed health checks; every relay delivered something.
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
/// Relay metric: WAL records a destination has not committed yet (its backlog).
const BACKLOG: &str = "prw_delivery_lag_records";
/// Receiver metric: samples appended through the out-of-order window (late).
const LATE: &str = "prometheus_tsdb_head_out_of_order_samples_appended_total";
/// After its shutdown grace, the most a drained relay with reachable receivers may take to
/// finish its in-flight writes and deliveries and exit.
const DRAIN_BOUND: Duration = Duration::from_secs(10);
/// Scrapes of sender A that the killed relay holds undelivered when it dies.
const BACKLOG_SCRAPES: u64 = 5;

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
    // Relay 0 (the one killed) delivers through gates the test can close.
    let local = std::net::Ipv4Addr::LOCALHOST.into();
    let gates = [
        Forwarder::start(receiver.addr(), local).unwrap(),
        Forwarder::start(victoria.addr(), local).unwrap(),
    ];
    let gated_yaml = relay::forwarding_config(&[
        ("prometheus", &gates[0].write_url()),
        ("victoria", &gates[1].write_url()),
    ]);
    let mut cluster = Cluster::start_each(
        &prw,
        &envoy_bin,
        Template::Cluster,
        &[gated_yaml, relay_yaml.clone(), relay_yaml],
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

    // Fault 1: relay 0 holds a backlog (its receivers unreachable for a few scrapes), then
    // kill -9; started again on its WAL 20 scrapes later, with its receivers back.
    let fault = Instant::now();
    let mut delivered = [0.0; 3];
    for gate in &gates {
        gate.set_open(false);
    }
    target_a
        .wait_scrapes(BACKLOG_SCRAPES, "relay 0's receivers unreachable")
        .unwrap();
    let backlog = cluster.relays[killed].metric(BACKLOG).unwrap();
    println!("relay {killed} holds {backlog} undelivered WAL records (both destinations)");
    assert!(
        backlog > 0.0,
        "relay {killed} has no backlog to deliver late"
    );
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
    for gate in &gates {
        gate.set_open(true);
    }
    let late_before = receiver.metric(LATE).unwrap();
    cluster.relays[killed].restart().unwrap();
    cluster.wait_healthy(3, Duration::from_secs(30)).unwrap();
    // Sender A's newer samples reached the receivers through another relay meanwhile, so
    // the backlog can only arrive late: through the out-of-order window.
    let late = wait::until(
        "the restarted relay to deliver its backlog late",
        CONVERGE,
        || {
            let late = receiver.metric(LATE).map_err(|e| e.to_string())? - late_before;
            let at_least = f64::from(3 * SERIES as u32);
            (late >= at_least)
                .then_some(late)
                .ok_or_else(|| format!("{late} late samples, want {at_least}"))
        },
    )
    .unwrap();
    let since_restart = cluster.relays[killed].metric(DELIVERED).unwrap();
    println!(
        "fault 1 (backlog, kill -9, 20 scrapes down, restart): {:?}; {late} samples late, \
         {since_restart} delivered by relay {killed} since its restart",
        fault.elapsed()
    );
    assert!(
        since_restart >= late,
        "relay {killed} delivered {since_restart} samples since its restart, fewer than the \
         {late} that arrived late"
    );
    target_a.wait_scrapes(5, "after fault 1").unwrap();

    // Fault 2: SIGTERM drains sender B's relay (ready -> 503, grace, drain), then restart.
    // Envoy must see nothing of it: no retry, no 5xx, no error for that relay, and the relay
    // answers no write with its shutdown 503.
    let fault = Instant::now();
    let envoy_counts = |cluster: &Cluster| {
        [
            cluster
                .envoy_stat("envoy_cluster_upstream_rq_retry")
                .unwrap(),
            cluster
                .envoy_stat_where(
                    "envoy_cluster_upstream_rq_xx",
                    "envoy_response_code_class=\"5\"",
                )
                .unwrap(),
            cluster.host_stat(drained, "rq_error").unwrap(),
        ]
    };
    let before = envoy_counts(&cluster);
    delivered[drained] += cluster.relays[drained].metric(DELIVERED).unwrap();
    let watcher = {
        let addr = cluster.relays[drained].addr();
        // Until the relay stops answering: whether `/-/ready` turned 503 while it still
        // answered, and its count of writes refused as shutting down.
        std::thread::spawn(move || {
            let (mut not_ready, mut refused) = (false, 0.0);
            while let Ok(answer) = http::get(addr, "/metrics") {
                refused =
                    http::metric_sum_where(&answer.text(), "prw_ingest_rejected_total", |l| {
                        l.contains("shutting_down")
                    })
                    .unwrap_or(0.0);
                not_ready |= http::get(addr, "/-/ready").is_ok_and(|a| a.status == 503);
                std::thread::sleep(Duration::from_millis(20));
            }
            (not_ready, refused)
        })
    };
    let sigterm = Instant::now();
    let code = cluster.relays[drained].terminate(Duration::from_secs(30));
    let took = sigterm.elapsed();
    assert_eq!(code, Some(0), "the drained relay's exit code");
    let (not_ready, shutdown_503) = watcher.join().unwrap();
    assert!(
        not_ready,
        "/-/ready never answered 503 during the shutdown grace"
    );
    // It held the grace (readiness 503, writes still taken), then drained in-flight writes
    // and its destinations (both up) and exited: well within the drain timeout.
    assert!(
        took >= GRACE && took < GRACE + DRAIN_BOUND,
        "the drained relay exited {took:?} after SIGTERM (grace {GRACE:?})"
    );
    cluster.relays[drained].restart().unwrap();
    cluster.wait_healthy(3, Duration::from_secs(30)).unwrap();
    let after = envoy_counts(&cluster);
    println!(
        "fault 2 (SIGTERM drain, restart): {:?}; Envoy retries, cluster 5xx, relay {drained} \
         errors before {before:?}, after {after:?}; shutdown 503s {shutdown_503}; exited \
         {took:?} after SIGTERM",
        fault.elapsed()
    );
    assert_eq!(
        before, after,
        "Envoy saw the drain (retries, 5xx from the cluster, errors of relay {drained})"
    );
    assert_eq!(shutdown_503, 0.0, "writes answered 503 while draining");
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
    let late = receiver.metric(LATE).unwrap();
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
