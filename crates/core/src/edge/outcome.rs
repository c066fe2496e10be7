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
}

impl Outcome {
    /// Every outcome, for defining the counters up front.
    pub const ALL: [Outcome; 9] = [
        Outcome::Passed,
        Outcome::Accepted,
        Outcome::Observed,
        Outcome::RejectedUnsupportedMediaType,
        Outcome::RejectedMissingTenant,
        Outcome::RejectedTooLarge,
        Outcome::RejectedInvalid,
        Outcome::StatusRewritten,
        Outcome::RetryAfterAdded,
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
        }
    }

    /// The rejection outcome for a local reply status.
    pub fn for_reply_status(status: u16) -> Outcome {
        match status {
            415 => Outcome::RejectedUnsupportedMediaType,
            401 => Outcome::RejectedMissingTenant,
            413 => Outcome::RejectedTooLarge,
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
}

impl EdgeRule {
    /// Every edge rule, for defining the counters up front.
    pub const ALL: [EdgeRule; 9] = [
        EdgeRule::ContentType,
        EdgeRule::ContentEncoding,
        EdgeRule::ProtocolNotAccepted,
        EdgeRule::TenantMissing,
        EdgeRule::BodySize,
        EdgeRule::DecodedSize,
        EdgeRule::Snappy,
        EdgeRule::Protobuf,
        EdgeRule::SampleTooOld,
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
