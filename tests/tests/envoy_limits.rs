//! Per-tenant ingestion limits (`tenants`) in a real Envoy 1.40 (V8) with two worker
//! threads: one token bucket per tenant in proxy-wasm shared data, so the limit holds
//! whichever worker a connection lands on.
//!
//! Tools: Envoy (`$ENVOY_BIN`, else `.venv/bin/envoy`) and the filter
//! (`$PRW_ENVOY_FILTER_WASM`, else built by the test). With `CI=true` a missing tool fails
//! the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use prw_e2e::client::{Reply, post_write};
use prw_e2e::envoy::{Envoy, EnvoyError, EnvoyParams, Template};
use prw_e2e::payload::{Series, v1};
use prw_e2e::receiver::{Receiver, ReceiverConfig};
use prw_e2e::tools;

/// `limited` may send 500 samples/s (burst 1,000); everyone else 2,000/s (burst 4,000).
const LIMITS: &str = r#"{"tenants": {
    "default": {"ingestion_rate": 2000, "ingestion_burst_size": 4000},
    "overrides": {"limited": {"ingestion_rate": 500, "ingestion_burst_size": 1000}}}}"#;
const LIMITED_RATE: f64 = 500.0;
const LIMITED_BURST: u64 = 1000;
/// Samples per request.
const BATCH: usize = 100;

/// Envoy with two worker threads and the filter (`config`) in front of `receiver`.
fn start_envoy(receiver: &Receiver, config: &str) -> Option<Envoy> {
    let bin = tools::envoy().unwrap()?;
    let mut params = EnvoyParams::new(receiver.addr().port(), tools::filter_wasm().unwrap());
    params.plugin_config = config.to_string();
    let yaml = Template::Edge.render(&params).unwrap();
    Some(Envoy::start_with_concurrency(&bin, &yaml, 2).unwrap())
}

/// `BATCH` series of one sample each at `t`, for `job`.
fn batch(job: &str, t: i64) -> Vec<u8> {
    let series: Vec<Series> = (0..BATCH)
        .map(|k| {
            let id = format!("{k:04}");
            Series::new(
                &[("__name__", "load"), ("id", &id), ("job", job)],
                &[(t, 1.0)],
            )
        })
        .collect();
    v1(&series)
}

async fn send(addr: SocketAddr, tenant: &str, body: Vec<u8>) -> Reply {
    post_write(addr, false, body, &[("x-scope-orgid", tenant)])
        .await
        .unwrap()
}

/// A counter of `/stats/prometheus` with its `tenant` tag (envoy/edge.yaml's stats_tags).
fn tenant_counter(envoy: &Envoy, name: &str, tenant: &str) -> u64 {
    let text = envoy.stats_prometheus().unwrap();
    let prefix = format!("{name}{{tenant=\"{tenant}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing from /stats/prometheus"))
}

