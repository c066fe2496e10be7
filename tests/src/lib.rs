//! prw-e2e: support for end-to-end tests shared by every suite.
//!
//! - [`receiver`]: the workspace's one scriptable Remote Write test receiver (null,
//!   recording, fault-injecting, decoding), also available as the `prw-test-receiver` binary.
//! - [`client`]: a minimal HTTP/1.1 client (one request per connection).
//! - [`envoy`]: find, configure, start and stop a real Envoy (Drop guard) for tests.
//! - [`cluster`]: three relays behind Envoy with `envoy/cluster*.yaml`; which relay a
//!   stream lands on.
//! - [`forwarder`]: a TCP forwarder connecting from a chosen 127.0.0.K (one address per
//!   simulated sender host).
//! - [`payload`]: building v1/v2 bodies.
//! - [`tools`]: finding external tools and artifacts (`CI=true` makes a missing one fail).
//! - [`child`]: a supervised child process (log file, SIGKILL/SIGTERM, restart, Drop kills).
//! - [`relay`]: `prw relay` as a process (restart on the same address and WAL).
//! - [`prometheus`], [`victoria`]: real Prometheus 2.42 (sender or receiver) and
//!   VictoriaMetrics, and the (series, timestamp) pairs they hold.
//! - [`target`]: a scrape target with thousands of generated series.
//! - [`tls`]: self-signed identities for HTTPS test servers (the receiver's `with_tls`).
//! - [`proxy`]: a recording HTTP forward proxy (absolute form and `CONNECT`).
//! - [`pairs`]: (series, timestamp) pair sets and their comparison.
//! - [`receivers`]: a Prometheus and a VictoriaMetrics receiver waited on together.
//! - [`http`], [`url`]: blocking HTTP for process APIs; query-string encoding.
//! - [`load`]: a load generator remembering acknowledged pairs.
//! - [`wait`]: bounded polling with clear failure messages.
//! - [`files`]: a directory's files, sizes and times (to show it was left untouched).

pub mod child;
pub mod client;
pub mod cluster;
pub mod envoy;
pub mod files;
pub mod forwarder;
pub mod http;
pub mod load;
pub mod pairs;
pub mod payload;
pub mod prometheus;
pub mod proxy;
pub mod receiver;
pub mod receivers;
pub mod relay;
pub mod target;
pub mod tls;
pub mod tools;
pub mod url;
pub mod victoria;
pub mod wait;
