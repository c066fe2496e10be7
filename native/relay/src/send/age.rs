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

use crate::send::batch::{ItemCounts, SeriesItem, TimestampBounds};
use crate::send::proto_v1::{ExemplarTimestamp, HistogramTimestamp, RawSeries, RawSeriesV2};

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
    let mut filter = Filter {
        bounds: TimestampBounds::default(),
        cutoff_ms,
        undecodable: false,
    };
    let filtered = match &item.symbols {
        None => filter.trim::<RawSeries>(&item.series),
        Some(_) => filter.trim::<RawSeriesV2>(&item.series),
    };
    let Some((kept, bytes)) = filtered.filter(|_| !filter.undecodable) else {
        return AgeOutcome::Undecodable;
    };
    if kept.total() == 0 {
        return AgeOutcome::AllTooOld;
    }
    let dropped = ItemCounts {
        samples: item.counts.samples.saturating_sub(kept.samples),
        histograms: item.counts.histograms.saturating_sub(kept.histograms),
        exemplars: item.counts.exemplars.saturating_sub(kept.exemplars),
    };
    if dropped.total() == 0 {
        // The item's bounds were wider than its points (conservative facts): nothing to do.
        return AgeOutcome::Unchanged;
    }
    AgeOutcome::Trimmed {
        item: SeriesItem {
            series: Bytes::from(bytes),
            counts: kept,
            min_timestamp_ms: filter.bounds.min,
            max_timestamp_ms: filter.bounds.max,
            ..item.clone()
        },
        dropped,
    }
}

/// A series whose points can be filtered by timestamp, everything else kept as is.
trait Points: Message + Default {
    /// Keeps the points `filter` keeps; what is left, as counts.
    fn retain(&mut self, filter: &mut Filter) -> ItemCounts;
}

/// Both views name their point lists alike.
macro_rules! points {
    ($($series:ty),*) => {$(
        impl Points for $series {
            fn retain(&mut self, filter: &mut Filter) -> ItemCounts {
                self.samples.retain(|s| filter.keep(s.timestamp));
                filter.raw(&mut self.histograms, histogram_timestamp);
                filter.raw(&mut self.exemplars, exemplar_timestamp);
                counts_of(self.samples.len(), self.histograms.len(), self.exemplars.len())
            }
        }
    )*};
}

points!(RawSeries, RawSeriesV2);

fn counts_of(samples: usize, histograms: usize, exemplars: usize) -> ItemCounts {
    ItemCounts {
        samples: len_u64(samples),
        histograms: len_u64(histograms),
        exemplars: len_u64(exemplars),
    }
}

fn histogram_timestamp(bytes: Bytes) -> Option<i64> {
    HistogramTimestamp::decode(bytes).ok().map(|h| h.timestamp)
}

fn exemplar_timestamp(bytes: Bytes) -> Option<i64> {
    ExemplarTimestamp::decode(bytes).ok().map(|e| e.timestamp)
}

/// The cutoff applied to points, the bounds of what was kept, and whether a point could not
/// be read (the series is then sent unchanged).
struct Filter {
    bounds: TimestampBounds,
    cutoff_ms: i64,
    undecodable: bool,
}

impl Filter {
    /// `series` decoded as `S`, filtered: what is kept and its encoding (`None`: it does not
    /// decode).
    fn trim<S: Points>(&mut self, series: &Bytes) -> Option<(ItemCounts, Vec<u8>)> {
        let mut decoded = S::decode(series.clone()).ok()?;
        let kept = decoded.retain(self);
        Some((kept, decoded.encode_to_vec()))
    }

    /// Keeps `timestamp` (widening the bounds) unless it is older than the cutoff.
    fn keep(&mut self, timestamp: i64) -> bool {
        if timestamp < self.cutoff_ms {
            return false;
        }
        self.bounds.add(timestamp);
        true
    }

    /// Filters raw messages by the timestamp `timestamp_of` reads from each.
    fn raw(&mut self, messages: &mut Vec<Bytes>, timestamp_of: fn(Bytes) -> Option<i64>) {
        messages.retain(|m| match timestamp_of(m.clone()) {
            Some(ts) => self.keep(ts),
            None => {
                self.undecodable = true;
                true
            }
        });
    }
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use prw_core::proto::v1::{Exemplar, Histogram, Label, Sample, TimeSeries};

    fn item(series: &TimeSeries, counts: ItemCounts, min: i64, max: i64) -> SeriesItem {
        SeriesItem {
            series: Bytes::from(series.encode_to_vec()),
            symbols: None,
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
    fn a_straddling_v2_item_keeps_its_refs_metadata_and_new_samples() {
        use prw_core::proto::v2;
        let series = v2::TimeSeries {
            labels_refs: vec![1, 2],
            samples: [100, 200, 300]
                .map(|timestamp| v2::Sample {
                    value: 1.0,
                    timestamp,
                    start_timestamp: 50,
                })
                .to_vec(),
            metadata: Some(v2::Metadata {
                r#type: 1,
                help_ref: 3,
                unit_ref: 0,
            }),
            ..Default::default()
        };
        let v2_item = SeriesItem {
            symbols: Some(Arc::new(crate::record::V2Symbols::from_strings([
                "", "__name__", "up", "help",
            ]))),
            series: Bytes::from(series.encode_to_vec()),
            ..item(
                &TimeSeries::default(),
                ItemCounts {
                    samples: 3,
                    ..ItemCounts::default()
                },
                100,
                300,
            )
        };
        let AgeOutcome::Trimmed { item, dropped } = drop_older_than(&v2_item, 150) else {
            panic!("expected a trimmed item");
        };
        assert_eq!(dropped.samples, 1);
        assert!(item.symbols.is_some());
        let decoded = v2::TimeSeries::decode(item.series.clone()).unwrap();
        assert_eq!(decoded.labels_refs, series.labels_refs);
        assert_eq!(decoded.metadata, series.metadata);
        assert_eq!(decoded.samples, series.samples[1..].to_vec());
        assert_eq!((item.min_timestamp_ms, item.max_timestamp_ms), (200, 300));
    }

    #[test]
    fn bounds_wider_than_the_points_change_nothing() {
        let s = series();
        assert_eq!(
            drop_older_than(&item(&s, counts(), i64::MIN, 300), 50),
            AgeOutcome::Unchanged
        );
    }

    #[test]
    fn undecodable_series_is_sent_unchanged() {
        let mut bad = item(&series(), counts(), 90, 300);
        bad.series = Bytes::from_static(&[0x0A, 0xFF]);
        assert_eq!(drop_older_than(&bad, 200), AgeOutcome::Undecodable);
    }
}
