//! `prw relay` as a real process under faults (issue 4): destinations down and up, `kill -9`
//! under load, status handling, two destinations, a real Prometheus 2.42 downstream,
//! relay-to-relay over Remote Write 2.0, and bad input.
//!
//! Tools: `$PRW_BIN` (else `target/debug/prw` or `dist/prw`; `cargo build -p prw` first),
//! `$PROMETHEUS_BIN` (else /usr/bin/prometheus). With `CI=true` a missing tool fails the
//! test; otherwise the test prints why and skips. Each outage lasts a few seconds; every
//! wait is bounded and fails naming what was expected and what was seen.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message;
use prw_core::proto::v2 as p2;
use prw_e2e::load::{Load, batch};
use prw_e2e::pairs::{Pairs, of_recorded, of_request};
use prw_e2e::payload::{Series, v1, v1_raw};
use prw_e2e::prometheus::{self, Prometheus, Role};
use prw_e2e::receiver::{Answer, BlockingReceiver, ReceiverConfig};
use prw_e2e::relay::{self, Relay};
use prw_e2e::{http, wait};

/// Per-shard batch size and shard cap: what can be in flight at once is at most their
/// product, which bounds the duplicates a crash may cause.
const MAX_SAMPLES_PER_SEND: usize = 500;
const MAX_SHARDS: usize = 4;

/// How long delivery may take to catch up after a fault ends.
const CATCH_UP: Duration = Duration::from_secs(30);

fn relay_bin() -> Option<PathBuf> {
    relay::bin().unwrap()
}

/// One `remote_write` stanza with short backoffs (tests wait for retries).
fn destination(name: &str, url: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    url: {url}\n    remote_timeout: 5s\n{extra}    queue_config:\n      \
         max_shards: {MAX_SHARDS}\n      min_shards: 1\n      max_samples_per_send: {MAX_SAMPLES_PER_SEND}\n      \
         batch_send_deadline: 200ms\n      min_backoff: 50ms\n      max_backoff: 500ms\n"
    )
}

fn config(destinations: &[String]) -> String {
    format!("remote_write:\n{}", destinations.concat())
}

fn received(receiver: &BlockingReceiver) -> Pairs {
    of_recorded(&receiver.recorded()).unwrap()
}

/// Waits until every pair of `expected` has arrived at `receiver`.
fn wait_for_all(receiver: &BlockingReceiver, expected: &Pairs, who: &str) -> Pairs {
    wait::until(
        &format!("every acknowledged pair at {who}"),
        CATCH_UP,
        || {
            let seen = received(receiver);
            let (missing, examples) = seen.missing_from(expected);
            if missing == 0 {
                Ok(seen)
            } else {
                Err(format!(
                    "{missing} of {} missing (e.g. {examples:?}); {} requests received",
                    expected.unique_count(),
                    receiver.requests()
                ))
            }
        },
    )
    .unwrap()
}

fn wait_batches(load: &Load, n: u64) {
    wait::until(
        &format!("{n} batches sent"),
        Duration::from_secs(20),
        || {
            let b = load.batches();
            if b >= n {
                Ok(())
            } else {
                Err(format!("{b} batches"))
            }
        },
    )
    .unwrap();
}

fn acked_some(load: &Load, n: usize) {
    wait::until(
        &format!("{n} acknowledged pairs"),
        Duration::from_secs(20),
        || {
            let report = load.report();
            let acked = report.acked.unique_count();
            if acked >= n {
                Ok(())
            } else {
                Err(format!(
                    "{acked} acknowledged; statuses {:?}",
                    report.statuses
                ))
            }
        },
    )
    .unwrap();
}

