//! The 2.0 -> 1.0 bridge (`upstream_protocol: v1`) in a real Envoy 1.40 (V8): in front of a
//! real Prometheus 2.42 receiver (1.0 only; floats, exemplars and native histograms compared
//! in full: count, sum and every bucket), in front of the recording test receiver, and with
//! `prw relay` sending 2.0 through it (no fallback to 1.0: `prw_remote_fallbacks_total` 0).
//! A 2.0 body whose 1.0 form would be gigabytes is 413 without charging the tenant.
//!
//! Tools: Envoy (`$ENVOY_BIN`, else `.venv/bin/envoy`), Prometheus (`$PROMETHEUS_BIN`, else
//! `/usr/bin/prometheus`), `prw` (`$PRW_BIN`, else `target/debug/prw`), the filter
//! (`$PRW_ENVOY_FILTER_WASM`, else built by the test). With `CI=true` a missing tool fails
//! the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use prost::Message;
use prw_core::convert::{CUSTOM_BUCKETS_SCHEMA, SymbolTable};
use prw_core::proto::{v1 as p1, v2 as p2};
use prw_e2e::client::{Reply, post_write};
use prw_e2e::envoy::{Envoy, EnvoyParams, Template};
use prw_e2e::load::Load;
use prw_e2e::pairs::Pairs;
use prw_e2e::pairs::series_key;
use prw_e2e::payload::{Series, v1, v2};
use prw_e2e::prometheus::{self, Prometheus, Role};
use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig};
use prw_e2e::relay::{self, Relay};
use prw_e2e::victoria::{self, Victoria};
use prw_e2e::{tools, wait};

/// Envoy with the filter (plugin config `config`) in front of port `upstream`; None = skip.
fn start_envoy(upstream: u16, config: &str) -> Option<Envoy> {
    let bin = tools::envoy().unwrap()?;
    let wasm = tools::filter_wasm().unwrap();
    let mut params = EnvoyParams::new(upstream, wasm);
    params.plugin_config = config.to_string();
    let yaml = Template::Edge.render(&params).unwrap();
    Some(Envoy::start(&bin, &yaml).unwrap())
}

fn counter(envoy: &Envoy, name: &str) -> u64 {
    envoy
        .counter(name)
        .unwrap()
        .unwrap_or_else(|| panic!("{name} missing from /stats/prometheus"))
}

fn written(reply: &Reply) -> [Option<&str>; 3] {
    ["samples", "histograms", "exemplars"]
        .map(|what| reply.header(&format!("x-prometheus-remote-write-{what}-written")))
}

/// A v2 request built series by series (symbols interned by prw-core's table).
struct V2 {
    table: SymbolTable<'static>,
    timeseries: Vec<p2::TimeSeries>,
}

impl V2 {
    fn new() -> V2 {
        V2 {
            table: SymbolTable::new(),
            timeseries: Vec::new(),
        }
    }

    fn refs(&mut self, labels: &[(&'static str, &'static str)]) -> Vec<u32> {
        labels
            .iter()
            .flat_map(|(n, v)| [self.table.intern(n), self.table.intern(v)])
            .collect()
    }

    fn series(
        &mut self,
        labels: &[(&'static str, &'static str)],
        fill: impl FnOnce(&mut Self, &mut p2::TimeSeries),
    ) {
        let mut ts = p2::TimeSeries {
            labels_refs: self.refs(labels),
            ..Default::default()
        };
        fill(self, &mut ts);
        self.timeseries.push(ts);
    }

    fn body(self) -> Vec<u8> {
        let request = p2::Request {
            symbols: self.table.into_symbols(),
            timeseries: self.timeseries,
        };
        prw_core::codec::compress(&request.encode_to_vec()).unwrap()
    }
}

/// An integer histogram with absolute bucket counts `buckets` (one span from index 0).
fn histogram(timestamp: i64, schema: i32, buckets: &[u64], custom: &[f64]) -> p2::Histogram {
    let mut previous = 0i64;
    let deltas = buckets
        .iter()
        .map(|&b| {
            let d = b as i64 - previous;
            previous = b as i64;
            d
        })
        .collect();
    p2::Histogram {
        count: Some(p2::Count::CountInt(buckets.iter().sum())),
        sum: 4.5,
        schema,
        positive_spans: vec![p1::BucketSpan {
            offset: 0,
            length: buckets.len() as u32,
        }],
        positive_deltas: deltas,
        timestamp,
        custom_values: custom.to_vec(),
        ..Default::default()
    }
}

