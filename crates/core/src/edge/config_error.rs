//! Why a configuration value was refused: [`ConfigError`] (the field's path) and
//! [`ConfigProblem`] (what is wrong with it).
//!
//! Its own module so that `config` (the top level) and `tenants` (the `tenants` section),
//! which both produce these errors, each import it instead of each other: arrows point from
//! both to here, and `config` -> `tenants` only.
//!
//! Invariant: the message always names the field (`invalid config field `FIELD`: ...`).

use alloc::string::String;

/// What is wrong with a config value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// A list that must not be empty is empty.
    #[error("must not be empty")]
    Empty,
    /// A write path does not start with `/`.
    #[error("path {0:?} must start with '/'")]
    RelativePath(String),
    /// `missing_tenant_status` is not 400 or 401.
    #[error("{0} is not 400 or 401")]
    TenantStatus(u16),
    /// A status is outside 100-599.
    #[error("status {0} is outside 100-599")]
    Status(u16),
    /// The tenant header name is empty or not a valid header token.
    #[error("{0:?} is not a valid header name")]
    HeaderName(String),
    /// A limit is zero.
    #[error("must be greater than 0")]
    Zero,
    /// A number is zero, negative or not finite.
    #[error("must be a number greater than 0")]
    NotPositive,
    /// A rate rounds to 0 at the bucket's resolution.
    #[error("must be at least 0.001 per second")]
    RateTooSmall,
    /// A field that needs another one.
    #[error("must be set together with {0}")]
    Requires(&'static str),
    /// A field that only means something with another setting.
    #[error("only applies with {0}")]
    OnlyWith(&'static str),
    /// An override is not named by a valid tenant id.
    #[error(
        "{0:?} is not a tenant id (1-150 bytes of A-Z a-z 0-9 ! - _ . * ' ( ), not \".\", \"..\" or \"other\")"
    )]
    TenantId(String),
}

/// A config value that cannot work; names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid config field `{field}`: {problem}")]
pub struct ConfigError {
    /// The field's path, such as `limits.max_series` or `tenants.overrides.t1.ingestion_rate`.
    pub field: String,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

impl ConfigError {
    /// The error for `field`.
    pub fn new(field: impl Into<String>, problem: ConfigProblem) -> ConfigError {
        ConfigError {
            field: field.into(),
            problem,
        }
    }
}
