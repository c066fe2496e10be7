//! What one row of `cargo xtask bench --relays N` measured, and the fixed parts of the
//! comparison (request shape, Envoy stats): the leaf both the run ([`super::cluster`]) and its
//! report ([`super::cluster_report`]) import, so neither imports the other for them.

use super::generator::{LoadResult, Shape};

/// The shape of every request (the main bench's larger one).
pub const SHAPE: Shape = Shape {
    series: 2000,
    labels: 10,
};
/// Envoy's cluster stats a row reports (summed over label sets).
pub const ENVOY_STATS: [&str; 4] = [
    "envoy_cluster_health_check_failure",
    "envoy_cluster_outlier_detection_ejections_enforced_total",
    "envoy_cluster_upstream_rq_retry",
    "envoy_cluster_upstream_rq_5xx",
];

/// How the load reached the relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// Straight to the one relay.
    Direct,
    /// Through Envoy with `envoy/cluster.yaml`.
    Envoy,
}

/// One measured configuration.
#[derive(Debug, Clone)]
pub struct Row {
    /// Relays behind the front.
    pub relays: usize,
    /// Direct or through Envoy.
    pub front: Front,
    /// Every generator's result.
    pub loads: Vec<LoadResult>,
    /// CPU seconds of all relays together.
    pub relay_cpu: Option<f64>,
    /// CPU seconds of Envoy (`None` without Envoy or when unreadable).
    pub envoy_cpu: Option<f64>,
    /// Write requests each relay acknowledged (how the load spread).
    pub per_relay_requests: Vec<f64>,
    /// [`ENVOY_STATS`] at the end of the row (empty without Envoy).
    pub envoy_stats: Vec<f64>,
}

impl Row {
    /// Acknowledged samples over all generators.
    pub fn samples_ok(&self) -> u64 {
        self.loads.iter().map(|l| l.samples_ok).sum()
    }

    /// Acknowledged samples per second over all generators (they run at the same time).
    pub fn samples_per_second(&self) -> f64 {
        self.loads.iter().map(|l| l.samples_per_second).sum()
    }

    /// The worst generator's p99 latency, ms.
    pub fn p99_ms(&self) -> f64 {
        self.loads.iter().map(|l| l.p99_ms).fold(0.0, f64::max)
    }

    /// `cpu` seconds per million acknowledged samples.
    pub fn per_million(&self, cpu: Option<f64>) -> Option<f64> {
        let m = self.samples_ok() as f64 / 1e6;
        cpu.filter(|_| m > 0.0).map(|c| c / m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(samples_ok: u64, per_second: f64, p99: f64) -> LoadResult {
        LoadResult {
            samples_ok,
            samples_per_second: per_second,
            p99_ms: p99,
            ..LoadResult::default()
        }
    }

    #[test]
    fn a_row_sums_its_generators_and_takes_the_worst_latency() {
        let row = Row {
            relays: 3,
            front: Front::Envoy,
            loads: vec![load(2_000_000, 100e3, 9.0), load(1_000_000, 50e3, 30.0)],
            relay_cpu: Some(6.0),
            envoy_cpu: Some(1.5),
            per_relay_requests: vec![1.0, 1.0, 1.0],
            envoy_stats: Vec::new(),
        };
        assert_eq!(row.samples_ok(), 3_000_000);
        assert_eq!(row.samples_per_second(), 150e3);
        assert_eq!(row.p99_ms(), 30.0);
        assert_eq!(row.per_million(row.relay_cpu), Some(2.0));
        assert_eq!(row.per_million(row.envoy_cpu), Some(0.5));
        assert_eq!(row.per_million(None), None);
    }
}
