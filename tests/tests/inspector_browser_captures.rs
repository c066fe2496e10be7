//! End-to-end (issue 16): the inspector's "Recent rejections" panel in Debian's chromium,
//! driven by playwright-core (`tests/browser/captures.mjs`), on the page a real `prw relay`
//! serves at `/inspect/`. A body with two invalid series is posted (the relay answers 400
//! naming the first rule) and a valid one that the destination, a scripted receiver, refuses
//! with 400. The page lists both; a click decodes the rejected body in the page with every
//! finding and both offending series highlighted; a click on the refused batch shows the
//! receiver's answer beside prw's own verdict (valid); a capture whose body cannot be loaded
//! names the relay's answer; a rejection posted while the page is open appears without a
//! reload; served as a static folder, the panel stays hidden.
//! Screenshots go to `target/artifacts/inspector-captures-*.png`.
//!
//! Tools: as `inspector_browser.rs` (`CHROMIUM_BIN`, `node`, `PLAYWRIGHT_CORE_DIR`,
//! `PRW_INSPECTOR_DIR`), and `PRW_BIN` must embed the page (`cargo xtask dist` builds
//! `dist/prw` that way). With `CI=true` a missing tool, or a `prw` without the page, fails.
// clippy.toml allows unwrap in #[test] fns only; the helpers here are test code too.
#![allow(clippy::unwrap_used)]

#[path = "inspector_browser/static_server.rs"]
mod static_server;
#[path = "inspector_browser/tools.rs"]
mod tools;

use std::process::Command;
use std::time::Duration;

use prw_core::negotiate::CONTENT_TYPE_V1;
use prw_e2e::payload::{Series, v1};
use prw_e2e::receiver::{Answer, BlockingReceiver, ReceiverConfig};
use prw_e2e::relay::Relay;
use prw_e2e::{http, wait};
use serde_json::{Value, json};

/// What the scripted destination answers every batch.
const RECEIVER_ANSWER: &str =
    "err-mimir-out-of-order: sample for series up{job=\"api\"} is older than the newest one stored";

fn post(relay: &Relay, body: &[u8]) -> u16 {
    http::request(
        relay.addr(),
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", CONTENT_TYPE_V1),
            ("Content-Encoding", "snappy"),
            ("X-Scope-OrgID", "team-a"),
        ],
        body,
    )
    .unwrap()
    .status
}

