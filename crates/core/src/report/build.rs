//! Building a [`Report`] from a body.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use prost::Message;

use super::SCHEMA_VERSION;
use super::model::*;
use crate::proto::{v1, v2};
use crate::validate::{Counts, Mode, Validation, validate};
use crate::{Limits, Protocol};

/// How to read the body.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportOptions<'a> {
    /// The request's Content-Type, if known (selects the schema unless `protocol` is set).
    pub content_type: Option<&'a str>,
    /// Forces a schema (else Content-Type, else auto-detection).
    pub protocol: Option<Protocol>,
    /// Limits.
    pub limits: Limits,
    /// List at most this many series (counts and findings stay whole).
    pub max_series: Option<usize>,
}

fn empty(protocol: Protocol, compressed: Option<u64>, status: u16, error: String) -> Report {
    Report::unreadable(protocol, compressed, status, error)
}

impl Report {
    /// The report of a body that could not be read: no counts, no series, `error` set and
    /// the verdict carrying the status that error deserves.
    pub fn unreadable(
        protocol: Protocol,
        compressed_bytes: Option<u64>,
        status: u16,
        error: String,
    ) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            protocol,
            compressed_bytes,
            decoded_bytes: None,
            counts: Counts::default(),
            series: Vec::new(),
            metadata: Vec::new(),
            findings: Vec::new(),
            verdict: Verdict {
                status,
                retry: crate::classify::retry_advice(status),
            },
            error: Some(error),
        }
    }
}

/// Builds the report of an already decoded (decompressed) body of a known schema.
pub fn from_decoded(
    decoded: &[u8],
    compressed_bytes: Option<u64>,
    protocol: Protocol,
    limits: &Limits,
    max_series: Option<usize>,
) -> Report {
    let validation = match validate(decoded, protocol, limits, Mode::Report) {
        Ok(v) => v,
        Err(e) => return empty(protocol, compressed_bytes, e.status(), e.to_string()),
    };
    let limit = max_series.unwrap_or(usize::MAX);
    let listing = match protocol {
        Protocol::V1 => v1_listing(decoded, limit),
        Protocol::V2 => v2_listing(decoded, limit),
    };
    let (series, metadata) = match listing {
        Ok(l) => l,
        Err(e) => {
            let error = format!("invalid protobuf: {e}");
            return empty(protocol, compressed_bytes, 400, error);
        }
    };
    let status = validation.status();
    Report {
        schema_version: SCHEMA_VERSION,
        protocol,
        compressed_bytes,
        decoded_bytes: Some(decoded.len() as u64),
        counts: validation.counts,
        series,
        metadata,
        findings: findings(&validation),
        verdict: Verdict {
            status,
            retry: crate::classify::retry_advice(status),
        },
        error: None,
    }
}

fn findings(v: &Validation) -> Vec<FindingReport> {
    v.findings
        .iter()
        .map(|f| FindingReport {
            rule: f.rule,
            severity: f.severity,
            message: f.rule.explanation(),
            series: f.series,
            sample: f.sample,
            label: f.label.clone(),
        })
        .collect()
}

type Listing = (Vec<SeriesReport>, Vec<MetadataReport>);

fn v1_listing(decoded: &[u8], limit: usize) -> Result<Listing, prost::DecodeError> {
    let req = v1::WriteRequest::decode(decoded)?;
    let series = req
        .timeseries
        .into_iter()
        .take(limit)
        .map(|ts| SeriesReport {
            labels: ts.labels.into_iter().map(|l| [l.name, l.value]).collect(),
            samples: ts
                .samples
                .iter()
                .map(|s| SampleReport {
                    t: s.timestamp,
                    v: Value(s.value),
                    start_timestamp: None,
                })
                .collect(),
            histograms: ts.histograms.iter().map(v1_histogram).collect(),
            exemplars: ts
                .exemplars
                .into_iter()
                .map(|e| ExemplarReport {
                    labels: e.labels.into_iter().map(|l| [l.name, l.value]).collect(),
                    t: e.timestamp,
                    v: Value(e.value),
                })
                .collect(),
            metadata: None,
        })
        .collect();
    let metadata = req
        .metadata
        .into_iter()
        .map(|m| MetadataReport {
            metric_family_name: Some(m.metric_family_name),
            r#type: metric_type(m.r#type),
            help: m.help,
            unit: m.unit,
        })
        .collect();
    Ok((series, metadata))
}