/// A tiny xorshift: random kill moments without a dependency; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_destination_down_then_up_receives_every_acknowledged_sample() {
    let Some(bin) = relay_bin() else { return };
    // Reserve the destination's address, then close it: the destination is down.
    let down_addr: SocketAddr = {
        let r = BlockingReceiver::start(ReceiverConfig::default()).unwrap();
        r.addr()
    };
    let url = format!("http://{down_addr}/api/v1/write");
    let relay = Relay::start(&bin, &config(&[destination("down_then_up", &url, "")])).unwrap();
    let load = Load::start(relay.addr(), "down_then_up", 200, Duration::from_millis(50));
    acked_some(&load, 200 * 20);
    // Up again on the same address.
    let receiver =
        BlockingReceiver::start_on(down_addr, ReceiverConfig::default().recording()).unwrap();
    acked_some(&load, 200 * 40);
    let report = load.stop();
    let seen = wait_for_all(&receiver, &report.acked, "the destination");
    println!(
        "acknowledged {} pairs, received {} distinct ({} duplicates), statuses {:?}",
        report.acked.unique_count(),
        seen.unique_count(),
        seen.duplicates(),
        report.statuses
    );
    assert_eq!(
        seen.new_out_of_order(),
        0,
        "per-series order at the receiver"
    );
    let (extra, examples) = report.sent.missing_from(&seen);
    assert_eq!(extra, 0, "pairs that were never sent arrived: {examples:?}");
}

#[test]
fn kill_9_under_load_three_times_loses_no_acknowledged_sample() {
    let Some(bin) = relay_bin() else { return };
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let url = receiver.url("/api/v1/write");
    let mut relay = Relay::start(&bin, &config(&[destination("killed", &url, "")])).unwrap();
    let load = Load::start(relay.addr(), "kill9", 300, Duration::from_millis(20));
    let seed = u64::from(std::process::id()) * 2_654_435_761 + 1;
    println!("kill moments seed: {seed}");
    let mut rng = Rng(seed);
    let bound = MAX_SAMPLES_PER_SEND * MAX_SHARDS;
    for kill in 1..=3 {
        let before = load.batches();
        wait_batches(&load, before + 10 + rng.next_below(60));
        let dups_before = received(&receiver).duplicates();
        relay.kill9();
        relay.restart().unwrap();
        // Everything acknowledged so far must arrive before the next kill.
        let acked = load.report().acked;
        let seen = wait_for_all(&receiver, &acked, "the destination");
        let dups = seen.duplicates() - dups_before;
        println!("kill {kill}: {dups} duplicate pairs (bound: {bound} in flight)");
        assert!(
            dups <= bound,
            "kill {kill}: {dups} duplicates, more than could be in flight ({bound})"
        );
    }
    let report = load.stop();
    let seen = wait_for_all(&receiver, &report.acked, "the destination");
    println!(
        "acknowledged {}, received {} distinct, {} duplicates in total, statuses {:?}",
        report.acked.unique_count(),
        seen.unique_count(),
        seen.duplicates(),
        report.statuses
    );
    assert_eq!(
        seen.new_out_of_order(),
        0,
        "per-series order at the receiver"
    );
    let (extra, examples) = report.sent.missing_from(&seen);
    assert_eq!(extra, 0, "pairs that were never sent arrived: {examples:?}");
}

