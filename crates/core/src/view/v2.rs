//! Borrowed view of a v2 `io.prometheus.write.v2.Request`.
//!
//! Symbols may appear anywhere in the body (even after the series), so a reader first
//! collects them with [`Request::symbols_into`] (one `Vec<&str>`, reusable, no per-label
//! allocation) and then walks the series.

use alloc::vec::Vec;
use core::ops::Range;

use super::{HistogramView, Sample};
use crate::wire::{DecodeError, Field, Reader, Varints};

/// A decoded v2 body.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    bytes: &'a [u8],
}

impl<'a> Request<'a> {
    /// Views `bytes` (a decompressed body).
    pub fn new(bytes: &'a [u8]) -> Self {
        Request { bytes }
    }

    /// Collects the symbol table into `out` (cleared first). Also checks that every
    /// top-level field decodes (series are only framed here, not read).
    pub fn symbols_into(&self, out: &mut Vec<&'a str>) -> Result<(), DecodeError> {
        out.clear();
        let mut r = Reader::new(self.bytes, 0, "Request");
        while let Some(f) = r.next_field()? {
            match f.number {
                4 => out.push(f.str("Request.symbols")?),
                5 => {
                    f.bytes("Request.timeseries")?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The series in body order.
    pub fn series(&self) -> impl Iterator<Item = Result<Series<'a>, DecodeError>> + 'a {
        let mut r = Reader::new(self.bytes, 0, "Request");
        let mut failed = false;
        core::iter::from_fn(move || {
            if failed {
                return None;
            }
            loop {
                match r.next_field() {
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                    Ok(None) => return None,
                    Ok(Some(f)) if f.number == 5 => {
                        let res = f.bytes("Request.timeseries").map(|bytes| Series {
                            bytes,
                            base: f.value_offset,
                            range: f.start..f.end,
                        });
                        failed = res.is_err();
                        return Some(res);
                    }
                    Ok(Some(_)) => {}
                }
            }
        })
    }
}

/// One encoded v2 `TimeSeries`.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    bytes: &'a [u8],
    base: usize,
    range: Range<usize>,
}

/// One field of a v2 series.
#[derive(Clone, Debug)]
pub enum SeriesField<'a> {
    /// One occurrence of `labels_refs` (packed run or single value).
    LabelsRefs(Varints<'a>),
    /// A float sample.
    Sample(Sample),
    /// A native histogram.
    Histogram(HistogramView<'a>),
    /// An exemplar.
    Exemplar(Exemplar<'a>),
    /// The metadata.
    Metadata(Metadata),
}

impl<'a> Series<'a> {
    /// Byte range of the encoded field (tag, length, payload) in the body.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// Absolute offset of the encoded `TimeSeries` message (after its tag and length).
    pub fn message_start(&self) -> usize {
        self.base
    }

    /// Fields in body order.
    pub fn fields(&self) -> impl Iterator<Item = Result<SeriesField<'a>, DecodeError>> + 'a {
        let mut r = Reader::new(self.bytes, self.base, "TimeSeries").at_depth(1);
        let mut failed = false;
        core::iter::from_fn(move || {
            if failed {
                return None;
            }
            let res = loop {
                match r.next_field() {
                    Err(e) => break Err(e),
                    Ok(None) => return None,
                    Ok(Some(f)) => match f.number {
                        1 => {
                            break f
                                .varints("TimeSeries.labels_refs")
                                .map(SeriesField::LabelsRefs);
                        }
                        2 => break super::read_sample(&f, true).map(SeriesField::Sample),
                        3 => {
                            break f.bytes("TimeSeries.histograms").and_then(|b| {
                                HistogramView::read(b, f.value_offset, true)
                                    .map(SeriesField::Histogram)
                            });
                        }
                        4 => break Exemplar::read(&f).map(SeriesField::Exemplar),
                        5 => break Metadata::read(&f).map(SeriesField::Metadata),
                        _ => {}
                    },
                }
            };
            failed = res.is_err();
            Some(res)
        })
    }
}

/// An encoded v2 `Exemplar` (scalars read; label refs checked to decode).
#[derive(Clone, Copy, Debug)]
pub struct Exemplar<'a> {
    bytes: &'a [u8],
    base: usize,
    /// Value.
    pub value: f64,
    /// Timestamp in ms (0 = missing).
    pub timestamp: i64,
}

impl<'a> Exemplar<'a> {
    fn read(f: &Field<'a>) -> Result<Self, DecodeError> {
        let bytes = f.bytes("TimeSeries.exemplars")?;
        let mut e = Exemplar {
            bytes,
            base: f.value_offset,
            value: 0.0,
            timestamp: 0,
        };
        let mut r = Reader::new(bytes, f.value_offset, "Exemplar").at_depth(2);
        while let Some(f) = r.next_field()? {
            match f.number {
                1 => {
                    for v in f.varints("Exemplar.labels_refs")? {
                        v?;
                    }
                }
                2 => e.value = f.double("Exemplar.value")?,
                3 => e.timestamp = f.int64("Exemplar.timestamp")?,
                _ => {}
            }
        }
        Ok(e)
    }

    /// The exemplar's label refs (already checked to decode), truncated to u32 like prost.
    pub fn labels_refs(&self) -> impl Iterator<Item = u32> + 'a {
        let mut r = Reader::new(self.bytes, self.base, "Exemplar").at_depth(2);
        let mut current: Option<Varints<'a>> = None;
        core::iter::from_fn(move || {
            loop {
                if let Some(v) = current.as_mut().and_then(Iterator::next) {
                    return v.ok().map(|v| v as u32);
                }
                let f = r.next_field().ok()??;
                if f.number == 1 {
                    current = f.varints("Exemplar.labels_refs").ok();
                }
            }
        })
    }
}

/// A v2 `Metadata`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Metric type (raw enum value).
    pub r#type: i32,
    /// HELP symbol ref.
    pub help_ref: u32,
    /// Unit symbol ref.
    pub unit_ref: u32,
}

impl Metadata {
    fn read(f: &Field<'_>) -> Result<Self, DecodeError> {
        let mut r =
            Reader::new(f.bytes("TimeSeries.metadata")?, f.value_offset, "Metadata").at_depth(2);
        let mut m = Metadata {
            r#type: 0,
            help_ref: 0,
            unit_ref: 0,
        };
        while let Some(f) = r.next_field()? {
            match f.number {
                1 => m.r#type = f.varint("Metadata.type")? as i32,
                3 => m.help_ref = f.varint("Metadata.help_ref")? as u32,
                4 => m.unit_ref = f.varint("Metadata.unit_ref")? as u32,
                _ => {}
            }
        }
        Ok(m)
    }
}
