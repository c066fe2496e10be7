//! prw-devkit: the few pieces that both `cargo xtask` (which keeps zero heavy dependencies)
//! and the e2e suites (`prw-e2e`) need, so neither keeps a copy of the other's:
//!
//! - [`prom_text`]: sums over the Prometheus text format (a relay's `/metrics`, Envoy's
//!   `/stats/prometheus`).
//! - [`envoy_template`]: rendering the shipped `envoy/*.yaml` templates with other ports, relay
//!   lists and filter paths.
//! - [`routing`]: which relay a probe write landed on, and one candidate (tenant, sender
//!   address) per relay.
//!
//! Invariants: std only, no dependencies, no I/O (callers do the HTTP and the files).
#![forbid(unsafe_code)]

pub mod envoy_template;
pub mod prom_text;
pub mod routing;
