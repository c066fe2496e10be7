//! The edge filter's configuration: JSON in Envoy's plugin config, every field optional.
//!
//! Invariants: `{}` is a valid config and gives the documented defaults; unknown fields are
//! rejected (by serde, naming the field); [`EdgeConfig::check`] rejects semantically bad
//! values with a [`ConfigError`] (module `config_error`) naming the field. Parsing JSON is the caller's job (core has
//! no serde_json); this module only derives `Deserialize`.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::config_error::{ConfigError, ConfigProblem};
use super::tenants::{DEFAULT_TENANT_HEADER, TenantsConfig};
use crate::convert::CustomBuckets;
use crate::{Limits, Protocol};

/// Default seconds put into an added `Retry-After` header.
pub const DEFAULT_RETRY_AFTER_SECONDS: u32 = 5;

/// Whether the filter rejects (enforce) or only counts and logs (observe).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Bad requests get a local reply and never reach the upstream.
    #[default]
    Enforce,
    /// Nothing is rejected: findings are counted and logged, every request goes upstream.
    Observe,
}

/// The Remote Write version the upstream is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamProtocol {
    /// Whatever the sender sent.
    #[default]
    AsSent,
    /// 1.0: a valid 2.0 request is converted (the bridge for 1.0-only receivers).
    V1,
}

/// Who produced a response: the upstream, or Envoy itself (a local reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RewriteSource {
    /// Either.
    Any,
    /// Only responses that came from the upstream.
    Upstream,
    /// Only Envoy's own local replies (timeouts, overflow, no healthy upstream...).
    Local,
}

/// A key of the `status_rewrites` map: `"408"` (any source), `"local:408"` or
/// `"upstream:409"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RewriteKey {
    /// Which responses the row applies to.
    pub source: RewriteSource,
    /// The status to match.
    pub status: u16,
}

/// Why a `status_rewrites` key cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "status_rewrites key {0:?} is not STATUS, local:STATUS or upstream:STATUS (STATUS 100-599)"
)]
pub struct RewriteKeyError(pub String);

impl FromStr for RewriteKey {
    type Err = RewriteKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (source, status) = match s.split_once(':') {
            Some(("local", rest)) => (RewriteSource::Local, rest),
            Some(("upstream", rest)) => (RewriteSource::Upstream, rest),
            Some(_) => return Err(RewriteKeyError(s.to_string())),
            None => (RewriteSource::Any, s),
        };
        match status.parse::<u16>() {
            Ok(status) if (100..=599).contains(&status) => Ok(RewriteKey { source, status }),
            _ => Err(RewriteKeyError(s.to_string())),
        }
    }
}

impl fmt::Display for RewriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            RewriteSource::Any => write!(f, "{}", self.status),
            RewriteSource::Upstream => write!(f, "upstream:{}", self.status),
            RewriteSource::Local => write!(f, "local:{}", self.status),
        }
    }
}

impl<'de> Deserialize<'de> for RewriteKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// The filter's configuration. See `docs/filter.md` for the reference.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Paths (exact, query string ignored) whose POSTs are examined.
    /// Default: `/api/v1/write`, `/api/v1/push`.
    pub write_paths: Vec<String>,
    /// Body, decoded-size and per-series limits (prw-core's Mimir-like defaults).
    pub limits: Limits,
    /// Samples older than `now - max_sample_age` get 400 at the edge (Prometheus answers 500
    /// to a too-old sample, which senders retry for ever). A duration such as `"2h"`,
    /// `"90m"`, `"1h30m"`. Default: off.
    #[serde(deserialize_with = "deserialize_age")]
    pub max_sample_age: Option<u64>,
    /// Enforce (reject) or observe (count and log only). Default: enforce.
    pub mode: Mode,
    /// A header every write must carry, such as `X-Scope-OrgID`. Default: none.
    pub tenant_header: Option<String>,
    /// Status for a missing tenant header: 401 or 400. Default: 401.
    pub missing_tenant_status: u16,
    /// Which schemas are let through; a request of another schema gets 415.
    /// Default: `["v1", "v2"]`.
    pub accepted_protocols: Vec<Protocol>,
    /// Response status rewrites, merged over the defaults (`{"local:408": 503}`). Map a
    /// status to itself to switch a default row off.
    pub status_rewrites: BTreeMap<RewriteKey, u16>,
    /// Statuses that get a `Retry-After` when the response has none. Default: 429, 503.
    pub retry_after_statuses: Vec<u16>,
    /// Seconds in an added `Retry-After`. Default: 5. 0 switches adding it off.
    pub default_retry_after_seconds: u32,
    /// `v1` converts valid 2.0 requests to 1.0 for the upstream. Default: `as_sent`.
    pub upstream_protocol: UpstreamProtocol,
    /// With `upstream_protocol: v1`: `keep` custom-bucket histograms (1.0's `custom_values`,
    /// Prometheus 3.x) or `drop` and count them (Prometheus 2.x). Default: `keep`.
    pub custom_bucket_histograms: CustomBuckets,
    /// Per-tenant ingestion limits. Default: none.
    pub tenants: Option<TenantsConfig>,
}