#[test]
fn a_400_batch_is_never_resent_and_5xx_and_429_batches_are_resent() {
    let Some(bin) = relay_bin() else { return };
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording().with_script([
        Answer::status(400),
        Answer::status(503),
        Answer::status(500),
        Answer::retry_after(429, 1),
    ]))
    .unwrap();
    let url = receiver.url("/api/v1/write");
    let stanza = destination("statuses", &url, "")
        .replace(&format!("max_shards: {MAX_SHARDS}"), "max_shards: 1");
    let relay = Relay::start(&bin, &config(&[stanza])).unwrap();
    let send = |t: i64| {
        let body = v1(&batch("statuses", 10, t));
        let answer = http::request(
            relay.addr(),
            "POST",
            "/api/v1/write",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
            ],
            &body,
        )
        .unwrap();
        assert_eq!(answer.status, 204, "{}", answer.text());
    };
    let base = wait::now_ms();
    send(base);
    wait::until("the 400 answer to be used", CATCH_UP, || {
        let n = receiver.requests();
        if n >= 1 {
            Ok(())
        } else {
            Err(format!("{n} requests"))
        }
    })
    .unwrap();
    send(base + 1000);
    let mut expected = Pairs::new();
    let mut batch_two = Pairs::new();
    batch_two
        .add_body(
            &v1(&batch("statuses", 10, base + 1000)),
            prw_core::Protocol::V1,
        )
        .unwrap();
    expected.extend(&batch_two);
    // The script has 4 answers; requests after them are answered 204.
    let scripted = 4;
    let seen = wait::until("batch two answered 204", CATCH_UP, || {
        let records = receiver.recorded();
        let accepted = of_recorded(records.get(scripted..).unwrap_or_default())?;
        let (missing, _) = accepted.missing_from(&expected);
        if missing == 0 {
            Ok(accepted)
        } else {
            Err(format!(
                "{} requests, {missing} pairs of batch two not yet accepted",
                records.len()
            ))
        }
    })
    .unwrap();
    let records = receiver.recorded();
    // Request 0 was answered 400: none of its pairs may appear in a later request.
    let rejected = of_request(&records[0]).unwrap();
    let later = of_recorded(&records[1..]).unwrap();
    let (absent, _) = later.missing_from(&rejected);
    assert_eq!(
        absent,
        rejected.unique_count(),
        "pairs of the 400-answered batch were sent again"
    );
    // Requests 1, 2 and 3 were answered 503, 500 and 429 + Retry-After: 1: their pairs were
    // sent again after them.
    for i in 1..=3 {
        let retried = of_request(&records[i]).unwrap();
        let after = of_recorded(&records[i + 1..]).unwrap();
        assert_eq!(
            after.missing_from(&retried).0,
            0,
            "request {i} (5xx or 429 with Retry-After) was not resent; {} requests in all",
            records.len()
        );
    }
    println!(
        "{} requests: 400 dropped {} pairs, 5xx and 429 resent, {} distinct pairs delivered",
        records.len(),
        rejected.unique_count(),
        seen.unique_count()
    );
}

/// Issue 11: a destination whose receiver is paused stops taking records (its queue is
/// full), the in-memory tail evicts what it has not taken (the cap holds a few records), and
/// once the receiver accepts again the destination reads those records back from the WAL:
/// nothing acknowledged is lost and per-series order holds. Run twice: with records
/// forwarded as received (the tail then holds them as received only, a few KiB each) and
/// with forwarding off (the tail holds them decoded, with their per-series facts).
#[test]
fn a_destination_behind_the_tail_catches_up_from_the_wal_with_nothing_lost() {
    let Some(bin) = relay_bin() else { return };
    // Forwarded: 30 records of 200 series take well over 8 KiB even as received. Both
    // destinations' queues hold every record forwarded whole, so both read the evicted ones
    // from the WAL while paused, side by side.
    behind_the_tail_catches_up(&bin, "8KiB", "", Resume::Together);
    // Cut: the tail (128 KiB) holds about six decoded records; a queue holds less than one,
    // so each paused destination stops reading at its first record. They resume one after
    // the other: the second takes from memory the records the first read from the WAL last
    // (the share keeps the newest within half the cap).
    behind_the_tail_catches_up(
        &bin,
        "128KiB",
        "    forward_as_received: false\n",
        Resume::OneAfterTheOther,
    );
}

/// How the paused destinations of [`behind_the_tail_catches_up`] resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    Together,
    OneAfterTheOther,
}

