//! Per-tenant ingestion limits: the `tenants` configuration, tenant ids, and which limits
//! and stats label a request's tenant gets.
//!
//! Invariants: an override's unset fields take the `default` set's values; a checked
//! config has a rate only together with a burst, every rate > 0 (at least 0.001/s), every
//! burst and `max_series_per_request` > 0, and override names that are valid tenant ids
//! other than [`OTHER_TENANTS`]; stats labels are bounded: an override's name or
//! [`OTHER_TENANTS`].

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

use serde::Deserialize;

use super::bucket::Rate;
use super::config_error::{ConfigError, ConfigProblem};

/// Default `tenants.max_tenants`.
pub const DEFAULT_MAX_TENANTS: usize = 10_000;
/// Default `tenants.header` when `tenant_header` is not set.
pub const DEFAULT_TENANT_HEADER: &str = "X-Scope-OrgID";
/// The tenant of a request without the tenants header (Mimir's name for it).
pub const ANONYMOUS_TENANT: &str = "anonymous";
/// The stats label of every tenant without an override.
pub const OTHER_TENANTS: &str = "other";
/// Longest tenant id (Mimir's limit).
pub const MAX_TENANT_ID_BYTES: usize = 150;

/// `tenants` in the plugin config.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantsConfig {
    /// The header naming the tenant. Default: `tenant_header` when set, else `X-Scope-OrgID`.
    pub header: Option<String>,
    /// Limits of every tenant without an override.
    pub default: LimitSet,
    /// Limits per tenant id, merged over `default` field by field.
    pub overrides: BTreeMap<String, LimitSet>,
    /// Most tenants (without an override) with a bucket of their own; beyond, they share one
    /// overflow bucket. Default 10,000.
    pub max_tenants: usize,
}

impl Default for TenantsConfig {
    fn default() -> Self {
        TenantsConfig {
            header: None,
            default: LimitSet::default(),
            overrides: BTreeMap::new(),
            max_tenants: DEFAULT_MAX_TENANTS,
        }
    }
}

/// One set of limits; every field optional (unset = no such limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSet {
    /// Samples + histograms per second (Mimir's `ingestion_rate`).
    pub ingestion_rate: Option<f64>,
    /// Bucket capacity in samples + histograms (Mimir's `ingestion_burst_size`); required
    /// with a rate.
    pub ingestion_burst_size: Option<u64>,
    /// Series per request.
    pub max_series_per_request: Option<u64>,
}

impl LimitSet {
    /// `self` with unset fields taken from `base`.
    pub fn over(&self, base: &LimitSet) -> LimitSet {
        LimitSet {
            ingestion_rate: self.ingestion_rate.or(base.ingestion_rate),
            ingestion_burst_size: self.ingestion_burst_size.or(base.ingestion_burst_size),
            max_series_per_request: self.max_series_per_request.or(base.max_series_per_request),
        }
    }

    /// The limits in force (after [`TenantsConfig::check`] a rate always has a burst).
    pub fn limits(&self) -> TenantLimits {
        TenantLimits {
            rate: match (self.ingestion_rate, self.ingestion_burst_size) {
                (Some(rate), Some(burst)) => Rate::new(rate, burst),
                _ => None,
            },
            max_series_per_request: self.max_series_per_request,
        }
    }

    fn check(&self, at: &str) -> Result<(), ConfigError> {
        let field = |name: &str| format!("{at}.{name}");
        if let Some(rate) = self.ingestion_rate {
            if !rate.is_finite() || rate <= 0.0 {
                return Err(ConfigError::new(
                    field("ingestion_rate"),
                    ConfigProblem::NotPositive,
                ));
            }
            if Rate::new(rate, 1).is_none() {
                return Err(ConfigError::new(
                    field("ingestion_rate"),
                    ConfigProblem::RateTooSmall,
                ));
            }
        }
        if self.ingestion_burst_size == Some(0) {
            return Err(ConfigError::new(
                field("ingestion_burst_size"),
                ConfigProblem::Zero,
            ));
        }
        if self.max_series_per_request == Some(0) {
            return Err(ConfigError::new(
                field("max_series_per_request"),
                ConfigProblem::Zero,
            ));
        }
        Ok(())
    }

    /// Rate and burst come together (checked on the merged set).
    fn check_pair(&self, at: &str) -> Result<(), ConfigError> {
        match (self.ingestion_rate, self.ingestion_burst_size) {
            (Some(_), None) => Err(ConfigError::new(
                format!("{at}.ingestion_burst_size"),
                ConfigProblem::Requires("ingestion_rate"),
            )),
            (None, Some(_)) => Err(ConfigError::new(
                format!("{at}.ingestion_rate"),
                ConfigProblem::Requires("ingestion_burst_size"),
            )),
            _ => Ok(()),
        }
    }
}

/// The limits that apply to one tenant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenantLimits {
    /// The token bucket, if the tenant has a rate.
    pub rate: Option<Rate>,
    /// Series per request, if limited.
    pub max_series_per_request: Option<u64>,
}

/// A request's tenant, resolved against the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedTenant<'a> {
    /// The tenant id ([`ANONYMOUS_TENANT`] without the header).
    pub id: &'a str,
    /// Its stats label: its override's name, or [`OTHER_TENANTS`].
    pub stats_label: &'a str,
    /// Whether it has an override (its own bucket, never the overflow one).
    pub overridden: bool,
    /// Its limits.
    pub limits: TenantLimits,
}