/// Connections each Envoy worker accepted.
fn connections_per_worker(envoy: &Envoy) -> Vec<u64> {
    envoy
        .stats_prometheus()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("envoy_listener_worker_downstream_cx_total{"))
        .filter(|l| !l.contains("admin"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// What one tenant's senders saw.
#[derive(Debug, Default)]
struct Outcomes {
    admitted: u64,
    limited: u64,
    retry_after: Vec<u64>,
    other: Vec<u16>,
}

/// `connections` senders of `tenant`, each sending a batch, then waiting `pause`, until
/// `until`.
async fn hammer(
    addr: SocketAddr,
    tenant: &'static str,
    connections: usize,
    pause: Duration,
    until: Instant,
) -> Outcomes {
    let tasks: Vec<_> = (0..connections)
        .map(|c| {
            tokio::spawn(async move {
                let mut out = Outcomes::default();
                let mut t = 1_700_000_000_000 + c as i64 * 1_000_000;
                while Instant::now() < until {
                    t += 1;
                    let reply = send(addr, tenant, batch(tenant, t)).await;
                    match reply.status {
                        204 => out.admitted += BATCH as u64,
                        429 => {
                            out.limited += 1;
                            let seconds = reply.header("retry-after").and_then(|v| v.parse().ok());
                            out.retry_after.push(seconds.unwrap_or(0));
                        }
                        status => out.other.push(status),
                    }
                    tokio::time::sleep(pause).await;
                }
                out
            })
        })
        .collect();
    let mut total = Outcomes::default();
    for task in tasks {
        let out = task.await.unwrap();
        total.admitted += out.admitted;
        total.limited += out.limited;
        total.retry_after.extend(out.retry_after);
        total.other.extend(out.other);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_over_its_rate_gets_429_and_the_other_is_untouched_across_two_workers() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, LIMITS) else {
        return;
    };
    let addr = envoy.listener();
    let start = Instant::now();
    let until = start + Duration::from_secs(4);
    // `limited` sends as fast as 6 connections go; `team-b` about 1,000 samples/s, half
    // its rate.
    let limited = tokio::spawn(hammer(addr, "limited", 6, Duration::ZERO, until));
    let other = tokio::spawn(hammer(addr, "team-b", 2, Duration::from_millis(200), until));
    let (limited, other) = (limited.await.unwrap(), other.await.unwrap());
    let elapsed = start.elapsed().as_secs_f64();

    let workers = connections_per_worker(&envoy);
    println!(
        "limited: {} samples admitted in {elapsed:.2} s ({} x 429, Retry-After {:?}); team-b: {} admitted; connections per worker {workers:?}",
        limited.admitted,
        limited.limited,
        limited
            .retry_after
            .iter()
            .collect::<std::collections::BTreeSet<_>>(),
        other.admitted
    );
    assert!(
        workers.len() == 2 && workers.iter().all(|n| *n > 0),
        "both workers must have taken connections: {workers:?}"
    );
    assert!(limited.limited > 0, "{limited:?}");
    assert!(
        limited.other.is_empty() && other.other.is_empty(),
        "{limited:?} {other:?}"
    );
    assert_eq!(other.limited, 0, "the other tenant was limited: {other:?}");
    assert!(other.admitted > 0);
    // Admitted: at most rate x time + burst, plus one request in flight.
    let bound = LIMITED_RATE * elapsed + (LIMITED_BURST + BATCH as u64) as f64;
    assert!(
        (limited.admitted as f64) <= bound,
        "admitted {} samples in {elapsed:.2} s, more than {bound:.0}",
        limited.admitted
    );
    assert!(limited.admitted >= LIMITED_BURST, "{limited:?}");
    assert!(
        limited.retry_after.iter().all(|s| (1..=60).contains(s)),
        "{limited:?}"
    );

    // What reached the upstream is exactly what was admitted.
    let upstream = |tenant: &str| {
        receiver
            .recorded()
            .iter()
            .filter(|r| r.header("x-scope-orgid") == Some(tenant))
            .count() as u64
            * BATCH as u64
    };
    assert_eq!(upstream("limited"), limited.admitted);
    assert_eq!(upstream("team-b"), other.admitted);

    // The Retry-After is usable: once it has passed, the next request goes through.
    let wait = limited.retry_after.iter().max().copied().unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let retried = send(addr, "limited", batch("limited", 1)).await;
    assert_eq!(retried.status, 204, "{retried:?}");

    let name = "prw_edge_tenant_rate_limited_total";
    assert_eq!(tenant_counter(&envoy, name, "limited"), limited.limited);
    assert_eq!(tenant_counter(&envoy, name, "other"), 0);
    assert_eq!(
        tenant_counter(&envoy, "prw_edge_tenant_admitted_total", "other") * BATCH as u64,
        other.admitted
    );
    let rejected = envoy
        .counter("prw_edge_rejected_rate_limited_total")
        .unwrap();
    assert_eq!(rejected, Some(limited.limited));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sender_that_honours_retry_after_delivers_everything() {
    let receiver = Receiver::start(ReceiverConfig::default().decoding())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, LIMITS) else {
        return;
    };
    let addr = envoy.listener();
    // 3,000 samples from two connections: three times the burst, 6 s at the rate.
    let senders: Vec<_> = (0..2i64)
        .map(|c| {
            tokio::spawn(async move {
                let mut limited = 0;
                for n in 0..15 {
                    let t = 1_700_000_000_000 + c * 1000 + n;
                    loop {
                        let reply = send(addr, "limited", batch("limited", t)).await;
                        match reply.status {
                            204 => break,
                            429 => {
                                limited += 1;
                                let seconds: u64 =
                                    reply.header("retry-after").unwrap().parse().unwrap();
                                tokio::time::sleep(Duration::from_secs(seconds)).await;
                            }
                            other => panic!("unexpected {other}: {reply:?}"),
                        }
                    }
                }
                limited
            })
        })
        .collect();
    let mut limited = 0;
    for sender in senders {
        limited += tokio::time::timeout(Duration::from_secs(90), sender)
            .await
            .expect("the sender did not finish in 90 s")
            .unwrap();
    }
    assert!(
        limited > 0,
        "the sender was never limited: nothing was tested"
    );
    let stats = receiver.decode_stats();
    assert_eq!(stats.unique_pairs, 3000, "{stats:?}");
    assert_eq!(stats.duplicates, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_can_never_be_admitted_get_400_naming_the_limit() {
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    let config = r#"{"tenants": {"max_tenants": 1,
        "default": {"ingestion_rate": 1000, "ingestion_burst_size": 150, "max_series_per_request": 120}}}"#;
    let Some(envoy) = start_envoy(&receiver, config) else {
        return;
    };
    let addr = envoy.listener();
    let series = |n: usize| {
        let s: Vec<Series> = (0..n)
            .map(|k| {
                Series::new(
                    &[("__name__", "m"), ("id", &format!("{k:04}"))],
                    &[(1, 1.0), (2, 2.0)],
                )
            })
            .collect();
        v1(&s)
    };
    // 100 series x 2 samples = 200 > burst 150; 130 series > 120.
    let over_burst = send(addr, "a", series(100)).await;
    let too_many = send(addr, "a", series(130)).await;
    let bad_id = send(addr, "not a tenant", series(1)).await;
    assert_eq!(
        [over_burst.status, too_many.status, bad_id.status],
        [400, 400, 400]
    );
    assert!(
        over_burst.body.contains("edge.ingestion_burst_size"),
        "{}",
        over_burst.body
    );
    assert!(
        over_burst.body.contains("ingestion_burst_size of 150"),
        "{}",
        over_burst.body
    );
    assert!(
        too_many.body.contains("max_series_per_request of 120"),
        "{}",
        too_many.body
    );
    assert!(
        bad_id.body.contains("edge.tenant_invalid"),
        "{}",
        bad_id.body
    );
    assert_eq!(receiver.requests(), 0);

    // max_tenants 1: "a" has its own bucket (50 samples), "b" and "c" share the overflow one.
    for tenant in ["a", "b", "c"] {
        assert_eq!(send(addr, tenant, series(25)).await.status, 204);
    }
    assert_eq!(
        envoy.counter("prw_edge_tenant_overflow_total").unwrap(),
        Some(2)
    );
    assert_eq!(
        tenant_counter(&envoy, "prw_edge_tenant_burst_exceeded_total", "other"),
        1
    );
    assert_eq!(
        tenant_counter(&envoy, "prw_edge_tenant_series_limited_total", "other"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_counts_what_it_would_limit_and_forwards_everything() {
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    let config = r#"{"mode": "observe",
        "tenants": {"default": {"ingestion_rate": 1, "ingestion_burst_size": 150}}}"#;
    let Some(envoy) = start_envoy(&receiver, config) else {
        return;
    };
    for n in 0..3 {
        let reply = send(envoy.listener(), "a", batch("a", n)).await;
        assert_eq!(reply.status, 204, "{reply:?}");
    }
    assert_eq!(receiver.requests(), 3);
    assert_eq!(
        tenant_counter(&envoy, "prw_edge_tenant_rate_limited_total", "other"),
        2
    );
    assert_eq!(envoy.counter("prw_edge_observed_total").unwrap(), Some(2));
    assert!(
        envoy
            .log()
            .contains("would answer 429 (edge.ingestion_rate)"),
        "{}",
        envoy.log()
    );
}

#[test]
fn limits_that_cannot_work_stop_envoy_with_a_log_line_naming_the_field() {
    let Some(bin) = tools::envoy().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();
    let cases = [
        (
            r#"{"tenants": {"default": {"ingestion_rate": -5, "ingestion_burst_size": 10}}}"#,
            "tenants.default.ingestion_rate",
        ),
        (
            r#"{"tenants": {"default": {"ingestion_rate": 5, "ingestion_burst_size": 0}}}"#,
            "tenants.default.ingestion_burst_size",
        ),
        (
            r#"{"tenants": {"overrides": {"t1": {"ingestion_rate": 0, "ingestion_burst_size": 1}}}}"#,
            "tenants.overrides.t1.ingestion_rate",
        ),
        (r#"{"tenants": {"defaults": {}}}"#, "defaults"),
        (r#"{"upstream_protocol": "v3"}"#, "upstream_protocol"),
    ];
    for (config, field) in cases {
        let mut params = EnvoyParams::new(9, wasm.clone());
        params.plugin_config = config.to_string();
        let yaml = Template::Edge.render(&params).unwrap();
        match Envoy::start(&bin, &yaml) {
            Err(EnvoyError::Exited { log, .. }) => assert!(log.contains(field), "{field}: {log}"),
            other => panic!("{config}: expected Envoy to refuse the config, got {other:?}"),
        }
    }
}
