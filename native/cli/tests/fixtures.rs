//! `prw inspect` on every fixture of `crates/core/testdata/` (real Prometheus 2.42 captures
//! and bytes from an independent encoder), checked against `expected.json`.

// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/core/testdata")
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_fixture_gives_the_expected_exit_protocol_rules_and_counts() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata().join("expected.json")).unwrap()).unwrap();
    let fixtures = expected["fixtures"].as_array().unwrap();
    assert!(fixtures.len() >= 10);
    for fx in fixtures {
        let file = fx["file"].as_str().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_prw"))
            .args(["inspect", "--format", "json"])
            .arg(testdata().join(file))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            fx["exit"].as_i64().map(|e| e as i32),
            "{file}: {stderr}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect(file);
        if fx["exit"] == 2 {
            assert!(report["error"].is_string(), "{file}");
            assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
            continue;
        }
        assert_eq!(report["protocol"], fx["protocol"], "{file}");
        let findings = report["findings"].as_array().unwrap();
        let with = |severity: &str| -> Vec<String> {
            findings
                .iter()
                .filter(|f| f["severity"] == severity)
                .map(|f| f["rule"].as_str().unwrap().to_string())
                .collect()
        };
        let (errors, warnings) = (with("error"), with("warning"));
        for rule in strings(&fx["rules"]) {
            assert!(
                errors.contains(&rule),
                "{file}: {rule} not among errors {errors:?}"
            );
        }
        for rule in strings(&fx["warnings"]) {
            assert!(
                warnings.contains(&rule),
                "{file}: {rule} not among warnings {warnings:?}"
            );
        }
        if fx["exit"] == 0 {
            assert!(errors.is_empty(), "{file}: {errors:?}");
        }
        if let Some(counts) = fx.get("counts") {
            assert_eq!(&report["counts"], counts, "{file}");
        }
    }
}

#[test]
fn prometheus_capture_lists_its_series_and_metadata_only_request_is_valid() {
    let run = |file: &str| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_prw"))
            .args(["inspect", "--format", "json"])
            .arg(testdata().join(file))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{file}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let samples = run("prometheus-2.42/samples.bin");
    assert!(samples["counts"]["series"].as_u64().unwrap() > 10);
    assert_eq!(
        samples["series"].as_array().unwrap().len() as u64,
        samples["counts"]["series"].as_u64().unwrap()
    );
    let metadata = run("prometheus-2.42/metadata.bin");
    assert_eq!(metadata["counts"]["series"], 0);
    assert!(metadata["counts"]["metadata"].as_u64().unwrap() > 10);
    assert!(!metadata["metadata"].as_array().unwrap().is_empty());
    // The same bytes give the same report (the browser relies on it).
    assert_eq!(run("v2/valid.bin")["series"], run("v2/valid.pb")["series"]);
}
