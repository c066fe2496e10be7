//! What the edge did with a request, and the fixed stats names for it.
//!
//! Invariant: stats names never change once released (dashboards depend on them); they are
//! `prw_edge_<outcome>_total` and `prw_edge_rule_<rule id, dots as underscores>_total`.

use alloc::string::String;

/// The outcome of one request or response, one counter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Not a POST to a write path: passed untouched.
    Passed,
    /// A valid write, forwarded upstream.
    Accepted,
    /// Observe mode: would have been rejected, forwarded anyway.
    Observed,
    /// 415: Content-Type, `proto=`, Content-Encoding, or a schema not accepted.
    RejectedUnsupportedMediaType,
    /// 401/400: the tenant header is missing.
    RejectedMissingTenant,
    /// 413: body or declared decoded size over the limit.
    RejectedTooLarge,
    /// 400: undecodable or invalid payload, or a too-old sample.
    RejectedInvalid,
    /// A response status was rewritten (for example Envoy's 408 to 503).
    StatusRewritten,
    /// A `Retry-After` was added to a 429 or 503.
    RetryAfterAdded,
    /// 429: a tenant over its ingestion rate.
    RejectedRateLimited,
    /// A 2.0 request converted to 1.0 for the upstream (`upstream_protocol: v1`).
    Converted,
    /// A request of a tenant beyond `tenants.max_tenants`, counted in the shared overflow
    /// bucket.
    TenantOverflow,
}

impl Outcome {
    /// Every outcome, for defining the counters up front.
    pub const ALL: [Outcome; 12] = [
        Outcome::Passed,
        Outcome::Accepted,
        Outcome::Observed,
        Outcome::RejectedUnsupportedMediaType,
        Outcome::RejectedMissingTenant,
        Outcome::RejectedTooLarge,
        Outcome::RejectedInvalid,
        Outcome::StatusRewritten,
        Outcome::RetryAfterAdded,
        Outcome::RejectedRateLimited,
        Outcome::Converted,
        Outcome::TenantOverflow,
    ];

    /// The counter's fixed name.
    pub fn stat_name(self) -> &'static str {
        match self {
            Outcome::Passed => "prw_edge_passed_total",
            Outcome::Accepted => "prw_edge_accepted_total",
            Outcome::Observed => "prw_edge_observed_total",
            Outcome::RejectedUnsupportedMediaType => {
                "prw_edge_rejected_unsupported_media_type_total"
            }
            Outcome::RejectedMissingTenant => "prw_edge_rejected_missing_tenant_total",
            Outcome::RejectedTooLarge => "prw_edge_rejected_too_large_total",
            Outcome::RejectedInvalid => "prw_edge_rejected_invalid_total",
            Outcome::StatusRewritten => "prw_edge_status_rewritten_total",
            Outcome::RetryAfterAdded => "prw_edge_retry_after_added_total",
            Outcome::RejectedRateLimited => "prw_edge_rejected_rate_limited_total",
            Outcome::Converted => "prw_edge_converted_total",
            Outcome::TenantOverflow => "prw_edge_tenant_overflow_total",
        }
    }

    /// The rejection outcome for a local reply status.
    pub fn for_reply_status(status: u16) -> Outcome {
        match status {
            415 => Outcome::RejectedUnsupportedMediaType,
            401 => Outcome::RejectedMissingTenant,
            413 => Outcome::RejectedTooLarge,
            429 => Outcome::RejectedRateLimited,
            _ => Outcome::RejectedInvalid,
        }
    }
}

