//! prw-relay: receive Remote Write, persist it in the WAL, fan it out to N destinations.
//!
//! This crate currently holds the parts of the relay that do not depend on prw-core or
//! prw-wal:
//! - [`config`]: the YAML configuration (Prometheus's `remote_write` stanza unchanged, plus
//!   the relay's `listen`, `wal`, `limits`, `forward_headers`), validated in one place;
//! - [`relabel`]: `write_relabel_configs` with Prometheus semantics;
//! - [`server`]: the hyper 1 HTTP server (routes, listener auth, TLS, graceful shutdown)
//!   dispatching write requests to an [`server::Ingest`] implementation.
//!
//! Crate features: none.

pub mod config;
pub mod delivery;
pub mod queue;
pub mod record;
pub mod relabel;
pub mod send;
pub mod server;
pub mod wal_setup;
