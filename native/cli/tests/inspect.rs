//! `prw inspect` run as a real binary on crafted request bodies.
// Helpers outside #[test] fns are test code too; a failed setup should fail loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use prost::Message;
use prw_core::proto::{v1, v2};

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("prw-inspect-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn prw(args: &[&str], body: &[u8], name: &str) -> Output {
    let file = TempFile::new(name, body);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prw"));
    cmd.arg("inspect").arg(&file.0).args(args);
    cmd.env("RUST_BACKTRACE", "1");
    cmd.output().unwrap()
}

fn label(n: &str, v: &str) -> v1::Label {
    v1::Label {
        name: n.into(),
        value: v.into(),
    }
}

fn v1_body(labels: Vec<v1::Label>, samples: Vec<v1::Sample>) -> Vec<u8> {
    let req = v1::WriteRequest {
        timeseries: vec![v1::TimeSeries {
            labels,
            samples,
            exemplars: vec![],
            histograms: vec![],
        }],
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn valid_body() -> Vec<u8> {
    v1_body(
        vec![label("__name__", "up"), label("job", "prometheus")],
        vec![v1::Sample {
            value: 1.0,
            timestamp: 1_700_000_000_000,
        }],
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

fn rule_ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn assert_one_line_reason_without_panic(o: &Output) {
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("prw inspect: "), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "stderr: {err}"
    );
}

#[test]
fn valid_payload_lists_its_series_and_exits_0() {
    let out = prw(&[], &valid_body(), "valid.bin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("protocol   v1"), "{text}");
    assert!(text.contains("up{job=\"prometheus\"}"), "{text}");
    assert!(text.contains("no findings"), "{text}");
}

#[test]
fn json_report_has_the_documented_shape() {
    let out = prw(&["--format", "json"], &valid_body(), "shape.bin");
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["protocol"], "v1");
    assert_eq!(r["counts"]["series"], 1);
    assert_eq!(
        r["series"][0]["labels"][0],
        serde_json::json!(["__name__", "up"])
    );
    assert_eq!(
        r["series"][0]["samples"][0],
        serde_json::json!({"t": 1_700_000_000_000i64, "v": 1.0})
    );
    assert_eq!(
        r["verdict"],
        serde_json::json!({"status": 204, "retry": "no"})
    );
    assert!(r["error"].is_null());
    assert!(r["compressed_bytes"].is_u64() && r["decoded_bytes"].is_u64());
}

#[test]
fn non_finite_values_are_strings() {
    let body = v1_body(
        vec![label("__name__", "up")],
        vec![
            v1::Sample {
                value: f64::NAN,
                timestamp: 1,
            },
            v1::Sample {
                value: f64::from_bits(0x7ff0_0000_0000_0002),
                timestamp: 2,
            },
            v1::Sample {
                value: f64::INFINITY,
                timestamp: 3,
            },
            v1::Sample {
                value: f64::NEG_INFINITY,
                timestamp: 4,
            },
        ],
    );
    let r = json(&prw(&["--format", "json"], &body, "nonfinite.bin"));
    let vs: Vec<&str> = r["series"][0]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["v"].as_str().unwrap())
        .collect();
    assert_eq!(vs, ["NaN", "StaleNaN", "+Inf", "-Inf"]);
}

#[test]
fn v1_with_unsorted_duplicate_and_nameless_labels_reports_three_rules_and_exits_1() {
    let body = v1_body(
        vec![label("job", "a"), label("instance", "x"), label("job", "b")],
        vec![v1::Sample {
            value: 1.0,
            timestamp: 1,
        }],
    );
    let out = prw(&["--format", "json"], &body, "three.bin");
    assert_eq!(out.status.code(), Some(1));
    let ids = rule_ids(&json(&out));
    for id in [
        "labels.unsorted",
        "labels.duplicate_name",
        "metric_name.missing",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    let text = stdout(&prw(&[], &body, "three-text.bin"));
    assert!(text.contains("labels.duplicate_name"), "{text}");
}

#[test]
fn v2_with_label_ref_out_of_range_exits_1() {
    let req = v2::Request {
        symbols: vec!["".into(), "__name__".into(), "up".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 1, 42],
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: 1,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let out = prw(&["--format", "json"], &body, "v2ref.bin");
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r["protocol"], "v2", "auto-detected from fields 4/5");
    assert!(rule_ids(&r).contains(&"v2.label_ref_out_of_range".to_string()));
    assert_eq!(r["verdict"]["status"], 400);
}

#[test]
fn decompression_bomb_exits_2_with_one_line_reason_and_json_error() {
    let mut body = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
    body.extend_from_slice(&[0u8; 95]);
    let out = prw(&["--format", "json"], &body, "bomb.bin");
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_reason_without_panic(&out);
    assert!(stderr(&out).contains("4294967295"), "{}", stderr(&out));
    let r = json(&out);
    assert!(r["error"].is_string());
    assert_eq!(r["verdict"]["status"], 413);
}

#[test]
fn random_bytes_exit_2_with_one_line_reason() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        let body: Vec<u8> = (0..300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let out = prw(&[], &body, &format!("random-{round}.bin"));
        assert_eq!(
            out.status.code(),
            Some(2),
            "round {round}: {}",
            stdout(&out)
        );
        assert_one_line_reason_without_panic(&out);
    }
}

#[test]
fn raw_protobuf_input_is_accepted() {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&valid_body())
        .unwrap();
    let r = json(&prw(&["--format", "json"], &raw, "raw.bin"));
    assert!(r["compressed_bytes"].is_null());
    assert_eq!(r["counts"]["samples"], 1);
}

#[test]
fn proto_flag_forces_the_schema() {
    // A v1 body read as v2 is an empty request (fields 1/3 are reserved in v2).
    let r = json(&prw(
        &["--format", "json", "--proto", "v2"],
        &valid_body(),
        "forced.bin",
    ));
    assert_eq!(r["protocol"], "v2");
    assert_eq!(r["counts"]["series"], 0);
    assert_eq!(rule_ids(&r), ["request.empty"]);
}

#[test]
fn content_type_selects_schema_and_unknown_type_is_415() {
    let r = json(&prw(
        &[
            "--format",
            "json",
            "--content-type",
            "application/x-protobuf",
        ],
        &valid_body(),
        "ct.bin",
    ));
    assert_eq!(r["protocol"], "v1");
    let out = prw(
        &["--format", "json", "--content-type", "application/json"],
        &valid_body(),
        "ct415.bin",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"]["status"], 415);
}

#[test]
fn max_series_pages_the_list_but_counts_stay_whole() {
    let series = |job: &str| v1::TimeSeries {
        labels: vec![label("__name__", "up"), label("job", job)],
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: 1,
        }],
        ..Default::default()
    };
    let req = v1::WriteRequest {
        timeseries: vec![series("a"), series("b"), series("c")],
        metadata: vec![],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let r = json(&prw(
        &["--format", "json", "--max-series", "1"],
        &body,
        "page.bin",
    ));
    assert_eq!(r["series"].as_array().unwrap().len(), 1);
    assert_eq!(r["counts"]["series"], 3);
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["inspect", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&valid_body())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["counts"]["series"], 1);
}

#[test]
fn missing_file_exits_2_and_bad_flag_exits_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_prw"))
        .args(["inspect", "/nonexistent/prw-body.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_reason_without_panic(&out);
    let out = prw(&["--format", "xml"], &valid_body(), "usage.bin");
    assert_eq!(out.status.code(), Some(64));
}
