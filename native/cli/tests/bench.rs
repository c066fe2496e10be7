//! `prw bench` as a process against the workspace's test receiver on 127.0.0.1.
// Helpers outside #[test] fns are test code too; a failed setup should fail loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

use prw_e2e::receiver::{Answer, BlockingReceiver, ReceiverConfig};

fn prw_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prw"))
        .arg("bench")
        .args(args)
        .args(["--format", "json", "--quiet"])
        .output()
        .unwrap()
}

fn summary(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn receiver_counts_exactly_the_samples_the_generator_acknowledged() {
    for proto in ["v1", "v2"] {
        let receiver = BlockingReceiver::start(ReceiverConfig::default().decoding()).unwrap();
        let url = receiver.url("/api/v1/write");
        let output = prw_bench(&[
            "--url",
            &url,
            "--proto",
            proto,
            "--series",
            "150",
            "--labels",
            "10",
            "--samples",
            "2",
            "--concurrency",
            "3",
            "--requests",
            "12",
            "--payloads",
            "12",
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let s = summary(&output);
        assert_eq!(s["requests_ok"], 12);
        assert_eq!(s["samples_ok"], 12 * 150 * 2);
        assert_eq!(s["workload"]["samples_per_request"], 300);
        let stats = receiver.stats().decode;
        assert_eq!(stats.decode_errors, 0);
        assert_eq!(stats.requests, 12);
        assert_eq!(stats.samples, 3600, "{proto}");
        assert_eq!(
            stats.unique_pairs, 3600,
            "{proto}: every request carries its own timestamps"
        );
        assert_eq!(stats.duplicates, 0);
    }
}

#[test]
fn non_2xx_answers_are_counted_by_status_and_exit_1() {
    let receiver = BlockingReceiver::start(
        ReceiverConfig::default().with_script([Answer::status(503), Answer::status(400)]),
    )
    .unwrap();
    let url = receiver.url("/api/v1/write");
    let output = prw_bench(&[
        "--url",
        &url,
        "--series",
        "10",
        "--concurrency",
        "1",
        "--requests",
        "5",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let s = summary(&output);
    assert_eq!(s["requests_sent"], 5);
    assert_eq!(s["requests_ok"], 3);
    assert_eq!(s["samples_ok"], 30);
    assert_eq!(s["errors"]["by_status"]["503"], 1);
    assert_eq!(s["errors"]["by_status"]["400"], 1);
}

#[test]
fn the_acked_log_names_exactly_the_requests_answered_2xx() {
    // With one connection requests go out in order: 0 and 2 are refused, the rest acked.
    let receiver = BlockingReceiver::start(ReceiverConfig::default().with_script([
        Answer::status(503),
        Answer::status(204),
        Answer::status(500),
    ]))
    .unwrap();
    let url = receiver.url("/api/v1/write");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acked");
    let output = prw_bench(&[
        "--url",
        &url,
        "--series",
        "5",
        "--concurrency",
        "1",
        "--requests",
        "6",
        "--payloads",
        "6",
        "--acked-log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "1\n3\n4\n5\n");
}

#[test]
fn a_closed_port_counts_connect_errors_not_acknowledgements() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let output = prw_bench(&[
        "--url",
        &url,
        "--series",
        "10",
        "--concurrency",
        "2",
        "--requests",
        "4",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let s = summary(&output);
    assert_eq!(s["requests_ok"], 0);
    assert_eq!(s["errors"]["connect"], 4);
}

#[test]
fn rate_limited_run_sends_the_requested_count() {
    let receiver = BlockingReceiver::start(ReceiverConfig::default()).unwrap();
    let url = receiver.url("/api/v1/write");
    let output = prw_bench(&[
        "--url",
        &url,
        "--series",
        "10",
        "--concurrency",
        "2",
        "--requests",
        "6",
        "--rate",
        "200",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(summary(&output)["requests_ok"], 6);
    assert_eq!(receiver.requests(), 6);
}

#[test]
fn floor_mode_measures_both_floors_without_a_url() {
    let output = prw_bench(&["--floor", "--series", "50", "--duration", "50ms"]);
    assert_eq!(output.status.code(), Some(0));
    let s = summary(&output);
    assert!(s["snappy_decompress"]["iterations"].as_u64().unwrap() >= 1);
    assert!(
        s["decompress_and_validate"]["samples_per_second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn impossible_shape_and_bad_url_are_usage_errors() {
    assert_eq!(
        prw_bench(&["--floor", "--labels", "40"]).status.code(),
        Some(64)
    );
    assert_eq!(prw_bench(&["--url", "ftp://x/"]).status.code(), Some(64));
    assert_eq!(prw_bench(&[]).status.code(), Some(64));
}

#[test]
fn wal_append_mode_makes_records_durable_and_cleans_up() {
    let dir = std::env::temp_dir().join(format!("prw-bench-wal-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = prw_bench(&[
        "--wal-append",
        dir.to_str().unwrap(),
        "--series",
        "20",
        "--concurrency",
        "2",
        "--duration",
        "100ms",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s = summary(&output);
    assert!(s["wal_append"]["records"].as_u64().unwrap() >= 1);
    assert_eq!(s["wal_append"]["appenders"], 2);
    assert!(!dir.join("bench-wal").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn header_flags_reach_every_request() {
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let url = receiver.url("/api/v1/write");
    let output = prw_bench(&[
        "--url",
        &url,
        "--series",
        "10",
        "--requests",
        "3",
        "--header",
        "X-Scope-OrgID: team-a",
        "--header",
        "X-Extra:1",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let recorded = receiver.recorded();
    assert_eq!(recorded.len(), 3);
    for r in &recorded {
        assert_eq!(r.header("x-scope-orgid"), Some("team-a"));
        assert_eq!(r.header("x-extra"), Some("1"));
    }
    let bad = prw_bench(&["--url", &url, "--header", "no colon"]);
    assert_eq!(bad.status.code(), Some(64));
}