fn v2_listing(decoded: &[u8], limit: usize) -> Result<Listing, prost::DecodeError> {
    let req = v2::Request::decode(decoded)?;
    let sym = |r: u32| -> String {
        req.symbols
            .get(r as usize)
            .cloned()
            .unwrap_or_else(|| format!("<missing symbol {r}>"))
    };
    let pairs = |refs: &[u32]| -> Vec<[String; 2]> {
        refs.chunks(2)
            .map(|p| match p {
                [n, v] => [sym(*n), sym(*v)],
                [n] => [sym(*n), String::from("<missing value ref>")],
                _ => [String::new(), String::new()],
            })
            .collect()
    };
    let series = req
        .timeseries
        .iter()
        .take(limit)
        .map(|ts| SeriesReport {
            labels: pairs(&ts.labels_refs),
            samples: ts
                .samples
                .iter()
                .map(|s| SampleReport {
                    t: s.timestamp,
                    v: Value(s.value),
                    start_timestamp: (s.start_timestamp != 0).then_some(s.start_timestamp),
                })
                .collect(),
            histograms: ts.histograms.iter().map(v2_histogram).collect(),
            exemplars: ts
                .exemplars
                .iter()
                .map(|e| ExemplarReport {
                    labels: pairs(&e.labels_refs),
                    t: e.timestamp,
                    v: Value(e.value),
                })
                .collect(),
            metadata: ts.metadata.map(|m| MetadataReport {
                metric_family_name: None,
                r#type: metric_type(m.r#type),
                help: sym(m.help_ref),
                unit: sym(m.unit_ref),
            }),
        })
        .collect();
    Ok((series, Vec::new()))
}

fn metric_type(t: i32) -> String {
    match t {
        0 => "unknown",
        1 => "counter",
        2 => "gauge",
        3 => "histogram",
        4 => "gaugehistogram",
        5 => "summary",
        6 => "info",
        7 => "stateset",
        other => return format!("{other}"),
    }
    .to_string()
}

fn reset_hint(h: i32) -> String {
    match h {
        0 => "unknown",
        1 => "yes",
        2 => "no",
        3 => "gauge",
        other => return format!("{other}"),
    }
    .to_string()
}

fn count_value(c: Option<v1::histogram::Count>) -> (Value, bool) {
    match c {
        Some(v1::histogram::Count::CountInt(v)) => (Value(v as f64), false),
        Some(v1::histogram::Count::CountFloat(v)) => (Value(v), true),
        None => (Value(0.0), false),
    }
}

fn zero_value(c: Option<v1::histogram::ZeroCount>) -> Value {
    match c {
        Some(v1::histogram::ZeroCount::ZeroCountInt(v)) => Value(v as f64),
        Some(v1::histogram::ZeroCount::ZeroCountFloat(v)) => Value(v),
        None => Value(0.0),
    }
}

