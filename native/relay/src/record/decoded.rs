//! A record decoded once: the decompressed body and the per-series facts of ingest's single
//! validation pass (prw-core's `SeriesFacts`: byte range, header length, label-set hash,
//! counts, oldest and newest timestamp), shared by every
//! destination through the tail (`crate::tail`) instead of being decoded again per
//! destination.
//!
//! Two ways in, one shape out:
//! - at ingest, [`DecodedRecord::new`] from what validation produced (no second pass);
//! - from the WAL, [`DecodedRecord::from_stored`]: decompress, then the same facts without
//!   the rule checks ([`super::facts`]; the record passed validation when it was accepted,
//!   so every series gets its facts even if the rules or limits changed since).
//!
//! A record may also be held as received only ([`DecodedRecord::received_only`]): ingest
//! skips the per-series facts and lets the decoded body go when every destination forwards
//! records whole (`crate::tail::Tail::whole_limit`). Such a record has no decoded body and
//! no facts; [`DecodedRecord::decoded_form`] decodes it (a destination that cuts it after
//! all), and every cut goes through that.
//!
//! A v2 record also has a v1 form for v1 destinations ([`DecodedRecord::as_v1`]): converted
//! once, on first use, and cached, whatever the number of v1 destinations.
//!
//! Invariants: `series` holds one entry per series of `body`, in body order, each range a
//! whole encoded `TimeSeries` field of `body`; `metadata` holds the payload range of every
//! v1 `metadata` field (empty for v2); a record built from stored bytes never panics on
//! them (an [`UndecodableRecord`] names what failed).

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prw_core::view::SeriesFacts;
use prw_core::wire::Reader as WireReader;
use prw_core::{Limits, Protocol};

use super::facts::{FactsError, trusted_facts};
use super::v2_to_v1::{FamilyMetadata, Translator, write_varint};
use super::{ForwardedHeader, ReceivedBody, RecordError, RecordHead, V2Symbols};

/// `WriteRequest.timeseries` (v1) key byte: field 1, wire type 2.
const V1_TIMESERIES_TAG: u8 = 0x0A;
/// `WriteRequest.metadata` (v1): field 3, and its key byte.
const V1_METADATA_FIELD: u32 = 3;
const V1_METADATA_TAG: u8 = 0x1A;