/// Two destinations, both paused while 30 records are acknowledged, then resumed: each
/// receives every acknowledged pair in per-series order, the records the tail evicted coming
/// from the WAL (read by one destination and, when the other is close behind, taken from
/// memory by it: `prw_tail_wal_reads_shared_total`).
fn behind_the_tail_catches_up(bin: &Path, tail_bytes: &str, extra: &str, resume: Resume) {
    let receivers: Vec<BlockingReceiver> = (0..2)
        .map(|_| {
            BlockingReceiver::start(
                ReceiverConfig::default()
                    .recording()
                    .with_default(Answer::status(503)),
            )
            .unwrap()
        })
        .collect();
    // A queue of 100 items holds well under one 200-series record: the 30 records sent
    // while paused cannot all wait in memory.
    let destinations: String = receivers
        .iter()
        .enumerate()
        .map(|(i, receiver)| {
            format!(
                "  - name: behind{i}\n    url: {}\n{extra}    queue_config:\n      \
                 capacity: 100\n      max_shards: 1\n      min_shards: 1\n      max_samples_per_send: {MAX_SAMPLES_PER_SEND}\n      \
                 batch_send_deadline: 200ms\n      min_backoff: 20ms\n      max_backoff: 100ms\n",
                receiver.url("/api/v1/write")
            )
        })
        .collect();
    let yaml = format!("tail:\n  max_bytes: {tail_bytes}\nremote_write:\n{destinations}");
    let relay = Relay::start(bin, &yaml).unwrap();
    let load = Load::start(relay.addr(), "behind", 200, Duration::from_millis(10));
    acked_some(&load, 200 * 30);
    let report = load.stop();
    let evicted = relay.metric("prw_tail_evicted_total").unwrap();
    assert!(
        evicted > 0.0,
        "the tail must have evicted records the paused destinations had not taken ({extra:?})"
    );
    for receiver in &receivers {
        receiver.set_default_answer(Answer::status(204));
        if resume == Resume::OneAfterTheOther {
            wait_for_all(receiver, &report.acked, "the first destination");
        }
    }
    for (i, receiver) in receivers.iter().enumerate() {
        let seen = wait_for_all(receiver, &report.acked, &format!("destination behind{i}"));
        assert_eq!(
            seen.new_out_of_order(),
            0,
            "per-series order at receiver {i}"
        );
    }
    let wal_reads = relay.metric("prw_tail_wal_reads_total").unwrap();
    let shared = relay.metric("prw_tail_wal_reads_shared_total").unwrap();
    let forwarded = relay
        .metric("prw_delivery_records_forwarded_total")
        .unwrap();
    println!(
        "acknowledged {} pairs; {evicted} records evicted from the tail, {wal_reads} read back from the WAL, \
         {shared} taken from the other destination's WAL reads, {forwarded} forwarded",
        report.acked.unique_count()
    );
    assert!(wal_reads > 0.0, "the evicted records came from the WAL");
    assert_eq!(
        forwarded > 0.0,
        extra.is_empty(),
        "records are forwarded unless forward_as_received is off"
    );
    if resume == Resume::OneAfterTheOther {
        assert!(
            shared > 0.0,
            "the second destination took records the first had read from the WAL"
        );
    }
}

#[test]
fn with_two_destinations_one_dead_the_healthy_one_receives_everything() {
    let Some(bin) = relay_bin() else { return };
    let dead: SocketAddr = {
        let r = BlockingReceiver::start(ReceiverConfig::default()).unwrap();
        r.addr()
    };
    let healthy = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let relay = Relay::start(
        &bin,
        &config(&[
            destination("dead", &format!("http://{dead}/api/v1/write"), ""),
            destination("healthy", &healthy.url("/api/v1/write"), ""),
        ]),
    )
    .unwrap();
    let load = Load::start(relay.addr(), "two", 200, Duration::from_millis(50));
    acked_some(&load, 200 * 40);
    // The healthy destination keeps up while the other is down.
    let acked = load.report().acked;
    let seen = wait_for_all(&healthy, &acked, "the healthy destination");
    let report = load.stop();
    println!(
        "healthy destination: {} distinct pairs while the other was down ({} acknowledged so far)",
        seen.unique_count(),
        report.acked.unique_count()
    );
    assert_eq!(seen.new_out_of_order(), 0);
}

