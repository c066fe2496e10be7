//! `prw relay` keeps what it refused (issue 16): a malformed request is listed at
//! `GET /api/v1/captures` after its 400 with its rule and its body is served back; a batch a
//! destination answers 400 becomes a `refused` capture with the answer; credentials never
//! appear; auth guards both routes; a flood of large rejected bodies keeps capture memory
//! under its cap (metric) and the process's RSS within the cap plus a stated margin; the
//! start-up summary says whether capture is on; `prw inspect URL` prints the report of a
//! capture, over https too (a relay with `listen.tls`, `--ca-file`).
//!
//! Tools: `$PRW_BIN` (else `target/debug/prw` or `dist/prw`; `cargo build -p prw` first).
//! With `CI=true` a missing binary fails the test; otherwise the test prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use prw_core::negotiate::CONTENT_TYPE_V1;
use prw_e2e::http::{self, Answer};
use prw_e2e::payload::{Series, v1};
use prw_e2e::receiver::{self, BlockingReceiver, ReceiverConfig};
use prw_e2e::relay::{self, Relay, RelayOptions};
use prw_e2e::tls::Identity;
use prw_e2e::wait;
use serde_json::Value;

/// How long a refused batch may take to reach the listing.
const DELIVERY: Duration = Duration::from_secs(30);

fn relay_bin() -> Option<PathBuf> {
    relay::bin().unwrap()
}

/// A v1 body whose labels are not sorted (rule `labels.unsorted`, series 0).
fn unsorted_body() -> Vec<u8> {
    v1(&[Series::new(
        &[("__name__", "capture_test"), ("zone", "b"), ("job", "a")],
        &[(wait::now_ms(), 1.0)],
    )])
}

fn post(addr: SocketAddr, body: &[u8], extra: &[(&str, &str)]) -> Answer {
    let mut headers = vec![
        ("Content-Type", CONTENT_TYPE_V1),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra);
    http::request(addr, "POST", "/api/v1/write", &headers, body).unwrap()
}

fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http::request(addr, "GET", path, &headers, &[]).unwrap()
}

