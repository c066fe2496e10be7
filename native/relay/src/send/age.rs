//! `sample_age_limit`: dropping samples, histograms and exemplars older than a cutoff from a
//! series item, as Prometheus does at enqueue and before every retry.
//!
//! The item's `min_timestamp_ms`/`max_timestamp_ms` decide the cheap cases (all kept, all
//! dropped) without decoding; only a series that straddles the cutoff is decoded and
//! re-encoded, losing no field (`proto_v1::RawSeries`).
//!
//! Invariants: kept + dropped counts equal the input counts; a trimmed item's counts and
//! timestamps describe its new bytes.

use bytes::Bytes;
use prost::Message;

use crate::send::batch::{ItemCounts, SeriesItem};
use crate::send::proto_v1::{ExemplarTimestamp, HistogramTimestamp, RawSeries};

/// What the age limit did to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum AgeOutcome {
    /// Nothing was too old.
    Unchanged,
    /// Some data was too old: send this item instead; `dropped` says what was removed.
    Trimmed {
        /// The item without the old data.
        item: SeriesItem,
        /// What was removed.
        dropped: ItemCounts,
    },
    /// Everything was too old: drop the item.
    AllTooOld,
    /// The series bytes could not be decoded to filter them: sent unchanged.
    Undecodable,
}

/// Applies the cutoff (Unix ms; data strictly older is dropped) to `item`.
pub fn drop_older_than(item: &SeriesItem, cutoff_ms: i64) -> AgeOutcome {
    if item.min_timestamp_ms >= cutoff_ms {
        return AgeOutcome::Unchanged;
    }
    if item.max_timestamp_ms < cutoff_ms {
        return AgeOutcome::AllTooOld;
    }
    let Ok(mut series) = RawSeries::decode(item.series.clone()) else {
        return AgeOutcome::Undecodable;
    };
    let mut bounds = Bounds::default();
    series
        .samples
        .retain(|s| bounds.keep(s.timestamp, cutoff_ms));
    let mut undecodable = false;
    series
        .histograms
        .retain(|h| match HistogramTimestamp::decode(h.clone()) {
            Ok(h) => bounds.keep(h.timestamp, cutoff_ms),
            Err(_) => {
                undecodable = true;
                true
            }
        });
    series
        .exemplars
        .retain(|e| match ExemplarTimestamp::decode(e.clone()) {
            Ok(e) => bounds.keep(e.timestamp, cutoff_ms),
            Err(_) => {
                undecodable = true;
                true
            }
        });
    if undecodable {
        return AgeOutcome::Undecodable;
    }
    let kept = ItemCounts {
        samples: len_u64(series.samples.len()),
        histograms: len_u64(series.histograms.len()),
        exemplars: len_u64(series.exemplars.len()),
    };
    if kept.total() == 0 {
        return AgeOutcome::AllTooOld;
    }
    let dropped = ItemCounts {
        samples: item.counts.samples.saturating_sub(kept.samples),
        histograms: item.counts.histograms.saturating_sub(kept.histograms),
        exemplars: item.counts.exemplars.saturating_sub(kept.exemplars),
    };
    AgeOutcome::Trimmed {
        item: SeriesItem {
            series: Bytes::from(series.encode_to_vec()),
            counts: kept,
            min_timestamp_ms: bounds.min,
            max_timestamp_ms: bounds.max,
            ..item.clone()
        },
        dropped,
    }
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The timestamp range of what was kept.
struct Bounds {
    min: i64,
    max: i64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            min: i64::MAX,
            max: i64::MIN,
        }
    }
}

impl Bounds {
    fn keep(&mut self, timestamp: i64, cutoff_ms: i64) -> bool {
        if timestamp < cutoff_ms {
            return false;
        }
        self.min = self.min.min(timestamp);
        self.max = self.max.max(timestamp);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use prw_core::proto::v1::{Exemplar, Histogram, Label, Sample, TimeSeries};

    fn item(series: &TimeSeries, counts: ItemCounts, min: i64, max: i64) -> SeriesItem {
        SeriesItem {
            series: Bytes::from(series.encode_to_vec()),
            hash: 7,
            counts,
            min_timestamp_ms: min,
            max_timestamp_ms: max,
            record_seq: 4,
            headers: Arc::from(Vec::new()),
        }
    }

    fn series() -> TimeSeries {
        TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "up".into(),
            }],
            samples: [100, 200, 300]
                .map(|timestamp| Sample {
                    value: 1.0,
                    timestamp,
                })
                .to_vec(),
            exemplars: vec![
                Exemplar {
                    labels: Vec::new(),
                    value: 2.0,
                    timestamp: 150,
                },
                Exemplar {
                    labels: Vec::new(),
                    value: 3.0,
                    timestamp: 250,
                },
            ],
            histograms: vec![Histogram {
                timestamp: 90,
                ..Histogram::default()
            }],
        }
    }

    fn counts() -> ItemCounts {
        ItemCounts {
            samples: 3,
            histograms: 1,
            exemplars: 2,
        }
    }

    #[test]
    fn item_newer_than_the_cutoff_is_left_alone() {
        let s = series();
        assert_eq!(
            drop_older_than(&item(&s, counts(), 90, 300), 90),
            AgeOutcome::Unchanged
        );
    }

    #[test]
    fn item_entirely_older_than_the_cutoff_is_dropped() {
        let s = series();
        assert_eq!(
            drop_older_than(&item(&s, counts(), 90, 300), 301),
            AgeOutcome::AllTooOld
        );
    }

    #[test]
    fn straddling_item_keeps_only_new_data_and_every_label() {
        let s = series();
        let AgeOutcome::Trimmed { item, dropped } =
            drop_older_than(&item(&s, counts(), 90, 300), 200)
        else {
            panic!("expected a trimmed item");
        };
        assert_eq!(
            dropped,
            ItemCounts {
                samples: 1,
                histograms: 1,
                exemplars: 1
            }
        );
        assert_eq!(
            item.counts,
            ItemCounts {
                samples: 2,
                histograms: 0,
                exemplars: 1
            }
        );
        assert_eq!((item.min_timestamp_ms, item.max_timestamp_ms), (200, 300));
        let decoded = TimeSeries::decode(item.series.clone()).unwrap();
        assert_eq!(decoded.labels, s.labels);
        assert_eq!(decoded.samples, s.samples[1..].to_vec());
        assert_eq!(decoded.exemplars, s.exemplars[1..].to_vec());
        assert!(decoded.histograms.is_empty());
    }

    #[test]
    fn undecodable_series_is_sent_unchanged() {
        let mut bad = item(&series(), counts(), 90, 300);
        bad.series = Bytes::from_static(&[0x0A, 0xFF]);
        assert_eq!(drop_older_than(&bad, 200), AgeOutcome::Undecodable);
    }
}
