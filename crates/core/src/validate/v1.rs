//! The v1 walk: one pass over each `TimeSeries`.
//!
//! Top-level fields are framed here directly when they are a series with a one-byte tag
//! (`0a`, as every sender writes it); anything else (metadata, unknown fields, an odd tag
//! or length encoding, an error) goes through [`WriteRequest::items_from`], one item at a
//! time, which gives the precise error. Each series first tries the single-pass fast path
//! ([`super::v1_fast`]); a series it does not accept is walked again by [`walk_series`]
//! over the borrowed view, the general path that produces every finding.

use alloc::vec::Vec;

use super::labels::LabelState;
use super::points::Points;
use super::v1_fast::{self, Memo};
use super::{Collector, Counts, Halt, Path, Rule};
use crate::view::SeriesFacts;
use crate::view::v1::{Item, Series, SeriesField, WriteRequest};
use crate::{Limits, Protocol};

pub(super) fn walk(
    decoded: &[u8],
    limits: &Limits,
    c: &mut Collector,
    counts: &mut Counts,
    mut facts: Option<&mut Vec<SeriesFacts>>,
    path: Path,
) -> Result<(), Halt> {
    let mut labels = LabelState::new(facts.is_some());
    let mut memo = Memo::new();
    let want_facts = facts.is_some();
    let mut pos = 0;
    while pos < decoded.len() {
        let (series, index) = match frame_series(decoded, pos) {
            Some((start, end)) => {
                let index = counts.series as usize;
                counts.series += 1;
                if index == limits.max_series {
                    c.add(Rule::LimitsSeries, Some(index), None, None)?;
                }
                let accepted = match path {
                    Path::Fast => {
                        v1_fast::series(decoded, start, end, limits, &mut memo, want_facts)
                    }
                    Path::General => None,
                };
                if let Some(a) = accepted {
                    counts.samples += u64::from(a.samples);
                    counts.newest(Some(a.last));
                    if let Some(out) = facts.as_deref_mut() {
                        out.push(SeriesFacts {
                            range: pos..end,
                            header_len: u8::try_from(start - pos).unwrap_or(u8::MAX),
                            hash: a.hash,
                            samples: a.samples,
                            histograms: 0,
                            exemplars: 0,
                            min_timestamp: Some(a.first),
                            max_timestamp: Some(a.last),
                        });
                    }
                    pos = end;
                    continue;
                }
                let message = decoded.get(start..end).unwrap_or(&[]);
                let series = Series::new(message, start, pos..end);
                pos = end;
                (series, index)
            }
            None => {
                let mut items = WriteRequest::new(decoded).items_from(pos);
                let item = items.next();
                pos = items.offset();
                match item.transpose()? {
                    None => break,
                    Some(Item::Metadata(_)) => {
                        counts.metadata += 1;
                        continue;
                    }
                    Some(Item::Series(series)) => {
                        let index = counts.series as usize;
                        counts.series += 1;
                        if index == limits.max_series {
                            c.add(Rule::LimitsSeries, Some(index), None, None)?;
                        }
                        (series, index)
                    }
                }
            }
        };
        let f = walk_series(&series, index, limits, c, counts, &mut labels)?;
        if let Some(out) = facts.as_deref_mut() {
            out.push(f);
        }
    }
    if counts.series == 0 && counts.metadata == 0 {
        c.add(Rule::RequestEmpty, None, None, None)?;
    }
    Ok(())
}

/// The field at `pos` when it is a series with a one-byte tag and a length that fits:
/// where its message starts and where the field ends. Lengths of one or two bytes are
/// read inline.
#[inline(always)]
fn frame_series(decoded: &[u8], pos: usize) -> Option<(usize, usize)> {
    let (len, start) = match decoded.get(pos..)? {
        [0x0a, b, ..] if *b < 0x80 => (usize::from(*b), pos + 2),
        [0x0a, lo, hi, ..] if *hi < 0x80 => {
            (usize::from(lo & 0x7f) | usize::from(*hi) << 7, pos + 3)
        }
        [0x0a, tail @ ..] => {
            let (len, rest) = crate::view::split_varint(tail)?;
            (usize::try_from(len).ok()?, decoded.len() - rest.len())
        }
        _ => return None,
    };
    let end = start.checked_add(len).filter(|&end| end <= decoded.len())?;
    Some((start, end))
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
    let mut f = SeriesFacts::empty(series.range(), series.message_start());
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
                f.timestamp(e.timestamp);
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
    counts.newest(f.max_timestamp);
    f.hash = labels.hash();
    Ok(f)
}