fn listing(addr: SocketAddr, token: Option<&str>) -> Vec<Value> {
    let answer = get(addr, "/api/v1/captures", token);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    serde_json::from_slice::<Value>(&answer.body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `prw inspect ARGS...`: (exit code, stdout, stderr).
fn inspect(bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .arg("inspect")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_malformed_request_is_listed_after_its_400_with_its_rule_and_served_back() {
    let Some(bin) = relay_bin() else { return };
    let relay = Relay::start(&bin, "limits: {max_body_bytes: 64KiB}\n").unwrap();
    let body = unsorted_body();
    let answer = post(relay.addr(), &body, &[("X-Scope-OrgID", "team-a")]);
    assert_eq!(answer.status, 400, "{}", answer.text());

    let listed = listing(relay.addr(), None);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let c = &listed[0];
    assert_eq!(c["kind"], "rejected");
    assert_eq!(c["status"], 400);
    assert_eq!(c["rules"], serde_json::json!(["labels.unsorted"]));
    let summary = c["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("labels.unsorted: series 0"),
        "{summary}"
    );
    assert_eq!(c["answer"].as_str().unwrap(), answer.text().trim_end());
    assert_eq!(c["tenant"], "team-a");
    assert!(
        c["remote"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{c}"
    );
    assert_eq!(c["bytes"], body.len());
    assert_eq!(c["protocol"], "v1");
    assert_eq!(c["body"], true);
    assert_eq!(c["destination"], Value::Null);
    assert!(c["time"].as_i64().unwrap() > 0);

    // The body exactly as received, with the Content-Type and Content-Encoding it had.
    let id = c["id"].as_u64().unwrap();
    let fetched = get(relay.addr(), &format!("/api/v1/captures/{id}"), None);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, body);
    assert_eq!(header(&fetched, "content-type"), Some(CONTENT_TYPE_V1));
    assert_eq!(header(&fetched, "content-encoding"), Some("snappy"));
    let unknown = get(
        relay.addr(),
        &format!("/api/v1/captures/{}", id + 1000),
        None,
    );
    assert_eq!(unknown.status, 404);

    // `prw inspect URL` prints the same report as for the file read with that Content-Type.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &body).unwrap();
    let url = format!("http://{}/api/v1/captures/{id}", relay.addr());
    let (code, from_url, stderr) = inspect(&bin, &["--format", "json", &url]);
    let (file_code, from_file, _) = inspect(
        &bin,
        &[
            "--format",
            "json",
            "--content-type",
            CONTENT_TYPE_V1,
            &file.path().to_string_lossy(),
        ],
    );
    assert_eq!((code, file_code), (1, 1), "{stderr}");
    assert_eq!(from_url, from_file);
    assert!(from_url.contains("labels.unsorted"), "{from_url}");
    let (text_code, text, _) = inspect(&bin, &[&url]);
    assert_eq!(text_code, 1);
    assert!(text.contains("labels.unsorted"), "{text}");
    let (gone, _, gone_err) = inspect(
        &bin,
        &[&format!("http://{}/api/v1/captures/999", relay.addr())],
    );
    assert_eq!(gone, 2);
    assert!(gone_err.contains("404"), "{gone_err}");

    // A body over max_body_bytes (413 on Content-Length) is kept without its body.
    let big = vec![0u8; 100 << 10];
    assert_eq!(post(relay.addr(), &big, &[]).status, 413);
    let listed = listing(relay.addr(), None);
    assert_eq!(listed.len(), 2);
    let over = &listed[0];
    assert_eq!(
        (&over["status"], &over["body"]),
        (&Value::from(413), &Value::from(false))
    );
    assert_eq!(over["bytes"], big.len());
    assert!(
        over["body_missing"]
            .as_str()
            .unwrap()
            .starts_with("not kept"),
        "{over}"
    );
    let none = get(
        relay.addr(),
        &format!("/api/v1/captures/{}", over["id"]),
        None,
    );
    assert_eq!(none.status, 404);
    assert!(none.text().contains("has no body"), "{}", none.text());
    assert_eq!(relay.metric("prw_capture_entries").unwrap(), 2.0);
    assert_eq!(relay.metric("prw_capture_enabled").unwrap(), 1.0);
}

#[test]
fn a_destination_answering_400_produces_a_refused_capture_with_its_answer() {
    let Some(bin) = relay_bin() else { return };
    let answer_text = "err-mimir-out-of-order: sample timestamp out of order";
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording().with_default(
        receiver::Answer::Status {
            status: 400,
            headers: Vec::new(),
            body: answer_text.to_owned(),
        },
    ))
    .unwrap();
    let config = format!(
        "remote_write:\n  - name: strict-tsdb\n    url: {}\n    queue_config: {{batch_send_deadline: 100ms, max_shards: 1}}\n",
        receiver.url("/api/v1/push")
    );
    let relay = Relay::start(&bin, &config).unwrap();
    let body = v1(&[Series::new(
        &[("__name__", "refused_test"), ("job", "a")],
        &[(wait::now_ms(), 1.0)],
    )]);
    let answer = post(relay.addr(), &body, &[("X-Scope-OrgID", "team-b")]);
    assert_eq!(answer.status, 204, "{}", answer.text());

    let refused = wait::until("a refused capture in the listing", DELIVERY, || {
        let listed = listing(relay.addr(), None);
        listed
            .iter()
            .find(|c| c["kind"] == "refused")
            .cloned()
            .ok_or_else(|| format!("{listed:?}; receiver saw {} requests", receiver.requests()))
    })
    .unwrap();
    assert_eq!(refused["destination"], "strict-tsdb");
    assert_eq!(refused["status"], 400);
    assert_eq!(refused["summary"], answer_text);
    assert_eq!(refused["answer"], answer_text);
    assert_eq!(refused["tenant"], "team-b");
    assert_eq!(refused["protocol"], "v1");
    assert_eq!(refused["remote"], Value::Null);

    // The body is the one the destination received.
    let sent = receiver.recorded();
    let first = sent.first().unwrap();
    let id = refused["id"].as_u64().unwrap();
    let fetched = get(relay.addr(), &format!("/api/v1/captures/{id}"), None);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, first.body.to_vec());
    assert_eq!(refused["bytes"], first.body.len());
    assert_eq!(header(&fetched, "content-type"), Some(CONTENT_TYPE_V1));
    assert_eq!(header(&fetched, "content-encoding"), Some("snappy"));
    // prw itself finds nothing wrong with it: the receiver's rule, not the protocol's.
    let url = format!("http://{}/api/v1/captures/{id}", relay.addr());
    let (code, report, stderr) = inspect(&bin, &["--format", "json", &url]);
    assert_eq!(code, 0, "{stderr}\n{report}");
    assert_eq!(relay.metric("prw_capture_captured_total").unwrap(), 1.0);
}

/// Secrets that must never be in a capture.
const SECRETS: [&str; 6] = [
    "tok-SECRET-1",
    "cHJveHk6U0VDUkVULTI=",
    "session=SECRET-3",
    "SECRET-4",
    "SECRET-5",
    "SECRET-6",
];

#[test]
fn credentials_never_appear_in_a_capture_listed_or_fetched() {
    let Some(bin) = relay_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{}\n", SECRETS[0])).unwrap();
    let config = format!(
        "listen: {{auth: {{bearer_token_file: {}}}}}\ncapture: {{secret_headers: [X-Tenant-Secret]}}\n",
        token.display()
    );
    let relay = Relay::start(&bin, &config).unwrap();
    let bearer = format!("Bearer {}", SECRETS[0]);
    let proxy = format!("Basic {}", SECRETS[1]);
    let body = unsorted_body();
    let answer = post(
        relay.addr(),
        &body,
        &[
            ("Authorization", &bearer),
            ("Proxy-Authorization", &proxy),
            ("Cookie", SECRETS[2]),
            ("X-Api-Key", SECRETS[3]),
            ("Set-Cookie", SECRETS[4]),
            // Configured in capture.secret_headers (X-Api-Key is removed without it).
            ("X-Tenant-Secret", SECRETS[5]),
            ("X-Scope-OrgID", "team-c"),
        ],
    );
    assert_eq!(answer.status, 400, "{}", answer.text());
    let listed = get(relay.addr(), "/api/v1/captures", Some(SECRETS[0]));
    assert_eq!(listed.status, 200);
    let text = listed.text();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} is in the listing: {text}");
    }
    let listed: Vec<Value> = serde_json::from_slice(&listed.body).unwrap();
    let c = &listed[0];
    let mut removed: Vec<&str> = c["removed_headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    removed.sort_unstable();
    assert_eq!(
        removed,
        [
            "authorization",
            "cookie",
            "proxy-authorization",
            "set-cookie",
            "x-api-key",
            "x-tenant-secret"
        ]
    );
    let kept: Vec<&str> = c["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    assert!(
        kept.contains(&"x-scope-orgid") && kept.contains(&"content-type"),
        "{kept:?}"
    );
    let fetched = get(
        relay.addr(),
        &format!("/api/v1/captures/{}", c["id"]),
        Some(SECRETS[0]),
    );
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, body);
    let raw = format!("{:?}{}", fetched.headers, fetched.text());
    for secret in SECRETS {
        assert!(
            !raw.contains(secret),
            "{secret} is in the fetched capture: {raw}"
        );
    }
}

