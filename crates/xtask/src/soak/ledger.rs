//! The soak's books: which (series, timestamp) pairs `prw bench` had acknowledged, and which
//! of them the test receiver holds.
//!
//! Every request of a soak run carries the same series and one timestamp of its own
//! (`--samples 1 --payloads N --requests N --start-ms BASE`: request `k` has `BASE + k`), so
//! the acknowledged pairs are exactly {the series} x {timestamps of acknowledged requests}.
//! The series set is learnt exactly, not counted: one calibration request of the same shape,
//! sent straight to the receiver at a timestamp of its own, leaves it there
//! ([`Ledger::from_calibration`]). A pair is lost when one of those series lacks an
//! acknowledged timestamp; a series outside the set at an acknowledged timestamp is counted
//! apart (it can never stand in for a missing one).

use std::collections::{BTreeMap, BTreeSet};

/// The expected series and the acknowledged timestamps.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    series: BTreeSet<String>,
    acked: BTreeSet<i64>,
}

/// The receiver's pairs against the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Acknowledged pairs.
    pub acknowledged: u64,
    /// Acknowledged pairs the receiver does not have.
    pub lost: u64,
    /// Pairs at acknowledged timestamps of series nobody sent (must be 0).
    pub unexpected: u64,
    /// Distinct series the receiver saw.
    pub series_seen: usize,
    /// Up to five acknowledged timestamps with missing series.
    pub examples: Vec<i64>,
}

impl Comparison {
    /// Every acknowledged pair is there and nothing else is at those timestamps.
    pub fn is_complete(&self) -> bool {
        self.lost == 0 && self.unexpected == 0
    }
}

impl Ledger {
    /// Books whose series are those `received` (the receiver's `series -> timestamps`) holds
    /// at the calibration timestamp `at_ms`.
    pub fn from_calibration(received: &BTreeMap<String, Vec<i64>>, at_ms: i64) -> Ledger {
        Ledger {
            series: received
                .iter()
                .filter(|(_, stamps)| stamps.contains(&at_ms))
                .map(|(series, _)| series.clone())
                .collect(),
            acked: BTreeSet::new(),
        }
    }

    /// How many series each request carries.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// Records one `prw bench` run started at `base_ms` whose requests `acked` were
    /// answered 2xx.
    pub fn add_run(&mut self, base_ms: i64, acked: &[u64]) {
        for k in acked {
            self.acked
                .insert(base_ms.saturating_add(i64::try_from(*k).unwrap_or(i64::MAX)));
        }
    }

    /// Acknowledged requests so far.
    pub fn requests(&self) -> usize {
        self.acked.len()
    }

    /// Compares with the receiver's exact pair set (`series -> timestamps`).
    pub fn compare(&self, received: &BTreeMap<String, Vec<i64>>) -> Comparison {
        let stamps = |series: &str| -> BTreeSet<i64> {
            received
                .get(series)
                .map(|v| v.iter().copied().collect())
                .unwrap_or_default()
        };
        let mut lost = 0;
        let mut missing_at = BTreeSet::new();
        for series in &self.series {
            let have = stamps(series);
            for t in self.acked.difference(&have) {
                lost += 1;
                missing_at.insert(*t);
            }
        }
        let unexpected = received
            .iter()
            .filter(|(series, _)| !self.series.contains(*series))
            .map(|(_, v)| v.iter().filter(|t| self.acked.contains(t)).count() as u64)
            .sum();
        Comparison {
            acknowledged: self.acked.len() as u64 * self.series.len() as u64,
            lost,
            unexpected,
            series_seen: received.len(),
            examples: missing_at.into_iter().take(5).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(series: &[(&str, &[i64])]) -> BTreeMap<String, Vec<i64>> {
        series
            .iter()
            .map(|(k, ts)| ((*k).to_owned(), ts.to_vec()))
            .collect()
    }

    fn ledger() -> Ledger {
        let calibration = received(&[("a", &[1]), ("b", &[1])]);
        let mut ledger = Ledger::from_calibration(&calibration, 1);
        assert_eq!(ledger.series(), 2);
        ledger.add_run(100, &[0, 2]);
        ledger.add_run(200, &[1]);
        assert_eq!(ledger.requests(), 3);
        ledger
    }

    #[test]
    fn a_pair_is_lost_when_a_series_lacks_an_acknowledged_timestamp() {
        let ledger = ledger();
        // 100 and 102 and 201 acknowledged; 101 was not (it may or may not have arrived).
        let all = received(&[
            ("a", &[1, 100, 101, 102, 201]),
            ("b", &[1, 100, 102, 201, 201]),
        ]);
        let cmp = ledger.compare(&all);
        assert_eq!((cmp.acknowledged, cmp.lost, cmp.series_seen), (6, 0, 2));
        assert!(cmp.is_complete());
        let partial = received(&[("a", &[100, 102]), ("b", &[100, 201])]);
        let cmp = ledger.compare(&partial);
        assert_eq!(cmp.lost, 2);
        assert_eq!(cmp.examples, vec![102, 201]);
    }

    #[test]
    fn an_extra_series_never_hides_a_missing_one() {
        let ledger = ledger();
        // `b` lacks 102; `c` (never sent) has it: the count per timestamp is right, the set
        // is not.
        let swapped = received(&[("a", &[100, 102, 201]), ("b", &[100, 201]), ("c", &[102])]);
        let cmp = ledger.compare(&swapped);
        assert_eq!((cmp.lost, cmp.unexpected), (1, 1));
        assert_eq!(cmp.examples, vec![102]);
        assert!(!cmp.is_complete());
    }
}
