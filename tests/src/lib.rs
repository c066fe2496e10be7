//! prw-e2e: support for end-to-end tests shared by every suite.
//!
//! - [`receiver`]: the workspace's one scriptable Remote Write test receiver (null,
//!   recording, fault-injecting, decoding), also available as the `prw-test-receiver` binary.
//! - [`client`]: a minimal HTTP/1.1 client (one request per connection).
//! - [`envoy`]: find, configure, start and stop a real Envoy (Drop guard) for tests.
//! - [`payload`]: building v1/v2 bodies.
//! - [`tools`]: finding external tools and artifacts (`CI=true` makes a missing one fail).

pub mod client;
pub mod envoy;
pub mod payload;
pub mod receiver;
pub mod tools;
