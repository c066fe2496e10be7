//! The body decision: size limits, snappy, decode + validate, `max_sample_age`.
//!
//! Order (cheapest first, nothing allocated before the size checks): body size (413),
//! snappy preamble against the decoded limit (413, without decoding), decompression (400 on
//! corrupt snappy), validation in verdict mode (400 naming rule, series and label; a body
//! that is not protobuf of the schema is 400 `edge.protobuf`), then the oldest sample
//! against `now - max_sample_age` (400). Needs feature `std` (snappy).
//!
//! [`check_body`] also hands a body that passed on, decoded and counted
//! ([`CheckedBody`]): the tenant limits and the 2.0 -> 1.0 bridge work on it without
//! decoding again.

use alloc::format;
use alloc::vec::Vec;
use core::fmt::Write as _;

use super::reply::{Rejection, Verdict};
use super::request::{Examination, reject, settle};
use super::series_text::series_labels;
use super::{EdgeConfig, EdgeRule};
use crate::codec::{self, CodecError};
use crate::validate::{self, Counts, Finding};
use crate::{Limits, Protocol};

/// A body that passed every check: decoded, with its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedBody {
    /// Its schema.
    pub protocol: Protocol,
    /// The decompressed body.
    pub decoded: Vec<u8>,
    /// What it carries (complete: validation ran to the end).
    pub counts: Counts,
}

/// The result of [`check_body`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyCheck {
    /// Every check passed.
    Passed(CheckedBody),
    /// A check failed: the rejection (enforce) or the observed forward (observe).
    Decided(Verdict),
}

/// Checks a complete request body. `now_ms` is the current time (Unix ms), used only with
/// `max_sample_age`.
pub fn check_body(config: &EdgeConfig, exam: &Examination, body: &[u8], now_ms: i64) -> BodyCheck {
    match check(
        &config.limits,
        config.max_sample_age,
        exam.protocol,
        body,
        now_ms,
    ) {
        Ok(checked) => BodyCheck::Passed(checked),
        Err(rejection) => BodyCheck::Decided(settle(config, rejection, exam.content_type)),
    }
}

/// Decides on a complete request body ([`check_body`] without the checked body).
pub fn decide_body(config: &EdgeConfig, exam: &Examination, body: &[u8], now_ms: i64) -> Verdict {
    match check_body(config, exam, body, now_ms) {
        BodyCheck::Passed(_) => Verdict::Forward {
            content_type: exam.content_type,
            observed: None,
        },
        BodyCheck::Decided(verdict) => verdict,
    }
}

fn check(
    limits: &Limits,
    max_sample_age: Option<u64>,
    protocol: Protocol,
    body: &[u8],
    now_ms: i64,
) -> Result<CheckedBody, Rejection> {
    let p = Some(protocol);
    let decoded = codec::decompress(body, limits).map_err(|err| {
        let (rule, status) = match err {
            CodecError::BodyTooLarge { .. } => (EdgeRule::BodySize, 413),
            CodecError::DecodedTooLarge { .. } | CodecError::TooLargeToCompress => {
                (EdgeRule::DecodedSize, 413)
            }
            _ => (EdgeRule::Snappy, 400),
        };
        reject(rule, status, &format!("{err}"), p)
    })?;
    let validation = validate::validate(&decoded, protocol, limits, validate::Mode::Verdict)
        .map_err(|err| {
            reject(
                EdgeRule::Protobuf,
                400,
                &format!("not a valid {protocol} body: {err}"),
                p,
            )
        })?;
    if let Some(finding) = validation.first_error() {
        return Err(finding_rejection(finding, &decoded, protocol));
    }
    if let Some(age) = max_sample_age {
        let cutoff = now_ms.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX));
        if let Some((series, timestamp)) = oldest_before(&decoded, protocol, cutoff) {
            let mut message = format!(
                "sample at {timestamp} ms is older than max_sample_age (cutoff {cutoff} ms) in series {series}"
            );
            if let Some(labels) = series_labels(&decoded, protocol, series) {
                let _ = write!(message, " {labels}");
            }
            return Err(reject(EdgeRule::SampleTooOld, 400, &message, p));
        }
    }
    Ok(CheckedBody {
        protocol,
        decoded,
        counts: validation.counts,
    })
}

fn finding_rejection(finding: &Finding, decoded: &[u8], protocol: Protocol) -> Rejection {
    let rule = finding.rule.id();
    let mut body = format!("prw-edge: 400 {rule}: {}", finding.rule.explanation());
    if let Some(series) = finding.series {
        let _ = write!(body, "; series {series}");
        if let Some(labels) = series_labels(decoded, protocol, series) {
            let _ = write!(body, " {labels}");
        }
    }
    if let Some(sample) = finding.sample {
        let _ = write!(body, "; sample {sample}");
    }
    if let Some(label) = &finding.label {
        let _ = write!(body, "; label {label:?}");
    }
    body.push('\n');
    let mut rejection = reject(EdgeRule::Protobuf, 400, "", Some(protocol));
    rejection.rule = rule;
    rejection.reply.body = body;
    rejection
}

/// The first (series index, timestamp) whose sample or histogram is older than `cutoff`.
fn oldest_before(decoded: &[u8], protocol: Protocol, cutoff: i64) -> Option<(usize, i64)> {
    match protocol {
        Protocol::V1 => {
            use crate::view::v1::{Item, SeriesField, WriteRequest};
            let series = WriteRequest::new(decoded)
                .items()
                .filter_map(|item| match item {
                    Ok(Item::Series(s)) => Some(s),
                    _ => None,
                });
            for (index, s) in series.enumerate() {
                for field in s.fields().flatten() {
                    let t = match field {
                        SeriesField::Sample(x) => x.timestamp,
                        SeriesField::Histogram(h) => h.timestamp,
                        _ => continue,
                    };
                    if t < cutoff {
                        return Some((index, t));
                    }
                }
            }
        }
        Protocol::V2 => {
            use crate::view::v2::{Request, SeriesField};
            for (index, s) in Request::new(decoded).series().flatten().enumerate() {
                for field in s.fields().flatten() {
                    let t = match field {
                        SeriesField::Sample(x) => x.timestamp,
                        SeriesField::Histogram(h) => h.timestamp,
                        _ => continue,
                    };
                    if t < cutoff {
                        return Some((index, t));
                    }
                }
            }
        }
    }
    None
}
