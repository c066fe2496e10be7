//! The live summary of the stack, read from the relays' `/metrics` and Envoy's
//! `/stats/prometheus` (Prometheus text format): one line with one relay, one line per relay
//! plus one for Envoy with several.

use prw_devkit::prom_text::{self, sum_prefixed_totals as sum_prefixed};

/// The sum of metric `name` in `text` (0 when absent).
fn sum(text: &str, name: &str) -> f64 {
    prom_text::sum(text, name).unwrap_or(0.0)
}

/// What the summary line shows.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Samples the relay accepted (durable in its WAL).
    pub samples_in: f64,
    /// Samples the relay delivered to its destinations.
    pub sent: f64,
    /// Samples waiting in the relay's queues.
    pub pending: f64,
    /// Requests the edge filter rejected.
    pub rejected_at_edge: f64,
}

impl Summary {
    /// Reads the summary from the two scrapes (either may be missing).
    pub fn read(relay_metrics: Option<&str>, envoy_stats: Option<&str>) -> Self {
        let relay = relay_metrics.unwrap_or("");
        Summary {
            samples_in: sum(relay, "prw_ingest_samples_total"),
            sent: sum(relay, "prometheus_remote_storage_samples_total"),
            pending: sum(relay, "prometheus_remote_storage_samples_pending"),
            rejected_at_edge: sum_prefixed(envoy_stats.unwrap_or(""), "prw_edge_rejected_"),
        }
    }

    /// `samples in 1200 | sent 1100 | pending 100 | rejected at edge 0`.
    pub fn line(&self) -> String {
        format!(
            "samples in {:.0} | sent {:.0} | pending {:.0} | rejected at edge {:.0}",
            self.samples_in, self.sent, self.pending, self.rejected_at_edge
        )
    }
}

/// What the Envoy line of a cluster shows.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct EdgeSummary {
    /// Requests the edge filter rejected.
    pub rejected_at_edge: f64,
    /// Requests Envoy retried on another relay.
    pub retries: f64,
    /// Relays Envoy considers healthy.
    pub healthy: f64,
    /// Relays in the cluster.
    pub relays: f64,
}

impl EdgeSummary {
    /// Reads it from Envoy's stats (missing: zeros).
    pub fn read(envoy_stats: Option<&str>) -> Self {
        let stats = envoy_stats.unwrap_or("");
        EdgeSummary {
            rejected_at_edge: sum_prefixed(stats, "prw_edge_rejected_"),
            retries: sum(stats, "envoy_cluster_upstream_rq_retry"),
            healthy: sum(stats, "envoy_cluster_membership_healthy"),
            relays: sum(stats, "envoy_cluster_membership_total"),
        }
    }

    /// `Envoy: relays healthy 3/3 | retried 2 | rejected at edge 0`.
    pub fn line(&self) -> String {
        format!(
            "Envoy: relays healthy {:.0}/{:.0} | retried {:.0} | rejected at edge {:.0}",
            self.healthy, self.relays, self.retries, self.rejected_at_edge
        )
    }
}

impl Summary {
    /// `relay 2 (127.0.0.1:9212): samples in 1200 | sent 1100 | pending 100`, or
    /// `... : down` when its metrics could not be read.
    pub fn relay_line(label: &str, relay_metrics: Option<&str>) -> String {
        match relay_metrics {
            None => format!("{label}: down"),
            Some(text) => {
                let s = Summary::read(Some(text), None);
                format!(
                    "{label}: samples in {:.0} | sent {:.0} | pending {:.0}",
                    s.samples_in, s.sent, s.pending
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: &str = "# HELP x\n# TYPE prw_ingest_samples_total counter\n\
prw_ingest_samples_total{protocol=\"v1\"} 10\nprw_ingest_samples_total{protocol=\"v2\"} 5\n\
prometheus_remote_storage_samples_total{remote_name=\"a\"} 12\n\
prometheus_remote_storage_samples_pending{remote_name=\"a\"} 3\n";
    const ENVOY: &str = "prw_edge_rejected_invalid_total{} 2\n\
prw_edge_rejected_unsupported_media_type_total{} 1\nprw_edge_accepted_total{} 9\n";

    #[test]
    fn summary_sums_across_labels_and_outcomes() {
        let summary = Summary::read(Some(RELAY), Some(ENVOY));
        assert_eq!(
            summary,
            Summary {
                samples_in: 15.0,
                sent: 12.0,
                pending: 3.0,
                rejected_at_edge: 3.0
            }
        );
        assert_eq!(
            summary.line(),
            "samples in 15 | sent 12 | pending 3 | rejected at edge 3"
        );
    }

    #[test]
    fn missing_scrapes_read_as_zero() {
        assert_eq!(Summary::read(None, None), Summary::default());
    }

    #[test]
    fn cluster_lines_show_each_relay_and_envoy() {
        assert_eq!(
            Summary::relay_line("relay 1 (127.0.0.1:9211)", Some(RELAY)),
            "relay 1 (127.0.0.1:9211): samples in 15 | sent 12 | pending 3"
        );
        assert_eq!(Summary::relay_line("relay 2", None), "relay 2: down");
        let stats = "envoy_cluster_upstream_rq_retry{envoy_cluster_name=\"relays\"} 4\n\
envoy_cluster_membership_healthy{envoy_cluster_name=\"relays\"} 2\n\
envoy_cluster_membership_total{envoy_cluster_name=\"relays\"} 3\n\
prw_edge_rejected_invalid_total{} 1\n";
        assert_eq!(
            EdgeSummary::read(Some(stats)).line(),
            "Envoy: relays healthy 2/3 | retried 4 | rejected at edge 1"
        );
    }
}