#[test]
fn listen_auth_guards_both_capture_routes() {
    let Some(bin) = relay_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "capture-token\n").unwrap();
    let relay = Relay::start(
        &bin,
        &format!(
            "listen: {{auth: {{bearer_token_file: {}}}}}\n",
            token.display()
        ),
    )
    .unwrap();
    let good = "Bearer capture-token";
    assert_eq!(
        post(relay.addr(), &unsorted_body(), &[("Authorization", good)]).status,
        400
    );
    let id = listing(relay.addr(), Some("capture-token"))[0]["id"].clone();
    for path in [
        "/api/v1/captures".to_owned(),
        format!("/api/v1/captures/{id}"),
    ] {
        for token in [None, Some("wrong-token")] {
            let answer = get(relay.addr(), &path, token);
            assert_eq!(answer.status, 401, "{path} with {token:?}");
            assert_eq!(
                header(&answer, "www-authenticate"),
                Some("Bearer realm=\"prw\"")
            );
        }
        assert_eq!(
            get(relay.addr(), &path, Some("capture-token")).status,
            200,
            "{path}"
        );
    }
    // The CLI: refused without the token (exit 2, the 401 named), the report with it.
    let url = format!("http://{}/api/v1/captures/{id}", relay.addr());
    let (code, _, stderr) = inspect(&bin, &[&url]);
    assert_eq!(code, 2);
    assert!(stderr.contains("401"), "{stderr}");
    let (code, report, stderr) = inspect(
        &bin,
        &["--bearer-token-file", &token.to_string_lossy(), &url],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(report.contains("labels.unsorted"), "{report}");
}

