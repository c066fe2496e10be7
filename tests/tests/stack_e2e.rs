//! The whole stack with real processes (issue 7): a real Prometheus 2.42 sender scraping a
//! target with thousands of series -> Envoy with the prw edge filter -> `prw relay` -> two
//! real receivers (Prometheus 2.42 with `--web.enable-remote-write-receiver` and no
//! out-of-order window; VictoriaMetrics single node), with faults during the run: one
//! receiver down and up, the relay killed with `kill -9` and restarted, Envoy restarted.
//!
//! At the end the (series, timestamp) pairs in the sender's own TSDB over the test window
//! equal those in each receiver; the sender counted no failed or dropped sample; the
//! receiver Prometheus counted no out-of-order sample. Malformed payloads injected at the
//! edge get their 4xx from the filter, are counted in Envoy's stats and never reach the
//! relay.
//!
//! Tools: `$PRW_BIN`, `$ENVOY_BIN`, `$PRW_ENVOY_FILTER_WASM`, `$PROMETHEUS_BIN`,
//! `$VICTORIA_METRICS_BIN` (as `cargo xtask test` sets them; fallbacks in `prw_e2e::tools`
//! and the process modules). With `CI=true` a missing tool fails the test; otherwise the
//! test prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use prw_e2e::child::free_port;
use prw_e2e::envoy::{Envoy, EnvoyParams, Template};
use prw_e2e::payload::{Series, v1};
use prw_e2e::prometheus::{self, Prometheus, Role};
use prw_e2e::receivers::Receivers;
use prw_e2e::relay::{self, Relay};
use prw_e2e::target::ScrapeTarget;
use prw_e2e::victoria::{self, Victoria};
use prw_e2e::{http, tools, wait};

/// Series the target serves (plus Prometheus's own per-target series).
const SERIES: usize = 2000;
/// The selector of everything the sender scraped.
const SELECTOR: &str = r#"{job="gen"}"#;
/// How long the receivers may take to hold everything once the run ends.
const CONVERGE: Duration = Duration::from_secs(90);

/// edge.yaml rendered for the relay's port, with the listener on a fixed port (so a
/// restarted Envoy is where the sender writes to).
fn edge_yaml(relay_port: u16, listen_port: u16) -> String {
    let wasm = tools::filter_wasm().unwrap();
    let yaml = Template::Edge
        .render(&EnvoyParams::new(relay_port, wasm))
        .unwrap();
    let at = yaml
        .find("- name: edge")
        .expect("edge listener in edge.yaml");
    let (head, tail) = yaml.split_at(at);
    format!(
        "{head}{}",
        tail.replacen("port_value: 0", &format!("port_value: {listen_port}"), 1)
    )
}

/// Envoy: `$ENVOY_BIN`, else `<repository root>/.venv/bin/envoy` (what `cargo xtask`
/// installs); outside CI also the other well-known paths of `prw_e2e::tools::envoy`.
fn envoy_bin() -> Result<Option<std::path::PathBuf>, tools::ToolError> {
    let local = tools::workspace_root().join(".venv/bin/envoy");
    if tools::in_ci() || local.exists() {
        let local = local.to_string_lossy().into_owned();
        return tools::find_tool("envoy", "ENVOY_BIN", &[&local]);
    }
    tools::envoy()
}

fn tool<T>(found: Result<Option<T>, tools::ToolError>) -> Option<T> {
    found.unwrap()
}

/// Posts `body` to the edge; returns the status.
fn post_edge(edge: SocketAddr, content_encoding: &str, body: &[u8]) -> u16 {
    http::request(
        edge,
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", prw_core::negotiate::CONTENT_TYPE_V1),
            ("Content-Encoding", content_encoding),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        body,
    )
    .unwrap()
    .status
}

/// Requests the relay answered with a 4xx (all label sets).
fn relay_4xx(relay: &Relay) -> f64 {
    http::metric_sum_where(
        &relay.metrics().unwrap(),
        "prw_ingest_requests_total",
        |l| l.contains("status=\"4"),
    )
    .unwrap_or(0.0)
}

fn counter(envoy: &Envoy, name: &str) -> u64 {
    envoy.counter(name).unwrap().unwrap_or(0)
}

/// Injects the three malformed classes at the edge and checks statuses, Envoy's counters
/// and that the relay never saw them.
fn malformed_payloads_stop_at_the_edge(envoy: &Envoy, relay: &Relay) {
    let t = wait::now_ms();
    let relay_4xx_before = relay_4xx(relay);
    let unsorted = v1(&[Series::new(
        &[("__name__", "edge_probe"), ("zone", "b"), ("job", "a")],
        &[(t, 1.0)],
    )]);
    let cases: [(&str, &str, Vec<u8>, u16, &str); 3] = [
        (
            "unsorted labels",
            "snappy",
            unsorted,
            400,
            "prw_edge_rule_labels_unsorted_total",
        ),
        (
            "bad snappy",
            "snappy",
            b"\xff\xff\xff\xff not snappy".to_vec(),
            400,
            "prw_edge_rule_edge_snappy_total",
        ),
        (
            "gzip",
            "gzip",
            b"\x1f\x8b\x08\x00".to_vec(),
            415,
            "prw_edge_rule_edge_content_encoding_total",
        ),
    ];
    for (class, encoding, body, status, rule) in cases {
        let before = counter(envoy, rule);
        let got = post_edge(envoy.listener(), encoding, &body);
        assert_eq!(got, status, "{class} at the edge");
        let after = counter(envoy, rule);
        println!("edge: {class} -> {got}, {rule} {before} -> {after}");
        assert_eq!(after, before + 1, "{rule} after {class}");
    }
    assert!(counter(envoy, "prw_edge_rejected_invalid_total") >= 2);
    assert!(counter(envoy, "prw_edge_rejected_unsupported_media_type_total") >= 1);
    assert_eq!(
        relay_4xx(relay),
        relay_4xx_before,
        "a malformed payload reached the relay (it answered a 4xx)"
    );
}