/// Whether `id` is a tenant id Mimir accepts: 1-150 bytes of `A-Z a-z 0-9 ! - _ . * ' ( )`,
/// not `.` or `..`.
pub fn is_valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TENANT_ID_BYTES
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!-_.*'()".contains(&b))
}

impl TenantsConfig {
    /// Checks every value; the error names the field (`tenants.overrides.<id>.<field>`).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_tenants == 0 {
            return Err(ConfigError::new("tenants.max_tenants", ConfigProblem::Zero));
        }
        self.default.check("tenants.default")?;
        self.default.check_pair("tenants.default")?;
        for (id, set) in &self.overrides {
            if !is_valid_tenant_id(id) || id == OTHER_TENANTS {
                return Err(ConfigError::new(
                    "tenants.overrides",
                    ConfigProblem::TenantId(id.clone()),
                ));
            }
            let at = format!("tenants.overrides.{id}");
            set.check(&at)?;
            set.over(&self.default).check_pair(&at)?;
        }
        Ok(())
    }

    /// The limits and stats label of `tenant` (`None`: the header was missing).
    pub fn resolve<'a>(&'a self, tenant: Option<&'a str>) -> ResolvedTenant<'a> {
        let id = tenant.unwrap_or(ANONYMOUS_TENANT);
        match self.overrides.get_key_value(id) {
            Some((name, set)) => ResolvedTenant {
                id,
                stats_label: name,
                overridden: true,
                limits: set.over(&self.default).limits(),
            },
            None => ResolvedTenant {
                id,
                stats_label: OTHER_TENANTS,
                overridden: false,
                limits: self.default.limits(),
            },
        }
    }

    /// Every stats label: the overrides' names and [`OTHER_TENANTS`].
    pub fn stats_labels(&self) -> impl Iterator<Item = &str> {
        self.overrides
            .keys()
            .map(String::as_str)
            .chain(core::iter::once(OTHER_TENANTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> TenantsConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn overrides_take_unset_fields_from_the_default() {
        let config = parse(
            r#"{"default": {"ingestion_rate": 100, "ingestion_burst_size": 1000, "max_series_per_request": 50},
                "overrides": {"big": {"ingestion_rate": 5000, "ingestion_burst_size": 50000}}}"#,
        );
        config.check().unwrap();
        let big = config.resolve(Some("big"));
        assert_eq!((big.stats_label, big.overridden), ("big", true));
        assert_eq!(big.limits.rate, Rate::new(5000.0, 50000));
        assert_eq!(big.limits.max_series_per_request, Some(50));
        let small = config.resolve(Some("someone"));
        assert_eq!((small.id, small.stats_label), ("someone", OTHER_TENANTS));
        assert_eq!(small.limits.rate, Rate::new(100.0, 1000));
        let anonymous = config.resolve(None);
        assert_eq!(anonymous.id, ANONYMOUS_TENANT);
        assert_eq!(
            config.stats_labels().collect::<alloc::vec::Vec<_>>(),
            ["big", "other"]
        );
    }

    #[test]
    fn an_empty_default_limits_nothing() {
        let config = parse("{}");
        config.check().unwrap();
        assert_eq!(config.resolve(Some("a")).limits, TenantLimits::default());
        assert_eq!(config.max_tenants, DEFAULT_MAX_TENANTS);
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            (
                r#"{"default": {"ingestion_rate": 0, "ingestion_burst_size": 1}}"#,
                "tenants.default.ingestion_rate",
            ),
            (
                r#"{"default": {"ingestion_rate": -5, "ingestion_burst_size": 1}}"#,
                "tenants.default.ingestion_rate",
            ),
            (
                r#"{"default": {"ingestion_rate": 0.0001, "ingestion_burst_size": 1}}"#,
                "tenants.default.ingestion_rate",
            ),
            (
                r#"{"default": {"ingestion_rate": 1, "ingestion_burst_size": 0}}"#,
                "tenants.default.ingestion_burst_size",
            ),
            (
                r#"{"default": {"ingestion_rate": 1}}"#,
                "tenants.default.ingestion_burst_size",
            ),
            (
                r#"{"overrides": {"t1": {"ingestion_burst_size": 5}}}"#,
                "tenants.overrides.t1.ingestion_rate",
            ),
            (
                r#"{"overrides": {"t1": {"max_series_per_request": 0}}}"#,
                "tenants.overrides.t1.max_series_per_request",
            ),
            (r#"{"overrides": {"bad id": {}}}"#, "tenants.overrides"),
            (r#"{"overrides": {"other": {}}}"#, "tenants.overrides"),
            (r#"{"max_tenants": 0}"#, "tenants.max_tenants"),
        ];
        for (json, field) in cases {
            let err = parse(json).check().unwrap_err();
            assert_eq!(err.field, field, "{json}");
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn negative_bursts_and_unknown_keys_do_not_parse() {
        let negative = serde_json::from_str::<TenantsConfig>(
            r#"{"default": {"ingestion_rate": 1, "ingestion_burst_size": -1}}"#,
        );
        assert!(negative.is_err());
        let unknown = serde_json::from_str::<TenantsConfig>(r#"{"default": {"ingestion_rat": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("ingestion_rat"), "{unknown}");
    }

    #[test]
    fn tenant_ids_follow_mimirs_rules() {
        for ok in ["t1", "team-a", "a.b", "x_(y)*'!"] {
            assert!(is_valid_tenant_id(ok), "{ok}");
        }
        let long = "a".repeat(151);
        for bad in ["", ".", "..", "a b", "a/b", "ä", long.as_str()] {
            assert!(!is_valid_tenant_id(bad), "{bad}");
        }
    }
}