fn spans(s: &[v1::BucketSpan]) -> Vec<SpanReport> {
    s.iter()
        .map(|s| SpanReport {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

fn buckets(float: bool, deltas: &[i64], counts: &[f64]) -> Vec<Value> {
    if float {
        counts.iter().map(|&c| Value(c)).collect()
    } else {
        let mut running: i64 = 0;
        deltas
            .iter()
            .map(|&d| {
                running = running.wrapping_add(d);
                Value(running as f64)
            })
            .collect()
    }
}

/// The fields v1 and v2 histograms share, borrowed.
struct HistogramParts<'h> {
    count: Option<v1::histogram::Count>,
    sum: f64,
    schema: i32,
    zero_threshold: f64,
    zero_count: Option<v1::histogram::ZeroCount>,
    negative_spans: &'h [v1::BucketSpan],
    negative_deltas: &'h [i64],
    negative_counts: &'h [f64],
    positive_spans: &'h [v1::BucketSpan],
    positive_deltas: &'h [i64],
    positive_counts: &'h [f64],
    reset_hint: i32,
    timestamp: i64,
    custom_values: &'h [f64],
    start_timestamp: i64,
}

fn histogram(p: HistogramParts<'_>) -> HistogramReport {
    let (count, float) = count_value(p.count);
    HistogramReport {
        t: p.timestamp,
        count,
        sum: Value(p.sum),
        schema: p.schema,
        zero_threshold: Value(p.zero_threshold),
        zero_count: zero_value(p.zero_count),
        float,
        positive_spans: spans(p.positive_spans),
        positive_buckets: buckets(float, p.positive_deltas, p.positive_counts),
        negative_spans: spans(p.negative_spans),
        negative_buckets: buckets(float, p.negative_deltas, p.negative_counts),
        reset_hint: reset_hint(p.reset_hint),
        custom_values: p.custom_values.iter().map(|&v| Value(v)).collect(),
        start_timestamp: (p.start_timestamp != 0).then_some(p.start_timestamp),
    }
}

fn v1_histogram(h: &v1::Histogram) -> HistogramReport {
    histogram(HistogramParts {
        count: h.count,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        negative_spans: &h.negative_spans,
        negative_deltas: &h.negative_deltas,
        negative_counts: &h.negative_counts,
        positive_spans: &h.positive_spans,
        positive_deltas: &h.positive_deltas,
        positive_counts: &h.positive_counts,
        reset_hint: h.reset_hint,
        timestamp: h.timestamp,
        custom_values: &h.custom_values,
        start_timestamp: 0,
    })
}

fn v2_histogram(h: &v2::Histogram) -> HistogramReport {
    histogram(HistogramParts {
        count: h.count,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        negative_spans: &h.negative_spans,
        negative_deltas: &h.negative_deltas,
        negative_counts: &h.negative_counts,
        positive_spans: &h.positive_spans,
        positive_deltas: &h.positive_deltas,
        positive_counts: &h.positive_counts,
        reset_hint: h.reset_hint,
        timestamp: h.timestamp,
        custom_values: &h.custom_values,
        start_timestamp: h.start_timestamp,
    })
}

/// How the body was read.
#[cfg(feature = "std")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Snappy block format; the decoded bytes.
    Snappy(Vec<u8>),
    /// Raw protobuf (not compressed).
    Raw,
}

/// Decides whether `body` is snappy or raw protobuf: snappy when it decompresses; raw when
/// it does not but decodes as protobuf of `protocol` (or of either schema when `None`).
/// A declared size over the limits is always an error (a raw v1/v2 body starts with a
/// one-byte tag, so its "preamble" is tiny). Returns the error message and status when
/// neither works.
#[cfg(feature = "std")]
pub fn detect_input(
    body: &[u8],
    protocol: Option<Protocol>,
    limits: &Limits,
) -> Result<Input, (String, u16)> {
    use crate::codec::{CodecError, decompress};
    let snappy_err = match decompress(body, limits) {
        Ok(decoded) => return Ok(Input::Snappy(decoded)),
        Err(e @ (CodecError::BodyTooLarge { .. } | CodecError::DecodedTooLarge { .. })) => {
            return Err((e.to_string(), e.status()));
        }
        Err(e) => e,
    };
    let protocol = protocol.unwrap_or_else(|| crate::view::detect_protocol(body));
    match validate(body, protocol, limits, Mode::Verdict) {
        Ok(_) => Ok(Input::Raw),
        Err(decode) => {
            // A body starting with a top-level tag of the schema was meant as raw protobuf.
            let raw_tags: &[u8] = match protocol {
                Protocol::V1 => &[0x0a, 0x1a],
                Protocol::V2 => &[0x22, 0x2a],
            };
            if body.first().is_some_and(|b| raw_tags.contains(b)) {
                Err((decode.to_string(), decode.status()))
            } else {
                Err((
                    format!("not snappy ({snappy_err}) and not raw protobuf"),
                    snappy_err.status(),
                ))
            }
        }
    }
}

/// Builds the report of a request body: decides the schema (`protocol`, else Content-Type,
/// else auto-detection), whether it is snappy or raw, then validates and lists it.
#[cfg(feature = "std")]
pub fn build(body: &[u8], opts: &ReportOptions<'_>) -> Report {
    let from_header = match (opts.protocol, opts.content_type) {
        (Some(p), _) => Some(p),
        (None, Some(ct)) => match crate::negotiate::negotiate(Some(ct), None) {
            Ok(n) => Some(n.protocol()),
            Err(e) => return empty(Protocol::V1, None, e.status(), e.to_string()),
        },
        (None, None) => None,
    };
    let limits = &opts.limits;
    match detect_input(body, from_header, limits) {
        Err((msg, status)) => empty(from_header.unwrap_or(Protocol::V1), None, status, msg),
        Ok(Input::Snappy(decoded)) => {
            let p = from_header.unwrap_or_else(|| crate::view::detect_protocol(&decoded));
            from_decoded(
                &decoded,
                Some(body.len() as u64),
                p,
                limits,
                opts.max_series,
            )
        }
        Ok(Input::Raw) => {
            let p = from_header.unwrap_or_else(|| crate::view::detect_protocol(body));
            from_decoded(body, None, p, limits, opts.max_series)
        }
    }
}
