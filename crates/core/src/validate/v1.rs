//! The v1 walk: one pass over each `TimeSeries`.

use alloc::vec::Vec;

use super::labels::LabelState;
use super::points::Points;
use super::{Collector, Counts, Halt, Rule};
use crate::view::SeriesFacts;
use crate::view::v1::{Item, Series, SeriesField, WriteRequest};
use crate::{Limits, Protocol};

pub(super) fn walk(
    decoded: &[u8],
    limits: &Limits,
    c: &mut Collector,
    counts: &mut Counts,
    mut facts: Option<&mut Vec<SeriesFacts>>,
) -> Result<(), Halt> {
    let mut labels = LabelState::new(facts.is_some());
    for item in WriteRequest::new(decoded).items() {
        match item? {
            Item::Metadata(_) => counts.metadata += 1,
            Item::Series(series) => {
                let index = counts.series as usize;
                counts.series += 1;
                if index == limits.max_series {
                    c.add(Rule::LimitsSeries, Some(index), None, None)?;
                }
                let f = walk_series(&series, index, limits, c, counts, &mut labels)?;
                if let Some(out) = facts.as_deref_mut() {
                    out.push(f);
                }
            }
        }
    }
    if counts.series == 0 && counts.metadata == 0 {
        c.add(Rule::RequestEmpty, None, None, None)?;
    }
    Ok(())
}

fn walk_series<'a>(
    series: &Series<'a>,
    index: usize,
    limits: &Limits,
    c: &mut Collector,
    counts: &mut Counts,
    labels: &mut LabelState<'a>,
) -> Result<SeriesFacts, Halt> {
    let at = Some(index);
    labels.reset();
    let mut f = SeriesFacts {
        range: series.range(),
        hash: 0,
        samples: 0,
        histograms: 0,
        exemplars: 0,
        max_timestamp: None,
    };
    let mut points = Points::default();
    let (run, rest) = series.split_label_run();
    for l in run {
        labels.push(c, limits, index, l.name, l.value)?;
    }
    for field in rest {
        match field? {
            SeriesField::Label(l) => labels.push(c, limits, index, l.name, l.value)?,
            SeriesField::Sample(s) => points.sample(&s, at, c, &mut f)?,
            SeriesField::Histogram(h) => {
                points.histogram(&h.summary()?, Protocol::V1, index, c, &mut f)?
            }
            SeriesField::Exemplar(e) => {
                let i = f.exemplars as usize;
                f.exemplars = f.exemplars.saturating_add(1);
                if e.timestamp == 0 {
                    c.add(Rule::ExemplarMissingTimestamp, at, Some(i), None)?;
                }
            }
        }
    }
    labels.finish(c, index)?;
    if f.samples == 0 && f.histograms == 0 {
        c.add(Rule::SeriesEmpty, at, None, None)?;
    }
    counts.samples += u64::from(f.samples);
    counts.histograms += u64::from(f.histograms);
    counts.exemplars += u64::from(f.exemplars);
    f.hash = labels.hash();
    Ok(f)
}
