//! The scriptable test receiver: null, recording, fault-injecting, decoding, blocking handle,
//! and the `prw-test-receiver` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use prw_e2e::client::{post_write, send};
use prw_e2e::payload::{Series, v1, v2};
use prw_e2e::receiver::{Answer, BlockingReceiver, Receiver, ReceiverConfig};

fn series(job: &str, samples: &[(i64, f64)]) -> Series {
    Series::new(&[("__name__", "up"), ("job", job)], samples)
}

#[tokio::test]
async fn null_receiver_answers_204_and_counts_without_keeping_bodies() {
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    for _ in 0..3 {
        let reply = post_write(receiver.addr(), false, v1(&[series("a", &[(1, 1.0)])]), &[])
            .await
            .unwrap();
        assert_eq!(reply.status, 204);
    }
    assert_eq!(receiver.requests(), 3);
    assert!(receiver.recorded().is_empty());
    receiver.shutdown().await;
}

#[tokio::test]
async fn recording_receiver_keeps_method_path_headers_and_exact_body() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let body = v2(&[series("a", &[(1, 1.0)])]);
    post_write(
        receiver.addr(),
        true,
        body.clone(),
        &[("x-scope-orgid", "team-a")],
    )
    .await
    .unwrap();
    let seen = receiver.recorded();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/api/v1/write")
    );
    assert_eq!(seen[0].header("X-Scope-OrgID"), Some("team-a"));
    assert_eq!(
        seen[0].header("content-type"),
        Some(prw_core::negotiate::CONTENT_TYPE_V2)
    );
    assert_eq!(seen[0].body.as_ref(), body.as_slice());
}

#[tokio::test]
async fn fault_script_is_answered_in_order_then_the_default() {
    let script = [
        Answer::status(500),
        Answer::retry_after(429, 3),
        Answer::slow(Duration::from_millis(10), Answer::status(503)),
        Answer::Reset,
        Answer::status(400),
        Answer::status(413),
    ];
    let receiver = Receiver::start(ReceiverConfig::default().with_script(script))
        .await
        .unwrap();
    let addr = receiver.addr();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let reply = post_write(addr, false, v1(&[]), &[]).await.unwrap();
        statuses.push((
            reply.status,
            reply.header("retry-after").map(str::to_string),
        ));
    }
    assert_eq!(
        statuses,
        [(500, None), (429, Some("3".to_string())), (503, None)]
    );
    assert!(
        post_write(addr, false, v1(&[]), &[]).await.is_err(),
        "scripted reset must not answer"
    );
    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(post_write(addr, false, v1(&[]), &[]).await.unwrap().status);
    }
    assert_eq!(after, [400, 413, 204]);
    assert_eq!(receiver.requests(), 7);
}

#[tokio::test]
async fn answers_can_be_pushed_while_running() {
    let receiver = Receiver::start(ReceiverConfig::default()).await.unwrap();
    receiver.push_answers([Answer::status(503)]);
    let first = post_write(receiver.addr(), false, v1(&[]), &[])
        .await
        .unwrap();
    let second = post_write(receiver.addr(), false, v1(&[]), &[])
        .await
        .unwrap();
    assert_eq!((first.status, second.status), (503, 204));
}

#[tokio::test]
async fn decoding_receiver_counts_unique_pairs_duplicates_and_out_of_order() {
    let receiver = Receiver::start(ReceiverConfig::default().decoding())
        .await
        .unwrap();
    let addr = receiver.addr();
    let first = v1(&[
        series("a", &[(10, 1.0), (20, 1.0)]),
        series("b", &[(10, 1.0)]),
    ]);
    // Replays (a, 20) and goes back in time for b.
    let second = v2(&[
        series("a", &[(20, 1.0), (30, 1.0)]),
        series("b", &[(5, 1.0)]),
    ]);
    assert_eq!(
        post_write(addr, false, first, &[]).await.unwrap().status,
        204
    );
    assert_eq!(
        post_write(addr, true, second, &[]).await.unwrap().status,
        204
    );
    let bad = post_write(addr, false, b"\x05\xff\xff".to_vec(), &[])
        .await
        .unwrap();
    assert_eq!(bad.status, 400, "{bad:?}");

    let stats = receiver.decode_stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.decode_errors, 1);
    assert_eq!(stats.series, 4);
    assert_eq!(stats.samples, 6);
    assert_eq!(stats.unique_pairs, 5);
    assert_eq!(stats.duplicates, 1);
    assert_eq!(stats.out_of_order, 1);
}

