//! Borrowed view of a v1 `prometheus.WriteRequest`.

use core::ops::Range;

use super::{HistogramView, Label, Sample};
use crate::wire::{DecodeError, Field, Reader};

/// A decoded v1 body.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    bytes: &'a [u8],
}

/// A top-level item of a v1 request.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A `TimeSeries` (field 1).
    Series(Series<'a>),
    /// A `MetricMetadata` (field 3).
    Metadata(Metadata<'a>),
}

impl<'a> WriteRequest<'a> {
    /// Views `bytes` (a decompressed body).
    pub fn new(bytes: &'a [u8]) -> Self {
        WriteRequest { bytes }
    }

    /// Series and metadata in body order; unknown fields skipped.
    pub fn items(&self) -> Items<'a> {
        self.items_from(0)
    }

    /// Like [`WriteRequest::items`], starting at top-level field boundary `offset` (offsets
    /// in errors and ranges stay absolute).
    pub fn items_from(&self, offset: usize) -> Items<'a> {
        Items {
            reader: Reader::new(
                self.bytes.get(offset..).unwrap_or(&[]),
                offset,
                "WriteRequest",
            ),
            failed: false,
        }
    }
}

/// Iterator over the items of a [`WriteRequest`].
#[derive(Clone, Debug)]
pub struct Items<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl Items<'_> {
    /// The absolute offset where the next item (or unknown field) starts.
    pub fn offset(&self) -> usize {
        self.reader.offset()
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let res = loop {
            match self.reader.next_field() {
                Err(e) => break Err(e),
                Ok(None) => return None,
                Ok(Some(f)) => match f.number {
                    1 => {
                        break f.bytes("WriteRequest.timeseries").map(|bytes| {
                            Item::Series(Series {
                                bytes,
                                base: f.value_offset,
                                range: f.start..f.end,
                            })
                        });
                    }
                    3 => break Metadata::read(&f).map(Item::Metadata),
                    _ => {}
                },
            }
        };
        self.failed = res.is_err();
        Some(res)
    }
}

/// One encoded `TimeSeries`.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    bytes: &'a [u8],
    base: usize,
    range: Range<usize>,
}

