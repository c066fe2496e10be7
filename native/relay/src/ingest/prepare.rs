//! One request body to what ingest stores and hands on: decode and validate in one pass,
//! then the WAL record (head + the body as received) and its decoded form for the tail.
//!
//! When every destination takes records whole ([`PrepareSettings::whole_limit`], from
//! `crate::tail::Tail::whole_limit`), the pass skips the per-series facts, and a record within
//! the limit is handed on as received only ([`DecodedRecord::received_only`]): its decoded
//! body goes back to the pool at once. A record over the limit gets its facts from a second,
//! rule-free pass over the decoded body (`crate::record::facts`).
//!
//! Invariant: `Ok` only for a body that passes validation; the decoded form's facts are
//! those of that pass (nothing is decoded twice), and reading the record back from the WAL
//! ([`crate::record::DecodedRecord::from_stored`]) gives the same decoded form (a record
//! held as received only gives it through `DecodedRecord::decoded_form`).

use std::sync::Arc;

use bytes::Bytes;
use prw_core::{Limits, Protocol};

use super::check::{BodyFacts, Facts, decode_body};
use super::rejection::Rejection;
use crate::record::facts::trusted_facts;
use crate::record::{DecodedRecord, ForwardedHeader, ReceivedBody, RecordHead, RecordInfo};

/// What one request is stored with.
#[derive(Debug, Clone)]
pub struct PrepareSettings {
    /// The body's schema (from Content-Type).
    pub protocol: Protocol,
    /// Decoding and validation limits.
    pub limits: Limits,
    /// The forwarded headers stored with the record.
    pub headers: Vec<ForwardedHeader>,
    /// When the relay received it (Unix ms).
    pub received_at_ms: i64,
    /// The WAL's largest record: a larger one is refused (413) before the append.
    pub max_record_bytes: u64,
    /// When every destination takes records of `protocol` whole now: the most samples +
    /// histograms + exemplars such a record may carry (see the module docs).
    pub whole_limit: Option<u64>,
}

/// A request ready to be appended: the WAL record is `head` followed by `body` (appended
/// as two parts, the body never copied).
#[derive(Debug)]
pub struct Prepared {
    /// Counts and newest timestamp (the answer, the metrics).
    pub facts: BodyFacts,
    /// The encoded record head (everything before the body).
    pub head: Vec<u8>,
    /// The body as received (snappy).
    pub body: Bytes,
    /// The decoded form, seq not yet known (0).
    pub decoded: DecodedRecord,
}

impl Prepared {
    /// The whole WAL record in one buffer (a copy; the writer appends the parts instead).
    pub fn record(&self) -> Vec<u8> {
        [self.head.as_slice(), &self.body].concat()
    }
}

/// Decodes and validates `body` (one pass) and builds its WAL record and decoded form.
pub fn prepare(body: &Bytes, settings: &PrepareSettings) -> Result<Prepared, Rejection> {
    let wanted = if settings.whole_limit.is_some() {
        Facts::Skip
    } else {
        Facts::Compute
    };
    let checked = decode_body(body, settings.protocol, &settings.limits, wanted)?;
    let facts = checked.facts;
    let head = RecordHead {
        protocol: settings.protocol,
        received_at_ms: settings.received_at_ms,
        max_timestamp_ms: facts.max_timestamp_ms,
        samples: facts.samples,
        histograms: facts.histograms,
        exemplars: facts.exemplars,
        headers: settings.headers.clone(),
    };
    let mut head_bytes = Vec::with_capacity(head.encoded_len());
    head.encode_into(&mut head_bytes)
        .map_err(Rejection::Record)?;
    let len = (head_bytes.len() + body.len()) as u64;
    if len > settings.max_record_bytes {
        return Err(Rejection::RecordTooLarge {
            len,
            max: settings.max_record_bytes,
        });
    }
    let received = ReceivedBody::new(&head, body.clone());
    let info = RecordInfo {
        seq: 0,
        protocol: settings.protocol,
        received_at_ms: settings.received_at_ms,
        headers: Arc::from(head.headers),
    };
    let decoded = match settings.whole_limit {
        Some(limit) if received.total() <= limit => {
            DecodedRecord::received_only(info, received, settings.limits)
        }
        lean => {
            // Over the limit, the pass above skipped the facts: the rule-free pass gives them.
            let (series, metadata) = match lean {
                Some(_) => trusted_facts(&checked.decoded, settings.protocol).map_err(|error| {
                    tracing::error!(%error, "facts of a validated body failed");
                    Rejection::Internal
                })?,
                None => (checked.series, checked.metadata),
            };
            DecodedRecord::new(info, checked.decoded, series, metadata)
                .map_err(Rejection::Protobuf)?
                .with_received(received)
        }
    };
    Ok(Prepared {
        facts,
        head: head_bytes,
        body: body.clone(),
        decoded,
    })
}
