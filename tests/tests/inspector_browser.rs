//! End-to-end: the inspector page in Debian's chromium, driven by playwright-core
//! (`tests/browser/inspector.mjs`), served over HTTP. Uploads a valid body, a body with
//! findings, a 2.0 body (the edge simulation's 1.0 conversion and its download), a
//! malformed body and (when the fixtures exist) a real Prometheus capture, and
//! checks what a user sees: rows, counts, findings, highlighted series, verdict, and that
//! the exported JSON is byte-identical to what `prw inspect --format json` prints for the same
//! file (`PRW_BIN`, else built). Screenshots go to `target/artifacts/`.
//!
//! Tools: `CHROMIUM_BIN` (else /usr/bin/chromium), `node` on PATH, `PLAYWRIGHT_CORE_DIR`
//! (else `npm ci` in tests/browser), `PRW_INSPECTOR_DIR` (else built with
//! wasm/inspector/build.sh). With `CI=true` a missing tool fails the test.
// clippy.toml allows unwrap in #[test] fns only; the helpers here are test code too.
#![allow(clippy::unwrap_used)]

#[path = "../../wasm/inspector/tests/support/payloads.rs"]
mod payloads;
#[path = "inspector_browser/relay_page.rs"]
mod relay_page;
#[path = "inspector_browser/static_server.rs"]
mod static_server;
#[path = "inspector_browser/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// Series in the large body.
const LARGE: usize = 30_000;

/// What `prw inspect --format json` prints for `body` (native/cli/src/inspect.rs).
fn native_report_json(body: &[u8]) -> String {
    let report = prw_core::report::build(body, &Default::default());
    serde_json::to_string_pretty(&report).unwrap() + "\n"
}

