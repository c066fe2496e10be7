//! The soak's books: which (series, timestamp) pairs `prw bench` had acknowledged, and how
//! many of them the test receiver holds.
//!
//! Every request of a soak run carries the same `series` series and one timestamp of its own
//! (`--samples 1 --payloads N --requests N --start-ms BASE`: request `k` has `BASE + k`), so
//! the acknowledged pairs are exactly {every series} x {timestamps of acknowledged requests},
//! and a pair is lost when the receiver has fewer than `series` distinct series at one of
//! those timestamps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Acknowledged timestamps.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    series: u64,
    acked: BTreeSet<i64>,
}

/// The receiver's pairs against the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Acknowledged pairs.
    pub acknowledged: u64,
    /// Acknowledged pairs the receiver does not have.
    pub lost: u64,
    /// Distinct series the receiver saw (should be the request's series count).
    pub series_seen: usize,
    /// Up to five acknowledged timestamps with missing series.
    pub examples: Vec<i64>,
}

impl Ledger {
    /// Books for requests of `series` series each.
    pub fn new(series: u64) -> Ledger {
        Ledger {
            series,
            acked: BTreeSet::new(),
        }
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
        let mut per_timestamp: HashMap<i64, u64> = HashMap::new();
        for stamps in received.values() {
            for t in stamps.iter().collect::<BTreeSet<_>>() {
                *per_timestamp.entry(*t).or_default() += 1;
            }
        }
        let mut lost = 0;
        let mut examples = Vec::new();
        for t in &self.acked {
            let have = per_timestamp.get(t).copied().unwrap_or(0).min(self.series);
            if have < self.series {
                lost += self.series - have;
                if examples.len() < 5 {
                    examples.push(*t);
                }
            }
        }
        Comparison {
            acknowledged: self.acked.len() as u64 * self.series,
            lost,
            series_seen: received.len(),
            examples,
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

    #[test]
    fn a_pair_is_lost_when_a_series_lacks_an_acknowledged_timestamp() {
        let mut ledger = Ledger::new(2);
        ledger.add_run(100, &[0, 2]);
        ledger.add_run(200, &[1]);
        assert_eq!(ledger.requests(), 3);
        // 100 and 102 and 201 acknowledged; 101 was not (it may or may not have arrived).
        let all = received(&[("a", &[100, 101, 102, 201]), ("b", &[100, 102, 201, 201])]);
        let cmp = ledger.compare(&all);
        assert_eq!((cmp.acknowledged, cmp.lost, cmp.series_seen), (6, 0, 2));
        let partial = received(&[("a", &[100, 102]), ("b", &[100, 201])]);
        let cmp = ledger.compare(&partial);
        assert_eq!(cmp.lost, 2);
        assert_eq!(cmp.examples, vec![102, 201]);
    }
}
