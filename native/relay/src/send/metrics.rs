//! Per-destination metrics, named like Prometheus's `prometheus_remote_storage_*` (labels
//! `remote_name` and `url`) where the meaning is the same, plus `prw_remote_*` for what
//! Prometheus has no name for.
//!
//! The families are registered once ([`RemoteStorageMetrics::register`]) and shared by all
//! destinations, so each metric name appears once in the exposition; each destination holds a
//! [`DestinationMetrics`] with its label values resolved.
//!
//! Counting rules (as Prometheus): `*_total` counts every send attempt (retries again);
//! `*_failed_total` counts data in batches that were given up on (non-retryable answer);
//! `*_retried_total` counts data in attempts that will be retried; `*_dropped_total{reason}`
//! counts data removed before sending (`too_old`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::batch::ItemCounts;

/// Prometheus's `DefBuckets` plus 25, 60, 120 and 300 seconds.
const DURATION_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    remote_name: String,
    url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    remote_name: String,
    url: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    remote_name: String,
    url: String,
    status: String,
}

type Counters = Family<DestinationLabels, Counter>;
type Gauges = Family<DestinationLabels, Gauge>;
type FloatGauges = Family<DestinationLabels, Gauge<f64, AtomicU64>>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Counters of one kind of data (samples, histograms or exemplars).
#[derive(Debug, Default, Clone)]
struct DataFamilies {
    sent: Counters,
    failed: Counters,
    retried: Counters,
    dropped: Family<ReasonLabels, Counter>,
    pending: Gauges,
}

impl DataFamilies {
    fn register(&self, registry: &mut Registry, kind: &str) {
        let name = |suffix: &str| format!("prometheus_remote_storage_{kind}{suffix}");
        registry.register(
            name(""),
            format!("Total number of {kind} sent to remote storage (every attempt)."),
            self.sent.clone(),
        );
        registry.register(
            name("_failed"),
            format!("Total number of {kind} which failed on send to remote storage, non-recoverable errors."),
            self.failed.clone(),
        );
        registry.register(
            name("_retried"),
            format!(
                "Total number of {kind} which failed on send to remote storage but were retried."
            ),
            self.retried.clone(),
        );
        registry.register(
            name("_dropped"),
            format!("Total number of {kind} which were dropped before being sent, by reason."),
            self.dropped.clone(),
        );
        registry.register(
            name("_pending"),
            format!("The number of {kind} pending in the queues' shards to be sent."),
            self.pending.clone(),
        );
    }
}

/// The metric families of every destination.
#[derive(Debug, Clone)]
pub struct RemoteStorageMetrics {
    samples: DataFamilies,
    histograms: DataFamilies,
    exemplars: DataFamilies,
    metadata: Counters,
    shards: Gauges,
    shards_desired: FloatGauges,
    shards_min: Gauges,
    shards_max: Gauges,
    highest_sent: FloatGauges,
    batch_duration: Family<DestinationLabels, Histogram, fn() -> Histogram>,
    bytes: Counters,
    requests: Family<StatusLabels, Counter>,
    fallbacks: Counters,
    decorate_errors: Counters,
}

impl RemoteStorageMetrics {
    /// Creates the families and registers them into `registry`.
    pub fn register(registry: &mut Registry) -> Arc<Self> {
        let metrics = RemoteStorageMetrics {
            samples: DataFamilies::default(),
            histograms: DataFamilies::default(),
            exemplars: DataFamilies::default(),
            metadata: Counters::default(),
            shards: Gauges::default(),
            shards_desired: FloatGauges::default(),
            shards_min: Gauges::default(),
            shards_max: Gauges::default(),
            highest_sent: FloatGauges::default(),
            batch_duration: Family::new_with_constructor(duration_histogram),
            bytes: Counters::default(),
            requests: Family::default(),
            fallbacks: Counters::default(),
            decorate_errors: Counters::default(),
        };
        metrics.samples.register(registry, "samples");
        metrics.histograms.register(registry, "histograms");
        metrics.exemplars.register(registry, "exemplars");
        registry.register(
            "prometheus_remote_storage_metadata",
            "Total number of metadata entries sent to remote storage.",
            metrics.metadata.clone(),
        );
        registry.register(
            "prometheus_remote_storage_shards",
            "The number of shards used for parallel sending to the remote storage.",
            metrics.shards.clone(),
        );
        registry.register(
            "prometheus_remote_storage_shards_desired",
            "The number of shards that the queues shard calculation wants to run.",
            metrics.shards_desired.clone(),
        );
        registry.register(
            "prometheus_remote_storage_shards_min",
            "The minimum number of shards that the queue is allowed to run.",
            metrics.shards_min.clone(),
        );
        registry.register(
            "prometheus_remote_storage_shards_max",
            "The maximum number of shards that the queue is allowed to run.",
            metrics.shards_max.clone(),
        );
        registry.register(
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
            "Timestamp from a WAL sample, the highest successfully sent by this queue, in seconds since epoch.",
            metrics.highest_sent.clone(),
        );
        registry.register(
            "prometheus_remote_storage_sent_batch_duration_seconds",
            "Duration of send calls to the remote storage.",
            metrics.batch_duration.clone(),
        );
        registry.register(
            "prometheus_remote_storage_bytes",
            "The total number of bytes of data (not metadata) sent by the queue after compression.",
            metrics.bytes.clone(),
        );
        registry.register(
            "prw_remote_requests",
            "Requests to the remote storage by answer: HTTP status code or transport_error.",
            metrics.requests.clone(),
        );
        registry.register(
            "prw_remote_fallbacks",
            "Times a Remote Write 2.0 destination was switched to 1.0 (415, or 2xx without Written headers).",
            metrics.fallbacks.clone(),
        );
        registry.register(
            "prw_remote_decorate_errors",
            "Attempts whose request decorator (request signing, token refresh) failed; the request was not sent and is retried.",
            metrics.decorate_errors.clone(),
        );
        Arc::new(metrics)
    }

