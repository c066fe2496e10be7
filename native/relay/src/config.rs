//! The relay's YAML configuration: `XConfig` types are what serde reads (unknown keys are
//! errors), `X` types are the validated runtime values. All validation happens in
//! [`parse`]/[`load`], which return either a [`RelayConfig`] with the warnings for accepted
//! but ignored keys, or one [`ConfigError`] naming the key path (and line/column for parse
//! errors). Nothing downstream re-validates.
//!
//! Document shape (docs/relay-config.md has every key):
//! ```yaml
//! listen: {address: 127.0.0.1:9202, auth: {...}, tls: {...}}
//! wal: {dir: ./data/wal, segment_bytes: 64MiB, max_bytes: 10GiB, full_policy: block, sync: always}
//! limits: {max_body_bytes: 32MiB, ...}
//! forward_headers: [X-Scope-OrgID]
//! capture: {enabled: true, max_rejected: 100, max_refused: 100, max_bytes: 64MiB}
//! tail: {max_bytes: 8MiB}
//! remote_write:            # Prometheus's stanza, unchanged
//!   - url: http://mimir:9009/api/v1/push
//!     name: mimir
//! ```

pub mod byte_size;
pub mod capture;
pub mod duration;
pub mod error;
pub mod http_client;
pub mod limits;
pub mod listen;
pub mod listen_files;
pub mod name;
pub mod oauth2;
pub mod proxy;
pub mod queue;
pub mod refused;
pub mod relabel_config;
pub mod remote_write;
pub mod secret;
pub mod sigv4;
pub mod tail;
pub mod wal;

mod document;
mod locate;
mod summary;

#[cfg(test)]
mod tests;

pub use capture::{Capture, CaptureConfig, CaptureDecision};
pub use document::{Loaded, Overrides, RelayConfig, RelayConfigFile, load, parse, parse_with_env};
pub use duration::PromDuration;
pub use error::{ConfigError, ConfigErrorKind, ConfigWarning, KeyPath, Location};
pub use limits::{Limits, LimitsConfig};
pub use listen::{Listen, ListenAuth, ListenConfig, ListenTls};
pub use queue::{Queue, QueueConfig};
pub use relabel_config::RelabelConfig;
pub use remote_write::{Destination, NameSource, ProtobufMessage, RemoteWriteConfig, Start};
pub use tail::{Tail, TailConfig};
pub use wal::{FullPolicy, Recovery, Sync, Wal, WalConfig};