#[test]
fn a_real_prometheus_receiver_ingests_everything_across_a_kill_9() {
    let Some(bin) = relay_bin() else { return };
    let Some(prom_bin) = prometheus::bin().unwrap() else {
        return;
    };
    let receiver = Prometheus::start(&prom_bin, &Role::Receiver).unwrap();
    let mut relay = Relay::start(
        &bin,
        &config(&[destination("prometheus", &receiver.write_url(), "")]),
    )
    .unwrap();
    let start = wait::now_ms();
    let load = Load::start(relay.addr(), "prom", 200, Duration::from_millis(100));
    acked_some(&load, 200 * 20);
    relay.kill9();
    relay.restart().unwrap();
    let before = load.batches();
    wait_batches(&load, before + 20);
    let report = load.stop();
    let end = wait::now_ms();
    let selector = r#"{__name__="prw_e2e_load",job="prom"}"#;
    let seen = wait::until("every acknowledged pair in Prometheus", CATCH_UP, || {
        let seen = receiver
            .pairs(selector, start - 1, end)
            .map_err(|e| e.to_string())?;
        let (missing, examples) = seen.missing_from(&report.acked);
        if missing == 0 {
            Ok(seen)
        } else {
            Err(format!("{missing} missing, e.g. {examples:?}"))
        }
    })
    .unwrap();
    let (extra, examples) = report.sent.missing_from(&seen);
    assert_eq!(extra, 0, "Prometheus holds pairs never sent: {examples:?}");
    // The 200-series records arrive every 100 ms and are forwarded as received, two joined
    // per request (400 of max_samples_per_send 500 within batch_send_deadline 200ms): what
    // Prometheus decoded above includes joined snappy blocks.
    let metrics = relay.metrics().unwrap();
    let forwarded = http::metric_sum(&metrics, "prw_delivery_records_forwarded_total").unwrap();
    let requests = http::metric_sum(
        &metrics,
        "prometheus_remote_storage_sent_batch_duration_seconds_count",
    )
    .unwrap();
    assert!(
        requests < forwarded,
        "records forwarded since the restart ({forwarded}) were joined into fewer requests ({requests})"
    );
    println!(
        "Prometheus receiver: {} distinct pairs in {} series (acknowledged {}, sent {}), statuses {:?}",
        seen.unique_count(),
        seen.series_count(),
        report.acked.unique_count(),
        report.sent.unique_count(),
        report.statuses
    );
    let failed = relay
        .metric("prometheus_remote_storage_samples_failed_total")
        .unwrap();
    let sent = relay
        .metric("prometheus_remote_storage_samples_total")
        .unwrap();
    assert!(sent > 0.0, "the restarted relay sent no sample");
    assert_eq!(
        failed, 0.0,
        "the relay counted failed samples (Prometheus answered 4xx)"
    );
}

#[test]
fn v2_end_to_end_through_a_second_relay() {
    let Some(bin) = relay_bin() else { return };
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let relay_b = Relay::start(
        &bin,
        &config(&[destination("sink", &receiver.url("/api/v1/write"), "")]),
    )
    .unwrap();
    let relay_a = Relay::start(
        &bin,
        &config(&[destination(
            "relay_b",
            &relay_b.write_url(),
            "    protobuf_message: io.prometheus.write.v2.Request\n",
        )]),
    )
    .unwrap();
    let load = Load::start(relay_a.addr(), "v2", 200, Duration::from_millis(50));
    acked_some(&load, 200 * 20);
    let report = load.stop();
    let seen = wait_for_all(&receiver, &report.acked, "the receiver behind relay B");
    let v2_requests = http::metric_sum_where(
        &relay_b.metrics().unwrap(),
        "prw_ingest_requests_total",
        |labels| labels.contains("protocol=\"v2\"") && labels.contains("status=\"204\""),
    )
    .unwrap_or(0.0);
    println!(
        "relay A -> (v2) relay B -> receiver: {} distinct pairs, {v2_requests} v2 requests at B",
        seen.unique_count()
    );
    assert!(
        v2_requests > 0.0,
        "relay B received no v2 request from relay A"
    );
    assert_eq!(seen.new_out_of_order(), 0);
}

/// A request that must be refused.
struct Bad {
    class: &'static str,
    method: &'static str,
    content_type: &'static str,
    encoding: &'static str,
    body: Vec<u8>,
    status: u16,
}