#[test]
fn the_whole_stack_delivers_every_scraped_sample_to_both_receivers_across_faults() {
    let started = Instant::now();
    let Some(prw) = tool(relay::bin()) else {
        return;
    };
    let Some(envoy_bin) = tool(envoy_bin()) else {
        return;
    };
    let Some(prom_bin) = tool(prometheus::bin()) else {
        return;
    };
    let Some(vm_bin) = tool(victoria::bin()) else {
        return;
    };

    let target = ScrapeTarget::start(SERIES).unwrap();
    let mut receiver = Prometheus::start(&prom_bin, &Role::Receiver).unwrap();
    let victoria = Victoria::start(&vm_bin).unwrap();
    let mut relay = Relay::start(
        &prw,
        &relay::forwarding_config(&[
            ("prometheus", &receiver.write_url()),
            ("victoria", &victoria.write_url()),
        ]),
    )
    .unwrap();
    let edge_port = free_port().unwrap();
    let yaml = edge_yaml(relay.addr().port(), edge_port);
    let mut envoy = Some(Envoy::start(Path::new(&envoy_bin), &yaml).unwrap());
    let sender = Prometheus::start(
        &prom_bin,
        &Role::Sender {
            target: target.addr(),
            job: "gen".to_string(),
            url: format!("http://127.0.0.1:{edge_port}/api/v1/write"),
        },
    )
    .unwrap();
    println!("stack up in {:?}", started.elapsed());

    // The pipeline works end to end before the window opens.
    Receivers {
        prometheus: &receiver,
        victoria: &victoria,
    }
    .wait_for_series(SELECTOR, SERIES, Duration::from_secs(60))
    .unwrap_or_else(|e| {
        panic!(
            "{e}; the relay acknowledged {} samples",
            relay.metric("prw_ingest_samples_total").unwrap_or(-1.0)
        )
    });
    let from = wait::now_ms();
    target.wait_scrapes(5, "healthy").unwrap();

    // Fault 1: the receiver Prometheus down for ~8 s, then up on the same data.
    let fault = Instant::now();
    receiver.stop();
    target.wait_scrapes(8, "receiver down").unwrap();
    receiver.restart().unwrap();
    println!(
        "fault 1 (receiver Prometheus down and up): {:?}",
        fault.elapsed()
    );
    target.wait_scrapes(5, "after fault 1").unwrap();

    // Fault 2: kill -9 of the relay, restarted on the same WAL and address.
    let fault = Instant::now();
    relay.kill9();
    target.wait_scrapes(3, "relay dead").unwrap();
    relay.restart().unwrap();
    println!("fault 2 (relay kill -9 and restart): {:?}", fault.elapsed());
    target.wait_scrapes(5, "after fault 2").unwrap();

    // Fault 3: Envoy restarted on the same listener port.
    let fault = Instant::now();
    envoy.take();
    target.wait_scrapes(2, "Envoy down").unwrap();
    let restarted = Envoy::start(Path::new(&envoy_bin), &yaml).unwrap();
    println!("fault 3 (Envoy restart): {:?}", fault.elapsed());
    target.wait_scrapes(3, "after fault 3").unwrap();

    malformed_payloads_stop_at_the_edge(&restarted, &relay);
    target
        .wait_scrapes(3, "after the malformed payloads")
        .unwrap();
    let to = wait::now_ms();

    let receivers = Receivers {
        prometheus: &receiver,
        victoria: &victoria,
    };
    let held = receivers
        .wait_for_pairs(
            SELECTOR,
            from,
            to,
            || sender.pairs(SELECTOR, from, to).map_err(|e| e.to_string()),
            CONVERGE,
        )
        .unwrap();
    let (expected, at_prometheus, at_victoria) = (held.expected, held.prometheus, held.victoria);
    println!(
        "window {:.1} s: sender {} pairs in {} series; receiver Prometheus {} pairs; \
         VictoriaMetrics {} distinct pairs ({} stored with repeats)",
        (to - from) as f64 / 1000.0,
        expected.unique_count(),
        expected.series_count(),
        at_prometheus.unique_count(),
        at_victoria.unique_count(),
        at_victoria.total(),
    );

    let failed = sender
        .metric("prometheus_remote_storage_samples_failed_total")
        .unwrap();
    let dropped = sender
        .metric("prometheus_remote_storage_samples_dropped_total")
        .unwrap();
    let retried = sender
        .metric("prometheus_remote_storage_samples_retried_total")
        .unwrap();
    println!("sender: failed {failed}, dropped {dropped}, retried {retried}");
    assert_eq!(failed, 0.0, "the sender counted failed samples");
    assert_eq!(dropped, 0.0, "the sender counted dropped samples");
    for name in [
        "prometheus_remote_storage_samples_failed_total",
        "prometheus_remote_storage_samples_dropped_total",
    ] {
        let value = relay.metric(name).unwrap();
        assert_eq!(
            value, 0.0,
            "the relay (since its restart): {name} = {value}"
        );
    }
    let out_of_order = receiver
        .metric("prometheus_tsdb_out_of_order_samples_total")
        .unwrap();
    assert_eq!(
        out_of_order, 0.0,
        "the receiver Prometheus refused out-of-order samples"
    );
    assert_eq!(at_prometheus.out_of_order(), 0);
    assert_eq!(at_victoria.new_out_of_order(), 0);
    drop(restarted);
    println!("stack test took {:?}", started.elapsed());
}