/// The edge's own rule ids, for what is found before or instead of payload validation
/// (validation findings use prw-core's `validate` rule ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeRule {
    /// Content-Type is not a Remote Write type (415).
    ContentType,
    /// Content-Encoding is not snappy (415).
    ContentEncoding,
    /// The schema is valid but not in `accepted_protocols` (415).
    ProtocolNotAccepted,
    /// The tenant header is missing or empty (401/400).
    TenantMissing,
    /// Content-Length or the body is over `limits.max_body_bytes` (413).
    BodySize,
    /// The snappy preamble declares more than `limits.max_decoded_bytes` (413).
    DecodedSize,
    /// Not valid snappy block data (400).
    Snappy,
    /// Not a valid protobuf message of the schema (400).
    Protobuf,
    /// A sample is older than `max_sample_age` (400).
    SampleTooOld,
    /// The tenant header of `tenants` limits is not a valid tenant id (400).
    TenantInvalid,
    /// The tenant is over its `ingestion_rate` (429).
    IngestionRate,
    /// The request has more samples + histograms than the tenant's `ingestion_burst_size`:
    /// it can never be admitted (400).
    IngestionBurstSize,
    /// The request has more series than the tenant's `max_series_per_request` (400).
    MaxSeriesPerRequest,
    /// A valid 2.0 request could not be converted to 1.0 (400; never seen in practice).
    Convert,
    /// The converted 1.0 body is over `limits.max_body_bytes` (= Envoy's buffer limit,
    /// which would answer 413 itself) (413).
    ConvertedSize,
}

impl EdgeRule {
    /// Every edge rule, for defining the counters up front.
    pub const ALL: [EdgeRule; 15] = [
        EdgeRule::ContentType,
        EdgeRule::ContentEncoding,
        EdgeRule::ProtocolNotAccepted,
        EdgeRule::TenantMissing,
        EdgeRule::BodySize,
        EdgeRule::DecodedSize,
        EdgeRule::Snappy,
        EdgeRule::Protobuf,
        EdgeRule::SampleTooOld,
        EdgeRule::TenantInvalid,
        EdgeRule::IngestionRate,
        EdgeRule::IngestionBurstSize,
        EdgeRule::MaxSeriesPerRequest,
        EdgeRule::Convert,
        EdgeRule::ConvertedSize,
    ];

    /// The stable rule id.
    pub fn id(self) -> &'static str {
        match self {
            EdgeRule::ContentType => "edge.content_type",
            EdgeRule::ContentEncoding => "edge.content_encoding",
            EdgeRule::ProtocolNotAccepted => "edge.protocol_not_accepted",
            EdgeRule::TenantMissing => "edge.tenant_missing",
            EdgeRule::BodySize => "edge.body_size",
            EdgeRule::DecodedSize => "edge.decoded_size",
            EdgeRule::Snappy => "edge.snappy",
            EdgeRule::Protobuf => "edge.protobuf",
            EdgeRule::SampleTooOld => "edge.sample_too_old",
            EdgeRule::TenantInvalid => "edge.tenant_invalid",
            EdgeRule::IngestionRate => "edge.ingestion_rate",
            EdgeRule::IngestionBurstSize => "edge.ingestion_burst_size",
            EdgeRule::MaxSeriesPerRequest => "edge.max_series_per_request",
            EdgeRule::Convert => "edge.convert",
            EdgeRule::ConvertedSize => "edge.converted_size",
        }
    }
}

/// What the `tenants` limits did with one request, counted per tenant stats label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TenantOutcome {
    /// Within the limits (or observe mode): forwarded.
    Admitted,
    /// Over the rate: 429.
    RateLimited,
    /// More than the burst: 400.
    BurstExceeded,
    /// More series than `max_series_per_request`: 400.
    SeriesLimited,
}

impl TenantOutcome {
    /// Every tenant outcome.
    pub const ALL: [TenantOutcome; 4] = [
        TenantOutcome::Admitted,
        TenantOutcome::RateLimited,
        TenantOutcome::BurstExceeded,
        TenantOutcome::SeriesLimited,
    ];

    /// The counter's name without the tenant.
    pub fn stat_name(self) -> &'static str {
        match self {
            TenantOutcome::Admitted => "prw_edge_tenant_admitted_total",
            TenantOutcome::RateLimited => "prw_edge_tenant_rate_limited_total",
            TenantOutcome::BurstExceeded => "prw_edge_tenant_burst_exceeded_total",
            TenantOutcome::SeriesLimited => "prw_edge_tenant_series_limited_total",
        }
    }
}