#[tokio::test]
async fn decoding_receiver_serves_its_exact_pair_set() {
    let receiver = Receiver::start(ReceiverConfig::default().decoding())
        .await
        .unwrap();
    let addr = receiver.addr();
    let first = v1(&[
        series("a", &[(10, 1.0), (20, 1.0)]),
        series("b", &[(10, 1.0)]),
    ]);
    let second = v2(&[series("a", &[(20, 1.0)]), series("b", &[(5, 1.0)])]);
    for (is_v2, body) in [(false, first), (true, second)] {
        assert_eq!(
            post_write(addr, is_v2, body, &[]).await.unwrap().status,
            204
        );
    }
    let answer = tokio::task::spawn_blocking(move || prw_e2e::http::get(addr, "/-/pairs"))
        .await
        .unwrap()
        .unwrap();
    let pairs: std::collections::BTreeMap<String, Vec<i64>> =
        serde_json::from_slice(&answer.body).unwrap();
    let mut stamps: Vec<Vec<i64>> = pairs.into_values().collect();
    stamps.sort();
    assert_eq!(stamps, vec![vec![5, 10], vec![10, 20]]);
    assert_eq!(receiver.requests(), 2, "/-/pairs is not counted");
}

#[tokio::test]
async fn a_decoding_receiver_answers_v2_with_the_written_headers_and_v1_without() {
    let receiver = Receiver::start(ReceiverConfig::default().decoding())
        .await
        .unwrap();
    let body = v2(&[
        series("a", &[(10, 1.0), (20, 1.0)]),
        series("b", &[(5, 1.0)]),
    ]);
    let reply = post_write(receiver.addr(), true, body, &[]).await.unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        Some("3")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-histograms-written"),
        Some("0")
    );
    assert_eq!(
        reply.header("x-prometheus-remote-write-exemplars-written"),
        Some("0")
    );
    let reply = post_write(
        receiver.addr(),
        false,
        v1(&[series("a", &[(30, 1.0)])]),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        reply.header("x-prometheus-remote-write-samples-written"),
        None
    );
}

#[tokio::test]
async fn decoding_counts_only_what_was_answered_2xx() {
    let config = ReceiverConfig::default()
        .decoding()
        .with_script([Answer::status(503)]);
    let receiver = Receiver::start(config).await.unwrap();
    let body = v1(&[series("a", &[(1, 1.0)])]);
    assert_eq!(
        post_write(receiver.addr(), false, body.clone(), &[])
            .await
            .unwrap()
            .status,
        503
    );
    assert_eq!(
        post_write(receiver.addr(), false, body, &[])
            .await
            .unwrap()
            .status,
        204
    );
    let stats = receiver.decode_stats();
    assert_eq!(
        (stats.requests, stats.unique_pairs, stats.duplicates),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn stats_endpoint_serves_json_and_is_not_counted() {
    let receiver = Receiver::start(ReceiverConfig::default().decoding())
        .await
        .unwrap();
    post_write(receiver.addr(), false, v1(&[series("a", &[(1, 1.0)])]), &[])
        .await
        .unwrap();
    let reply = send(receiver.addr(), "GET", "/-/stats", &[], Vec::new())
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["requests"], 1);
    assert_eq!(json["decode"]["unique_pairs"], 1);
    assert_eq!(receiver.requests(), 1);
}

#[test]
fn blocking_handle_serves_requests_from_plain_threads() {
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let addr = receiver.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime
        .block_on(post_write(addr, false, v1(&[]), &[]))
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(receiver.requests(), 1);
    assert_eq!(receiver.recorded().len(), 1);
    receiver.shutdown();
}

#[test]
fn binary_prints_its_address_and_final_stats_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prw-test-receiver"))
        .args(["--decode", "--script", "503"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: std::net::SocketAddr = first
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses: Vec<u16> = (0..2)
        .map(|_| {
            runtime
                .block_on(post_write(
                    addr,
                    false,
                    v1(&[series("a", &[(1, 1.0)])]),
                    &[],
                ))
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(statuses, [503, 204]);
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let stats: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["decode"]["unique_pairs"], 1);
    assert!(child.wait().unwrap().success());
}

#[test]
fn binary_rejects_a_bad_script_with_exit_64() {
    let output = Command::new(env!("CARGO_BIN_EXE_prw-test-receiver"))
        .args(["--script", "500,abc"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("abc"));
}

#[test]
fn series_of_size_reaches_the_requested_decoded_size_closely() {
    for size in [10_240, 102_400] {
        let decoded = prw_e2e::payload::v1_raw(&prw_e2e::payload::series_of_size(size, 0)).len();
        assert!(
            decoded >= size && decoded < size + 100,
            "{size} -> {decoded}"
        );
    }
}
