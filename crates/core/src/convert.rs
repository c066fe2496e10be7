//! v1 <-> v2 conversion over the owned [`crate::proto`] structs.
//!
//! v1 -> v2 interns every string once into `symbols` with `symbols[0] == ""`, in order of
//! first use. A v1 series that carries both samples and histograms becomes two v2 series
//! (v2 forbids both in one); request-level v1 metadata is attached to each series whose
//! `__name__` is the family name (or the family name plus `_total`, `_bucket`, `_count`,
//! `_sum`, `_created` or `_info`); metadata with no such series cannot be expressed in v2
//! and is dropped.
//!
//! v2 -> v1 resolves refs (failing on a ref out of range or an odd `labels_refs`), drops
//! start timestamps (v1 has none) and turns series metadata into request-level metadata,
//! one entry per family name (the first seen wins).
//!
//! A v1 request without metadata and without series carrying both samples and histograms
//! survives v1 -> v2 -> v1 unchanged (proptest in `tests`).
//!
//! [`v2_to_v1_bytes`] ([`to_v1`]) is the same v2 -> v1 conversion from decoded bytes to
//! decoded bytes, without the owned structs (the edge bridge's hot path), and counts what
//! 1.0 cannot carry.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::proto::{v1, v2};

pub mod to_v1;

pub use to_v1::{
    CUSTOM_BUCKETS_SCHEMA, CustomBuckets, TranscodeError, Transcoded, V1Dropped, V1Written,
    v2_to_v1_bytes,
};

/// Why a v2 request cannot be converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A symbol ref points past the table.
    #[error("series {series}: symbol ref {reference} out of range")]
    RefOutOfRange {
        /// Series index.
        series: usize,
        /// The ref.
        reference: u32,
    },
    /// `labels_refs` has an odd length.
    #[error("series {series}: odd number of label refs")]
    OddRefs {
        /// Series index.
        series: usize,
    },
}

impl ConvertError {
    /// The status a receiver answers: 400.
    pub fn status(&self) -> u16 {
        400
    }
}

/// An interning symbol table (`symbols[0] == ""`).
#[derive(Debug, Clone)]
pub struct SymbolTable<'a> {
    symbols: Vec<&'a str>,
    index: BTreeMap<&'a str, u32>,
}

impl Default for SymbolTable<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> SymbolTable<'a> {
    /// A table holding only `""` at 0.
    pub fn new() -> Self {
        let mut index = BTreeMap::new();
        index.insert("", 0);
        SymbolTable {
            symbols: alloc::vec![""],
            index,
        }
    }

    /// The ref of `s`, adding it if new.
    pub fn intern(&mut self, s: &'a str) -> u32 {
        if let Some(&r) = self.index.get(s) {
            return r;
        }
        let r = u32::try_from(self.symbols.len()).unwrap_or(u32::MAX);
        self.symbols.push(s);
        self.index.insert(s, r);
        r
    }

    /// The symbols as owned strings.
    pub fn into_symbols(self) -> Vec<String> {
        self.symbols.into_iter().map(String::from).collect()
    }
}

const FAMILY_SUFFIXES: [&str; 6] = ["_total", "_bucket", "_count", "_sum", "_created", "_info"];

fn family_metadata<'m>(
    metadata: &'m BTreeMap<&'m str, &'m v1::MetricMetadata>,
    name: &str,
) -> Option<&'m v1::MetricMetadata> {
    if let Some(m) = metadata.get(name) {
        return Some(m);
    }
    FAMILY_SUFFIXES
        .iter()
        .find_map(|suffix| {
            name.strip_suffix(suffix)
                .and_then(|family| metadata.get(family))
        })
        .copied()
}