/// Why a stored record could not be turned into a [`DecodedRecord`] (or its v1 form).
#[derive(Debug, thiserror::Error)]
pub enum UndecodableRecord {
    /// The record framing (version, protocol, headers) is not readable.
    #[error("record framing: {0}")]
    Record(#[from] RecordError),
    /// The body is not snappy block data within the limits.
    #[error("record body (snappy): {0}")]
    Codec(#[from] prw_core::codec::CodecError),
    /// The decompressed body is not a valid protobuf message of its protocol.
    #[error("record body (protobuf): {0}")]
    Protobuf(#[from] prw_core::DecodeError),
    /// The body (v2, or a v1 series being relabelled) does not prost-decode.
    #[error("record body (protobuf, prost): {0}")]
    Prost(#[from] prost::DecodeError),
    /// The per-series facts could not be computed.
    #[error("record body (series facts): {0}")]
    Facts(#[from] FactsError),
    /// The v2 body refers to symbols it does not have.
    #[error("record body (v2 to v1 conversion): {0}")]
    Convert(#[from] prw_core::convert::ConvertError),
}

/// The v1 form of a v2 record, once computed.
type V1Form = Result<Arc<DecodedRecord>, Arc<UndecodableRecord>>;

/// One accepted request, decoded, with its per-series facts.
#[derive(Debug)]
pub struct DecodedRecord {
    seq: u64,
    protocol: Protocol,
    received_at_ms: i64,
    headers: Arc<[ForwardedHeader]>,
    body: Bytes,
    series: Vec<SeriesFacts>,
    metadata: Vec<Range<usize>>,
    /// The body as received, for forwarding the record whole (`None` for a v2 record's
    /// converted v1 form, which was never received).
    received: Option<ReceivedBody>,
    /// Set (the limits to decode with) when the record is held as received only.
    undecoded: Option<Limits>,
    v1: OnceLock<V1Form>,
    symbols: OnceLock<Result<Arc<V2Symbols>, FactsError>>,
}

/// What a record is besides its decoded body and facts.
#[derive(Debug, Clone)]
pub struct RecordInfo {
    /// WAL position.
    pub seq: u64,
    /// The body's schema.
    pub protocol: Protocol,
    /// When the relay accepted it (Unix ms).
    pub received_at_ms: i64,
    /// The forwarded headers.
    pub headers: Arc<[ForwardedHeader]>,
}

impl DecodedRecord {
    /// A record from ingest's validation pass: `body` decoded, `series` its facts (complete:
    /// the body passed validation), `metadata_entries` the metadata count validation saw
    /// (the v1 metadata fields are located only when there are some).
    pub fn new(
        info: RecordInfo,
        body: Bytes,
        series: Vec<SeriesFacts>,
        metadata_entries: u64,
    ) -> Result<Self, prw_core::DecodeError> {
        let metadata = if info.protocol == Protocol::V1 && metadata_entries > 0 {
            v1_metadata_ranges(&body)?
        } else {
            Vec::new()
        };
        Ok(DecodedRecord {
            seq: info.seq,
            protocol: info.protocol,
            received_at_ms: info.received_at_ms,
            headers: info.headers,
            body,
            series,
            metadata,
            received: None,
            undecoded: None,
            v1: OnceLock::new(),
            symbols: OnceLock::new(),
        })
    }

    /// A record held as received only, not decoded (see the module docs): its body and
    /// facts are empty until [`DecodedRecord::decoded_form`] decodes it with `limits`.
    pub fn received_only(info: RecordInfo, received: ReceivedBody, limits: Limits) -> Self {
        DecodedRecord {
            seq: info.seq,
            protocol: info.protocol,
            received_at_ms: info.received_at_ms,
            headers: info.headers,
            body: Bytes::new(),
            series: Vec::new(),
            metadata: Vec::new(),
            received: Some(received),
            undecoded: Some(limits),
            v1: OnceLock::new(),
            symbols: OnceLock::new(),
        }
    }

    /// Whether the record is held as received only (not decoded).
    pub fn is_undecoded(&self) -> bool {
        self.undecoded.is_some()
    }

    /// The record decoded: itself, or for a record held as received only, its decoding
    /// (decompress and the facts pass; not kept, so the tail's byte count stays true).
    pub fn decoded_form(self: &Arc<Self>) -> Result<Arc<DecodedRecord>, UndecodableRecord> {
        let (Some(limits), Some(received)) = (self.undecoded, &self.received) else {
            return Ok(Arc::clone(self));
        };
        let info = RecordInfo {
            seq: self.seq,
            protocol: self.protocol,
            received_at_ms: self.received_at_ms,
            headers: Arc::clone(&self.headers),
        };
        decode_received(info, received.clone(), &limits).map(Arc::new)
    }

    /// The same record, keeping its body as received (ingest: the request body).
    pub fn with_received(mut self, received: ReceivedBody) -> Self {
        self.received = Some(received);
        self
    }

    /// Decodes the stored bytes of WAL record `seq`: decompress, then the facts pass.
    pub fn from_stored(
        seq: u64,
        stored: Bytes,
        limits: &Limits,
    ) -> Result<Self, UndecodableRecord> {
        let (head, received) = ReceivedBody::read(&stored)?;
        DecodedRecord::from_received(seq, head, received, limits)
    }

    /// Decodes a record from its head and its body as received: decompress, then the facts
    /// pass. The record keeps `received`.
    pub fn from_received(
        seq: u64,
        head: RecordHead,
        received: ReceivedBody,
        limits: &Limits,
    ) -> Result<Self, UndecodableRecord> {
        let info = RecordInfo {
            seq,
            protocol: head.protocol,
            received_at_ms: head.received_at_ms,
            headers: Arc::from(head.headers),
        };
        decode_received(info, received, limits)
    }

    /// The same record at WAL position `seq` (ingest learns it from the append).
    pub fn at_seq(mut self, seq: u64) -> Self {
        self.seq = seq;
        self
    }

    /// WAL position.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The body's schema.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// When the relay accepted it (Unix ms).
    pub fn received_at_ms(&self) -> i64 {
        self.received_at_ms
    }

    /// The forwarded headers, shared by every item cut from the record.
    pub fn headers(&self) -> &Arc<[ForwardedHeader]> {
        &self.headers
    }

    /// The decoded (decompressed) body (empty for a record held as received only).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// One entry per series, in body order (none for a record held as received only).
    pub fn series(&self) -> &[SeriesFacts] {
        &self.series
    }

    /// Payload ranges of the v1 metadata entries, in body order.
    pub fn metadata(&self) -> &[Range<usize>] {
        &self.metadata
    }

    /// The body as received and the head's counts (`None` for a converted v1 form).
    pub fn received(&self) -> Option<&ReceivedBody> {
        self.received.as_ref()
    }

    /// Bytes the record keeps in memory (body, facts, ranges, headers, the body as
    /// received), for the tail's cap.
    pub fn memory_bytes(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.name().len() + h.value().len() + 48)
            .sum();
        std::mem::size_of::<Self>()
            + self.body.len()
            + self.received.as_ref().map_or(0, |r| r.body.len())
            + self.series.len() * std::mem::size_of::<SeriesFacts>()
            + self.metadata.len() * std::mem::size_of::<Range<usize>>()
            + headers
    }

    /// The symbol table of a v2 record (located on the first call, then cached); empty for
    /// a v1 record.
    pub fn v2_symbols(&self) -> Result<Arc<V2Symbols>, FactsError> {
        self.symbols
            .get_or_init(|| match self.protocol {
                Protocol::V2 => V2Symbols::parse(&self.body, self.series.len()).map(Arc::new),
                Protocol::V1 => Ok(Arc::new(V2Symbols::from_strings([]))),
            })
            .clone()
    }

    /// The record as v1: itself for a v1 record; for a v2 record its conversion, computed on
    /// the first call and cached (also its failure).
    pub fn as_v1(self: &Arc<Self>) -> Result<Arc<DecodedRecord>, Arc<UndecodableRecord>> {
        if self.is_undecoded() {
            return self.decoded_form().map_err(Arc::new)?.as_v1();
        }
        if self.protocol == Protocol::V1 {
            return Ok(Arc::clone(self));
        }
        self.v1
            .get_or_init(|| self.convert_to_v1().map(Arc::new).map_err(Arc::new))
            .clone()
    }

    /// v2 -> v1 from borrowed views ([`super::v2_to_v1`]), series by series, so that
    /// each series' range and facts are known without parsing the result again; the
    /// metadata of each family once, in series order (as prw-core's conversion does).
    fn convert_to_v1(&self) -> Result<DecodedRecord, UndecodableRecord> {
        let symbols = self.v2_symbols()?;
        let mut body = Vec::with_capacity(self.body.len().saturating_mul(2));
        let mut series = Vec::with_capacity(self.series.len());
        let mut translator = Translator::default();
        let mut one = Vec::new();
        let mut families = FamilyMetadata::default();
        let mut metadata_entries: Vec<Vec<u8>> = Vec::new();
        for (index, facts) in self.series.iter().enumerate() {
            let payload = self
                .body
                .get(facts.message())
                .ok_or(FactsError::Malformed {
                    offset: facts.range.start,
                })?;
            one.clear();
            let translated = translator.translate(payload, &symbols, index, &mut one)?;
            let start = body.len();
            body.push(V1_TIMESERIES_TAG);
            write_varint(&mut body, one.len() as u64);
            let header_len = body.len() - start;
            body.extend_from_slice(&one);
            if let Some(mut converted) = translated.facts.clone() {
                converted.range = start..body.len();
                converted.header_len = u8::try_from(header_len).unwrap_or(u8::MAX);
                series.push(converted);
            }
            if let Some(entry) = families.first_of_family(&translated, &one, &symbols) {
                metadata_entries.push(entry);
            }
        }
        let mut metadata = Vec::with_capacity(metadata_entries.len());
        for entry in &metadata_entries {
            body.push(V1_METADATA_TAG);
            write_varint(&mut body, entry.len() as u64);
            let start = body.len();
            body.extend_from_slice(entry);
            metadata.push(start..body.len());
        }
        Ok(DecodedRecord {
            seq: self.seq,
            protocol: Protocol::V1,
            received_at_ms: self.received_at_ms,
            headers: Arc::clone(&self.headers),
            body: Bytes::from(body),
            series,
            metadata,
            received: None,
            undecoded: None,
            v1: OnceLock::new(),
            symbols: OnceLock::new(),
        })
    }
}

/// Decompresses `received` and computes the facts (validated when it was accepted: only the
/// facts are computed again).
fn decode_received(
    info: RecordInfo,
    received: ReceivedBody,
    limits: &Limits,
) -> Result<DecodedRecord, UndecodableRecord> {
    let body = super::buffers::decompress(&received.body, limits)?;
    let (series, metadata) = trusted_facts(&body, info.protocol)?;
    Ok(DecodedRecord::new(info, body, series, metadata)?.with_received(received))
}

/// The payload ranges of the top-level v1 `metadata` fields.
fn v1_metadata_ranges(body: &[u8]) -> Result<Vec<Range<usize>>, prw_core::DecodeError> {
    let mut out = Vec::new();
    let mut top = WireReader::new(body, 0, "WriteRequest");
    while let Some(field) = top.next_field()? {
        if field.number == V1_METADATA_FIELD {
            field.bytes("WriteRequest.metadata")?;
            out.push(field.value_offset..field.end);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
