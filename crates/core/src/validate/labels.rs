//! Label-set checks shared by v1 and v2, one label at a time, without allocating.
//!
//! Duplicate names are found by comparing with the previous name while the set is sorted;
//! once it is not, each name is compared with the (up to [`TRACKED`]) names seen so far,
//! kept in a fixed stack array. Beyond that many labels `limits.labels_per_series` has
//! fired anyway (its default is 30).

use super::{Collector, Halt, Rule};
use crate::Limits;
use crate::hash::LabelHasher;

/// How many names are remembered for duplicate detection in unsorted sets.
const TRACKED: usize = 64;

pub(super) struct LabelState<'a> {
    names: [&'a str; TRACKED],
    count: usize,
    unsorted: bool,
    has_metric_name: bool,
    hasher: Option<LabelHasher>,
}

impl<'a> LabelState<'a> {
    pub(super) fn new(hash: bool) -> Self {
        LabelState {
            names: [""; TRACKED],
            count: 0,
            unsorted: false,
            has_metric_name: false,
            hasher: hash.then(LabelHasher::new),
        }
    }

    pub(super) fn push(
        &mut self,
        c: &mut Collector,
        limits: &Limits,
        series: usize,
        name: &'a str,
        value: &'a str,
    ) -> Result<(), Halt> {
        let at = Some(series);
        if let Some(h) = self.hasher.as_mut() {
            h.push(name, value);
        }
        if name.is_empty() {
            c.add(Rule::LabelsEmptyName, at, None, Some(name))?;
        } else if !is_valid_label_name(name) {
            c.add(Rule::LabelsInvalidName, at, None, Some(name))?;
        }
        if value.is_empty() {
            c.add(Rule::LabelsEmptyValue, at, None, Some(name))?;
        }
        if name.len() > limits.max_label_name_bytes {
            c.add(Rule::LimitsLabelNameLength, at, None, Some(name))?;
        }
        if value.len() > limits.max_label_value_bytes {
            c.add(Rule::LimitsLabelValueLength, at, None, Some(name))?;
        }
        if name == "__name__" {
            self.has_metric_name = true;
            if !value.is_empty() && !is_valid_metric_name(value) {
                c.add(Rule::MetricNameInvalid, at, None, Some(name))?;
            }
        }
        let seen = self.names.get(..self.count.min(TRACKED)).unwrap_or(&[]);
        if let Some(prev) = seen.last().copied().filter(|_| self.count <= TRACKED) {
            if name == prev {
                c.add(Rule::LabelsDuplicateName, at, None, Some(name))?;
            } else {
                if name < prev && !self.unsorted {
                    self.unsorted = true;
                    c.add(Rule::LabelsUnsorted, at, None, Some(name))?;
                }
                if self.unsorted && seen.contains(&name) {
                    c.add(Rule::LabelsDuplicateName, at, None, Some(name))?;
                }
            }
        }
        if let Some(slot) = self.names.get_mut(self.count) {
            *slot = name;
        }
        self.count += 1;
        if self.count == limits.max_labels_per_series.saturating_add(1) {
            c.add(Rule::LimitsLabelsPerSeries, at, None, None)?;
        }
        Ok(())
    }

    /// Set-level checks once the series is read.
    pub(super) fn finish(&self, c: &mut Collector, series: usize) -> Result<(), Halt> {
        if self.count == 0 {
            c.add(Rule::LabelsEmpty, Some(series), None, None)?;
        } else if !self.has_metric_name {
            c.add(Rule::MetricNameMissing, Some(series), None, None)?;
        }
        Ok(())
    }

    pub(super) fn hash(&self) -> u64 {
        self.hasher.as_ref().map_or(0, LabelHasher::finish)
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub(crate) fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}
