//! The v2 walk: collect symbols, then one pass over each `TimeSeries`.

use alloc::vec::Vec;

use super::labels::LabelState;
use super::points::Points;
use super::{Collector, Counts, Halt, Rule};
use crate::view::SeriesFacts;
use crate::view::v2::{Request, Series, SeriesField};
use crate::{Limits, Protocol};

pub(super) fn walk(
    decoded: &[u8],
    limits: &Limits,
    c: &mut Collector,
    counts: &mut Counts,
    mut facts: Option<&mut Vec<SeriesFacts>>,
) -> Result<(), Halt> {
    let request = Request::new(decoded);
    let mut symbols = Vec::new();
    request.symbols_into(&mut symbols)?;
    if symbols.first().is_some_and(|s| !s.is_empty()) {
        c.add(Rule::V2SymbolsFirstNotEmpty, None, None, None)?;
    }
    let mut labels = LabelState::new(facts.is_some());
    for series in request.series() {
        let series = series?;
        let index = counts.series as usize;
        counts.series += 1;
        if index == limits.max_series {
            c.add(Rule::LimitsSeries, Some(index), None, None)?;
        }
        let f = walk_series(&series, &symbols, index, limits, c, counts, &mut labels)?;
        if let Some(out) = facts.as_deref_mut() {
            out.push(f);
        }
    }
    if counts.series == 0 {
        c.add(Rule::RequestEmpty, None, None, None)?;
    }
    Ok(())
}

fn walk_series<'a>(
    series: &Series<'a>,
    symbols: &[&'a str],
    index: usize,
    limits: &Limits,
    c: &mut Collector,
    counts: &mut Counts,
    labels: &mut LabelState<'a>,
) -> Result<SeriesFacts, Halt> {
    let at = Some(index);
    labels.reset();
    let mut pending_name: Option<u32> = None;
    let mut f = SeriesFacts::empty(series.range(), series.message_start());
    let mut points = Points::default();
    let symbol = |r: u32| symbols.get(r as usize).copied();
    for field in series.fields() {
        match field? {
            SeriesField::LabelsRefs(refs) => {
                for r in refs {
                    let r = r? as u32;
                    let Some(name_ref) = pending_name.take() else {
                        pending_name = Some(r);
                        continue;
                    };
                    match (symbol(name_ref), symbol(r)) {
                        (Some(name), Some(value)) => labels.push(c, limits, index, name, value)?,
                        (name, _) => {
                            c.add(Rule::V2LabelRefOutOfRange, at, None, name)?;
                        }
                    }
                }
            }
            SeriesField::Sample(s) => points.sample(&s, at, c, &mut f)?,
            SeriesField::Histogram(h) => {
                points.histogram(&h.summary()?, Protocol::V2, index, c, &mut f)?
            }
            SeriesField::Exemplar(e) => {
                let i = f.exemplars as usize;
                f.exemplars = f.exemplars.saturating_add(1);
                f.timestamp(e.timestamp);
                if e.timestamp == 0 {
                    c.add(Rule::ExemplarMissingTimestamp, at, Some(i), None)?;
                }
                let mut n = 0usize;
                let mut out_of_range = false;
                for r in e.labels_refs() {
                    n += 1;
                    out_of_range |= symbol(r).is_none();
                }
                if n % 2 == 1 {
                    c.add(Rule::V2LabelsRefsOdd, at, Some(i), None)?;
                }
                if out_of_range {
                    c.add(Rule::V2LabelRefOutOfRange, at, Some(i), None)?;
                }
            }
            SeriesField::Metadata(m) => {
                counts.metadata += 1;
                if symbol(m.help_ref).is_none() || symbol(m.unit_ref).is_none() {
                    c.add(Rule::V2MetadataRefOutOfRange, at, None, None)?;
                }
            }
        }
    }
    if pending_name.is_some() {
        c.add(Rule::V2LabelsRefsOdd, at, None, None)?;
    }
    labels.finish(c, index)?;
    match (f.samples, f.histograms) {
        (0, 0) => c.add(Rule::SeriesEmpty, at, None, None)?,
        (s, h) if s > 0 && h > 0 => c.add(Rule::SeriesSamplesAndHistograms, at, None, None)?,
        _ => {}
    }
    counts.samples += u64::from(f.samples);
    counts.histograms += u64::from(f.histograms);
    counts.exemplars += u64::from(f.exemplars);
    counts.newest(f.max_timestamp);
    f.hash = labels.hash();
    Ok(f)
}