fn deserialize_age<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let raw: Option<String> = Option::deserialize(deserializer)?;
    match raw {
        None => Ok(None),
        Some(raw) => super::parse_duration_ms(&raw)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            write_paths: vec!["/api/v1/write".to_string(), "/api/v1/push".to_string()],
            limits: Limits::default(),
            max_sample_age: None,
            mode: Mode::Enforce,
            tenant_header: None,
            missing_tenant_status: 401,
            accepted_protocols: vec![Protocol::V1, Protocol::V2],
            status_rewrites: BTreeMap::new(),
            retry_after_statuses: vec![429, 503],
            default_retry_after_seconds: DEFAULT_RETRY_AFTER_SECONDS,
            upstream_protocol: UpstreamProtocol::AsSent,
            custom_bucket_histograms: CustomBuckets::Keep,
            tenants: None,
        }
    }
}

/// The default rewrite rows, before the config's own rows are merged over them.
pub fn default_status_rewrites() -> BTreeMap<RewriteKey, u16> {
    let mut rows = BTreeMap::new();
    // Envoy's own 408 (request timeout) is transient: senders drop 4xx, so make it 503.
    rows.insert(
        RewriteKey {
            source: RewriteSource::Local,
            status: 408,
        },
        503,
    );
    rows
}

fn fail(field: &'static str, problem: ConfigProblem) -> Result<(), ConfigError> {
    Err(ConfigError::new(field, problem))
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl EdgeConfig {
    /// Checks the values serde cannot: returns the first field that cannot work.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.write_paths.is_empty() {
            return fail("write_paths", ConfigProblem::Empty);
        }
        if let Some(path) = self.write_paths.iter().find(|p| !p.starts_with('/')) {
            return fail("write_paths", ConfigProblem::RelativePath(path.clone()));
        }
        let limits = [
            ("limits.max_body_bytes", self.limits.max_body_bytes),
            ("limits.max_decoded_bytes", self.limits.max_decoded_bytes),
            ("limits.max_series", self.limits.max_series),
            (
                "limits.max_labels_per_series",
                self.limits.max_labels_per_series,
            ),
            (
                "limits.max_label_name_bytes",
                self.limits.max_label_name_bytes,
            ),
            (
                "limits.max_label_value_bytes",
                self.limits.max_label_value_bytes,
            ),
        ];
        if let Some((field, _)) = limits.iter().find(|(_, v)| *v == 0) {
            return fail(field, ConfigProblem::Zero);
        }
        if self.max_sample_age == Some(0) {
            return fail("max_sample_age", ConfigProblem::Zero);
        }
        if let Some(name) = &self.tenant_header
            && !is_token(name)
        {
            return fail("tenant_header", ConfigProblem::HeaderName(name.clone()));
        }
        if !matches!(self.missing_tenant_status, 400 | 401) {
            return fail(
                "missing_tenant_status",
                ConfigProblem::TenantStatus(self.missing_tenant_status),
            );
        }
        if self.accepted_protocols.is_empty() {
            return fail("accepted_protocols", ConfigProblem::Empty);
        }
        if let Some(to) = self
            .status_rewrites
            .values()
            .find(|s| !(100..=599).contains(*s))
        {
            return fail("status_rewrites", ConfigProblem::Status(*to));
        }
        if let Some(s) = self
            .retry_after_statuses
            .iter()
            .find(|s| !(100..=599).contains(*s))
        {
            return fail("retry_after_statuses", ConfigProblem::Status(*s));
        }
        if self.custom_bucket_histograms == CustomBuckets::Drop
            && self.upstream_protocol != UpstreamProtocol::V1
        {
            return fail(
                "custom_bucket_histograms",
                ConfigProblem::OnlyWith("upstream_protocol: v1"),
            );
        }
        if let Some(tenants) = &self.tenants {
            if let Some(name) = &tenants.header
                && !is_token(name)
            {
                return fail("tenants.header", ConfigProblem::HeaderName(name.clone()));
            }
            tenants.check()?;
        }
        Ok(())
    }

    /// The header naming the tenant for `tenants` limits: `tenants.header`, else
    /// `tenant_header`, else `X-Scope-OrgID`; `None` without `tenants`.
    pub fn tenants_header(&self) -> Option<&str> {
        let tenants = self.tenants.as_ref()?;
        Some(
            tenants
                .header
                .as_deref()
                .or(self.tenant_header.as_deref())
                .unwrap_or(DEFAULT_TENANT_HEADER),
        )
    }

    /// The effective rewrite table: the defaults with the config's rows merged over them.
    pub fn effective_rewrites(&self) -> BTreeMap<RewriteKey, u16> {
        let mut rows = default_status_rewrites();
        rows.extend(self.status_rewrites.iter().map(|(k, v)| (*k, *v)));
        rows
    }

    /// Whether `path` (with or without a query string) is one of the write paths.
    pub fn is_write_path(&self, path: &str) -> bool {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        self.write_paths.iter().any(|p| p == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<EdgeConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn empty_object_is_the_default_config() {
        let config = parse("{}").unwrap();
        assert_eq!(config, EdgeConfig::default());
        config.check().unwrap();
        assert!(config.is_write_path("/api/v1/write"));
        assert!(config.is_write_path("/api/v1/push?tenant=a"));
        assert!(!config.is_write_path("/api/v1/query"));
    }

    #[test]
    fn every_field_can_be_set() {
        let config = parse(
            r#"{"write_paths": ["/receive"], "limits": {"max_series": 10},
                "max_sample_age": "1h30m", "mode": "observe", "tenant_header": "X-Scope-OrgID",
                "missing_tenant_status": 400, "accepted_protocols": ["v2"],
                "status_rewrites": {"upstream:409": 503, "local:408": 408},
                "retry_after_statuses": [429], "default_retry_after_seconds": 30,
                "upstream_protocol": "v1", "custom_bucket_histograms": "drop",
                "tenants": {"default": {"ingestion_rate": 10, "ingestion_burst_size": 100}}}"#,
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.upstream_protocol, UpstreamProtocol::V1);
        assert_eq!(config.custom_bucket_histograms, CustomBuckets::Drop);
        // tenants.header defaults to tenant_header.
        assert_eq!(config.tenants_header(), Some("X-Scope-OrgID"));
        assert_eq!(config.limits.max_series, 10);
        assert_eq!(config.max_sample_age, Some(90 * 60 * 1000));
        assert_eq!(config.mode, Mode::Observe);
        assert_eq!(config.accepted_protocols, vec![Protocol::V2]);
        let rows = config.effective_rewrites();
        assert_eq!(rows.get(&"upstream:409".parse().unwrap()), Some(&503));
        assert_eq!(rows.get(&"local:408".parse().unwrap()), Some(&408));
    }

    #[test]
    fn unknown_field_is_named_by_the_parse_error() {
        let err = parse(r#"{"tenant_heder": "x"}"#).unwrap_err().to_string();
        assert!(err.contains("tenant_heder"), "{err}");
    }

    #[test]
    fn bad_duration_and_bad_rewrite_key_are_parse_errors() {
        assert!(parse(r#"{"max_sample_age": "soon"}"#).is_err());
        assert!(parse(r#"{"status_rewrites": {"remote:500": 503}}"#).is_err());
        assert!(parse(r#"{"status_rewrites": {"local:999": 503}}"#).is_err());
    }

    #[test]
    fn check_names_the_bad_field() {
        let cases = [
            (r#"{"missing_tenant_status": 403}"#, "missing_tenant_status"),
            (r#"{"write_paths": []}"#, "write_paths"),
            (r#"{"write_paths": ["api"]}"#, "write_paths"),
            (r#"{"limits": {"max_series": 0}}"#, "limits.max_series"),
            (r#"{"tenant_header": "bad header"}"#, "tenant_header"),
            (r#"{"accepted_protocols": []}"#, "accepted_protocols"),
            (r#"{"status_rewrites": {"500": 700}}"#, "status_rewrites"),
            (r#"{"retry_after_statuses": [42]}"#, "retry_after_statuses"),
            (
                r#"{"custom_bucket_histograms": "drop"}"#,
                "custom_bucket_histograms",
            ),
            (r#"{"tenants": {"header": "a b"}}"#, "tenants.header"),
            (
                r#"{"tenants": {"default": {"ingestion_rate": -1, "ingestion_burst_size": 5}}}"#,
                "tenants.default.ingestion_rate",
            ),
        ];
        for (json, field) in cases {
            let err = parse(json).unwrap().check().unwrap_err();
            assert_eq!(err.field, field, "{json}");
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn the_tenants_header_is_tenants_header_then_tenant_header_then_x_scope_orgid() {
        assert_eq!(EdgeConfig::default().tenants_header(), None);
        let config = parse(r#"{"tenants": {}}"#).unwrap();
        assert_eq!(config.tenants_header(), Some("X-Scope-OrgID"));
        let config = parse(r#"{"tenant_header": "X-Tenant", "tenants": {}}"#).unwrap();
        assert_eq!(config.tenants_header(), Some("X-Tenant"));
        let config =
            parse(r#"{"tenant_header": "X-Tenant", "tenants": {"header": "X-Team"}}"#).unwrap();
        assert_eq!(config.tenants_header(), Some("X-Team"));
    }

    #[test]
    fn default_rewrite_table_turns_local_408_into_503_only() {
        let rows = EdgeConfig::default().effective_rewrites();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows.get(&RewriteKey {
                source: RewriteSource::Local,
                status: 408
            }),
            Some(&503)
        );
    }
}