/// Converts a v1 request to v2.
pub fn v1_to_v2(req: &v1::WriteRequest) -> v2::Request {
    let mut table = SymbolTable::new();
    let mut by_family: BTreeMap<&str, &v1::MetricMetadata> = BTreeMap::new();
    for m in &req.metadata {
        by_family.entry(m.metric_family_name.as_str()).or_insert(m);
    }
    let mut timeseries = Vec::with_capacity(req.timeseries.len());
    for ts in &req.timeseries {
        let mut labels_refs = Vec::with_capacity(ts.labels.len() * 2);
        let mut name = "";
        for l in &ts.labels {
            labels_refs.push(table.intern(&l.name));
            labels_refs.push(table.intern(&l.value));
            if l.name == "__name__" {
                name = &l.value;
            }
        }
        let metadata = family_metadata(&by_family, name).map(|m| v2::Metadata {
            r#type: m.r#type,
            help_ref: table.intern(&m.help),
            unit_ref: table.intern(&m.unit),
        });
        let exemplars: Vec<v2::Exemplar> = ts
            .exemplars
            .iter()
            .map(|e| v2::Exemplar {
                labels_refs: e
                    .labels
                    .iter()
                    .flat_map(|l| [table.intern(&l.name), table.intern(&l.value)])
                    .collect(),
                value: e.value,
                timestamp: e.timestamp,
            })
            .collect();
        let samples: Vec<v2::Sample> = ts
            .samples
            .iter()
            .map(|s| v2::Sample {
                value: s.value,
                timestamp: s.timestamp,
                start_timestamp: 0,
            })
            .collect();
        let histograms: Vec<v2::Histogram> = ts.histograms.iter().map(histogram_to_v2).collect();
        if !samples.is_empty() && !histograms.is_empty() {
            timeseries.push(v2::TimeSeries {
                labels_refs: labels_refs.clone(),
                samples,
                histograms: Vec::new(),
                exemplars,
                metadata,
            });
            timeseries.push(v2::TimeSeries {
                labels_refs,
                samples: Vec::new(),
                histograms,
                exemplars: Vec::new(),
                metadata,
            });
        } else {
            timeseries.push(v2::TimeSeries {
                labels_refs,
                samples,
                histograms,
                exemplars,
                metadata,
            });
        }
    }
    v2::Request {
        symbols: table.into_symbols(),
        timeseries,
    }
}

fn histogram_to_v2(h: &v1::Histogram) -> v2::Histogram {
    v2::Histogram {
        count: h.count,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        negative_spans: h.negative_spans.clone(),
        negative_deltas: h.negative_deltas.clone(),
        negative_counts: h.negative_counts.clone(),
        positive_spans: h.positive_spans.clone(),
        positive_deltas: h.positive_deltas.clone(),
        positive_counts: h.positive_counts.clone(),
        reset_hint: h.reset_hint,
        timestamp: h.timestamp,
        custom_values: h.custom_values.clone(),
        start_timestamp: 0,
    }
}

fn histogram_to_v1(h: &v2::Histogram) -> v1::Histogram {
    v1::Histogram {
        count: h.count,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        negative_spans: h.negative_spans.clone(),
        negative_deltas: h.negative_deltas.clone(),
        negative_counts: h.negative_counts.clone(),
        positive_spans: h.positive_spans.clone(),
        positive_deltas: h.positive_deltas.clone(),
        positive_counts: h.positive_counts.clone(),
        reset_hint: h.reset_hint,
        timestamp: h.timestamp,
        custom_values: h.custom_values.clone(),
    }
}

fn resolve_pairs(
    symbols: &[String],
    refs: &[u32],
    series: usize,
) -> Result<Vec<v1::Label>, ConvertError> {
    Ok(to_v1::resolve(symbols, refs, series)?
        .into_iter()
        .map(|(name, value)| v1::Label {
            name: name.into(),
            value: value.into(),
        })
        .collect())
}

/// Converts a v2 request to v1.
pub fn v2_to_v1(req: &v2::Request) -> Result<v1::WriteRequest, ConvertError> {
    let mut timeseries = Vec::with_capacity(req.timeseries.len());
    let mut metadata: Vec<v1::MetricMetadata> = Vec::new();
    let mut families: BTreeSet<String> = BTreeSet::new();
    for (i, ts) in req.timeseries.iter().enumerate() {
        let labels = resolve_pairs(&req.symbols, &ts.labels_refs, i)?;
        let mut exemplars = Vec::with_capacity(ts.exemplars.len());
        for e in &ts.exemplars {
            exemplars.push(v1::Exemplar {
                labels: resolve_pairs(&req.symbols, &e.labels_refs, i)?,
                value: e.value,
                timestamp: e.timestamp,
            });
        }
        if let Some(m) = ts.metadata {
            let family = labels
                .iter()
                .find(|l| l.name == "__name__")
                .map(|l| l.value.clone())
                .unwrap_or_default();
            if !families.contains(&family) {
                let sym = |r: u32| {
                    req.symbols
                        .get(r as usize)
                        .cloned()
                        .ok_or(ConvertError::RefOutOfRange {
                            series: i,
                            reference: r,
                        })
                };
                metadata.push(v1::MetricMetadata {
                    r#type: m.r#type,
                    metric_family_name: family.clone(),
                    help: sym(m.help_ref)?,
                    unit: sym(m.unit_ref)?,
                });
                families.insert(family);
            }
        }
        timeseries.push(v1::TimeSeries {
            labels,
            samples: ts
                .samples
                .iter()
                .map(|s| v1::Sample {
                    value: s.value,
                    timestamp: s.timestamp,
                })
                .collect(),
            exemplars,
            histograms: ts.histograms.iter().map(histogram_to_v1).collect(),
        });
    }
    Ok(v1::WriteRequest {
        timeseries,
        metadata,
    })
}

#[cfg(test)]
mod tests;
