//! `tail:` the in-memory tail of decoded records ingest hands to the destinations
//! (`crate::tail`).
//!
//! ```yaml
//! tail:
//!   max_bytes: 8MiB    # 0: no tail, every destination reads the WAL back
//! ```

use serde::Deserialize;

use super::byte_size::ByteSize;
use super::error::{ConfigError, KeyPath};

/// `tail` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TailConfig {
    /// Bytes of decoded records (bodies and per-series facts) held for destinations that
    /// have not taken them yet. Default: 8MiB. `0` holds nothing.
    pub max_bytes: ByteSize,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            max_bytes: ByteSize(crate::tail::DEFAULT_MAX_BYTES as u64),
        }
    }
}

/// Validated tail settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    /// Cap in bytes.
    pub max_bytes: usize,
}

impl TailConfig {
    /// Validates the section.
    pub fn build(&self, path: &KeyPath) -> Result<Tail, ConfigError> {
        let max_bytes = usize::try_from(self.max_bytes.0)
            .map_err(|_| path.key("max_bytes").invalid("too large for this machine"))?;
        Ok(Tail { max_bytes })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Overrides, parse};

    #[test]
    fn tail_max_bytes_defaults_to_8_mib_and_reads_sizes() {
        let default = parse("", &Overrides::default()).unwrap();
        assert_eq!(default.config.tail.max_bytes, 8 << 20);
        let set = parse("tail:\n  max_bytes: 4MiB\n", &Overrides::default()).unwrap();
        assert_eq!(set.config.tail.max_bytes, 4 << 20);
        let err = parse("tail:\n  max_entries: 3\n", &Overrides::default()).unwrap_err();
        assert!(err.path.starts_with("tail"), "{err}");
    }
}