/// The rich request of the Prometheus test: floats (with start timestamps), a gauge with an
/// exemplar and metadata, an exponential histogram series, a custom-bucket one.
fn rich_request(t0: i64) -> V2 {
    let mut r = V2::new();
    r.series(
        &[
            ("__name__", "bridge_requests_total"),
            ("code", "200"),
            ("job", "edge"),
        ],
        |_, ts| {
            ts.samples = vec![
                p2::Sample {
                    value: 10.0,
                    timestamp: t0,
                    start_timestamp: t0 - 60_000,
                },
                p2::Sample {
                    value: 12.0,
                    timestamp: t0 + 1000,
                    start_timestamp: t0 - 60_000,
                },
            ];
        },
    );
    r.series(&[("__name__", "bridge_temp"), ("job", "edge")], |r, ts| {
        ts.samples = vec![
            p2::Sample {
                value: 21.5,
                timestamp: t0,
                start_timestamp: 0,
            },
            p2::Sample {
                value: 22.25,
                timestamp: t0 + 1000,
                start_timestamp: 0,
            },
        ];
        ts.exemplars = vec![p2::Exemplar {
            labels_refs: r.refs(&[("trace_id", "abc123")]),
            value: 21.5,
            timestamp: t0,
        }];
        ts.metadata = Some(p2::Metadata {
            r#type: 2,
            help_ref: r.table.intern("Temperature."),
            unit_ref: r.table.intern("celsius"),
        });
    });
    r.series(
        &[("__name__", "bridge_latency_seconds"), ("job", "edge")],
        |_, ts| {
            ts.histograms = vec![
                histogram(t0, 3, &[1, 2], &[]),
                histogram(t0 + 1000, 3, &[2, 3], &[]),
            ];
        },
    );
    r.series(
        &[("__name__", "bridge_nhcb_seconds"), ("job", "edge")],
        |_, ts| {
            ts.histograms = vec![histogram(
                t0,
                CUSTOM_BUCKETS_SCHEMA,
                &[1, 1, 1],
                &[0.1, 0.5],
            )];
        },
    );
    r
}

/// A native histogram as Prometheus's query API shows it: count, sum, and each bucket as
/// (boundary rule, lower, upper, count).
#[derive(Clone, Debug)]
struct StoredHistogram {
    count: f64,
    sum: f64,
    buckets: Vec<(i64, f64, f64, f64)>,
}

impl StoredHistogram {
    /// What Prometheus shows for an integer histogram with one positive span from bucket
    /// index 0, absolute counts `buckets`, at `schema` > 0: bucket i is
    /// (2^((i-1) 2^-schema), 2^(i 2^-schema)], boundary rule 0 (open left, closed right).
    fn expected(schema: i32, buckets: &[u64], sum: f64) -> StoredHistogram {
        let base = 2f64.powf(2f64.powi(-schema));
        StoredHistogram {
            count: buckets.iter().sum::<u64>() as f64,
            sum,
            buckets: buckets
                .iter()
                .enumerate()
                .map(|(i, &n)| (0, base.powi(i as i32 - 1), base.powi(i as i32), n as f64))
                .collect(),
        }
    }

    /// Equal, bucket bounds to 1e-12 (Prometheus computes them from its own table).
    fn same_as(&self, other: &StoredHistogram) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
        self.count == other.count
            && self.sum == other.sum
            && self.buckets.len() == other.buckets.len()
            && self
                .buckets
                .iter()
                .zip(&other.buckets)
                .all(|(a, b)| a.0 == b.0 && close(a.1, b.1) && close(a.2, b.2) && a.3 == b.3)
    }
}

