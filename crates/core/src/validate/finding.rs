//! One rule broken at one place.

use alloc::string::String;

use super::{Rule, Severity};

/// A rule broken at a location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Its severity for the payload's version.
    pub severity: Severity,
    /// Index of the series in the request, if the finding is about one.
    pub series: Option<usize>,
    /// Index of the sample (or histogram/exemplar) within the series, if any.
    pub sample: Option<usize>,
    /// The label name concerned, if any.
    pub label: Option<String>,
}