fn bad_inputs(t: i64) -> Vec<Bad> {
    let one = |labels: &[(&str, &str)]| v1(&[Series::new(labels, &[(t, 1.0)])]);
    let snappy = |raw: &[u8]| prw_core::codec::compress(raw).unwrap();
    let v2_body = |symbols: &[&str], refs: Vec<u32>| {
        snappy(
            &p2::Request {
                symbols: symbols.iter().map(|s| s.to_string()).collect(),
                timeseries: vec![p2::TimeSeries {
                    labels_refs: refs,
                    samples: vec![p2::Sample {
                        value: 1.0,
                        timestamp: t,
                        start_timestamp: 0,
                    }],
                    ..Default::default()
                }],
            }
            .encode_to_vec(),
        )
    };
    let v1t = prw_core::negotiate::CONTENT_TYPE_V1;
    let v2t = prw_core::negotiate::CONTENT_TYPE_V2;
    let bad = |class, body, status| Bad {
        class,
        method: "POST",
        content_type: v1t,
        encoding: "snappy",
        body,
        status,
    };
    vec![
        bad(
            "labels unsorted",
            one(&[("__name__", "m"), ("zone", "b"), ("job", "a")]),
            400,
        ),
        bad(
            "duplicate label name",
            one(&[("__name__", "m"), ("job", "a"), ("job", "b")]),
            400,
        ),
        bad(
            "empty label name",
            one(&[("", "x"), ("__name__", "m")]),
            400,
        ),
        bad(
            "empty label value",
            one(&[("__name__", "m"), ("job", "")]),
            400,
        ),
        bad(
            "invalid label name (v1)",
            one(&[("1bad", "x"), ("__name__", "m")]),
            400,
        ),
        bad("__name__ missing", one(&[("job", "a")]), 400),
        bad(
            "samples out of order",
            v1(&[Series::new(
                &[("__name__", "m")],
                &[(t, 1.0), (t - 1000, 2.0)],
            )]),
            400,
        ),
        bad("bad snappy", b"\xff\xff\xff\xff not snappy".to_vec(), 400),
        bad("bad protobuf", snappy(b"\x0a\xff\xff\xff\xff\x0f"), 400),
        Bad {
            class: "v2 symbols[0] not empty",
            content_type: v2t,
            ..bad("", v2_body(&["x", "__name__", "m"], vec![1, 2]), 400)
        },
        Bad {
            class: "v2 label ref out of range",
            content_type: v2t,
            ..bad("", v2_body(&["", "__name__", "m"], vec![1, 9]), 400)
        },
        Bad {
            class: "v2 odd labels_refs",
            content_type: v2t,
            ..bad("", v2_body(&["", "__name__", "m"], vec![1, 2, 1]), 400)
        },
        Bad {
            class: "gzip encoding",
            encoding: "gzip",
            ..bad("", one(&[("__name__", "m")]), 415)
        },
        Bad {
            class: "unknown content type",
            content_type: "application/json",
            ..bad("", b"{}".to_vec(), 415)
        },
        Bad {
            class: "unknown proto=",
            content_type: "application/x-protobuf;proto=foo.Bar",
            ..bad("", one(&[("__name__", "m")]), 415)
        },
        bad("body over max_body_bytes", vec![0u8; 2 << 20], 413),
        Bad {
            class: "GET on the write path",
            method: "GET",
            body: Vec::new(),
            ..bad("", Vec::new(), 405)
        },
    ]
}