/// From a Prometheus query answer: the float points as (series key, timestamp ms, value)
/// and the histograms as (series key, timestamp ms) -> histogram.
#[allow(clippy::type_complexity)]
fn points_in(
    json: &str,
) -> (
    BTreeSet<(String, i64, String)>,
    BTreeMap<(String, i64), StoredHistogram>,
) {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let number = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let (mut floats, mut histograms) = (BTreeSet::new(), BTreeMap::new());
    for result in value["data"]["result"].as_array().unwrap() {
        let metric = result["metric"].as_object().unwrap();
        let key = series_key(
            metric
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap())),
        );
        let ms = |t: &serde_json::Value| (t.as_f64().unwrap() * 1000.0).round() as i64;
        for point in result["values"].as_array().into_iter().flatten() {
            floats.insert((
                key.clone(),
                ms(&point[0]),
                point[1].as_str().unwrap().to_string(),
            ));
        }
        for point in result["histograms"].as_array().into_iter().flatten() {
            let h = &point[1];
            let buckets = h["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    (
                        b[0].as_i64().unwrap(),
                        number(&b[1]),
                        number(&b[2]),
                        number(&b[3]),
                    )
                })
                .collect();
            let stored = StoredHistogram {
                count: number(&h["count"]),
                sum: number(&h["sum"]),
                buckets,
            };
            histograms.insert((key.clone(), ms(&point[0])), stored);
        }
    }
    (floats, histograms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_2_receiver_stores_what_a_2_0_sender_sent_through_the_bridge() {
    let Some(prom_bin) = prometheus::bin().unwrap() else {
        return;
    };
    let receiver = Prometheus::start_with_flags(
        &prom_bin,
        &Role::Receiver,
        &["--enable-feature=native-histograms,exemplar-storage"],
    )
    .unwrap();
    let config = r#"{"upstream_protocol": "v1", "custom_bucket_histograms": "drop"}"#;
    let Some(envoy) = start_envoy(receiver.addr().port(), config) else {
        return;
    };
    let t0 = wait::now_ms() - 10_000;
    let reply = post_write(envoy.listener(), true, rich_request(t0).body(), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "{reply:?}");
    // 4 float samples, 2 exponential histograms (the custom-bucket one is dropped), 1 exemplar.
    assert_eq!(written(&reply), [Some("4"), Some("2"), Some("1")]);

    let query = |promql: &str| {
        let time = format!("{:.3}", (t0 + 5_000) as f64 / 1000.0);
        let path = format!(
            "/api/v1/query?query={}&time={time}",
            prw_e2e::url::encode(promql)
        );
        receiver.api(&path).unwrap()
    };
    let (stored, histograms) = points_in(&query(r#"{job="edge"}[1m]"#));
    let key = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![("__name__", name), ("job", "edge")];
        labels.extend_from_slice(extra);
        series_key(labels)
    };
    let requests = key("bridge_requests_total", &[("code", "200")]);
    let temp = key("bridge_temp", &[]);
    let latency = key("bridge_latency_seconds", &[]);
    let expected: BTreeSet<(String, i64, String)> = [
        (requests.clone(), t0, "10".to_string()),
        (requests, t0 + 1000, "12".to_string()),
        (temp.clone(), t0, "21.5".to_string()),
        (temp, t0 + 1000, "22.25".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(stored, expected);
    // The exponential histograms in full (what rich_request sent: schema 3, sum 4.5); the
    // custom-bucket one was dropped.
    let expected_histograms = [
        (
            (latency.clone(), t0),
            StoredHistogram::expected(3, &[1, 2], 4.5),
        ),
        (
            (latency, t0 + 1000),
            StoredHistogram::expected(3, &[2, 3], 4.5),
        ),
    ];
    assert_eq!(
        histograms.keys().collect::<Vec<_>>(),
        expected_histograms
            .iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    );
    for (key, expected) in &expected_histograms {
        let got = &histograms[key];
        assert!(
            got.same_as(expected),
            "{key:?}: stored {got:?}, sent {expected:?}"
        );
    }

    let exemplars = receiver
        .api(&format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            prw_e2e::url::encode("bridge_temp"),
            t0 / 1000 - 60,
            t0 / 1000 + 60
        ))
        .unwrap();
    let exemplars: serde_json::Value = serde_json::from_str(&exemplars).unwrap();
    let first = &exemplars["data"][0]["exemplars"][0];
    assert_eq!(first["labels"]["trace_id"], "abc123", "{exemplars}");
    assert_eq!(first["value"], "21.5");

    let expected_counters = [
        ("prw_edge_converted_total", 1),
        ("prw_edge_accepted_total", 1),
        ("prw_edge_convert_dropped_start_timestamps_total", 2),
        ("prw_edge_convert_dropped_custom_bucket_histograms_total", 1),
        ("prw_edge_convert_dropped_series_total", 1),
    ];
    for (name, value) in expected_counters {
        assert_eq!(counter(&envoy, name), value, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_stores_what_a_2_0_sender_sent_through_the_bridge() {
    let Some(vm_bin) = victoria::bin().unwrap() else {
        return;
    };
    let receiver = Victoria::start(&vm_bin).unwrap();
    let Some(envoy) = start_envoy(receiver.addr().port(), r#"{"upstream_protocol": "v1"}"#) else {
        return;
    };
    let t0 = wait::now_ms() - 10_000;
    let series: Vec<Series> = (0..20)
        .map(|k| {
            let id = format!("{k:02}");
            Series::new(
                &[("__name__", "bridge_vm"), ("id", &id), ("job", "edge")],
                &[(t0, k as f64), (t0 + 1000, k as f64 + 0.5)],
            )
        })
        .collect();
    let body = v2(&series);
    let reply = post_write(envoy.listener(), true, body.clone(), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(written(&reply), [Some("40"), Some("0"), Some("0")]);
    let mut expected = Pairs::new();
    expected.add_body(&body, prw_core::Protocol::V2).unwrap();
    let stored = tokio::task::spawn_blocking(move || {
        wait::until(
            "every pair in VictoriaMetrics",
            Duration::from_secs(30),
            || {
                let seen = receiver
                    .pairs(r#"{__name__="bridge_vm"}"#, t0 - 1, t0 + 1000)
                    .map_err(|e| e.to_string())?;
                seen.same_set_as(&expected, "VictoriaMetrics")
                    .map(|()| seen)
            },
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored.unique_count(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_gets_a_1_0_request_with_custom_buckets_kept_and_1_0_passes_unchanged() {
    let receiver = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_default(Answer::status(200)),
    )
    .await
    .unwrap();
    let Some(envoy) = start_envoy(receiver.addr().port(), r#"{"upstream_protocol": "v1"}"#) else {
        return;
    };
    let t0 = 1_700_000_000_000;
    let converted = post_write(envoy.listener(), true, rich_request(t0).body(), &[])
        .await
        .unwrap();
    let v1_body = v1(&[Series::new(&[("__name__", "up")], &[(t0, 1.0)])]);
    let plain = post_write(envoy.listener(), false, v1_body.clone(), &[])
        .await
        .unwrap();
    assert_eq!((converted.status, plain.status), (200, 200));
    // Custom buckets kept: 3 histograms.
    assert_eq!(written(&converted), [Some("4"), Some("3"), Some("1")]);
    assert_eq!(written(&plain), [None, None, None]);

    let seen = receiver.recorded();
    let upstream = &seen[0];
    assert_eq!(
        upstream.header("content-type"),
        Some(prw_core::negotiate::CONTENT_TYPE_V1)
    );
    assert_eq!(
        upstream.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    // Content-Length is set to the new body's length (not removed: no chunked encoding).
    let length = upstream.body.len().to_string();
    assert_eq!(upstream.header("content-length"), Some(length.as_str()));
    let decoded =
        prw_core::codec::decompress(&upstream.body, &prw_core::Limits::default()).unwrap();
    let request = p1::WriteRequest::decode(decoded.as_slice()).unwrap();
    let nhcb = request
        .timeseries
        .iter()
        .find(|ts| ts.labels.iter().any(|l| l.value == "bridge_nhcb_seconds"))
        .unwrap();
    assert_eq!(nhcb.histograms[0].custom_values, [0.1, 0.5]);
    assert_eq!(request.metadata[0].metric_family_name, "bridge_temp");
    assert_eq!(request.metadata[0].unit, "celsius");
    // The 1.0 request went through byte for byte.
    assert_eq!(seen[1].body.as_ref(), v1_body.as_slice());
    assert_eq!(counter(&envoy, "prw_edge_converted_total"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_keep_their_status_and_get_no_written_headers() {
    let receiver = Receiver::start(
        ReceiverConfig::default().with_script([Answer::status(400), Answer::status(503)]),
    )
    .await
    .unwrap();
    let Some(envoy) = start_envoy(receiver.addr().port(), r#"{"upstream_protocol": "v1"}"#) else {
        return;
    };
    let body = v2(&[Series::new(&[("__name__", "up")], &[(1, 1.0)])]);
    let bad = post_write(envoy.listener(), true, body.clone(), &[])
        .await
        .unwrap();
    let down = post_write(envoy.listener(), true, body, &[]).await.unwrap();
    assert_eq!((bad.status, down.status), (400, 503));
    assert_eq!(written(&bad), [None, None, None]);
    assert_eq!(down.header("retry-after"), Some("5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converted_body_over_the_buffer_limit_is_413_from_the_filter_not_envoy() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let Some(bin) = tools::envoy().unwrap() else {
        return;
    };
    // 1.0 repeats every label value 2.0 sends once: 1,000 incompressible 100-byte values
    // used by 3 series each make a ~140 KB 2.0 body and a ~330 KB 1.0 one.
    let mut x: u64 = 12345;
    let values: Vec<String> = (0..1000)
        .map(|_| {
            (0..100)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + ((x >> 33) % 26) as u8)
                })
                .collect()
        })
        .collect();
    let series: Vec<Series> = (0..3)
        .flat_map(|rep| {
            values
                .iter()
                .map(move |v| Series::new(&[("__name__", "up"), ("job", v)], &[(1000 + rep, 1.0)]))
        })
        .collect();
    let body = v2(&series);
    let limit = 262_144;
    assert!(body.len() < limit && v1(&series).len() > limit);
    let mut params = EnvoyParams::new(receiver.addr().port(), tools::filter_wasm().unwrap());
    params.plugin_config =
        format!(r#"{{"upstream_protocol": "v1", "limits": {{"max_body_bytes": {limit}}}}}"#);
    // Envoy's buffer limit equal to max_body_bytes, as envoy/README.md says.
    let yaml = Template::Edge.render(&params).unwrap().replace(
        "per_connection_buffer_limit_bytes: 33554432",
        &format!("per_connection_buffer_limit_bytes: {limit}"),
    );
    let envoy = Envoy::start(&bin, &yaml).unwrap();
    let reply = post_write(envoy.listener(), true, body, &[]).await.unwrap();
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("edge.converted_size"), "{}", reply.body);
    assert_eq!(written(&reply), [Some("0"), Some("0"), Some("0")]);
    assert_eq!(receiver.requests(), 0);
    assert_eq!(
        counter(&envoy, "prw_edge_rule_edge_converted_size_total"),
        1
    );
}

/// ~8 MB of 2.0 (100,000 series, one sample each) whose 1.0 form is ~5.8 GB: every series
/// has 29 labels whose value is the same 2,000-byte symbol, which 2.0 sends once and 1.0
/// repeats 2.9 million times. Built by repeating one encoded series.
fn amplifying_body() -> Vec<u8> {
    let long = "x".repeat(2000);
    let names: Vec<String> = (1..30).map(|i| format!("l{i:02}")).collect();
    let mut symbols = vec![String::new(), "__name__".into(), "amplified".into(), long];
    symbols.extend(names.iter().cloned());
    let mut labels_refs = vec![1, 2];
    for i in 0..names.len() as u32 {
        labels_refs.extend([4 + i, 3]);
    }
    let series = p2::TimeSeries {
        labels_refs,
        samples: vec![p2::Sample {
            value: 1.0,
            timestamp: 1,
            start_timestamp: 0,
        }],
        ..Default::default()
    };
    let mut one = Vec::new();
    prost::encoding::message::encode(5, &series, &mut one);
    let mut decoded = p2::Request {
        symbols,
        timeseries: Vec::new(),
    }
    .encode_to_vec();
    for _ in 0..100_000 {
        decoded.extend_from_slice(&one);
    }
    prw_core::codec::compress(&decoded).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_0_body_with_a_huge_1_0_form_is_413_and_the_vm_serves_the_next_request_uncharged() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    // Burst 150,000: the refused request (100,000 samples) must not take tokens, or the
    // next one (100,000 samples) gets 429.
    let config = r#"{"upstream_protocol": "v1",
        "tenants": {"default": {"ingestion_rate": 1, "ingestion_burst_size": 150000}}}"#;
    let Some(envoy) = start_envoy(receiver.addr().port(), config) else {
        return;
    };
    let refused = post_write(envoy.listener(), true, amplifying_body(), &[])
        .await
        .unwrap();
    assert_eq!(refused.status, 413, "{refused:?}");
    assert!(
        refused.body.contains("edge.converted_size")
            && refused.body.contains("limits.max_decoded_bytes"),
        "{}",
        refused.body
    );
    assert_eq!(written(&refused), [Some("0"), Some("0"), Some("0")]);
    // The VM survived, and the tenant still has its whole burst.
    let points: Vec<(i64, f64)> = (1..=100_000).map(|t| (t, 1.0)).collect();
    let next = v2(&[Series::new(&[("__name__", "after")], &points)]);
    let reply = post_write(envoy.listener(), true, next, &[]).await.unwrap();
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(written(&reply), [Some("100000"), Some("0"), Some("0")]);
    assert_eq!(receiver.requests(), 1);
    assert_eq!(
        counter(&envoy, "prw_edge_rule_edge_converted_size_total"),
        1
    );
    assert_eq!(counter(&envoy, "prw_edge_converted_total"), 1);
    let stats = envoy.stats_prometheus().unwrap();
    let admitted = |tenant: &str| {
        prw_e2e::http::metric_sum_where(&stats, "prw_edge_tenant_admitted_total", |l| {
            l == format!("tenant=\"{tenant}\"")
        })
    };
    assert_eq!(admitted("other"), Some(1.0), "{stats}");
    let log = envoy.log();
    assert!(!log.to_lowercase().contains("panicked"), "{log}");
}

#[test]
fn prw_relay_sending_2_0_through_the_bridge_to_prometheus_2_loses_nothing() {
    let Some(relay_bin) = relay::bin().unwrap() else {
        return;
    };
    let Some(prom_bin) = prometheus::bin().unwrap() else {
        return;
    };
    let receiver = Prometheus::start(&prom_bin, &Role::Receiver).unwrap();
    let Some(envoy) = start_envoy(receiver.addr().port(), r#"{"upstream_protocol": "v1"}"#) else {
        return;
    };
    let relay_config = format!(
        "remote_write:\n  - name: edge\n    url: http://{}/api/v1/write\n    remote_timeout: 5s\n    \
         protobuf_message: io.prometheus.write.v2.Request\n    queue_config:\n      max_shards: 2\n      \
         min_shards: 1\n      max_samples_per_send: 500\n      batch_send_deadline: 200ms\n      \
         min_backoff: 50ms\n      max_backoff: 500ms\n",
        envoy.listener()
    );
    let relay = Relay::start(&relay_bin, &relay_config).unwrap();
    let start = wait::now_ms();
    let load = Load::start(relay.addr(), "bridge", 200, Duration::from_millis(100));
    wait::until("4,000 acknowledged pairs", Duration::from_secs(30), || {
        let acked = load.report().acked.unique_count();
        if acked >= 4000 {
            Ok(())
        } else {
            Err(format!("{acked}"))
        }
    })
    .unwrap();
    let report = load.stop();
    let end = wait::now_ms();
    let selector = r#"{__name__="prw_e2e_load",job="bridge"}"#;
    let seen = receiver
        .wait_for_pairs(
            selector,
            (start - 1, end),
            &report.acked,
            Duration::from_secs(30),
        )
        .unwrap();
    let failed = relay
        .metric("prometheus_remote_storage_samples_failed_total")
        .unwrap();
    assert_eq!(failed, 0.0, "the relay counted failed samples");
    // The relay kept sending 2.0 (it falls back to 1.0 on a 2xx without Written headers or a
    // 415, and counts it): the metric is there and 0.
    let relay_metrics = relay.metrics().unwrap();
    assert_eq!(
        prw_e2e::http::metric_sum(&relay_metrics, "prw_remote_fallbacks_total"),
        Some(0.0),
        "the relay fell back to 1.0"
    );
    // And every write the edge examined was a 2.0 one it converted.
    let converted = counter(&envoy, "prw_edge_converted_total");
    assert!(converted > 0, "no request was converted");
    assert_eq!(counter(&envoy, "prw_edge_accepted_total"), converted);
    assert_eq!(counter(&envoy, "prw_edge_rejected_invalid_total"), 0);
    println!(
        "relay (2.0) -> edge bridge -> Prometheus 2.42: {} pairs, {converted} requests converted",
        seen.unique_count()
    );
}
