//! The proxy-wasm ABI calls the filter makes, each returning whatever status the host
//! answers as an error: nothing here panics on a host answer.
//!
//! Why not `proxy_wasm::hostcalls` (SDK 0.2.5): every one of its calls `panic!`s on a status
//! it does not expect (`set_buffer` on the `BadArgument` Envoy answers for a `start`/`size`
//! it will not replace, `set_map_value` and `get_map_bytes` on the `BadArgument` for a
//! header map that is gone, `get_map_bytes`, `get_shared_data` and `define_metric` on the
//! `InvalidMemoryAccess` of a VM that cannot allocate the answer, ...), and its imports
//! return the SDK's `Status` enum, which lacks some codes the ABI defines (6, 9, 11, 12), so
//! such an answer is undefined behaviour before it is a panic. A panic traps the VM, and
//! Envoy then fails every later request of that worker. Here each import returns a plain
//! `u32`, every code but 0 (and `NotFound` where it means "absent") is an `Err`, and the
//! caller decides (the filter fails open per request).
//!
//! Safety: this module holds the crate's only `unsafe` code (the crate denies it elsewhere).
//! Each call passes pointers to live Rust data with their exact lengths, and out-pointers to
//! locals that outlive the call. Memory the host hands back was allocated by the SDK's
//! exported `proxy_on_memory_allocate` (a boxed `[u8]` of exactly the size the host
//! reports) and is taken over as a `Vec<u8>` of that length and capacity, as the SDK does.
#![allow(unsafe_code)]

mod pairs;

use std::fmt;
use std::ptr::{null, null_mut};

use proxy_wasm::types::{BufferType, MapType, MetricType};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key: *const u8, key_size: usize) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_get_shared_data(
        key: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
}

/// The ABI's `Ok`.
const OK: u32 = 0;
/// The ABI's `NotFound`.
const NOT_FOUND: u32 = 1;
/// The ABI's `CasMismatch`.
pub const CAS_MISMATCH: u32 = 8;

/// Why a host call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The host answered this status (never 0).
    Status(u32),
    /// The host's header map did not add up.
    MalformedMap,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Status(code) => {
                // The proxy-wasm 0.2.1 ABI's names.
                let name = match code {
                    1 => "NotFound",
                    2 => "BadArgument",
                    3 => "SerializationFailure",
                    4 => "ParseFailure",
                    5 => "BadExpression",
                    6 => "InvalidMemoryAccess",
                    7 => "Empty",
                    8 => "CasMismatch",
                    9 => "ResultMismatch",
                    10 => "InternalFailure",
                    11 => "BrokenConnection",
                    12 => "Unimplemented",
                    _ => "unknown",
                };
                write!(f, "host status {code} ({name})")
            }
            HostError::MalformedMap => f.write_str("malformed header map from the host"),
        }
    }
}

/// `Ok(())` for status 0, else the status.
fn check(status: u32) -> Result<(), HostError> {
    if status == OK {
        Ok(())
    } else {
        Err(HostError::Status(status))
    }
}

/// Takes over `size` bytes the host allocated at `data` (`None` for a null pointer).
fn take(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        return None;
    }
    // SAFETY: the host allocated `data` through the SDK's `proxy_on_memory_allocate(size)`,
    // a `Box<[u8]>` of exactly `size` bytes with the global allocator, and gave up its
    // ownership by returning it; nothing else refers to it.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// A call that answers with host-allocated bytes: `Ok(None)` for `NotFound` or nothing.
fn bytes_out(
    call: impl FnOnce(*mut *mut u8, *mut usize) -> u32,
) -> Result<Option<Vec<u8>>, HostError> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    match call(&mut data, &mut size) {
        OK => Ok(take(data, size)),
        NOT_FOUND => Ok(None),
        status => Err(HostError::Status(status)),
    }
}

/// Up to `max_size` bytes of a buffer from `start` (`None`: no such buffer or empty).
pub fn get_buffer(
    buffer: BufferType,
    start: usize,
    max_size: usize,
) -> Result<Option<Vec<u8>>, HostError> {
    // SAFETY: out-pointers to locals of `bytes_out`.
    bytes_out(|data, size| unsafe {
        proxy_get_buffer_bytes(buffer as u32, start, max_size, data, size)
    })
}

