//! Native histogram checks on a [`HistogramSummary`].

use super::{Collector, Halt, Rule};
use crate::Protocol;
use crate::view::{BucketSide, HistogramCount, HistogramSummary};

/// Schema of custom-bucket histograms (v2).
const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

pub(super) fn check(
    h: &HistogramSummary,
    protocol: Protocol,
    c: &mut Collector,
    series: usize,
    index: usize,
) -> Result<(), Halt> {
    let (at, idx) = (Some(series), Some(index));
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA && protocol == Protocol::V2;
    if !(-4..=8).contains(&h.schema) && !custom {
        c.add(Rule::HistogramBadSchema, at, idx, None)?;
    }
    if custom {
        let zero = h.zero_count.as_f64() != 0.0 || h.zero_threshold != 0.0;
        let negative = h.negative.spans > 0 || h.negative.deltas > 0 || h.negative.counts > 0;
        if !h.custom_values_increasing || zero || negative {
            c.add(Rule::HistogramCustomBucketsInvalid, at, idx, None)?;
        }
    }
    if spans_mismatch(&h.positive, h.is_float()) || spans_mismatch(&h.negative, h.is_float()) {
        c.add(Rule::HistogramSpansMismatch, at, idx, None)?;
    }
    if h.positive.negative_bucket
        || h.negative.negative_bucket
        || h.positive.negative_float
        || h.negative.negative_float
    {
        c.add(Rule::HistogramNegativeBucket, at, idx, None)?;
    }
    if count_mismatch(h) {
        c.add(Rule::HistogramCountMismatch, at, idx, None)?;
    }
    Ok(())
}

fn spans_mismatch(side: &BucketSide, float: bool) -> bool {
    let values = if float { side.counts } else { side.deltas };
    side.span_buckets != values || (float && side.deltas > 0) || (!float && side.counts > 0)
}

/// Prometheus' `Histogram.Validate`: buckets + zero bucket == count, or <= count when the
/// sum is NaN (stale markers and some conversions).
fn count_mismatch(h: &HistogramSummary) -> bool {
    match h.count {
        HistogramCount::Float(count) => {
            let zero = h.zero_count.as_f64();
            let total = h.positive.float_total + h.negative.float_total + zero;
            let tolerance = 1e-9 * count.abs().max(1.0);
            if h.sum.is_nan() {
                total > count + tolerance
            } else {
                (total - count).abs() > tolerance
            }
        }
        HistogramCount::Int(_) | HistogramCount::Unset => {
            let count = match h.count {
                HistogramCount::Int(v) => i128::from(v),
                _ => 0,
            };
            let zero = match h.zero_count {
                HistogramCount::Int(v) => i128::from(v),
                HistogramCount::Float(v) => v as i128,
                HistogramCount::Unset => 0,
            };
            let total = h
                .positive
                .int_total
                .saturating_add(h.negative.int_total)
                .saturating_add(zero);
            if h.sum.is_nan() {
                total > count
            } else {
                total != count
            }
        }
    }
}
