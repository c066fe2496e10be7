//! The server's own metrics, registered into the registry `/metrics` serves.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of `prw_relay_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route (`/api/v1/write`, `/metrics`, ..., `other`).
    pub handler: String,
    /// Status code.
    pub code: u16,
}

/// HTTP metrics of the listener.
#[derive(Clone, Debug, Default)]
pub struct HttpMetrics {
    /// Requests answered, by route and status.
    pub requests: Family<RequestLabels, Counter>,
}

impl HttpMetrics {
    /// Creates the metrics and registers them as `prw_relay_http_requests_total`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "prw_relay_http_requests",
            "HTTP requests answered by the relay listener, by handler and status code",
            metrics.requests.clone(),
        );
        metrics
    }
}
