//! Sending a converted request upstream (`upstream_protocol: v1`): the buffered 2.0 body is
//! replaced by the 1.0 body and the headers are made to match.
//!
//! Runs in the body callback at end of stream, while the request headers are still held
//! (the headers callback paused them), so header changes still reach the upstream.
//! Content-Length: set to the new body's length here; Envoy forwards the held headers
//! after this callback returns, so the upstream sees the new length (measured with Envoy
//! 1.40, see docs/filter.md).
//!
//! Order: the three headers' current values are read, the headers set, and only then the
//! body replaced. If a header cannot be set, the body is untouched and the headers already
//! set are put back; if the body cannot be replaced (Envoy refuses a `set_buffer` it cannot
//! apply), all three are put back. Either way the caller gets an error with the request as
//! it came (2.0 headers, 2.0 body) and sends it as sent. Only if putting the headers back
//! fails too (a header map that just worked refusing writes, which Envoy never does) could
//! the upstream see 1.0 headers with the 2.0 body; the error says so.
//!
//! Invariant: no panic; every host failure is returned as an error for the caller to log.

use proxy_wasm::types::{BufferType, MapType};
use prw_core::edge::Bridged;

use crate::host::{self, HostError};

const HEADERS: MapType = MapType::HttpRequestHeaders;

/// The headers a converted request changes.
const CHANGED: [&str; 3] = [
    "content-type",
    "x-prometheus-remote-write-version",
    "content-length",
];

/// Replaces the request body (`body_size` buffered bytes) and headers by `bridged`'s.
pub fn send_converted(bridged: &Bridged, body_size: usize) -> Result<(), String> {
    let mut originals = Vec::with_capacity(CHANGED.len());
    for name in CHANGED {
        let value = host::get_map_value(HEADERS, name)
            .map_err(|e| format!("reading {name}: {e} (nothing changed)"))?;
        originals.push((name, value));
    }
    let length = bridged.body.len().to_string();
    let values = [bridged.content_type, bridged.version, length.as_str()];
    for (done, (name, value)) in CHANGED.iter().zip(values).enumerate() {
        if let Err(e) = host::set_map_value(HEADERS, name, value.as_bytes()) {
            let restored = restore(originals.get(..done).unwrap_or_default());
            return Err(format!("setting {name}: {e} (body untouched; {restored})"));
        }
    }
    // start 0: Envoy drains `body_size` bytes and prepends the new body (Buffer::copyFrom).
    host::set_buffer(BufferType::HttpRequestBody, 0, body_size, &bridged.body).map_err(|e| {
        let restored = restore(&originals);
        format!("replacing the body: {e} (body untouched; {restored})")
    })
}

/// Puts `originals` back (a header that was absent is removed); says how that went.
fn restore(originals: &[(&str, Option<Vec<u8>>)]) -> String {
    let failed: Vec<String> = originals
        .iter()
        .filter_map(|(name, value)| {
            let result: Result<(), HostError> = match value {
                Some(v) => host::set_map_value(HEADERS, name, v),
                None => host::remove_map_value(HEADERS, name),
            };
            result.err().map(|e| format!("{name}: {e}"))
        })
        .collect();
    if failed.is_empty() {
        String::from("headers put back")
    } else {
        format!(
            "putting the headers back failed too ({}): the upstream may get 1.0 headers with the 2.0 body",
            failed.join(", ")
        )
    }
}