/// One field of a v1 series.
#[derive(Clone, Debug)]
pub enum SeriesField<'a> {
    /// A label.
    Label(Label<'a>),
    /// A float sample.
    Sample(Sample),
    /// An exemplar.
    Exemplar(Exemplar<'a>),
    /// A native histogram.
    Histogram(HistogramView<'a>),
}

impl<'a> Series<'a> {
    /// A series whose encoded message `bytes` starts at absolute offset `base`, framed by
    /// the field at `range`.
    pub(crate) fn new(bytes: &'a [u8], base: usize, range: Range<usize>) -> Self {
        Series { bytes, base, range }
    }

    /// Byte range of the encoded field (tag, length, payload) in the body.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// Absolute offset of the encoded `TimeSeries` message (after its tag and length).
    pub fn message_start(&self) -> usize {
        self.base
    }

    /// The encoded `TimeSeries` message.
    pub fn message(&self) -> &'a [u8] {
        self.bytes
    }

    /// Fields in body order.
    pub fn fields(&self) -> SeriesFields<'a> {
        SeriesFields {
            reader: Reader::new(self.bytes, self.base, "TimeSeries").at_depth(1),
            failed: false,
        }
    }

    /// Splits the series into its leading run of canonically encoded labels and an
    /// iterator over the remaining fields: the hot path of validation.
    ///
    /// Trick: every sender writes the labels first, each as `0a n 0a a name 12 b value` with
    /// one-byte lengths. All framing bytes of such a run are ASCII, so the run is UTF-8
    /// exactly when every name and value is, and one `from_utf8` over the whole run (which
    /// takes std's word-at-a-time ASCII path) replaces two short calls per label. A run
    /// that is not UTF-8 is returned empty, so the general path reads those labels and
    /// reports the precise error. The two parts together yield exactly what
    /// [`Series::fields`] yields.
    pub(crate) fn split_label_run(&self) -> (LabelRun<'a>, SeriesFields<'a>) {
        let end = canonical_label_run_len(self.bytes);
        let run = self
            .bytes
            .get(..end)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("");
        let rest = self.bytes.get(run.len()..).unwrap_or(&[]);
        let fields = SeriesFields {
            reader: Reader::new(rest, self.base.saturating_add(run.len()), "TimeSeries")
                .at_depth(1),
            failed: false,
        };
        (LabelRun { run }, fields)
    }

    /// Only the labels.
    pub fn labels(&self) -> impl Iterator<Item = Result<Label<'a>, DecodeError>> + 'a {
        self.fields().filter_map(|f| match f {
            Ok(SeriesField::Label(l)) => Some(Ok(l)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    }
}

/// Length of the leading run of label fields of the form `0a n 0a a name 12 b value`
/// (one-byte lengths, `n == a + b + 4`): the only encoding [`LabelRun`] reads.
#[inline]
fn canonical_label_run_len(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(&[0x0a, n, 0x0a, a]) = bytes.get(pos..).and_then(|b| b.first_chunk::<4>()) {
        let value_tag = pos + 4 + usize::from(a);
        let Some(&[0x12, b]) = bytes.get(value_tag..).and_then(|b| b.first_chunk::<2>()) else {
            break;
        };
        // One-byte varints (< 0x80) and a label message holding exactly name and value.
        let canonical = n < 0x80
            && a < 0x80
            && b < 0x80
            && usize::from(n) == usize::from(a) + usize::from(b) + 4;
        let end = value_tag + 2 + usize::from(b);
        if !canonical || end > bytes.len() {
            break;
        }
        pos = end;
    }
    pos
}

/// The labels of a run found by [`Series::split_label_run`]: already known to be
/// canonical and UTF-8, so reading them only slices the run.
#[derive(Clone, Debug)]
pub(crate) struct LabelRun<'a> {
    run: &'a str,
}

impl<'a> Iterator for LabelRun<'a> {
    type Item = Label<'a>;

    #[inline]
    fn next(&mut self) -> Option<Label<'a>> {
        let &[_, _, _, a] = self.run.as_bytes().first_chunk::<4>()?;
        let name_end = 4 + usize::from(a);
        let &[_, b] = self.run.as_bytes().get(name_end..)?.first_chunk::<2>()?;
        let value_end = name_end + 2 + usize::from(b);
        // Framing bytes are ASCII, so every offset here is a char boundary.
        let label = Label {
            name: self.run.get(4..name_end)?,
            value: self.run.get(name_end + 2..value_end)?,
        };
        self.run = self.run.get(value_end..)?;
        Some(label)
    }
}

/// Iterator over [`SeriesField`]s.
#[derive(Clone, Debug)]
pub struct SeriesFields<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> Iterator for SeriesFields<'a> {
    type Item = Result<SeriesField<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let res = loop {
            match self.reader.next_field() {
                Err(e) => break Err(e),
                Ok(None) => return None,
                Ok(Some(f)) => match f.number {
                    1 => break read_label(&f, "TimeSeries.labels", 2).map(SeriesField::Label),
                    2 => break super::read_sample(&f, false).map(SeriesField::Sample),
                    3 => break Exemplar::read(&f).map(SeriesField::Exemplar),
                    4 => {
                        break f.bytes("TimeSeries.histograms").and_then(|b| {
                            HistogramView::read(b, f.value_offset, false)
                                .map(SeriesField::Histogram)
                        });
                    }
                    _ => {}
                },
            }
        };
        self.failed = res.is_err();
        Some(res)
    }
}

/// Reads an encoded `Label` message.
pub(crate) fn read_label<'a>(
    f: &Field<'a>,
    what: &'static str,
    depth: u32,
) -> Result<Label<'a>, DecodeError> {
    let bytes = f.bytes(what)?;
    if let Some(label) = canonical_label(bytes) {
        return Ok(label);
    }
    let mut r = Reader::new(bytes, f.value_offset, "Label").at_depth(depth);
    let mut label = Label {
        name: "",
        value: "",
    };
    while let Some(f) = r.next_field()? {
        match f.number {
            1 => label.name = f.str("Label.name")?,
            2 => label.value = f.str("Label.value")?,
            _ => {}
        }
    }
    Ok(label)
}

/// Fast path for the encoding every sender produces: `0a len name 12 len value` with
/// one-byte lengths and nothing else. Anything different (or not UTF-8) takes the general
/// path, which also produces the precise error.
#[inline]
fn canonical_label(bytes: &[u8]) -> Option<Label<'_>> {
    let &[0x0a, name_len, ..] = bytes else {
        return None;
    };
    let name_end = 2 + usize::from(name_len);
    let (&[0x12, value_len], _) = bytes.get(name_end..)?.split_first_chunk::<2>()? else {
        return None;
    };
    if name_len >= 0x80 || value_len >= 0x80 || bytes.len() != name_end + 2 + usize::from(value_len)
    {
        return None;
    }
    // The framing bytes are ASCII, so one UTF-8 check covers name and value.
    let whole = core::str::from_utf8(bytes).ok()?;
    Some(Label {
        name: whole.get(2..name_end)?,
        value: whole.get(name_end + 2..)?,
    })
}

