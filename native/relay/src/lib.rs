//! prw-relay: receive Remote Write, persist it in the WAL, fan it out to N destinations.
//!
//! Modules, bottom to top; a module imports only modules on lower lines (none imports its
//! caller):
//!
//! 1. [`record`] (the WAL record: one accepted request as stored, and decoded once),
//!    [`relabel`] (`write_relabel_configs` with Prometheus semantics) and [`environment`]
//!    (environment variables as a value): no other module of the crate;
//! 2. [`clock`]: the wall clock (one trait for the whole crate); [`tail`]: the decoded
//!    records ingest hands to delivery in memory (uses [`record`]);
//! 3. [`send`]: one batch to one destination: batch items, encoding, request headers (the one
//!    table of reserved headers), the HTTP transport (TLS, proxies, redirects), request
//!    decorators (SigV4, OAuth2), retries with backoff and `Retry-After`, metrics;
//! 4. [`config`]: the YAML configuration (Prometheus's `remote_write` stanza unchanged, plus
//!    the relay's `listen`, `wal`, `limits`, `forward_headers`, `tail`), validated in one
//!    place into the runtime types of [`send`] and [`relabel`]; above it [`capture`], the
//!    bounded store of what the relay refused (rejected requests, refused batches;
//!    credentials removed; `prw_capture_*`), which imports only config and clock, so the
//!    server can serve it;
//! 5. [`handler`]: the [`handler::Ingest`] and [`handler::Reload`] traits the server calls and
//!    the pipeline implements;
//! 6. [`queue`]: per-destination shards, batching, acknowledgement watermarks, resharding
//!    (uses [`send`]);
//! 7. [`wal_setup`]: opening the WAL from the config, one cursor per destination;
//! 8. the top, three modules that do not import each other: [`ingest`] (the receive path:
//!    check order, validation, durable append to the WAL), [`server`] (the hyper 1 HTTP
//!    server: routes, listener auth, TLS, graceful shutdown) and [`delivery`] (per
//!    destination, WAL reader -> queue items -> [`queue`] -> [`send`], cursor commits,
//!    progress files, reload and shutdown);
//! 9. above everything: [`capture_observers`], the ingest and send hooks that feed
//!    [`capture`] (only the binary that assembles the relay imports it).
//!
//! Crate features: `test-util` compiles the test doubles of the send side
//! (`send::scripted`, `clock::TokioClock`, `DestinationMetrics::unregistered`) for other
//! crates' tests; nothing else, and never needed at run time.

pub mod capture;
pub mod capture_observers;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod environment;
pub mod handler;
pub mod ingest;
pub mod queue;
pub mod record;
pub mod relabel;
pub mod send;
pub mod server;
pub mod tail;
pub mod wal_setup;
