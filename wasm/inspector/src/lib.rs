//! prw-inspector: the browser payload inspector's Rust half, compiled to
//! wasm32-unknown-unknown with wasm-bindgen and loaded by the static page in `www/`.
//!
//! It is a thin adapter over prw-core: the page gets exactly what the CLI gets, because
//! [`inspect`] returns the report JSON that `serde_json` produced from
//! `prw_core::report`, the same bytes as `prw inspect --format json`.
//!
//! Invariants: nothing here panics on input; every fallible step returns a typed
//! [`InspectorError`] and only the `#[wasm_bindgen]` functions in this file turn it into a
//! `JsError` (so everything else is testable natively). No payload leaves the page: there is
//! no I/O in this crate.

pub mod edge;
mod error;
pub mod inspect;
pub mod options;
pub mod text_input;

#[cfg(test)]
#[path = "../tests/support/payloads.rs"]
mod test_payloads;

pub use error::InspectorError;

use wasm_bindgen::prelude::*;

/// The crate version, shown in the page footer.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Inspects one request body. `options_json`: `{"protocol": "auto"|"v1"|"v2",
/// "content_type": "...", "max_series": N, "limits": {...}}` (all optional, `""` = defaults).
/// Returns the report JSON, byte-identical to `prw inspect --format json`; a body that
/// cannot be read is a report with `error` set. Errs only on malformed options.
#[wasm_bindgen]
pub fn inspect(body: &[u8], options_json: &str) -> Result<String, JsError> {
    let options = options::InspectOptions::from_json(options_json)?;
    Ok(inspect::report_json(body, &options)?)
}

/// Simulates the Envoy edge filter on `body`: `config_json` is the filter's JSON config
/// (blank = `{}`), `request_json` is `{"method", "path", "headers": [[name, value]],
/// "now_ms"}` (all optional). Returns the decision as JSON (see [`edge::EdgeSimulation`]).
#[wasm_bindgen]
pub fn simulate_edge(
    config_json: &str,
    body: &[u8],
    request_json: &str,
) -> Result<String, JsError> {
    let config = edge::parse_config(config_json)?;
    let request = edge::parse_request(request_json)?;
    let simulation = edge::simulate(&config, &request, body);
    Ok(serde_json::to_string(&simulation).map_err(InspectorError::Serialize)?)
}

/// The 1.0 body (snappy) the edge would send upstream for `body` under `upstream_protocol:
/// v1` (same arguments as [`simulate_edge`]); empty when nothing would be converted.
#[wasm_bindgen]
pub fn simulate_edge_converted_body(
    config_json: &str,
    body: &[u8],
    request_json: &str,
) -> Result<Vec<u8>, JsError> {
    let config = edge::parse_config(config_json)?;
    let request = edge::parse_request(request_json)?;
    Ok(edge::simulate(&config, &request, body)
        .converted_body
        .unwrap_or_default())
}

/// Decodes pasted text (`encoding`: `auto`, `hex` or `base64`) into body bytes.
#[wasm_bindgen]
pub fn decode_text(text: &str, encoding: &str) -> Result<Vec<u8>, JsError> {
    let encoding = text_input::TextEncoding::parse(encoding).map_err(InspectorError::from)?;
    Ok(text_input::decode_text(text, encoding).map_err(InspectorError::from)?)
}

/// Which encoding `auto` picks for pasted text: `hex` or `base64`.
#[wasm_bindgen]
pub fn detect_text_encoding(text: &str) -> String {
    text_input::detect(text).as_str().to_owned()
}
