//! Delivery metrics per destination (label `remote_name`):
//! - `prw_delivery_lag_seconds`: receive time of the newest record read from the WAL minus
//!   receive time of the newest record the destination has fully delivered (0 when caught up);
//! - `prw_delivery_lag_records`: records appended to the WAL and not yet committed by the
//!   destination's cursor (`prw_wal::ConsumerStats::lag_records`);
//! - `prw_delivery_pending_records`: records handed to the queue and not yet acknowledged;
//! - `prw_delivery_undecodable_records_total`: records that could not be decoded (logged,
//!   acknowledged and skipped);
//! - `prw_delivery_cursor_commits_total`: WAL cursor commits;
//! - `prw_delivery_records_forwarded_total`: records sent whole, as received
//!   (`super::forward`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    remote_name: String,
}

/// The delivery metric families (registered once, shared by every destination).
#[derive(Debug, Clone, Default)]
pub struct DeliveryMetrics {
    lag_seconds: Family<NameLabel, Gauge<f64, AtomicU64>>,
    lag_records: Family<NameLabel, Gauge>,
    pending_records: Family<NameLabel, Gauge>,
    undecodable: Family<NameLabel, Counter>,
    commits: Family<NameLabel, Counter>,
    forwarded: Family<NameLabel, Counter>,
}

impl DeliveryMetrics {
    /// Registers the families into `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = DeliveryMetrics::default();
        registry.register(
            "prw_delivery_lag_seconds",
            "Receive time of the newest record read minus that of the newest record delivered.",
            metrics.lag_seconds.clone(),
        );
        registry.register(
            "prw_delivery_lag_records",
            "WAL records not yet committed by the destination's cursor.",
            metrics.lag_records.clone(),
        );
        registry.register(
            "prw_delivery_pending_records",
            "WAL records handed to the destination's queue and not yet acknowledged.",
            metrics.pending_records.clone(),
        );
        registry.register(
            "prw_delivery_undecodable_records",
            "WAL records that could not be decoded and were skipped.",
            metrics.undecodable.clone(),
        );
        registry.register(
            "prw_delivery_cursor_commits",
            "WAL cursor commits.",
            metrics.commits.clone(),
        );
        registry.register(
            "prw_delivery_records_forwarded",
            "WAL records sent whole, as received (no decompression, batching or compression).",
            metrics.forwarded.clone(),
        );
        metrics
    }

    fn label(name: &str) -> NameLabel {
        NameLabel {
            remote_name: name.to_owned(),
        }
    }

    /// Sets the lag in seconds.
    pub fn set_lag_seconds(&self, name: &str, seconds: f64) {
        self.lag_seconds
            .get_or_create(&Self::label(name))
            .set(seconds);
    }

    /// Sets the lag in records.
    pub fn set_lag_records(&self, name: &str, records: u64) {
        self.lag_records
            .get_or_create(&Self::label(name))
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }

    /// Sets the records pending in the queue.
    pub fn set_pending_records(&self, name: &str, records: usize) {
        self.pending_records
            .get_or_create(&Self::label(name))
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }

    /// Counts an undecodable record.
    pub fn undecodable(&self, name: &str) {
        self.undecodable.get_or_create(&Self::label(name)).inc();
    }

    /// The undecodable records counted so far.
    pub fn undecodable_total(&self, name: &str) -> u64 {
        self.undecodable.get_or_create(&Self::label(name)).get()
    }

    /// Counts a cursor commit.
    pub fn commit(&self, name: &str) {
        self.commits.get_or_create(&Self::label(name)).inc();
    }

    /// The counter of records `name` forwarded as received (kept by its dispatcher).
    pub fn forwarded(&self, name: &str) -> Counter {
        self.forwarded.get_or_create(&Self::label(name)).clone()
    }

    /// Forgets a removed destination's series.
    pub fn remove(&self, name: &str) {
        let label = Self::label(name);
        self.lag_seconds.remove(&label);
        self.lag_records.remove(&label);
        self.pending_records.remove(&label);
        self.forwarded.remove(&label);
    }
}
