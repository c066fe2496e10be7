//! The tail's metrics:
//! - `prw_tail_bytes`, `prw_tail_records`: what the tail holds now (decoded bodies, facts);
//! - `prw_tail_max_bytes`: its cap (`tail.max_bytes`);
//! - `prw_tail_hits_total{remote_name}`: records a destination took from memory;
//! - `prw_tail_wal_reads_total{remote_name}`: records a destination read back from the WAL
//!   because they were not (or no longer) in the tail: a replay, or a destination that fell
//!   behind;
//! - `prw_tail_evicted_total`: records dropped at the cap before every destination took them
//!   (the slow destinations read them from the WAL);
//! - `prw_tail_wal_reads_shared_total`: records a destination took from memory, neither
//!   read nor decoded again, because another destination behind the tail had just read
//!   them from the WAL.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct NameLabel {
    pub(super) remote_name: String,
}

/// The tail's metric handles (cheap to clone; registered once).
#[derive(Debug, Clone, Default)]
pub struct TailMetrics {
    pub(super) bytes: Gauge,
    pub(super) records: Gauge,
    pub(super) max_bytes: Gauge,
    pub(super) hits: Family<NameLabel, Counter>,
    pub(super) wal_reads: Family<NameLabel, Counter>,
    pub(super) evicted: Counter,
    pub(super) shared: Counter,
}

impl TailMetrics {
    /// Registers the metrics into `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "prw_tail_bytes",
            "Bytes of decoded records held in memory for the destinations",
            self.bytes.clone(),
        );
        registry.register(
            "prw_tail_records",
            "Decoded records held in memory for the destinations",
            self.records.clone(),
        );
        registry.register(
            "prw_tail_max_bytes",
            "Cap of the in-memory tail of decoded records (tail.max_bytes)",
            self.max_bytes.clone(),
        );
        registry.register(
            "prw_tail_hits",
            "Records a destination took from the in-memory tail",
            self.hits.clone(),
        );
        registry.register(
            "prw_tail_wal_reads",
            "Records a destination read back from the WAL (replay, or behind the tail)",
            self.wal_reads.clone(),
        );
        registry.register(
            "prw_tail_evicted",
            "Records dropped from the tail at its cap before every destination took them",
            self.evicted.clone(),
        );
        registry.register(
            "prw_tail_wal_reads_shared",
            "Records a destination took from memory after another destination read them from the WAL",
            self.shared.clone(),
        );
    }

    /// Stops reporting a removed destination.
    pub fn remove(&self, name: &str) {
        let label = NameLabel {
            remote_name: name.to_owned(),
        };
        self.hits.remove(&label);
        self.wal_reads.remove(&label);
    }
}
