//! `prw_capture_*`: what capture holds and what it let go.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels by capture kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `rejected` or `refused`.
    pub kind: &'static str,
}

/// Labels of evictions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EvictedLabels {
    /// `rejected` or `refused`.
    pub kind: &'static str,
    /// `count` (the kind was full) or `memory` (the byte cap).
    pub reason: &'static str,
}

/// Capture's metric handles.
#[derive(Clone, Debug, Default)]
pub struct CaptureMetrics {
    /// Captures kept, by kind.
    pub captured: Family<KindLabels, Counter>,
    /// Captures evicted, by kind and reason.
    pub evicted: Family<EvictedLabels, Counter>,
    /// Captures kept without their body because it alone exceeds the cap.
    pub bodies_dropped: Family<KindLabels, Counter>,
    /// Captures held now, by kind.
    pub entries: Family<KindLabels, Gauge>,
    /// Bytes held now.
    pub bytes: Gauge,
    /// The most bytes ever held at once.
    pub peak_bytes: Gauge,
    /// The cap.
    pub max_bytes: Gauge,
    /// 1 when capture is on.
    pub enabled: Gauge,
}

impl CaptureMetrics {
    /// Creates and registers every `prw_capture_*` metric.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "prw_capture_captured",
            "Refused payloads kept for inspection, by kind (rejected at ingest, refused by a destination)",
            m.captured.clone(),
        );
        registry.register(
            "prw_capture_evicted",
            "Captures evicted, by kind and reason (count: the kind was full; memory: the byte cap)",
            m.evicted.clone(),
        );
        registry.register(
            "prw_capture_bodies_dropped",
            "Captures kept without their body because it alone exceeds capture.max_bytes",
            m.bodies_dropped.clone(),
        );
        registry.register(
            "prw_capture_entries",
            "Captures held, by kind",
            m.entries.clone(),
        );
        registry.register(
            "prw_capture_bytes",
            "Bytes held by captures (bodies, headers and texts)",
            m.bytes.clone(),
        );
        registry.register(
            "prw_capture_peak_bytes",
            "The most bytes captures ever held at once since start",
            m.peak_bytes.clone(),
        );
        registry.register(
            "prw_capture_max_bytes",
            "capture.max_bytes: the cap over both kinds",
            m.max_bytes.clone(),
        );
        registry.register(
            "prw_capture_enabled",
            "1 when the relay keeps what it refused, 0 when capture is off",
            m.enabled.clone(),
        );
        m
    }
}

/// Registers `prw_capture_enabled 0` (capture is off: no store, nothing else to count).
pub fn register_disabled(registry: &mut Registry) {
    let enabled = Gauge::<i64>::default();
    registry.register(
        "prw_capture_enabled",
        "1 when the relay keeps what it refused, 0 when capture is off",
        enabled,
    );
}
