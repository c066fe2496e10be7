//! `limits:` what one request may contain. Read with byte-size syntax (`32MiB`) and validated
//! here (every limit above 0), then handed on as [`prw_core::Limits`].

use serde::Deserialize;

use super::byte_size::ByteSize;
use super::error::{ConfigError, KeyPath};

/// `limits` as written. Defaults are DESIGN.md's Mimir-like core limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Compressed body cap. Default: 32MiB.
    pub max_body_bytes: ByteSize,
    /// Declared decoded size cap. Default: 64MiB.
    pub max_decoded_bytes: ByteSize,
    /// Series per request. Default: 100000.
    pub max_series: u64,
    /// Labels per series. Default: 30.
    pub max_labels_per_series: u64,
    /// Label name length. Default: 1024.
    pub max_label_name_bytes: u64,
    /// Label value length. Default: 2048.
    pub max_label_value_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: ByteSize(32 << 20),
            max_decoded_bytes: ByteSize(64 << 20),
            max_series: 100_000,
            max_labels_per_series: 30,
            max_label_name_bytes: 1_024,
            max_label_value_bytes: 2_048,
        }
    }
}

/// Validated limits: prw-core's, so the relay enforces exactly what core validates.
pub use prw_core::Limits;

fn positive(path: &KeyPath, key: &str, value: u64) -> Result<usize, ConfigError> {
    let path = path.key(key);
    if value == 0 {
        return Err(path.invalid("must be greater than 0"));
    }
    usize::try_from(value)
        .map_err(|_| path.invalid_value("limit that fits in memory", value.to_string()))
}

impl LimitsConfig {
    /// Every limit must be above 0 and fit in memory.
    pub fn build(&self, path: &KeyPath) -> Result<Limits, ConfigError> {
        Ok(Limits {
            max_body_bytes: positive(path, "max_body_bytes", self.max_body_bytes.0)?,
            max_decoded_bytes: positive(path, "max_decoded_bytes", self.max_decoded_bytes.0)?,
            max_series: positive(path, "max_series", self.max_series)?,
            max_labels_per_series: positive(
                path,
                "max_labels_per_series",
                self.max_labels_per_series,
            )?,
            max_label_name_bytes: positive(
                path,
                "max_label_name_bytes",
                self.max_label_name_bytes,
            )?,
            max_label_value_bytes: positive(
                path,
                "max_label_value_bytes",
                self.max_label_value_bytes,
            )?,
        })
    }
}
