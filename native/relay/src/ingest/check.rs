//! The checks of a write request, in the order of remote-write.md section 7, as plain
//! functions over headers and bytes (no I/O): negotiate (415), forwarded headers (400),
//! declared size (413), then on the read body: snappy preamble (413, before allocating),
//! snappy (400), protobuf (400), validation in verdict mode (400).
//!
//! Invariant: [`check_body`] returns `Ok` only for a body that decodes and has no error
//! finding; the counts it returns are then complete (verdict mode stops only at an error).

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderName};
use prw_core::negotiate::{NegotiateError, negotiate};
use prw_core::validate::{Mode, Severity, validate, validate_with_facts};
use prw_core::view::SeriesFacts;
use prw_core::{Limits, Protocol};

use super::rejection::Rejection;
use crate::record::{ForwardedHeader, buffers};

/// What a valid body holds (for the record, the Written headers and the metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyFacts {
    /// Samples.
    pub samples: u32,
    /// Native histograms.
    pub histograms: u32,
    /// Exemplars.
    pub exemplars: u32,
    /// Newest sample, histogram or exemplar timestamp, if any (prw-core's
    /// `SeriesFacts::max_timestamp`).
    pub max_timestamp_ms: Option<i64>,
}

fn header_str(headers: &HeaderMap, name: HeaderName) -> Result<Option<&str>, ()> {
    headers
        .get(name)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| ())
}

/// Content-Type and Content-Encoding -> the body's schema, or 415.
pub fn negotiate_headers(headers: &HeaderMap) -> Result<Protocol, Rejection> {
    let content_type = header_str(headers, CONTENT_TYPE)
        .map_err(|()| Rejection::UnsupportedMediaType(NegotiateError::MediaType))?;
    let encoding = header_str(headers, CONTENT_ENCODING)
        .map_err(|()| Rejection::UnsupportedMediaType(NegotiateError::Encoding))?;
    negotiate(content_type, encoding)
        .map(|n| n.protocol())
        .map_err(Rejection::UnsupportedMediaType)
}

/// The protocol the request's Content-Type names, ignoring its encoding: decides whether the
/// answer carries the Written headers (a v2 request sent gzip still gets them on its 415).
pub fn claimed_protocol(headers: &HeaderMap) -> Option<Protocol> {
    let content_type = header_str(headers, CONTENT_TYPE).ok()?;
    negotiate(content_type, None).ok().map(|n| n.protocol())
}

/// The configured headers present on the request, every value of each, in config order.
pub fn forwarded_headers(
    headers: &HeaderMap,
    names: &[HeaderName],
) -> Result<Vec<ForwardedHeader>, Rejection> {
    let mut out = Vec::new();
    for name in names {
        for value in headers.get_all(name) {
            let header = ForwardedHeader::from_bytes(name.as_str().as_bytes(), value.as_bytes())
                .filter(|_| value.len() <= usize::from(u16::MAX))
                .ok_or_else(|| Rejection::ForwardedHeader { name: name.clone() })?;
            out.push(header);
        }
    }
    Ok(out)
}

/// 413 when Content-Length already says the body is over `max_body_bytes`.
pub fn check_declared_length(headers: &HeaderMap, limits: &Limits) -> Result<(), Rejection> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(len) if len > limits.max_body_bytes as u64 => Err(Rejection::BodyTooLarge {
            declared: Some(len),
            limit: limits.max_body_bytes,
        }),
        _ => Ok(()),
    }
}

fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A valid body, decoded once: what the WAL record, the answer and the destinations need.
#[derive(Debug)]
pub struct CheckedBody {
    /// Counts and newest timestamp.
    pub facts: BodyFacts,
    /// The decompressed body (a pooled buffer: `crate::record::buffers`).
    pub decoded: Bytes,
    /// Validation's per-series facts (complete: the body has no error; none when not asked
    /// for).
    pub series: Vec<SeriesFacts>,
    /// Metadata entries (v1 field 3; v2 series carrying metadata).
    pub metadata: u64,
}

/// Decompresses, decodes and validates a body of `protocol` (verdict mode).
pub fn check_body(
    body: &[u8],
    protocol: Protocol,
    limits: &Limits,
) -> Result<BodyFacts, Rejection> {
    decode_body(body, protocol, limits, Facts::Skip).map(|checked| checked.facts)
}

/// Whether [`decode_body`] computes the per-series facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facts {
    /// Compute them (label-set hash, byte range, counts and timestamps per series).
    Compute,
    /// Skip them: only the verdict and the body's counts and newest timestamp.
    Skip,
}

/// Like [`check_body`], keeping the decoded body and, when asked, the per-series facts of
/// the one pass.
pub fn decode_body(
    body: &[u8],
    protocol: Protocol,
    limits: &Limits,
    facts: Facts,
) -> Result<CheckedBody, Rejection> {
    let decoded = buffers::decompress(body, limits).map_err(Rejection::Snappy)?;
    let mut series = Vec::new();
    let validation = match facts {
        Facts::Compute => {
            validate_with_facts(&decoded, protocol, limits, Mode::Verdict, &mut series)
        }
        Facts::Skip => validate(&decoded, protocol, limits, Mode::Verdict),
    }
    .map_err(Rejection::Protobuf)?;
    if validation.has_errors() {
        let errors = validation
            .findings
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        return Err(Rejection::Invalid(errors));
    }
    let counts = validation.counts;
    let facts = BodyFacts {
        samples: saturating_u32(counts.samples),
        histograms: saturating_u32(counts.histograms),
        exemplars: saturating_u32(counts.exemplars),
        max_timestamp_ms: counts.max_timestamp,
    };
    Ok(CheckedBody {
        facts,
        decoded,
        series,
        metadata: counts.metadata,
    })
}
