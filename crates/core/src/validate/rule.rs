//! The named rules, their stable ids, explanations and per-version severities.

use serde::Serialize;

use crate::Protocol;

/// How bad a finding is: an error makes a receiver answer 400; a warning is a SHOULD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A MUST of the payload's spec version (or a limit): the request deserves 400.
    Error,
    /// A SHOULD: reported, does not fail the request.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $v1:ident, $v2:ident, $text:literal; )*) => {
        /// A validation rule. Ids are stable: they appear in reports, metrics and configs.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// Every rule, in a fixed order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id, e.g. `labels.unsorted`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// A one-sentence human explanation.
            pub fn explanation(self) -> &'static str {
                match self { $(Rule::$variant => $text,)* }
            }

            /// The severity for a payload of `protocol` (DESIGN.md "Rules and severities").
            pub fn severity(self, protocol: Protocol) -> Severity {
                match (self, protocol) {
                    $( (Rule::$variant, Protocol::V1) => Severity::$v1,
                       (Rule::$variant, Protocol::V2) => Severity::$v2, )*
                }
            }

            /// The rule with this id.
            pub fn from_id(id: &str) -> Option<Rule> {
                match id { $($id => Some(Rule::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    /// Labels not sorted by name.
    LabelsUnsorted = "labels.unsorted", Error, Error,
        "labels must be sorted lexicographically by name";
    /// A label name appears twice.
    LabelsDuplicateName = "labels.duplicate_name", Error, Error,
        "a label name must not appear twice in one series";
    /// Empty label name.
    LabelsEmptyName = "labels.empty_name", Error, Error,
        "label names must not be empty";
    /// Empty label value.
    LabelsEmptyValue = "labels.empty_value", Error, Error,
        "label values must not be empty (omit the label instead)";
    /// Label name outside `[a-zA-Z_][a-zA-Z0-9_]*` (v1 MUST, v2 SHOULD).
    LabelsInvalidName = "labels.invalid_name", Error, Warning,
        "label names should match [a-zA-Z_][a-zA-Z0-9_]* (a MUST in 1.0, a SHOULD in 2.0)";
    /// A series without any label.
    LabelsEmpty = "labels.empty", Error, Error,
        "a series must carry its full, non-empty label set";
    /// No `__name__` label.
    MetricNameMissing = "metric_name.missing", Error, Error,
        "a series should have a __name__ label; receivers reject it in practice (prw: error)";
    /// `__name__` outside `[a-zA-Z_:][a-zA-Z0-9_:]*` (v1 MUST, v2 SHOULD).
    MetricNameInvalid = "metric_name.invalid", Error, Warning,
        "metric names should match [a-zA-Z_:][a-zA-Z0-9_:]* (a MUST in 1.0, a SHOULD in 2.0)";
    /// Samples of a series not in timestamp order.
    SamplesOutOfOrder = "samples.out_of_order", Error, Error,
        "samples of a series must be in increasing timestamp order";
    /// Histograms of a series not in timestamp order.
    HistogramsOutOfOrder = "histograms.out_of_order", Error, Error,
        "histograms of a series must be in increasing timestamp order";
    /// A v2 series with both samples and histograms.
    SeriesSamplesAndHistograms = "series.samples_and_histograms", Warning, Error,
        "a v2 series must not carry both samples and histograms (use two series)";
    /// A series with neither samples nor histograms.
    SeriesEmpty = "series.empty", Warning, Error,
        "a series must carry at least one sample or histogram";
    /// A request with neither series nor metadata.
    RequestEmpty = "request.empty", Warning, Warning,
        "the request carries no series and no metadata (a v2 body read as v1, or the reverse, looks like this)";
    /// `symbols[0]` is not the empty string.
    V2SymbolsFirstNotEmpty = "v2.symbols_first_not_empty", Error, Error,
        "symbols[0] must be the empty string";
    /// A label ref points past the symbol table.
    V2LabelRefOutOfRange = "v2.label_ref_out_of_range", Error, Error,
        "every labels_refs entry must index an existing symbol";
    /// An odd number of label refs.
    V2LabelsRefsOdd = "v2.labels_refs_odd", Error, Error,
        "labels_refs must hold (name, value) pairs: its length must be even";
    /// A metadata help/unit ref points past the symbol table.
    V2MetadataRefOutOfRange = "v2.metadata_ref_out_of_range", Error, Error,
        "metadata help_ref and unit_ref must index an existing symbol";
    /// Buckets plus zero bucket do not add up to the count.
    HistogramCountMismatch = "histogram.count_mismatch", Error, Error,
        "histogram buckets plus the zero bucket must add up to the count (at most the count when sum is NaN)";
    /// Schema outside -4..8 (v2 also -53).
    HistogramBadSchema = "histogram.bad_schema", Error, Error,
        "histogram schema must be -4..8 (v2 also -53 for custom buckets)";
    /// Span lengths disagree with the number of bucket values.
    HistogramSpansMismatch = "histogram.spans_mismatch", Error, Error,
        "the sum of span lengths must equal the number of bucket deltas or counts";
    /// An absolute bucket count is negative.
    HistogramNegativeBucket = "histogram.negative_bucket", Error, Error,
        "histogram bucket counts must not be negative";
    /// Custom-bucket histogram rules broken.
    HistogramCustomBucketsInvalid = "histogram.custom_buckets_invalid", Error, Error,
        "custom-bucket histograms need strictly increasing custom_values and no zero bucket or negative buckets";
    /// Exemplar without timestamp.
    ExemplarMissingTimestamp = "exemplar.missing_timestamp", Warning, Error,
        "exemplars must carry a timestamp (a MUST since 2.0-rc.3)";
    /// A NaN that looks like a damaged stale marker.
    StaleMarkerReservedBits = "stale_marker.reserved_bits", Warning, Warning,
        "a NaN with the stale marker's payload but other bits set: the stale marker is exactly 0x7ff0000000000002";
    /// Too many series in the request.
    LimitsSeries = "limits.series", Error, Error,
        "the request carries more series than the configured max_series (prw limit)";
    /// Too many labels in a series.
    LimitsLabelsPerSeries = "limits.labels_per_series", Error, Error,
        "the series carries more labels than the configured max_labels_per_series (prw limit)";
    /// A label name over the length limit.
    LimitsLabelNameLength = "limits.label_name_length", Error, Error,
        "a label name is longer than the configured max_label_name_bytes (prw limit)";
    /// A label value over the length limit.
    LimitsLabelValueLength = "limits.label_value_length", Error, Error,
        "a label value is longer than the configured max_label_value_bytes (prw limit)";
}

impl core::fmt::Display for Rule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        for (i, a) in Rule::ALL.iter().enumerate() {
            assert_eq!(Rule::from_id(a.id()), Some(*a));
            for b in &Rule::ALL[i + 1..] {
                assert_ne!(a.id(), b.id());
            }
        }
    }

    #[test]
    fn severities_follow_the_version_table() {
        assert_eq!(
            Rule::LabelsInvalidName.severity(Protocol::V1),
            Severity::Error
        );
        assert_eq!(
            Rule::LabelsInvalidName.severity(Protocol::V2),
            Severity::Warning
        );
        assert_eq!(
            Rule::ExemplarMissingTimestamp.severity(Protocol::V1),
            Severity::Warning
        );
        assert_eq!(
            Rule::ExemplarMissingTimestamp.severity(Protocol::V2),
            Severity::Error
        );
        assert_eq!(Rule::LabelsUnsorted.severity(Protocol::V2), Severity::Error);
    }
}
