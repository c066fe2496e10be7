//! The receive path's metrics, registered into the registry `/metrics` serves.
//!
//! Counters count answered requests (every request is counted exactly once, by its final
//! status); the sample/histogram/exemplar counters count only what was acknowledged (durable
//! in the WAL). The WAL gauges are read from [`Wal::stats`] at scrape time, so they are never
//! stale and cost nothing between scrapes.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use prw_wal::Wal;

/// Labels of `prw_ingest_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Status code answered.
    pub status: u16,
    /// `v1`, `v2`, or `unknown` when the Content-Type names neither.
    pub protocol: &'static str,
}

/// Labels of `prw_ingest_rejected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// A class (`too_large`, `wal_full`, ...) or, for validation failures, the rule id.
    pub reason: &'static str,
}

/// Handles to the receive path's metrics.
#[derive(Clone, Debug)]
pub struct IngestMetrics {
    /// `prw_ingest_requests_total{status,protocol}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `prw_ingest_samples_total`: samples acknowledged.
    pub samples: Counter,
    /// `prw_ingest_histograms_total`: native histograms acknowledged.
    pub histograms: Counter,
    /// `prw_ingest_exemplars_total`: exemplars acknowledged.
    pub exemplars: Counter,
    /// `prw_ingest_rejected_total{reason}`.
    pub rejected: Family<RejectLabels, Counter>,
    /// `prw_ingest_request_duration_seconds`: from the call into the pipeline to the answer.
    pub duration: Histogram,
    /// `prw_ingest_body_bytes`: compressed body sizes read.
    pub body_bytes: Histogram,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            samples: Counter::default(),
            histograms: Counter::default(),
            exemplars: Counter::default(),
            rejected: Family::default(),
            // 0.5 ms .. ~16 s.
            duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            // 256 B .. 64 MiB.
            body_bytes: Histogram::new(exponential_buckets(256.0, 4.0, 10)),
        }
    }
}

impl IngestMetrics {
    /// Creates the metrics and registers them (and the WAL gauges for `wal`) in `registry`.
    pub fn register(registry: &mut Registry, wal: Arc<Wal>) -> Self {
        let metrics = Self::default();
        registry.register(
            "prw_ingest_requests",
            "Write requests answered by the relay, by status code and protocol",
            metrics.requests.clone(),
        );
        registry.register(
            "prw_ingest_samples",
            "Samples acknowledged (durable in the WAL)",
            metrics.samples.clone(),
        );
        registry.register(
            "prw_ingest_histograms",
            "Native histograms acknowledged (durable in the WAL)",
            metrics.histograms.clone(),
        );
        registry.register(
            "prw_ingest_exemplars",
            "Exemplars acknowledged (durable in the WAL)",
            metrics.exemplars.clone(),
        );
        registry.register(
            "prw_ingest_rejected",
            "Write requests not acknowledged, by reason (a class, or the validation rule id)",
            metrics.rejected.clone(),
        );
        registry.register(
            "prw_ingest_request_duration_seconds",
            "Time from receiving a write request to answering it (includes the WAL fsync)",
            metrics.duration.clone(),
        );
        registry.register(
            "prw_ingest_body_bytes",
            "Compressed body sizes of write requests read",
            metrics.body_bytes.clone(),
        );
        registry.register_collector(Box::new(WalGauges { wal }));
        metrics
    }
}

/// `prw_wal_bytes` and `prw_wal_segments`, read from the WAL on each scrape.
#[derive(Debug)]
struct WalGauges {
    wal: Arc<Wal>,
}

impl Collector for WalGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.wal.stats();
        let bytes = ConstGauge::new(i64::try_from(stats.bytes_on_disk).unwrap_or(i64::MAX));
        bytes.encode(encoder.encode_descriptor(
            "prw_wal_bytes",
            "Bytes of all WAL segment files",
            None,
            bytes.metric_type(),
        )?)?;
        let segments = ConstGauge::new(i64::try_from(stats.segments).unwrap_or(i64::MAX));
        segments.encode(encoder.encode_descriptor(
            "prw_wal_segments",
            "Number of WAL segment files",
            None,
            segments.metric_type(),
        )?)?;
        let poisoned = ConstGauge::new(i64::from(stats.poisoned));
        poisoned.encode(encoder.encode_descriptor(
            "prw_wal_poisoned",
            "Set to 1 when acknowledged records could not be kept after a failed fsync (sync: interval only): appends are refused until the relay restarts",
            None,
            poisoned.metric_type(),
        )?)?;
        Ok(())
    }
}
