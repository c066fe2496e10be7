//! Plugin configuration: JSON bytes from Envoy -> a checked `EdgeConfig`.
//!
//! Invariant: every error names the field (serde_path_to_error gives the path of a type or
//! unknown-field error; `EdgeConfig::check` names semantic errors).

use prw_core::edge::{ConfigError, EdgeConfig};

/// Why the plugin configuration was refused.
#[derive(Debug)]
pub enum PluginConfigError {
    /// Not valid JSON, or a field of the wrong type or unknown.
    Parse(serde_path_to_error::Error<serde_json::Error>),
    /// A value that parses but cannot work.
    Check(ConfigError),
}

impl core::fmt::Display for PluginConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PluginConfigError::Parse(err) => {
                let path = err.path().to_string();
                if path == "." {
                    write!(f, "invalid config: {}", err.inner())
                } else {
                    write!(f, "invalid config field `{path}`: {}", err.inner())
                }
            }
            PluginConfigError::Check(err) => write!(f, "{err}"),
        }
    }
}

/// Parses and checks the plugin configuration; empty bytes (no configuration) mean `{}`.
pub fn parse(bytes: &[u8]) -> Result<EdgeConfig, PluginConfigError> {
    let config: EdgeConfig = if bytes.iter().all(u8::is_ascii_whitespace) {
        EdgeConfig::default()
    } else {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(PluginConfigError::Parse)?
    };
    config.check().map_err(PluginConfigError::Check)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        parse(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn empty_and_blank_configs_are_the_defaults() {
        assert_eq!(parse(b"").unwrap(), EdgeConfig::default());
        assert_eq!(parse(b" \n").unwrap(), EdgeConfig::default());
        assert_eq!(parse(b"{}").unwrap(), EdgeConfig::default());
    }

    #[test]
    fn type_errors_name_the_nested_field() {
        let err = error(r#"{"limits": {"max_series": "many"}}"#);
        assert!(err.contains("`limits.max_series`"), "{err}");
        let err = error(r#"{"mode": "loud"}"#);
        assert!(err.contains("`mode`"), "{err}");
    }

    #[test]
    fn unknown_fields_and_semantic_errors_name_the_field() {
        assert!(error(r#"{"tenant_heder": "x"}"#).contains("tenant_heder"));
        assert!(error(r#"{"missing_tenant_status": 403}"#).contains("`missing_tenant_status`"));
        assert!(error("not json").starts_with("invalid config"));
    }
}