#[test]
fn prw_inspect_fetches_a_capture_over_https_trusting_only_the_ca_file() {
    let Some(bin) = relay_bin() else { return };
    let identity = Identity::self_signed(&["localhost"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &identity.cert_pem).unwrap();
    std::fs::write(&key, &identity.key_pem).unwrap();
    let config = format!(
        "listen: {{tls: {{cert_file: {}, key_file: {}}}}}\n",
        cert.display(),
        key.display()
    );
    let options = RelayOptions {
        tls: Some(identity.clone()),
        ..RelayOptions::default()
    };
    let relay = Relay::start_with(&bin, &config, options).unwrap();
    let https = |method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]| {
        http::request_tls(
            relay.addr(),
            "localhost",
            &identity,
            method,
            path,
            headers,
            body,
        )
        .unwrap()
    };
    let body = unsorted_body();
    let answer = https(
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", CONTENT_TYPE_V1),
            ("Content-Encoding", "snappy"),
        ],
        &body,
    );
    assert_eq!(answer.status, 400, "{}", answer.text());
    let listed: Value =
        serde_json::from_slice(&https("GET", "/api/v1/captures", &[], &[]).body).unwrap();
    let id = listed[0]["id"].as_u64().unwrap();
    // The body as received, with the sender's Content-Type and Content-Encoding.
    let fetched = https("GET", &format!("/api/v1/captures/{id}"), &[], &[]);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, body);
    assert_eq!(header(&fetched, "content-type"), Some(CONTENT_TYPE_V1));
    assert_eq!(header(&fetched, "content-encoding"), Some("snappy"));

    let url = format!(
        "https://localhost:{}/api/v1/captures/{id}",
        relay.addr().port()
    );
    let ca = cert.to_string_lossy();
    let (code, report, stderr) = inspect(&bin, &["--ca-file", &ca, &url]);
    assert_eq!(code, 1, "{stderr}");
    assert!(report.contains("labels.unsorted"), "{report}");
    // Without --ca-file the webpki roots do not know the self-signed certificate (exit 2,
    // the reason named); another CA is refused the same way.
    let (code, _, stderr) = inspect(&bin, &[&url]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    // Nothing was fetched, so no receiver verdict is claimed.
    assert!(!stderr.contains("a receiver answers"), "{stderr}");
    let other = dir.path().join("other.pem");
    std::fs::write(
        &other,
        Identity::self_signed(&["localhost"]).unwrap().cert_pem,
    )
    .unwrap();
    let (code, _, stderr) = inspect(&bin, &["--ca-file", &other.to_string_lossy(), &url]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    // --ca-file with a plain http URL is a usage error.
    let plain = format!("http://{}/api/v1/captures/{id}", relay.addr());
    assert_eq!(inspect(&bin, &["--ca-file", &ca, &plain]).0, 64);
}

/// A snappy body of `len` bytes that decodes but is not protobuf (400, body kept), and that
/// snappy cannot shrink, so the relay holds about `len` bytes per capture.
fn incompressible_rejected_body(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut raw = Vec::with_capacity(len);
    raw.push(0x0f); // field 1 with wire type 7: never valid protobuf
    while raw.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        raw.extend_from_slice(&state.to_le_bytes());
    }
    prw_core::codec::compress(&raw).unwrap()
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// The capture cap of the flood test.
const FLOOD_CAP: u64 = 16 << 20;
/// How far the relay's RSS may grow over its idle RSS beyond the cap: the requests in flight
/// (4 senders; each 2 MiB body is collected, copied into the capture and decoded, up to about
/// 8 MiB per request) plus allocator slack. Measured: 47-49 MiB over idle in all (cap
/// included); without the cap the flood alone would hold 320 MiB.
const RSS_MARGIN: u64 = 64 << 20;

#[test]
fn a_flood_of_large_rejected_bodies_keeps_capture_memory_under_the_cap() {
    let Some(bin) = relay_bin() else { return };
    let relay = Relay::start(
        &bin,
        &format!("capture: {{max_bytes: {FLOOD_CAP}, max_rejected: 1000}}\n"),
    )
    .unwrap();
    let pid = relay.pid().unwrap();
    let addr = relay.addr();
    let idle_rss = rss_bytes(pid);
    const SENDERS: u64 = 4;
    const PER_SENDER: u64 = 40;
    const BODY: usize = 2 << 20;
    let peak_rss = std::sync::atomic::AtomicU64::new(idle_rss);
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let peak_rss = &peak_rss;
            scope.spawn(move || {
                for k in 0..PER_SENDER {
                    let body = incompressible_rejected_body(BODY, sender * 1000 + k + 1);
                    let answer = post(addr, &body, &[]);
                    assert_eq!(answer.status, 400, "{}", answer.text());
                    peak_rss.fetch_max(rss_bytes(pid), std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
        // Meanwhile the capture metric never passes the cap.
        let relay = &relay;
        let watcher = scope.spawn(move || {
            let mut highest = 0.0f64;
            for _ in 0..20 {
                if let Ok(bytes) = relay.metric("prw_capture_bytes") {
                    highest = highest.max(bytes);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            highest
        });
        let highest = watcher.join().unwrap();
        assert!(
            highest <= FLOOD_CAP as f64,
            "prw_capture_bytes reached {highest}"
        );
    });
    let peak = relay.metric("prw_capture_peak_bytes").unwrap();
    let now = relay.metric("prw_capture_bytes").unwrap();
    let evicted = relay.metric("prw_capture_evicted_total").unwrap();
    let entries = relay.metric("prw_capture_entries").unwrap();
    let peak_rss = peak_rss.into_inner();
    println!(
        "{} bodies of {BODY} bytes: capture peak {peak} bytes (cap {FLOOD_CAP}), now {now}, \
         {entries} kept, {evicted} evicted; RSS idle {idle_rss}, peak {peak_rss} (+{} MiB)",
        SENDERS * PER_SENDER,
        peak_rss.saturating_sub(idle_rss) >> 20
    );
    assert!(
        peak <= FLOOD_CAP as f64,
        "prw_capture_peak_bytes {peak} over the cap"
    );
    assert!(
        peak >= (FLOOD_CAP / 2) as f64,
        "the cap was never approached: {peak}"
    );
    assert_eq!(entries + evicted, (SENDERS * PER_SENDER) as f64);
    assert!(
        peak_rss <= idle_rss + FLOOD_CAP + RSS_MARGIN,
        "RSS grew from {idle_rss} to {peak_rss}: more than the cap {FLOOD_CAP} plus the margin {RSS_MARGIN}"
    );
    // The newest are the ones kept.
    let listed = listing(addr, None);
    assert_eq!(listed.len() as f64, entries);
    let ids: Vec<u64> = listed.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(*ids.first().unwrap(), SENDERS * PER_SENDER);
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "{ids:?}");
}

#[test]
fn capture_off_answers_404_and_the_summary_says_why() {
    let Some(bin) = relay_bin() else { return };
    let summary = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(["relay", "--check-config"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("capture: "))
            .unwrap()
            .to_owned()
    };
    assert!(
        summary(&[]).starts_with("capture: on (last 100 rejected, last 100 refused, at most 64MiB")
    );
    let public = summary(&["--listen", "0.0.0.0:9202"]);
    assert!(
        public.starts_with("capture: off (the listener is not on loopback and has no listen.auth"),
        "{public}"
    );
    let dir = tempfile::tempdir().unwrap();
    let explicit = dir.path().join("relay.yaml");
    std::fs::write(&explicit, "capture: {enabled: true}\n").unwrap();
    let explicit = summary(&[
        "--listen",
        "0.0.0.0:9202",
        "--config",
        &explicit.to_string_lossy(),
    ]);
    assert!(
        explicit.starts_with("capture: on, enabled explicitly"),
        "{explicit}"
    );

    let relay = Relay::start(&bin, "capture: {enabled: false}\n").unwrap();
    assert_eq!(post(relay.addr(), &unsorted_body(), &[]).status, 400);
    let off = get(relay.addr(), "/api/v1/captures", None);
    assert_eq!(off.status, 404);
    assert_eq!(off.text(), "capture is off: capture.enabled: false\n");
    assert_eq!(get(relay.addr(), "/api/v1/captures/1", None).status, 404);
    assert_eq!(relay.metric("prw_capture_enabled").unwrap(), 0.0);
    assert!(
        relay
            .log()
            .contains("capture: off (capture.enabled: false)"),
        "the summary at start says so: {}",
        relay.log_tail(20)
    );
}
