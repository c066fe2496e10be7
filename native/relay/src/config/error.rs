//! The one error type of configuration loading: every refusal names the key path
//! (`remote_write[1].queue_config.min_shards`) and, when the YAML parser knows it, the
//! line and column. Warnings (keys accepted and ignored) carry the same path.

use std::fmt;

/// A line and column in the configuration file, both 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A configuration that cannot be used. `path` is the key path inside the document
/// (`.` for the document itself, the file name for a read error).
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// Key path, e.g. `remote_write[1].queue_config.min_shards`.
    pub path: String,
    /// Where in the file, when the YAML parser reported it.
    pub location: Option<Location>,
    /// What is wrong.
    #[source]
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file cannot be read.
    #[error("cannot read the configuration file")]
    Read(#[source] std::io::Error),
    /// The YAML is malformed, a value has the wrong type, or a key is unknown (the message
    /// is the parser's: it names the key and lists the ones expected).
    #[error("{0}")]
    Syntax(String),
    /// A key (or value) Prometheus knows that the relay refuses, with the reason
    /// (`config::refused::REFUSED`).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// A value that breaks a validation rule.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// A value that breaks a validation rule, with the offending value.
    #[error("invalid {what}: {value:?}")]
    InvalidValue {
        /// What the value should have been.
        what: &'static str,
        /// The value as written.
        value: String,
    },
    /// Two destinations have the same name.
    #[error("duplicate destination name {0:?}")]
    DuplicateName(String),
    /// A relabel `regex` does not compile.
    #[error("invalid regex")]
    Regex(#[source] regex::Error),
    /// A file the key names (certificate, key, credentials) cannot be read.
    #[error("cannot read {}", .0.display())]
    File(std::path::PathBuf, #[source] std::io::Error),
    /// A value that breaks a validation rule, with the reason found at load (TLS material,
    /// credentials) in words.
    #[error("invalid: {0}")]
    Unusable(String),
}

impl ConfigError {
    /// Builds an error at `path` without a location.
    pub fn at(path: impl Into<String>, kind: ConfigErrorKind) -> Self {
        Self {
            path: path.into(),
            location: None,
            kind,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)?;
        if let ConfigErrorKind::Regex(err) = &self.kind {
            write!(f, ": {err}")?;
        }
        if let ConfigErrorKind::Read(err) | ConfigErrorKind::File(_, err) = &self.kind {
            write!(f, ": {err}")?;
        }
        if let Some(Location { line, column }) = self.location {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

/// A key that was accepted but has no effect in the relay; logged at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Key path, e.g. `remote_write[0].metadata_config`.
    pub path: String,
    /// Why it is ignored.
    pub reason: &'static str,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: accepted and ignored: {}", self.path, self.reason)
    }
}

/// Builds key paths while walking the configuration (`remote_write[1].queue_config`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(String);

impl KeyPath {
    /// The document root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// `self.key`.
    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_owned())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    /// `self[index]`.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// An error at this path.
    pub fn error(&self, kind: ConfigErrorKind) -> ConfigError {
        ConfigError::at(self.to_string(), kind)
    }

    /// `Invalid(reason)` at this path.
    pub fn invalid(&self, reason: &'static str) -> ConfigError {
        self.error(ConfigErrorKind::Invalid(reason))
    }

    /// `Refused(reason)` at this path.
    pub fn refused(&self, reason: &'static str) -> ConfigError {
        self.error(ConfigErrorKind::Refused(reason))
    }

    /// The refusal `refusal` (from [`super::refused::REFUSED`]) of the key
    /// `refusal.leaf()` under this path.
    pub fn refuse(&self, refusal: &super::refused::Refusal) -> ConfigError {
        self.key(refusal.leaf()).refused(refusal.reason)
    }

    /// `InvalidValue` at this path.
    pub fn invalid_value(&self, what: &'static str, value: impl Into<String>) -> ConfigError {
        self.error(ConfigErrorKind::InvalidValue {
            what,
            value: value.into(),
        })
    }

    /// `Unusable(reason)` at this path.
    pub fn unusable(&self, reason: impl Into<String>) -> ConfigError {
        self.error(ConfigErrorKind::Unusable(reason.into()))
    }

    /// `File` at this path.
    pub fn file_error(&self, file: &std::path::Path, err: std::io::Error) -> ConfigError {
        self.error(ConfigErrorKind::File(file.to_path_buf(), err))
    }

    /// A warning at this path.
    pub fn warning(&self, reason: &'static str) -> ConfigWarning {
        ConfigWarning {
            path: self.to_string(),
            reason,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}
