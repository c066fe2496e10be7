//! prw-envoy-filter: a proxy-wasm HTTP filter that validates Prometheus Remote Write at the
//! edge, keeps the status codes senders see spec-correct, converts 2.0 requests to 1.0 for
//! 1.0-only receivers (`upstream_protocol: v1`) and enforces per-tenant ingestion limits
//! (`tenants`, token buckets in proxy-wasm shared data).
//!
//! This crate is a thin adapter: every decision is made by `prw_core::edge` (pure, tested
//! there); here we only move bytes between Envoy and those functions and count outcomes.
//!
//! Invariants:
//! - Nothing here panics on a host answer: every host call goes through [`host`], which
//!   calls the proxy-wasm imports itself and returns any status but `Ok` as an error. The
//!   SDK's `hostcalls` functions (which `panic!` on a status they do not expect, trapping the
//!   VM) and its trait convenience methods (which also `unwrap()`) are not used. The SDK
//!   still runs the entry points (`proxy_on_*`) and its logger.
//! - A failed host call is logged and the request continues untouched (fail open per
//!   request; a converted request whose body cannot be replaced goes upstream as it came,
//!   see [`bridge`]); a bad plugin config fails closed (`on_configure` returns false, Envoy
//!   refuses the config with a log line naming the field).
//! - Only POSTs to the configured write paths are examined; their headers are held back
//!   until the body is decided, so a rejected request never reaches the upstream.

mod bridge;
mod config;
mod host;
mod http;
mod metrics;
mod root;
mod store;

/// The module's entry point (`_initialize`, exported by the SDK's macro): logging and the
/// root context factory.
mod entry {
    proxy_wasm::main! {{
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
            Box::new(crate::root::Root::default())
        });
    }}
}
