//! prw-relay: receive Remote Write, persist it in the WAL, fan it out to N destinations.
//!
//! - [`config`]: the YAML configuration (Prometheus's `remote_write` stanza unchanged, plus
//!   the relay's `listen`, `wal`, `limits`, `forward_headers`), validated in one place;
//! - [`relabel`]: `write_relabel_configs` with Prometheus semantics;
//! - [`server`]: the hyper 1 HTTP server (routes, listener auth, TLS, graceful shutdown)
//!   dispatching write requests to an [`server::Ingest`] implementation;
//! - [`record`]: the WAL record (one accepted request as stored);
//! - [`queue`]: per-destination shards, batching, acknowledgement watermarks, resharding;
//! - [`send`]: encoding, the HTTP transport, retries with backoff and `Retry-After`;
//! - [`ingest`]: the receive path (check order, validation, durable append to the WAL);
//! - [`wal_setup`]: opening the WAL from the config, one cursor per destination;
//! - [`delivery`]: per destination, WAL reader -> queue items -> [`queue`] -> [`send`], cursor
//!   commits, progress files, reload and shutdown.
//!
//! Crate features: none.

pub mod config;
pub mod delivery;
pub mod ingest;
pub mod queue;
pub mod record;
pub mod relabel;
pub mod send;
pub mod server;
pub mod wal_setup;