/// What the real CLI prints: `prw inspect --format json FILE`.
fn cli_report_json(prw: &Path, file: &Path) -> String {
    let out = Command::new(prw)
        .args(["inspect", "--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn count_text(n: u64) -> String {
    // The page prints counts with en-US thousands separators.
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn indices(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect()
}

#[test]
fn inspector_page_shows_series_findings_and_verdict_and_exports_the_cli_report() {
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
    let valid = payloads::snappy(&payloads::v1_valid());
    let findings = payloads::snappy(&payloads::v1_unsorted());
    let malformed = b"\xff\xff\xff\xff\xff this is not a remote write body".to_vec();
    let capture_path =
        tools::workspace_root().join("crates/core/testdata/prometheus-2.42/samples.bin");
    let capture = std::fs::read(&capture_path).ok();
    let valid_path = write(&artifacts, "inspector-valid.bin", &valid);
    let v2_request = prw_core::convert::v1_to_v2(&payloads::v1_valid());
    let v2_body = {
        use prost::Message;
        prw_core::codec::compress(&v2_request.encode_to_vec()).unwrap()
    };
    let bodies = json!({
        "valid": valid_path,
        "findings": write(&artifacts, "inspector-findings.bin", &findings),
        "malformed": write(&artifacts, "inspector-malformed.bin", &malformed),
        "large": write(&artifacts, "inspector-large.bin", &payloads::snappy(&payloads::v1_many(LARGE))),
        "capture": capture.as_ref().map(|_| &capture_path),
        "v2": write(&artifacts, "inspector-v2.bin", &v2_body),
    });

    // The page as users get it: from `prw relay` at /inspect/ (dist/prw embeds it). Outside
    // CI a binary without the page falls back to serving the built folder.
    let prw = tools::prw_bin();
    let relay = relay_page::RelayPage::start(&prw);
    let fallback = match &relay {
        Some(_) => None,
        None if tools::in_ci() => panic!(
            "{} does not serve the inspector at /inspect/: build it with `cargo xtask dist`",
            prw.display()
        ),
        None => {
            eprintln!(
                "note: {} has no embedded inspector; serving the folder instead",
                prw.display()
            );
            Some(static_server::StaticServer::start(&inspector))
        }
    };
    let page_url = match (&relay, &fallback) {
        (Some(relay), _) => format!("{}/inspect/", relay.url()),
        (None, Some(server)) => format!("{}/index.html", server.url()),
        (None, None) => unreachable!("one of the two servers runs"),
    };
    let config = json!({
        "url": page_url,
        "chromium": chromium,
        "playwright_core": playwright_core,
        "artifacts": artifacts,
        "bodies": bodies,
        "edge_config": r#"{"mode": "enforce", "write_paths": ["/api/v1/write"]}"#,
        "edge_bridge": {
            "config": r#"{"upstream_protocol": "v1"}"#,
            "headers": format!("Content-Encoding: snappy\nContent-Type: {}", prw_core::negotiate::CONTENT_TYPE_V2),
        },
    });
    let output = Command::new(node)
        .arg(tools::workspace_root().join("tests/browser/inspector.mjs"))
        .arg(config.to_string())
        .output()
        .unwrap();
    drop(fallback);
    drop(relay);
    assert!(
        output.status.success(),
        "inspector.mjs failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    std::fs::write(artifacts.join("inspector-observed.json"), &output.stdout).unwrap();

    // A valid body: counts, verdict, rows with readable timestamps, the stale marker, the
    // histogram and the exemplar; filters; the export is the native report byte for byte.
    let v = &seen["valid"];
    let s = &v["summary"];
    assert_eq!(s["state"], "done");
    assert_eq!(
        (&s["status"], &s["retry"], &s["protocol"]),
        (&json!("204"), &json!("no"), &json!("v1"))
    );
    assert!(
        s["verdict"]
            .as_str()
            .unwrap()
            .contains("compliant receiver answers 204"),
        "{s}"
    );
    let counts = json!({"series": "3", "samples": "3", "histograms": "1", "exemplars": "1", "metadata": "1", "findings": "0"});
    assert_eq!(s["counts"], counts);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let up = &rows[0];
    assert!(
        up["labels"]
            .as_str()
            .unwrap()
            .contains(r#"instance="a:9100""#),
        "{up}"
    );
    let samples = up["samples"].as_str().unwrap();
    assert!(samples.contains("2026-01-01 00:00:00.000 UTC"), "{samples}");
    assert!(
        samples.contains(&format!("({})", payloads::T0)),
        "{samples}"
    );
    assert!(samples.contains("stale marker"), "{samples}");
    assert!(
        rows[1]["exemplars"]
            .as_str()
            .unwrap()
            .contains(r#"trace_id="abc123""#),
        "{}",
        rows[1]
    );
    assert!(
        rows[2]["histograms"]
            .as_str()
            .unwrap()
            .contains("count=6 sum=12.5"),
        "{}",
        rows[2]
    );
    assert_eq!(v["no_findings_shown"], true);
    assert_eq!(indices(&v["filtered_job_api"]), [1, 2]);
    assert_eq!(indices(&v["filtered_substring"]), [0]);
    assert!(
        v["filter_error"]
            .as_str()
            .unwrap()
            .contains("expected a quoted value"),
        "{v}"
    );
    assert_eq!(v["export_name"], "prw-report.json");
    assert_eq!(v["export"].as_str().unwrap(), native_report_json(&valid));
    let prw = tools::prw_bin();
    assert_eq!(
        v["export"].as_str().unwrap(),
        cli_report_json(&prw, &valid_path)
    );

    let t = &v["text_plain"];
    assert_eq!(t["status"], "415", "Content-Type text/plain: {t}");
    assert!(t["error"].as_str().unwrap().contains("Content-Type"), "{t}");

    // A body with findings: the rule is listed and its series highlighted; 400, no retry.
    let f = &seen["findings"];
    assert_eq!(
        (&f["summary"]["status"], &f["summary"]["retry"]),
        (&json!("400"), &json!("no"))
    );
    let listed = f["findings"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{f}");
    assert_eq!(
        (
            &listed[0]["rule"],
            &listed[0]["severity"],
            &listed[0]["count"]
        ),
        (&json!("labels.unsorted"), &json!("error"), &json!("1"))
    );
    let classes: Vec<&str> = f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        ["series-row", "series-row sev-error", "series-row"]
    );
    assert!(
        f["rows"][1]["findings"]
            .as_str()
            .unwrap()
            .contains("labels.unsorted"),
        "{f}"
    );
    assert_eq!(
        indices(&f["focused"]),
        [1],
        "clicking #1 in the findings focuses series 1"
    );

    // The edge simulation on that body: the filter's code rejects it with 400 at the edge.
    assert_eq!(f["edge_panel"], true, "the edge simulation panel is shown");
    let edge = &f["edge"];
    assert_eq!(edge["error"], Value::Null, "{edge}");
    assert_eq!(edge["status"], "400", "{edge}");
    assert_eq!(edge["json"]["rule"], "labels.unsorted", "{edge}");
    assert!(
        edge["outcome"]
            .as_str()
            .unwrap()
            .contains("rejected at the edge"),
        "{edge}"
    );

    // The 2.0 body under `upstream_protocol: v1`: the converted request is shown and the
    // download is the 1.0 body the filter would send (what prw-core's owned conversion makes).
    let b = &seen["bridge"];
    assert_eq!(b["error"], Value::Null, "{b}");
    assert_eq!(b["converted_shown"], true, "{b}");
    let expected = prw_core::convert::v2_to_v1(&v2_request).unwrap();
    let samples: usize = expected.timeseries.iter().map(|t| t.samples.len()).sum();
    assert_eq!(
        b["json"]["converted"]["written"]["samples"],
        json!(samples),
        "{b}"
    );
    assert!(
        b["note"]
            .as_str()
            .unwrap()
            .contains(&format!("{samples} samples")),
        "{b}"
    );
    assert_eq!(b["download_name"], "converted-v1.bin");
    let download: Vec<u8> = b["download"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    let decoded = prw_core::codec::decompress(&download, &Default::default()).unwrap();
    {
        use prost::Message;
        let v1 = prw_core::proto::v1::WriteRequest::decode(decoded.as_slice()).unwrap();
        assert_eq!(v1.encode_to_vec(), expected.encode_to_vec());
    }

    // A malformed body: the reason is shown, 400, nothing listed.
    let m = &seen["malformed"];
    assert_eq!(m["summary"]["status"], "400");
    assert!(
        m["summary"]["error"]
            .as_str()
            .unwrap()
            .starts_with("input could not be read"),
        "{m}"
    );
    assert_eq!(m["summary"]["counts"]["series"], "0");
    assert_eq!(m["rows"].as_array().unwrap().len(), 0);

    // A large body: counts whole, 100 rows a page, paging and filtering over all series.
    let l = &seen["large"];
    assert_eq!(l["summary"]["counts"]["series"], "30,000");
    assert_eq!(l["rows"], 100);
    assert_eq!(l["second_page"], "101–200 of 30,000");
    assert_eq!(l["first_on_second_page"], 100);
    assert_eq!(l["filtered"], 100);
    assert_eq!(l["filtered_info"], "1–100 of 3,000");

    // The same valid body pasted as base64.
    let p = &seen["pasted"];
    assert!(
        p["status_line"]
            .as_str()
            .unwrap()
            .starts_with("read as base64"),
        "{p}"
    );
    assert_eq!(p["summary"]["counts"], counts);

    // A real Prometheus capture (crates/core/testdata), when present.
    if let Some(capture) = capture {
        let native: Value = serde_json::from_str(&native_report_json(&capture)).unwrap();
        let c = &seen["capture"];
        assert_eq!(c["export"].as_str().unwrap(), native_report_json(&capture));
        assert_eq!(
            c["export"].as_str().unwrap(),
            cli_report_json(&prw, &capture_path)
        );
        assert_eq!(
            c["summary"]["status"],
            native["verdict"]["status"].to_string()
        );
        let series = native["counts"]["series"].as_u64().unwrap();
        assert_eq!(c["summary"]["counts"]["series"], count_text(series));
        assert_eq!(c["rows"].as_array().unwrap().len() as u64, series.min(100));
    } else {
        eprintln!(
            "no Prometheus capture at {}: only generated bodies used",
            capture_path.display()
        );
    }

    assert_eq!(seen["console_errors"], json!([]), "the page logged errors");
    assert!(artifacts.join("inspector-findings.png").exists());
}
