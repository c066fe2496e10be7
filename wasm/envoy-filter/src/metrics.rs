//! Counters and the body-size histogram, defined through proxy-wasm metrics.
//!
//! Invariants: the names are fixed (`prw_core::edge::Outcome::stat_name`, `rule_stat_name`,
//! `DroppedStat::stat_name`, `tenant_stat_name` for the configured tenant stats labels,
//! [`BODY_BYTES`]); Envoy shows them unprefixed in `/stats/prometheus`. Every counter is
//! defined in `on_configure`, so a counter that never fired still reads 0. A metric whose
//! definition failed is skipped (logged once, at definition); a failed increment is
//! ignored: never a panic ([`crate::host`] returns every host status as an error).

use std::collections::HashMap;

use log::warn;
use proxy_wasm::types::MetricType;
use prw_core::convert::V1Dropped;
use prw_core::edge::{
    DroppedStat, EdgeConfig, EdgeRule, Outcome, TenantOutcome, rule_stat_name, tenant_stat_name,
};
use prw_core::validate::Rule;

use crate::host;

/// Histogram of examined request body sizes (compressed bytes).
pub const BODY_BYTES: &str = "prw_edge_request_body_bytes";

/// The metric ids of one VM.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: HashMap<Outcome, u32>,
    rules: HashMap<&'static str, u32>,
    tenants: HashMap<(TenantOutcome, String), u32>,
    dropped: HashMap<DroppedStat, u32>,
    body_bytes: Option<u32>,
}

fn define(kind: MetricType, name: &str) -> Option<u32> {
    match host::define_metric(kind, name) {
        Ok(id) => Some(id),
        Err(error) => {
            warn!("cannot define metric {name}: {error}");
            None
        }
    }
}

impl Metrics {
    /// Defines every counter and the histogram (tenant counters for `config`'s stats
    /// labels).
    pub fn define_all(config: &EdgeConfig) -> Metrics {
        let mut metrics = Metrics::default();
        for outcome in Outcome::ALL {
            if let Some(id) = define(MetricType::Counter, outcome.stat_name()) {
                metrics.outcomes.insert(outcome, id);
            }
        }
        let rule_ids = EdgeRule::ALL
            .iter()
            .map(|r| r.id())
            .chain(Rule::ALL.iter().map(|r| r.id()));
        for id in rule_ids {
            if let Some(metric) = define(MetricType::Counter, &rule_stat_name(id)) {
                metrics.rules.insert(id, metric);
            }
        }
        for stat in DroppedStat::ALL {
            if let Some(id) = define(MetricType::Counter, stat.stat_name()) {
                metrics.dropped.insert(stat, id);
            }
        }
        if let Some(tenants) = &config.tenants {
            for label in tenants.stats_labels() {
                for outcome in TenantOutcome::ALL {
                    let name = tenant_stat_name(outcome, label);
                    if let Some(id) = define(MetricType::Counter, &name) {
                        metrics.tenants.insert((outcome, label.to_string()), id);
                    }
                }
            }
        }
        metrics.body_bytes = define(MetricType::Histogram, BODY_BYTES);
        metrics
    }

    /// Counts one tenant outcome under its stats label.
    pub fn tenant(&self, outcome: TenantOutcome, label: &str) {
        if let Some(id) = self.tenants.get(&(outcome, label.to_string())) {
            let _ = host::increment_metric(*id, 1);
        }
    }

    /// Adds what a conversion dropped.
    pub fn dropped(&self, dropped: &V1Dropped) {
        for (stat, id) in &self.dropped {
            let n = stat.count(dropped);
            if n > 0 {
                let _ = host::increment_metric(*id, i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
    }

    /// Counts one outcome.
    pub fn outcome(&self, outcome: Outcome) {
        if let Some(id) = self.outcomes.get(&outcome) {
            let _ = host::increment_metric(*id, 1);
        }
    }

    /// Counts one rule firing.
    pub fn rule(&self, rule: &str) {
        if let Some(id) = self.rules.get(rule) {
            let _ = host::increment_metric(*id, 1);
        }
    }

    /// Records one examined body size.
    pub fn body_size(&self, bytes: usize) {
        if let Some(id) = self.body_bytes {
            let _ = host::record_metric(id, u64::try_from(bytes).unwrap_or(u64::MAX));
        }
    }
}