#[test]
fn the_page_lists_what_the_relay_refused_and_decodes_it_in_one_click() {
    let Some(tools::BrowserTools {
        chromium,
        node,
        playwright_core,
        inspector,
        artifacts,
    }) = tools::browser_tools()
    else {
        return;
    };

    let receiver =
        BlockingReceiver::start(ReceiverConfig::default().with_default(Answer::Status {
            status: 400,
            headers: Vec::new(),
            body: RECEIVER_ANSWER.to_owned(),
        }))
        .unwrap();
    let config = format!(
        "remote_write:\n  - name: mimir\n    url: {}\n    queue_config: {{batch_send_deadline: 100ms, max_shards: 1}}\n",
        receiver.url("/api/v1/push")
    );
    let prw = tools::prw_bin();
    let relay = Relay::start(&prw, &config).unwrap();
    if http::get(relay.addr(), "/inspect/").unwrap().status != 200 {
        assert!(
            !tools::in_ci(),
            "{} does not serve the inspector at /inspect/: build it with `cargo xtask dist`",
            prw.display()
        );
        eprintln!(
            "SKIPPED: {} has no embedded inspector (PRW_INSPECTOR_DIST=DIR cargo build -p prw --features embed-inspector)",
            prw.display()
        );
        return;
    }

    let t = wait::now_ms();
    // Series 1 has unsorted labels, series 2 a duplicate name: the relay stops at the first.
    let invalid = v1(&[
        Series::new(
            &[("__name__", "http_requests_total"), ("job", "api")],
            &[(t, 1.0)],
        ),
        Series::new(
            &[("__name__", "up"), ("zone", "b"), ("job", "a")],
            &[(t, 1.0)],
        ),
        Series::new(
            &[("__name__", "up"), ("job", "a"), ("job", "b")],
            &[(t, 1.0)],
        ),
    ]);
    assert_eq!(post(&relay, &invalid), 400);
    let valid = v1(&[Series::new(
        &[("__name__", "up"), ("job", "api")],
        &[(t, 1.0)],
    )]);
    assert_eq!(post(&relay, &valid), 204);
    wait::until("both captures listed", Duration::from_secs(30), || {
        let listed = http::get(relay.addr(), "/api/v1/captures").unwrap().text();
        let n = serde_json::from_str::<Value>(&listed)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0);
        if n >= 2 { Ok(()) } else { Err(listed) }
    })
    .unwrap();
    let late = artifacts.join("inspector-captures-late.bin");
    std::fs::write(&late, v1(&[Series::new(&[("job", "late")], &[(t, 1.0)])])).unwrap();

    let static_server = static_server::StaticServer::start(&inspector);
    let config = json!({
        "url": format!("http://{}/inspect/", relay.addr()),
        "static_url": format!("{}/index.html", static_server.url()),
        "write_url": relay.write_url(),
        "late_body": late,
        "chromium": chromium,
        "playwright_core": playwright_core,
        "artifacts": artifacts,
    });
    let output = Command::new(node)
        .arg(tools::workspace_root().join("tests/browser/captures.mjs"))
        .arg(config.to_string())
        .output()
        .unwrap();
    drop(static_server);
    assert!(
        output.status.success(),
        "captures.mjs failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(
        artifacts.join("inspector-captures-observed.json"),
        &output.stdout,
    )
    .unwrap();
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["error"], Value::Null, "{seen}");

    // The panel lists both, newest first.
    assert_eq!(seen["panel_visible"], true);
    assert_eq!(seen["panel_state"], "on");
    let rows = seen["rows"].as_array().unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["refused", "rejected"]);
    assert!(
        rows[1]["text"]
            .as_str()
            .unwrap()
            .contains("labels.unsorted: series 1"),
        "{rows:?}"
    );
    assert!(
        rows[0]["text"]
            .as_str()
            .unwrap()
            .contains("err-mimir-out-of-order"),
        "{rows:?}"
    );

    // The rejected body, decoded in the page: every finding, both offending series highlighted.
    let r = &seen["rejected"];
    assert!(
        r["answer"]
            .as_str()
            .unwrap()
            .starts_with("labels.unsorted: series 1"),
        "{r}"
    );
    assert_eq!(r["status"], "400");
    assert_eq!(r["content_type"], CONTENT_TYPE_V1);
    assert_eq!(
        r["findings"],
        json!(["labels.unsorted", "labels.duplicate_name"])
    );
    let classes: Vec<&str> = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        ["series-row", "series-row sev-error", "series-row sev-error"]
    );
    let verdict = r["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("2 findings: labels.unsorted, labels.duplicate_name"),
        "{verdict}"
    );

    // The refused batch: the receiver's answer beside prw's verdict (valid).
    let f = &seen["refused"];
    assert_eq!(f["answer"], RECEIVER_ANSWER);
    assert!(
        f["detail_title"]
            .as_str()
            .unwrap()
            .contains("refused by mimir"),
        "{f}"
    );
    assert_eq!(f["status"], "204");
    assert_eq!(f["findings"], json!([]));
    assert!(
        f["verdict"]
            .as_str()
            .unwrap()
            .contains("prw finds the batch valid"),
        "{f}"
    );

    // A capture whose body the relay no longer has: the page names the capture and the
    // relay's answer in place of the verdict.
    let failed = seen["failed"].as_str().unwrap();
    for part in [
        format!("Could not load capture #{}", rows[1]["id"]),
        "the relay answered 404".to_owned(),
        "no such capture".to_owned(),
    ] {
        assert!(failed.contains(&part), "{part:?} is not in {failed:?}");
    }

    // Posted while the page was open: listed on the next refresh, newest first.
    assert_eq!(seen["late_status"], 400);
    let after = seen["rows_after"].as_array().unwrap();
    assert_eq!(after.len(), 3);
    assert!(
        after[0]["text"]
            .as_str()
            .unwrap()
            .contains("metric_name.missing"),
        "{after:?}"
    );

    // Served as a static folder: no relay, no panel.
    assert_eq!(seen["static_panel_visible"], false);
    assert_eq!(seen["console_errors"], json!([]), "the page logged errors");
    for shot in [
        "inspector-captures-rejected.png",
        "inspector-captures-refused.png",
    ] {
        assert!(artifacts.join(shot).exists(), "{shot}");
    }
}