/// Replaces `size` bytes of a buffer from `start` by `value`.
pub fn set_buffer(
    buffer: BufferType,
    start: usize,
    size: usize,
    value: &[u8],
) -> Result<(), HostError> {
    // SAFETY: `value` is live for the call, with its length.
    check(unsafe {
        proxy_set_buffer_bytes(buffer as u32, start, size, value.as_ptr(), value.len())
    })
}

/// Every header of a map, values as bytes.
pub fn get_map(map: MapType) -> Result<Vec<(String, Vec<u8>)>, HostError> {
    // SAFETY: out-pointers to locals of `bytes_out`.
    let bytes =
        bytes_out(|data, size| unsafe { proxy_get_header_map_pairs(map as u32, data, size) })?;
    pairs::read_map(bytes.as_deref().unwrap_or_default()).ok_or(HostError::MalformedMap)
}

/// One header's value (`None`: absent).
pub fn get_map_value(map: MapType, name: &str) -> Result<Option<Vec<u8>>, HostError> {
    // SAFETY: `name` is live for the call; out-pointers to locals of `bytes_out`.
    bytes_out(|data, size| unsafe {
        proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), data, size)
    })
}

/// Sets a header, replacing any value it had.
pub fn set_map_value(map: MapType, name: &str, value: &[u8]) -> Result<(), HostError> {
    // SAFETY: `name` and `value` are live for the call, with their lengths.
    check(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Removes a header.
pub fn remove_map_value(map: MapType, name: &str) -> Result<(), HostError> {
    // SAFETY: `name` is live for the call, with its length.
    check(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// Answers the request locally with `status`, `headers` and `body`.
pub fn send_http_response(
    status: u32,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), HostError> {
    let headers = pairs::write_map(headers);
    // SAFETY: `body` and `headers` are live for the call, with their lengths; no details.
    check(unsafe {
        proxy_send_local_response(
            status,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// A property such as `["request", "method"]` (`None`: absent).
pub fn get_property(path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
    let path = pairs::write_path(path);
    // SAFETY: `path` is live for the call; out-pointers to locals of `bytes_out`.
    bytes_out(|data, size| unsafe { proxy_get_property(path.as_ptr(), path.len(), data, size) })
}

/// Defines a metric, returning its id.
pub fn define_metric(kind: MetricType, name: &str) -> Result<u32, HostError> {
    let mut id: u32 = 0;
    // SAFETY: `name` is live for the call; `id` is a local.
    check(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds `offset` to a counter.
pub fn increment_metric(id: u32, offset: i64) -> Result<(), HostError> {
    // SAFETY: no pointers.
    check(unsafe { proxy_increment_metric(id, offset) })
}

/// Records one histogram value.
pub fn record_metric(id: u32, value: u64) -> Result<(), HostError> {
    // SAFETY: no pointers.
    check(unsafe { proxy_record_metric(id, value) })
}

/// Envoy's clock, in nanoseconds since the Unix epoch.
pub fn current_time_ns() -> Result<u64, HostError> {
    let mut ns: u64 = 0;
    // SAFETY: `ns` is a local.
    check(unsafe { proxy_get_current_time_nanoseconds(&mut ns) })?;
    Ok(ns)
}

/// A shared-data value and its CAS token (`(None, 0)`: no such key).
pub fn get_shared_data(key: &str) -> Result<(Option<Vec<u8>>, u32), HostError> {
    let mut cas: u32 = 0;
    let cas_out: *mut u32 = &mut cas;
    // SAFETY: `key` is live for the call; out-pointers to locals (`cas` outlives the call).
    let value = bytes_out(|data, size| unsafe {
        proxy_get_shared_data(key.as_ptr(), key.len(), data, size, cas_out)
    })?;
    Ok((value, cas))
}

/// Sets a shared-data value if its CAS token is still `cas` (0: unconditionally);
/// `Err(HostError::Status(CAS_MISMATCH))` when another writer came first.
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), HostError> {
    // SAFETY: `key` and `value` are live for the call, with their lengths.
    check(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}