    /// The metrics of one destination.
    pub fn destination(self: &Arc<Self>, remote_name: &str, url: &str) -> DestinationMetrics {
        let labels = DestinationLabels {
            remote_name: remote_name.to_owned(),
            url: url.to_owned(),
        };
        let metrics = DestinationMetrics {
            families: Arc::clone(self),
            labels,
        };
        // Make the destination visible at once (zero values) rather than at its first send.
        for family in [&self.samples, &self.histograms, &self.exemplars] {
            drop(family.sent.get_or_create(&metrics.labels));
            drop(family.failed.get_or_create(&metrics.labels));
            drop(family.retried.get_or_create(&metrics.labels));
            drop(family.pending.get_or_create(&metrics.labels));
        }
        drop(self.fallbacks.get_or_create(&metrics.labels));
        metrics
    }
}

/// One destination's handle on the shared families.
#[derive(Debug, Clone)]
pub struct DestinationMetrics {
    families: Arc<RemoteStorageMetrics>,
    labels: DestinationLabels,
}

impl DestinationMetrics {
    /// Metrics registered nowhere (feature `test-util`).
    #[cfg(any(test, feature = "test-util"))]
    pub fn unregistered(remote_name: &str, url: &str) -> Self {
        RemoteStorageMetrics::register(&mut Registry::default()).destination(remote_name, url)
    }

    fn each(&self, counts: ItemCounts, pick: impl Fn(&DataFamilies) -> &Counters) {
        let f = &self.families;
        for (family, n) in [
            (&f.samples, counts.samples),
            (&f.histograms, counts.histograms),
            (&f.exemplars, counts.exemplars),
        ] {
            if n > 0 {
                pick(family).get_or_create(&self.labels).inc_by(n);
            }
        }
    }

    /// One attempt sent `counts` in `bytes` compressed bytes.
    pub fn attempt(&self, counts: ItemCounts, bytes: usize) {
        self.each(counts, |f| &f.sent);
        self.families
            .bytes
            .get_or_create(&self.labels)
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// One attempt sent `entries` metadata entries.
    pub fn metadata_attempt(&self, entries: usize) {
        self.families
            .metadata
            .get_or_create(&self.labels)
            .inc_by(u64::try_from(entries).unwrap_or(u64::MAX));
    }

    /// A batch was given up on.
    pub fn failed(&self, counts: ItemCounts) {
        self.each(counts, |f| &f.failed);
    }

    /// An attempt failed and will be retried.
    pub fn retried(&self, counts: ItemCounts) {
        self.each(counts, |f| &f.retried);
    }

    /// Data removed before sending.
    pub fn dropped(&self, reason: &str, counts: ItemCounts) {
        let labels = ReasonLabels {
            remote_name: self.labels.remote_name.clone(),
            url: self.labels.url.clone(),
            reason: reason.to_owned(),
        };
        let f = &self.families;
        for (family, n) in [
            (&f.samples, counts.samples),
            (&f.histograms, counts.histograms),
            (&f.exemplars, counts.exemplars),
        ] {
            if n > 0 {
                family.dropped.get_or_create(&labels).inc_by(n);
            }
        }
    }

    /// Data entered (`+`) or left (`-`) the shards' queues.
    pub fn pending(&self, counts: ItemCounts, entered: bool) {
        let f = &self.families;
        for (family, n) in [
            (&f.samples, counts.samples),
            (&f.histograms, counts.histograms),
            (&f.exemplars, counts.exemplars),
        ] {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            let gauge = family.pending.get_or_create(&self.labels);
            if entered {
                gauge.inc_by(n);
            } else {
                gauge.dec_by(n);
            }
        }
    }

    /// One answer: an HTTP status, or `None` for a transport error.
    pub fn request(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "transport_error".to_owned(), |s| s.to_string());
        let labels = StatusLabels {
            remote_name: self.labels.remote_name.clone(),
            url: self.labels.url.clone(),
            status,
        };
        self.families.requests.get_or_create(&labels).inc();
    }

