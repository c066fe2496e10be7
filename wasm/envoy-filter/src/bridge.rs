//! Sending a converted request upstream (`upstream_protocol: v1`): the buffered 2.0 body is
//! replaced by the 1.0 body and the headers are made to match.
//!
//! Runs in the body callback at end of stream, while the request headers are still held
//! (the headers callback paused them), so header changes still reach the upstream.
//! Content-Length: set to the new body's length here; Envoy forwards the held headers
//! after this callback returns, so the upstream sees the new length (measured with Envoy
//! 1.40, see docs/filter.md). Invariant: no panic; a failed host call is returned as an
//! error for the caller to answer.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};
use prw_core::edge::Bridged;

/// Replaces the request body (`body_size` buffered bytes) and headers by `bridged`'s.
pub fn send_converted(bridged: &Bridged, body_size: usize) -> Result<(), String> {
    // start 0: Envoy drains `body_size` bytes and prepends the new body (Buffer::copyFrom).
    hostcalls::set_buffer(BufferType::HttpRequestBody, 0, body_size, &bridged.body)
        .map_err(|status| format!("replacing the body: {status:?}"))?;
    let length = bridged.body.len().to_string();
    let headers = [
        ("content-type", bridged.content_type),
        ("x-prometheus-remote-write-version", bridged.version),
        ("content-length", length.as_str()),
    ];
    for (name, value) in headers {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
            .map_err(|status| format!("setting {name}: {status:?}"))?;
    }
    Ok(())
}
