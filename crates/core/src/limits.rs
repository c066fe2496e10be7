//! Receiver-side limits (Mimir-like defaults), deserializable from config.
//!
//! Body sizes are enforced by [`crate::codec`] (413); the per-series limits are validation
//! rules (`limits.*`, severity error) so they appear as findings with a location.

use serde::Deserialize;

/// Default maximum compressed body: 32 MiB (Prometheus' and VictoriaMetrics' cap).
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;
/// Default maximum decoded (decompressed) body: 64 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 << 20;
/// Default maximum number of series per request: 100,000.
pub const DEFAULT_MAX_SERIES: usize = 100_000;
/// Default maximum labels per series: 30 (Mimir's default).
pub const DEFAULT_MAX_LABELS_PER_SERIES: usize = 30;
/// Default maximum label name length: 1,024 bytes.
pub const DEFAULT_MAX_LABEL_NAME_BYTES: usize = 1024;
/// Default maximum label value length: 2,048 bytes.
pub const DEFAULT_MAX_LABEL_VALUE_BYTES: usize = 2048;

/// Configurable limits. Unknown fields are rejected; missing fields take their default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Maximum compressed body size in bytes (413 above). Default: 32 MiB.
    pub max_body_bytes: usize,
    /// Maximum decoded size in bytes, checked against the snappy preamble before allocating
    /// (413 above). Default: 64 MiB.
    pub max_decoded_bytes: usize,
    /// Maximum series per request (rule `limits.series`). Default: 100,000.
    pub max_series: usize,
    /// Maximum labels per series (rule `limits.labels_per_series`). Default: 30.
    pub max_labels_per_series: usize,
    /// Maximum label name length in bytes (rule `limits.label_name_length`). Default: 1,024.
    pub max_label_name_bytes: usize,
    /// Maximum label value length in bytes (rule `limits.label_value_length`). Default: 2,048.
    pub max_label_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_series: DEFAULT_MAX_SERIES,
            max_labels_per_series: DEFAULT_MAX_LABELS_PER_SERIES,
            max_label_name_bytes: DEFAULT_MAX_LABEL_NAME_BYTES,
            max_label_value_bytes: DEFAULT_MAX_LABEL_VALUE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_defaults() {
        let limits: Limits = serde_json::from_str(r#"{"max_series": 5}"#).unwrap();
        assert_eq!(limits.max_series, 5);
        assert_eq!(limits.max_body_bytes, 32 << 20);
        assert_eq!(limits.max_labels_per_series, 30);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_str::<Limits>(r#"{"max_serie": 5}"#).is_err());
    }
}