/// An encoded v1 `Exemplar` (scalars read, labels checked and available lazily).
#[derive(Clone, Copy, Debug)]
pub struct Exemplar<'a> {
    bytes: &'a [u8],
    base: usize,
    /// Value.
    pub value: f64,
    /// Timestamp in ms (0 = missing).
    pub timestamp: i64,
    /// Number of labels.
    pub label_count: usize,
}

impl<'a> Exemplar<'a> {
    fn read(f: &Field<'a>) -> Result<Self, DecodeError> {
        let bytes = f.bytes("TimeSeries.exemplars")?;
        let mut e = Exemplar {
            bytes,
            base: f.value_offset,
            value: 0.0,
            timestamp: 0,
            label_count: 0,
        };
        let mut r = Reader::new(bytes, f.value_offset, "Exemplar").at_depth(2);
        while let Some(f) = r.next_field()? {
            match f.number {
                1 => {
                    read_label(&f, "Exemplar.labels", 3)?;
                    e.label_count += 1;
                }
                2 => e.value = f.double("Exemplar.value")?,
                3 => e.timestamp = f.int64("Exemplar.timestamp")?,
                _ => {}
            }
        }
        Ok(e)
    }

    /// The exemplar's labels (already checked to decode).
    pub fn labels(&self) -> impl Iterator<Item = Label<'a>> + 'a {
        let mut r = Reader::new(self.bytes, self.base, "Exemplar").at_depth(2);
        core::iter::from_fn(move || {
            loop {
                let f = r.next_field().ok()??;
                if f.number == 1 {
                    return read_label(&f, "Exemplar.labels", 3).ok();
                }
            }
        })
    }
}

/// An encoded v1 `MetricMetadata`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// Metric type (raw enum value).
    pub r#type: i32,
    /// Family name.
    pub metric_family_name: &'a str,
    /// HELP text.
    pub help: &'a str,
    /// Unit.
    pub unit: &'a str,
}

impl<'a> Metadata<'a> {
    fn read(f: &Field<'a>) -> Result<Self, DecodeError> {
        let mut r = Reader::new(
            f.bytes("WriteRequest.metadata")?,
            f.value_offset,
            "MetricMetadata",
        )
        .at_depth(1);
        let mut m = Metadata {
            r#type: 0,
            metric_family_name: "",
            help: "",
            unit: "",
        };
        while let Some(f) = r.next_field()? {
            match f.number {
                1 => m.r#type = f.varint("MetricMetadata.type")? as i32,
                2 => m.metric_family_name = f.str("MetricMetadata.metric_family_name")?,
                4 => m.help = f.str("MetricMetadata.help")?,
                5 => m.unit = f.str("MetricMetadata.unit")?,
                _ => {}
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1 as owned;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;
    use proptest::prelude::*;
    use prost::Message;

    /// Every field as text, the way [`Series::fields`] yields it.
    fn general(series: &Series<'_>) -> Vec<String> {
        series.fields().map(|f| format!("{f:?}")).collect()
    }

    /// The same through the label-run fast path.
    fn split(series: &Series<'_>) -> Vec<String> {
        let (run, rest) = series.split_label_run();
        run.map(|l| format!("{:?}", Ok::<_, DecodeError>(SeriesField::Label(l))))
            .chain(rest.map(|f| format!("{f:?}")))
            .collect()
    }

    proptest! {
        #[test]
        fn label_run_fast_path_yields_what_fields_yields(
            labels in proptest::collection::vec(("[a-z_é]{0,6}", ".{0,6}"), 0..5),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        ) {
            let ts = owned::TimeSeries {
                labels: labels.into_iter().map(|(name, value)| owned::Label { name, value }).collect(),
                samples: alloc::vec![owned::Sample { value: 1.0, timestamp: 5 }],
                ..Default::default()
            };
            let mut bytes = ts.encode_to_vec();
            if !bytes.is_empty() {
                for (i, b) in flips {
                    let at = i.index(bytes.len());
                    bytes[at] = b;
                }
            }
            let series = Series { bytes: &bytes, base: 3, range: 0..bytes.len() };
            prop_assert_eq!(split(&series), general(&series));
        }
    }
}
