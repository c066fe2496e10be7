//! The exported functions, called from JavaScript in headless Chromium
//! (`CHROMEDRIVER=/usr/bin/chromedriver cargo test -p prw-inspector --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]
// clippy.toml allows unwrap in #[test] fns only; #[wasm_bindgen_test] fns are tests too.
#![allow(clippy::unwrap_used)]

#[path = "support/payloads.rs"]
mod payloads;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js_error_message(err: JsValue) -> String {
    String::from(err.unchecked_into::<js_sys::Error>().message())
}

fn parse(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

#[wasm_bindgen_test]
fn inspect_in_the_browser_returns_the_same_bytes_as_prw_inspect_format_json() {
    let body = payloads::snappy(&payloads::v1_valid());
    let json = prw_inspector::inspect(&body, "").unwrap();
    let report = prw_core::report::build(&body, &Default::default());
    let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
    assert_eq!(json, expected);
    let counts = r#"{"series":3,"samples":3,"histograms":1,"exemplars":1,"metadata":1}"#;
    assert_eq!(parse(&json)["counts"], parse(counts));
}

#[wasm_bindgen_test]
fn inspect_honours_the_protocol_override_and_content_type() {
    let body = payloads::snappy(&payloads::v1_valid());
    let forced = parse(&prw_inspector::inspect(&body, r#"{"protocol":"v2"}"#).unwrap());
    assert_eq!(forced["protocol"], "v2");
    let bad_type = prw_inspector::inspect(&body, r#"{"content_type":"text/plain"}"#).unwrap();
    assert_eq!(parse(&bad_type)["verdict"]["status"], 415);
}

#[wasm_bindgen_test]
fn inspect_reports_findings_of_a_bad_payload() {
    let body = payloads::snappy(&payloads::v1_unsorted());
    let report = parse(&prw_inspector::inspect(&body, "{}").unwrap());
    assert_eq!(report["findings"][0]["rule"], "labels.unsorted");
    assert_eq!(report["verdict"], parse(r#"{"status":400,"retry":"no"}"#));
}

#[wasm_bindgen_test]
fn malformed_options_are_a_js_error_naming_the_option() {
    let err = prw_inspector::inspect(b"", r#"{"max_serie":1}"#).unwrap_err();
    let message = js_error_message(JsValue::from(err));
    assert!(message.contains("max_serie"), "{message}");
}

#[wasm_bindgen_test]
fn pasted_hex_and_base64_decode_to_the_body() {
    let body = payloads::snappy(&payloads::v1_valid());
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(prw_inspector::decode_text(&hex, "auto").unwrap(), body);
    assert_eq!(prw_inspector::detect_text_encoding(&hex), "hex");
    assert_eq!(
        prw_inspector::decode_text("aGVs bG8=", "base64").unwrap(),
        b"hello"
    );
    assert!(prw_inspector::decode_text("zz", "hex").is_err());
}

#[wasm_bindgen_test]
fn simulate_edge_rejects_an_invalid_body_like_the_filter() {
    let body = payloads::snappy(&payloads::v1_unsorted());
    let request = r#"{"headers":[["Content-Encoding","snappy"]],"now_ms":0}"#;
    let decision = parse(&prw_inspector::simulate_edge("{}", &body, request).unwrap());
    assert_eq!(decision["action"], "reject");
    assert_eq!(decision["status"], 400);
    assert_eq!(decision["rule"], "labels.unsorted");
    let err = prw_inspector::simulate_edge(r#"{"mode":"loud"}"#, &body, "").unwrap_err();
    assert!(js_error_message(JsValue::from(err)).contains("loud"));
}

macro_rules! fixtures {
    ($($file:literal),* $(,)?) => {
        [$(($file, include_bytes!(concat!("../../../crates/core/testdata/", $file)).as_slice())),*]
    };
}

/// Every body in crates/core/testdata (Prometheus captures and an independent encoder's
/// output), inspected in the browser, matches what expected.json says `prw inspect FILE`
/// must report.
#[wasm_bindgen_test]
fn every_core_fixture_is_reported_in_the_browser_as_expected_json_says() {
    let bodies = fixtures![
        "prometheus-2.42/samples.bin",
        "prometheus-2.42/metadata.bin",
        "v1/valid.bin",
        "v1/bad_labels.bin",
        "v1/exemplar_without_timestamp.bin",
        "v1/gzip.bin",
        "v1/snappy_bomb.bin",
        "v1/random.bin",
        "v2/valid.bin",
        "v2/valid.pb",
        "v2/unpacked_labels_refs.bin",
        "v2/label_ref_out_of_range.bin",
        "v2/labels_refs_odd.bin",
        "v2/symbols_first_not_empty.bin",
        "v2/exemplar_without_timestamp.bin",
    ];
    let expected = parse(include_str!("../../../crates/core/testdata/expected.json"));
    let fixtures = expected["fixtures"].as_array().unwrap();
    assert_eq!(
        fixtures.len(),
        bodies.len(),
        "a fixture is missing from this test"
    );
    for fixture in fixtures {
        let file = fixture["file"].as_str().unwrap();
        let body = bodies.iter().find(|(name, _)| *name == file).unwrap().1;
        let report = parse(&prw_inspector::inspect(body, "").unwrap());
        let findings = report["findings"].as_array().unwrap();
        let has = |rule: &serde_json::Value, severity: &str| {
            findings
                .iter()
                .any(|f| &f["rule"] == rule && f["severity"] == severity)
        };
        let errors = findings.iter().any(|f| f["severity"] == "error");
        let exit = match (report["error"].is_string(), errors) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        };
        assert_eq!(exit, fixture["exit"], "{file}: {report}");
        if fixture["protocol"].is_string() {
            assert_eq!(report["protocol"], fixture["protocol"], "{file}");
        }
        for rule in fixture["rules"].as_array().unwrap() {
            assert!(has(rule, "error"), "{file}: no error {rule}: {report}");
        }
        for rule in fixture["warnings"].as_array().unwrap() {
            assert!(has(rule, "warning"), "{file}: no warning {rule}: {report}");
        }
        if let Some(counts) = fixture.get("counts") {
            assert_eq!(&report["counts"], counts, "{file}");
        }
    }
}