    /// A v2 -> v1 fallback.
    pub fn fallback(&self) {
        self.families.fallbacks.get_or_create(&self.labels).inc();
    }

    /// The request decorator failed (the request was not sent).
    pub fn decorate_error(&self) {
        self.families
            .decorate_errors
            .get_or_create(&self.labels)
            .inc();
    }

    /// How long one send call took.
    pub fn batch_duration(&self, seconds: f64) {
        self.families
            .batch_duration
            .get_or_create(&self.labels)
            .observe(seconds);
    }

    /// The newest timestamp successfully sent (ms).
    pub fn highest_sent(&self, timestamp_ms: i64) {
        self.families
            .highest_sent
            .get_or_create(&self.labels)
            .set(timestamp_ms as f64 / 1000.0);
    }

    /// Shards running now, and the configured bounds.
    pub fn shards(&self, current: usize, min: usize, max: usize) {
        let f = &self.families;
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        f.shards.get_or_create(&self.labels).set(as_i64(current));
        f.shards_min.get_or_create(&self.labels).set(as_i64(min));
        f.shards_max.get_or_create(&self.labels).set(as_i64(max));
    }

    /// The unrounded result of the shard calculation.
    pub fn shards_desired(&self, desired: f64) {
        self.families
            .shards_desired
            .get_or_create(&self.labels)
            .set(desired);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
        out
    }

    #[test]
    fn destinations_share_one_family_per_name_with_their_labels() {
        let mut registry = Registry::default();
        let families = RemoteStorageMetrics::register(&mut registry);
        let a = families.destination("a", "http://a/");
        let b = families.destination("b", "http://b/");
        a.attempt(
            ItemCounts {
                samples: 3,
                histograms: 1,
                exemplars: 0,
            },
            120,
        );
        b.request(None);
        a.request(Some(400));
        a.dropped(
            "too_old",
            ItemCounts {
                samples: 2,
                ..ItemCounts::default()
            },
        );
        a.shards(3, 1, 50);
        a.shards_desired(2.5);
        a.highest_sent(1_700_000_000_500);
        a.batch_duration(0.2);
        a.pending(
            ItemCounts {
                samples: 5,
                ..ItemCounts::default()
            },
            true,
        );
        a.pending(
            ItemCounts {
                samples: 2,
                ..ItemCounts::default()
            },
            false,
        );
        let text = exposition(&registry);
        let a_labels = r#"remote_name="a",url="http://a/""#;
        for line in [
            format!("prometheus_remote_storage_samples_total{{{a_labels}}} 3"),
            format!("prometheus_remote_storage_histograms_total{{{a_labels}}} 1"),
            format!("prometheus_remote_storage_bytes_total{{{a_labels}}} 120"),
            format!(r#"prometheus_remote_storage_samples_dropped_total{{{a_labels},reason="too_old"}} 2"#),
            format!("prometheus_remote_storage_samples_pending{{{a_labels}}} 3"),
            format!("prometheus_remote_storage_shards{{{a_labels}}} 3"),
            format!("prometheus_remote_storage_shards_min{{{a_labels}}} 1"),
            format!("prometheus_remote_storage_shards_max{{{a_labels}}} 50"),
            format!("prometheus_remote_storage_shards_desired{{{a_labels}}} 2.5"),
            format!("prometheus_remote_storage_queue_highest_sent_timestamp_seconds{{{a_labels}}} 1700000000.5"),
            format!("prometheus_remote_storage_sent_batch_duration_seconds_count{{{a_labels}}} 1"),
            format!(r#"prw_remote_requests_total{{{a_labels},status="400"}} 1"#),
            r#"prw_remote_requests_total{remote_name="b",url="http://b/",status="transport_error"} 1"#.to_owned(),
            format!("prw_remote_fallbacks_total{{{a_labels}}} 0"),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("# TYPE prometheus_remote_storage_samples counter"))
                .count(),
            1
        );
    }
}
