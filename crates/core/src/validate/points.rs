//! The per-series checks that are the same in both versions: samples and histograms in
//! timestamp order, stale markers with their reserved bits intact, valid histograms, and the
//! counts and timestamp range the relay takes from [`SeriesFacts`].

use super::{Collector, Halt, Rule, histogram, is_damaged_stale_marker};
use crate::Protocol;
use crate::view::{HistogramSummary, Sample, SeriesFacts};

/// The newest sample and histogram timestamps seen so far in one series.
#[derive(Debug, Default)]
pub(super) struct Points {
    last_sample: Option<i64>,
    last_histogram: Option<i64>,
}

impl Points {
    /// Checks and counts one sample of series `at`.
    #[inline]
    pub(super) fn sample(
        &mut self,
        s: &Sample,
        at: Option<usize>,
        c: &mut Collector,
        f: &mut SeriesFacts,
    ) -> Result<(), Halt> {
        let i = f.samples as usize;
        f.samples = f.samples.saturating_add(1);
        if self.last_sample.is_some_and(|t| s.timestamp < t) {
            c.add(Rule::SamplesOutOfOrder, at, Some(i), None)?;
        }
        if is_damaged_stale_marker(s.value) {
            c.add(Rule::StaleMarkerReservedBits, at, Some(i), None)?;
        }
        self.last_sample = Some(s.timestamp);
        f.timestamp(s.timestamp);
        Ok(())
    }

    /// Checks and counts one histogram of series `index`, by the rules of `protocol`.
    #[inline]
    pub(super) fn histogram(
        &mut self,
        h: &HistogramSummary,
        protocol: Protocol,
        index: usize,
        c: &mut Collector,
        f: &mut SeriesFacts,
    ) -> Result<(), Halt> {
        let i = f.histograms as usize;
        f.histograms = f.histograms.saturating_add(1);
        if self.last_histogram.is_some_and(|t| h.timestamp < t) {
            c.add(Rule::HistogramsOutOfOrder, Some(index), Some(i), None)?;
        }
        histogram::check(h, protocol, c, index, i)?;
        self.last_histogram = Some(h.timestamp);
        f.timestamp(h.timestamp);
        Ok(())
    }
}