#[test]
fn bad_input_gets_its_status_and_nothing_is_forwarded() {
    let Some(bin) = relay_bin() else { return };
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let yaml = format!(
        "limits:\n  max_body_bytes: 1MiB\n{}",
        config(&[destination("sink", &receiver.url("/api/v1/write"), "")])
    );
    let relay = Relay::start(&bin, &yaml).unwrap();
    let t = wait::now_ms();
    let mut wrong = Vec::new();
    for bad in bad_inputs(t) {
        let answer = http::request(
            relay.addr(),
            bad.method,
            "/api/v1/write",
            &[
                ("Content-Type", bad.content_type),
                ("Content-Encoding", bad.encoding),
            ],
            &bad.body,
        )
        .unwrap();
        println!(
            "{:<28} -> {} {}",
            bad.class,
            answer.status,
            answer.text().lines().next().unwrap_or("")
        );
        if answer.status != bad.status {
            wrong.push(format!(
                "{}: expected {}, got {}: {}",
                bad.class,
                bad.status,
                answer.status,
                answer.text()
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong statuses:\n{}", wrong.join("\n"));
    let posts = bad_inputs(t).iter().filter(|b| b.method == "POST").count();
    // The relay counted each refused write by status (the stack test relies on this counter to
    // show that what the edge refuses never reaches the relay).
    let refused = http::metric_sum_where(
        &relay.metrics().unwrap(),
        "prw_ingest_requests_total",
        |labels| labels.contains("status=\"4"),
    )
    .unwrap_or(0.0);
    assert_eq!(
        refused, posts as f64,
        "4xx answers to writes counted by the relay"
    );
    let acked = relay.metric("prw_ingest_samples_total").unwrap();
    assert_eq!(
        acked, 0.0,
        "a refused request's samples were acknowledged into the WAL"
    );
    // One good request afterwards: once it has arrived, the receiver must hold exactly it.
    let good = vec![Series::new(
        &[("__name__", "good"), ("job", "bad_input")],
        &[(t, 1.0)],
    )];
    let answer = http::request(
        relay.addr(),
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        &v1(&good),
    )
    .unwrap();
    assert_eq!(answer.status, 204, "{}", answer.text());
    let mut expected = Pairs::new();
    expected
        .add_body(
            &prw_core::codec::compress(&v1_raw(&good)).unwrap(),
            prw_core::Protocol::V1,
        )
        .unwrap();
    let seen = wait_for_all(&receiver, &expected, "the destination");
    seen.same_set_as(&expected, "the destination").unwrap();
}

/// Issue 4's "done when", shortened: the receiver Prometheus is down, the relay is killed
/// with `kill -9` during the outage and restarted, the receiver comes back: nothing
/// acknowledged is lost.
#[test]
fn kill_9_while_the_prometheus_receiver_is_down_loses_nothing() {
    let Some(bin) = relay_bin() else { return };
    let Some(prom_bin) = prometheus::bin().unwrap() else {
        return;
    };
    let mut receiver = Prometheus::start(&prom_bin, &Role::Receiver).unwrap();
    let mut relay = Relay::start(
        &bin,
        &config(&[destination("prometheus", &receiver.write_url(), "")]),
    )
    .unwrap();
    let start = wait::now_ms();
    let load = Load::start(relay.addr(), "outage", 200, Duration::from_millis(100));
    acked_some(&load, 200 * 10);
    receiver.stop();
    let before = load.batches();
    wait_batches(&load, before + 20);
    relay.kill9();
    relay.restart().unwrap();
    let before = load.batches();
    wait_batches(&load, before + 20);
    receiver.restart().unwrap();
    let before = load.batches();
    wait_batches(&load, before + 10);
    let report = load.stop();
    let end = wait::now_ms();
    let selector = r#"{__name__="prw_e2e_load",job="outage"}"#;
    let seen = wait::until("every acknowledged pair in Prometheus", CATCH_UP, || {
        let seen = receiver
            .pairs(selector, start - 1, end)
            .map_err(|e| e.to_string())?;
        let (missing, examples) = seen.missing_from(&report.acked);
        if missing == 0 {
            Ok(seen)
        } else {
            Err(format!("{missing} missing, e.g. {examples:?}"))
        }
    })
    .unwrap();
    println!(
        "outage with a kill -9 inside: Prometheus holds {} distinct pairs (acknowledged {}), statuses {:?}",
        seen.unique_count(),
        report.acked.unique_count(),
        report.statuses
    );
    let (extra, examples) = report.sent.missing_from(&seen);
    assert_eq!(extra, 0, "Prometheus holds pairs never sent: {examples:?}");
}

/// Issue 11: a destination that changes nothing forwards each record as received: the body
/// it sends is byte for byte the body the client sent, whether the record comes from the
/// in-memory tail or, after a `kill -9`, is read back from the WAL. A destination with
/// `forward_as_received: false` gets the same samples re-batched.
#[test]
fn records_are_forwarded_byte_for_byte_from_the_tail_and_from_the_wal() {
    let Some(bin) = relay_bin() else { return };
    // as_is: 3 samples per request, so each 3-sample record is sent alone (never joined).
    let as_is = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let batched = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let yaml = format!(
        "remote_write:\n  - name: as_is\n    url: {}\n    queue_config: {{max_samples_per_send: 3, min_backoff: 20ms, max_backoff: 100ms}}\n  \
         - name: batched\n    url: {}\n    forward_as_received: false\n    queue_config: \
         {{max_samples_per_send: 2, batch_send_deadline: 50ms, min_backoff: 20ms, max_backoff: 100ms}}\n",
        as_is.url("/api/v1/write"),
        batched.url("/api/v1/write"),
    );
    let mut relay = Relay::start(&bin, &yaml).unwrap();
    let t = wait::now_ms();
    // Bodies compressed as one snappy literal: valid, but never what the relay's own
    // encoder would produce, so a re-encoded request cannot pass for a forwarded one.
    let body = |job: &str, t: i64| {
        snappy_literal(&v1_raw(&["a", "b", "c"].map(|instance| {
            Series::new(
                &[("__name__", "up"), ("instance", instance), ("job", job)],
                &[(t, 1.0)],
            )
        })))
    };
    let post = |relay: &Relay, body: &[u8]| {
        let answer = http::post_v1(relay.addr(), &[], body).unwrap();
        assert_eq!(answer.status, 204, "{}", answer.text());
    };
    let bodies_at = |receiver: &BlockingReceiver, n: usize, who: &str| {
        wait::until(&format!("{n} requests at {who}"), CATCH_UP, || {
            let recorded = receiver.recorded();
            if recorded.len() >= n {
                Ok(recorded.into_iter().map(|r| r.body).collect::<Vec<_>>())
            } else {
                Err(format!("{} requests", recorded.len()))
            }
        })
        .unwrap()
    };

    // From the tail: the record decoded at ingest still carries the body as received.
    let first = body("from_tail", t);
    post(&relay, &first);
    assert_eq!(bodies_at(&as_is, 1, "as_is"), vec![first.clone()]);
    assert_eq!(relay.metric("prw_tail_wal_reads_total").unwrap(), 0.0);
    let cut = bodies_at(&batched, 2, "batched");
    assert!(
        cut.iter().all(|b| b != &first),
        "with forward_as_received: false the record is cut and re-batched (3 samples, 2 per request)"
    );

    // From the WAL: both receivers refuse with 503, the relay is killed and restarted with an
    // empty tail, so the record is read back from the WAL (not decoded, only its head read).
    as_is.set_default_answer(Answer::status(503));
    batched.set_default_answer(Answer::status(503));
    let second = body("from_wal", t + 1);
    post(&relay, &second);
    relay.kill9();
    relay.restart().unwrap();
    as_is.set_default_answer(Answer::status(204));
    batched.set_default_answer(Answer::status(204));
    let mut expected = Pairs::new();
    expected.add_body(&second, prw_core::Protocol::V1).unwrap();
    wait_for_all(&as_is, &expected, "as_is");
    wait_for_all(&batched, &expected, "batched");
    // A replay may resend the first record too (at least once); every request is one of
    // the two bodies as the client sent them.
    let sent: Vec<_> = as_is.recorded().into_iter().map(|r| r.body).collect();
    assert!(
        sent.contains(&second.clone().into()),
        "the second record was sent"
    );
    assert!(
        sent.iter().all(|b| b == &first || b == &second),
        "every request to as_is is a body as received"
    );
    assert!(relay.metric("prw_tail_wal_reads_total").unwrap() > 0.0);
    let metrics = relay.metrics().unwrap();
    let forwarded = |name: &str| {
        http::metric_sum_where(&metrics, "prw_delivery_records_forwarded_total", |labels| {
            labels.contains(&format!("remote_name=\"{name}\""))
        })
        .unwrap_or(0.0)
    };
    assert!(
        forwarded("as_is") >= 1.0,
        "the replayed record was forwarded"
    );
    assert_eq!(forwarded("batched"), 0.0);
}

/// `raw` as a snappy block holding one literal (valid snappy, no compression): no encoder
/// writes this for a compressible body. `raw` is shorter than 64 KiB.
fn snappy_literal(raw: &[u8]) -> Vec<u8> {
    let len = u16::try_from(raw.len() - 1).unwrap();
    let mut out = Vec::new();
    let mut n = raw.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    // Literal tag 61: the length minus one follows in two bytes.
    out.push(61 << 2);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(raw);
    assert_eq!(
        prw_core::codec::decompress(&out, &prw_core::Limits::default()).unwrap(),
        raw
    );
    out
}
