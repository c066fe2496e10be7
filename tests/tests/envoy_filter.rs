//! The edge filter in a real Envoy 1.40 (V8), in front of the scriptable test receiver; and
//! the shipped configs (edge, egress, cluster, cluster-strict) validated by Envoy, the relay
//! configs answering 403 for `/api/v1/captures*` and `/-/reload` themselves.
//!
//! Envoy: `$ENVOY_BIN` or `.venv/bin/envoy` in the workspace root (with `CI=true` a missing Envoy fails
//! the test, otherwise it is skipped with a printed reason). The filter: `$PRW_ENVOY_FILTER_WASM`
//! (set by `cargo xtask`), else built once by the test (`prw_e2e::tools::filter_wasm`).

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use prw_e2e::client::{Reply, post_write, send};
use prw_e2e::envoy::{Envoy, EnvoyError, EnvoyParams, Template, validate};
use prw_e2e::payload::{Series, v1, v2};
use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig};
use prw_e2e::tools;

const NOW: i64 = 1_700_000_000_000;

/// Envoy with the filter (plugin config `config`) in front of `receiver`; None = skip.
fn start_envoy(receiver: &Receiver, config: &str, request_timeout: &str) -> Option<Envoy> {
    let bin = tools::envoy().unwrap()?;
    let wasm = tools::filter_wasm().unwrap();
    let mut params = EnvoyParams::new(receiver.addr().port(), wasm);
    params.plugin_config = config.to_string();
    params.request_timeout = request_timeout.to_string();
    let yaml = Template::Edge.render(&params).unwrap();
    Some(Envoy::start(&bin, &yaml).unwrap())
}

fn up(job: &str) -> Series {
    Series::new(&[("__name__", "up"), ("job", job)], &[(NOW, 1.0)])
}

fn unsorted() -> Series {
    Series::new(
        &[("__name__", "up"), ("zone", "b"), ("job", "api")],
        &[(NOW, 1.0)],
    )
}