/// The counter of `outcome` for the tenant stats label `label`:
/// `<name>.tenant.<label>`. Envoy's `stats_tags` (see `envoy/edge.yaml`) turns the suffix
/// into a `tenant` tag (`prw_edge_tenant_admitted_total{tenant="t1"}`); without it,
/// `/stats/prometheus` shows `prw_edge_tenant_admitted_total_tenant_t1`.
pub fn tenant_stat_name(outcome: TenantOutcome, label: &str) -> String {
    let mut name = String::from(outcome.stat_name());
    name.push_str(".tenant.");
    name.push_str(label);
    name
}

/// What the 2.0 -> 1.0 conversion dropped, one counter each (incremented by the count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DroppedStat {
    /// Start (created) timestamps.
    StartTimestamps,
    /// Custom-bucket histograms (`custom_bucket_histograms: drop`).
    CustomBucketHistograms,
    /// Series left without points.
    Series,
    /// Exemplars of those series.
    Exemplars,
    /// Metadata differing from its family's first entry.
    Metadata,
}

impl DroppedStat {
    /// Every counter.
    pub const ALL: [DroppedStat; 5] = [
        DroppedStat::StartTimestamps,
        DroppedStat::CustomBucketHistograms,
        DroppedStat::Series,
        DroppedStat::Exemplars,
        DroppedStat::Metadata,
    ];

    /// The counter's fixed name.
    pub fn stat_name(self) -> &'static str {
        match self {
            DroppedStat::StartTimestamps => "prw_edge_convert_dropped_start_timestamps_total",
            DroppedStat::CustomBucketHistograms => {
                "prw_edge_convert_dropped_custom_bucket_histograms_total"
            }
            DroppedStat::Series => "prw_edge_convert_dropped_series_total",
            DroppedStat::Exemplars => "prw_edge_convert_dropped_exemplars_total",
            DroppedStat::Metadata => "prw_edge_convert_dropped_metadata_total",
        }
    }

    /// How many of this `dropped` counts.
    pub fn count(self, dropped: &crate::convert::V1Dropped) -> u64 {
        match self {
            DroppedStat::StartTimestamps => dropped.start_timestamps,
            DroppedStat::CustomBucketHistograms => dropped.custom_bucket_histograms,
            DroppedStat::Series => dropped.series,
            DroppedStat::Exemplars => dropped.exemplars,
            DroppedStat::Metadata => dropped.metadata,
        }
    }
}

/// `prw_edge_rule_<id>_total`, with every byte outside `[a-zA-Z0-9_]` (dots) as `_`.
pub fn rule_stat_name(rule_id: &str) -> String {
    let mut name = String::with_capacity(rule_id.len() + 20);
    name.push_str("prw_edge_rule_");
    name.extend(rule_id.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    name.push_str("_total");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_are_fixed_and_distinct() {
        let names: alloc::collections::BTreeSet<_> =
            Outcome::ALL.iter().map(|o| o.stat_name()).collect();
        assert_eq!(names.len(), Outcome::ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("prw_edge_") && n.ends_with("_total"))
        );
        assert_eq!(Outcome::Accepted.stat_name(), "prw_edge_accepted_total");
    }

    #[test]
    fn tenant_and_dropped_stat_names_are_fixed_and_distinct() {
        assert_eq!(
            tenant_stat_name(TenantOutcome::RateLimited, "t1"),
            "prw_edge_tenant_rate_limited_total.tenant.t1"
        );
        let names: alloc::collections::BTreeSet<_> = TenantOutcome::ALL
            .iter()
            .map(|o| o.stat_name())
            .chain(DroppedStat::ALL.iter().map(|d| d.stat_name()))
            .chain(Outcome::ALL.iter().map(|o| o.stat_name()))
            .collect();
        assert_eq!(
            names.len(),
            TenantOutcome::ALL.len() + DroppedStat::ALL.len() + Outcome::ALL.len()
        );
        assert_eq!(Outcome::for_reply_status(429), Outcome::RejectedRateLimited);
    }

    #[test]
    fn rule_stat_name_turns_dots_into_underscores() {
        assert_eq!(
            rule_stat_name("labels.unsorted"),
            "prw_edge_rule_labels_unsorted_total"
        );
        assert_eq!(
            rule_stat_name(EdgeRule::Snappy.id()),
            "prw_edge_rule_edge_snappy_total"
        );
    }
}