fn counter(envoy: &Envoy, name: &str) -> u64 {
    envoy
        .counter(name)
        .unwrap()
        .unwrap_or_else(|| panic!("{name} missing from /stats/prometheus"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_v1_and_v2_pass_byte_for_byte_and_the_sender_sees_the_upstream_status() {
    let receiver = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_script([Answer::status(200)]),
    )
    .await
    .unwrap();
    let Some(envoy) = start_envoy(&receiver, "{}", "60s") else {
        return;
    };
    let body_v1 = v1(&[up("a"), up("b")]);
    let body_v2 = v2(&[up("a"), up("c")]);

    let first = post_write(envoy.listener(), false, body_v1.clone(), &[])
        .await
        .unwrap();
    let second = post_write(envoy.listener(), true, body_v2.clone(), &[])
        .await
        .unwrap();

    assert_eq!(
        (first.status, second.status),
        (200, 204),
        "{first:?} {second:?}"
    );
    let seen = receiver.recorded();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body.as_ref(), body_v1.as_slice());
    assert_eq!(seen[1].body.as_ref(), body_v2.as_slice());
    assert_eq!(
        seen[0].header("content-type"),
        Some(prw_core::negotiate::CONTENT_TYPE_V1)
    );
    assert_eq!(
        seen[1].header("content-type"),
        Some(prw_core::negotiate::CONTENT_TYPE_V2)
    );
    assert_eq!(seen[1].header("content-encoding"), Some("snappy"));
    assert_eq!(counter(&envoy, "prw_edge_accepted_total"), 2);
    // The body-size histogram shows up after a stats flush (stats_flush_interval: 1s).
    let mut histogram_count = None;
    for _ in 0..100 {
        histogram_count = envoy.counter("prw_edge_request_body_bytes_count").unwrap();
        if histogram_count == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(histogram_count, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_written_headers_from_the_upstream_pass_untouched() {
    let written = Answer::Status {
        status: 204,
        headers: vec![
            (
                "x-prometheus-remote-write-samples-written".to_string(),
                "2".to_string(),
            ),
            (
                "x-prometheus-remote-write-histograms-written".to_string(),
                "0".to_string(),
            ),
            (
                "x-prometheus-remote-write-exemplars-written".to_string(),
                "0".to_string(),
            ),
        ],
        body: String::new(),
    };
    let receiver = Receiver::start(ReceiverConfig::default().with_script([written]))
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, "{}", "60s") else {
        return;
    };
    let reply = post_write(envoy.listener(), true, v2(&[up("a"), up("b")]), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("2")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-histograms-written"),
        Some("0")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-exemplars-written"),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lenient_content_type_reaches_the_upstream_in_canonical_form() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, "{}", "60s") else {
        return;
    };
    let headers = [
        (
            "content-type",
            "application/x-protobuf; proto=io.prometheus.write.v2.Request",
        ),
        ("content-encoding", "snappy"),
    ];
    let reply = send(
        envoy.listener(),
        "POST",
        "/api/v1/write",
        &headers,
        v2(&[up("a")]),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 204, "{reply:?}");
    let seen = receiver.recorded();
    assert_eq!(
        seen[0].header("content-type"),
        Some(prw_core::negotiate::CONTENT_TYPE_V2)
    );
}

/// A snappy preamble declaring 2 GiB followed by a few bytes: a decompression bomb.
fn bomb() -> Vec<u8> {
    vec![0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x01, 0x02]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_class_gets_its_status_and_never_reaches_the_upstream() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let config = r#"{"tenant_header": "X-Scope-OrgID", "limits": {"max_body_bytes": 2000, "max_decoded_bytes": 1048576}}"#;
    let Some(envoy) = start_envoy(&receiver, config, "60s") else {
        return;
    };
    let addr = envoy.listener();
    let tenant = ("x-scope-orgid", "team-a");
    let send_with = |ct: &'static str, ce: &'static str, body: Vec<u8>| async move {
        let headers = [("content-type", ct), ("content-encoding", ce), tenant];
        send(addr, "POST", "/api/v1/write", &headers, body)
            .await
            .unwrap()
    };
    let v1_ct = prw_core::negotiate::CONTENT_TYPE_V1;
    let v2_ct = prw_core::negotiate::CONTENT_TYPE_V2;

    let bad_type = send_with("application/json", "snappy", v1(&[up("a")])).await;
    let gzip = send_with(v2_ct, "gzip", v2(&[up("a")])).await;
    let labels = post_write(addr, false, v1(&[up("a"), unsorted()]), &[tenant])
        .await
        .unwrap();
    let snappy = send_with(v1_ct, "snappy", b"\x05\xff\xff\xff\xff".to_vec()).await;
    let bombed = send_with(v1_ct, "snappy", bomb()).await;
    let oversize = send_with(v1_ct, "snappy", vec![7u8; 3000]).await;
    let no_tenant = post_write(addr, false, v1(&[up("a")]), &[]).await.unwrap();

    let statuses = [
        &bad_type, &gzip, &labels, &snappy, &bombed, &oversize, &no_tenant,
    ]
    .map(|r| r.status);
    assert_eq!(statuses, [415, 415, 400, 400, 413, 413, 401], "{labels:?}");
    assert!(labels.body.contains("labels.unsorted"), "{}", labels.body);
    assert!(labels.body.contains("series 1"), "{}", labels.body);
    assert!(labels.body.contains(r#"zone="b""#), "{}", labels.body);
    for name in ["samples", "histograms", "exemplars"] {
        let header = format!("x-prometheus-remote-write-{name}-written");
        assert_eq!(gzip.header(&header), Some("0"), "{gzip:?}");
    }
    assert_eq!(receiver.requests(), 0, "{:?}", receiver.recorded());

    let expected = [
        ("prw_edge_rejected_unsupported_media_type_total", 2),
        ("prw_edge_rejected_invalid_total", 2),
        ("prw_edge_rejected_too_large_total", 2),
        ("prw_edge_rejected_missing_tenant_total", 1),
        ("prw_edge_accepted_total", 0),
        ("prw_edge_rule_edge_content_type_total", 1),
        ("prw_edge_rule_edge_content_encoding_total", 1),
        ("prw_edge_rule_labels_unsorted_total", 1),
        ("prw_edge_rule_edge_snappy_total", 1),
        ("prw_edge_rule_edge_decoded_size_total", 1),
        ("prw_edge_rule_edge_body_size_total", 1),
        ("prw_edge_rule_edge_tenant_missing_total", 1),
    ];
    for (name, value) in expected {
        assert_eq!(counter(&envoy, name), value, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_500_503_429_reach_the_sender_as_retryable_with_retry_after() {
    let script = [
        Answer::status(500),
        Answer::status(503),
        Answer::status(429),
        Answer::retry_after(429, 7),
    ];
    let receiver = Receiver::start(ReceiverConfig::default().with_script(script))
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, "{}", "60s") else {
        return;
    };
    let mut replies: Vec<Reply> = Vec::new();
    for _ in 0..4 {
        replies.push(
            post_write(envoy.listener(), false, v1(&[up("a")]), &[])
                .await
                .unwrap(),
        );
    }
    let seen: Vec<(u16, Option<&str>)> = replies
        .iter()
        .map(|r| (r.status, r.header("retry-after")))
        .collect();
    assert_eq!(
        seen,
        [
            (500, None),
            (503, Some("5")),
            (429, Some("5")),
            (429, Some("7"))
        ]
    );
    assert_eq!(receiver.requests(), 4);
    assert_eq!(counter(&envoy, "prw_edge_retry_after_added_total"), 2);
    assert_eq!(counter(&envoy, "prw_edge_status_rewritten_total"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_passes_every_request_and_counts_what_it_would_reject() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, r#"{"mode": "observe"}"#, "60s") else {
        return;
    };
    let addr = envoy.listener();
    let unsorted_body = v1(&[unsorted()]);
    let labels = post_write(addr, false, unsorted_body.clone(), &[])
        .await
        .unwrap();
    let headers = [
        ("content-type", prw_core::negotiate::CONTENT_TYPE_V1),
        ("content-encoding", "gzip"),
    ];
    let gzip = send(addr, "POST", "/api/v1/write", &headers, b"gzipped".to_vec())
        .await
        .unwrap();
    let valid = post_write(addr, true, v2(&[up("a")]), &[]).await.unwrap();

    assert_eq!([labels.status, gzip.status, valid.status], [204, 204, 204]);
    let seen = receiver.recorded();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].body.as_ref(), unsorted_body.as_slice());
    assert_eq!(counter(&envoy, "prw_edge_observed_total"), 2);
    assert_eq!(counter(&envoy, "prw_edge_accepted_total"), 1);
    assert_eq!(counter(&envoy, "prw_edge_rule_labels_unsorted_total"), 1);
    assert_eq!(counter(&envoy, "prw_edge_rejected_invalid_total"), 0);
    assert!(
        envoy.log().contains("would answer 400 (labels.unsorted)"),
        "{}",
        envoy.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_post_and_non_write_paths_pass_untouched() {
    let script = [
        Answer::status(200),
        Answer::status(404),
        Answer::status(503),
    ];
    let receiver = Receiver::start(ReceiverConfig::default().recording().with_script(script))
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, r#"{"tenant_header": "X-Scope-OrgID"}"#, "60s") else {
        return;
    };
    let addr = envoy.listener();
    let get = send(addr, "GET", "/api/v1/write", &[], Vec::new())
        .await
        .unwrap();
    let query = send(
        addr,
        "POST",
        "/api/v1/query",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"query=up".to_vec(),
    )
    .await
    .unwrap();
    let other = send(addr, "GET", "/metrics", &[], Vec::new())
        .await
        .unwrap();

    assert_eq!([get.status, query.status, other.status], [200, 404, 503]);
    // Not a write: no Retry-After is added to its 503.
    assert_eq!(other.header("retry-after"), None);
    let seen = receiver.recorded();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].body.as_ref(), b"query=up");
    assert_eq!(
        seen[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(counter(&envoy, "prw_edge_passed_total"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoys_own_408_reaches_the_sender_as_503_with_retry_after() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, "{}", "1s") else {
        return;
    };
    let addr = envoy.listener();
    // Headers promise 100 bytes, 10 arrive: Envoy's request timeout answers locally.
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = "POST /api/v1/write HTTP/1.1\r\nhost: edge\r\ncontent-type: application/x-protobuf\r\ncontent-encoding: snappy\r\ncontent-length: 100\r\n\r\n";
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[0u8; 10]).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 503"), "{raw}");
    assert!(raw.to_ascii_lowercase().contains("retry-after: 5"), "{raw}");
    assert!(raw.contains("x-prw-edge-rewritten-from: 408"), "{raw}");
    assert_eq!(receiver.requests(), 0);
    assert_eq!(counter(&envoy, "prw_edge_status_rewritten_total"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_plugin_config_stops_envoy_with_a_log_line_naming_the_field() {
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    let Some(bin) = tools::envoy().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();
    let cases = [
        (r#"{"limits": {"max_series": "many"}}"#, "limits.max_series"),
        (r#"{"missing_tenant_status": 403}"#, "missing_tenant_status"),
        (r#"{"tenant_heder": "X-Scope-OrgID"}"#, "tenant_heder"),
    ];
    for (config, field) in cases {
        let mut params = EnvoyParams::new(receiver.addr().port(), wasm.clone());
        params.plugin_config = config.to_string();
        let yaml = Template::Edge.render(&params).unwrap();
        match Envoy::start(&bin, &yaml) {
            Err(EnvoyError::Exited { log, .. }) => assert!(log.contains(field), "{field}: {log}"),
            other => panic!("{config}: expected Envoy to refuse the config, got {other:?}"),
        }
    }
}

#[test]
fn the_shipped_envoy_configs_pass_envoy_validate() {
    let Some(bin) = tools::envoy().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();
    let templates = [
        Template::Edge,
        Template::Egress,
        Template::Cluster,
        Template::ClusterStrict,
    ];
    for template in templates {
        let params = EnvoyParams {
            relay_ports: vec![9211, 9212, 9213],
            ..EnvoyParams::new(9202, wasm.clone())
        };
        let yaml = template.render(&params).unwrap();
        if let Err(log) = validate(&bin, &yaml).unwrap() {
            panic!("{template:?} does not validate:\n{log}");
        }
    }
}

/// The relay's routes only its own host may use: captured bodies (every tenant's) and the
/// config reload.
const RELAY_ONLY: [(&str, &str); 6] = [
    ("GET", "/api/v1/captures"),
    ("GET", "/api/v1/captures?limit=5"),
    ("GET", "/api/v1/captures/3"),
    ("HEAD", "/api/v1/captures/3"),
    ("POST", "/-/reload"),
    ("PUT", "/-/reload?x=1"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relay_config_refuses_captures_and_reload_and_passes_other_paths() {
    let Some(bin) = tools::envoy().unwrap() else {
        return;
    };
    let wasm = tools::filter_wasm().unwrap();
    for template in [Template::Edge, Template::Cluster, Template::ClusterStrict] {
        // 200 to everything, so the cluster's health checks (/-/ready) pass.
        let mut receivers = Vec::new();
        for _ in 0..3 {
            let config = ReceiverConfig::default()
                .recording()
                .with_default(Answer::status(200));
            receivers.push(Receiver::start(config).await.unwrap());
        }
        let params = EnvoyParams {
            relay_ports: receivers.iter().map(|r| r.addr().port()).collect(),
            ..EnvoyParams::new(receivers[0].addr().port(), wasm.clone())
        };
        let envoy = Envoy::start(&bin, &template.render(&params).unwrap()).unwrap();
        let addr = envoy.listener();
        for (method, path) in RELAY_ONLY {
            let reply = send(addr, method, path, &[], Vec::new()).await.unwrap();
            assert_eq!(reply.status, 403, "{template:?} {method} {path}: {reply:?}");
            if method != "HEAD" {
                assert!(reply.body.contains("not served through Envoy"), "{reply:?}");
            }
        }
        // Other paths reach the upstream (the cluster's first health checks may take a
        // second: until then Envoy answers 503).
        let mut query = None;
        for _ in 0..100 {
            let reply = send(addr, "GET", "/api/v1/query?query=up", &[], Vec::new())
                .await
                .unwrap();
            if reply.status == 200 {
                query = Some(reply);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            query.is_some(),
            "{template:?}: the query never reached a receiver"
        );
        let paths: Vec<String> = receivers
            .iter()
            .flat_map(|r| r.recorded())
            .map(|r| r.path)
            .collect();
        assert!(
            paths.iter().any(|p| p.starts_with("/api/v1/query")),
            "{template:?}: {paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.starts_with("/api/v1/captures") || p.starts_with("/-/reload")),
            "{template:?}: {paths:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_older_than_max_sample_age_get_400_by_envoys_clock() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(envoy) = start_envoy(&receiver, r#"{"max_sample_age": "1h"}"#, "60s") else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let fresh = Series::new(&[("__name__", "up")], &[(now_ms, 1.0)]);
    // NOW is in 2023: far older than an hour.
    let old = Series::new(&[("__name__", "up")], &[(NOW, 1.0)]);
    let accepted = post_write(envoy.listener(), false, v1(&[fresh]), &[])
        .await
        .unwrap();
    let rejected = post_write(envoy.listener(), false, v1(&[old]), &[])
        .await
        .unwrap();
    assert_eq!(accepted.status, 204, "{accepted:?}");
    assert_eq!(rejected.status, 400, "{rejected:?}");
    assert!(
        rejected.body.contains("edge.sample_too_old"),
        "{}",
        rejected.body
    );
    assert_eq!(receiver.requests(), 1);
    assert_eq!(
        counter(&envoy, "prw_edge_rule_edge_sample_too_old_total"),
        1
    );
}
