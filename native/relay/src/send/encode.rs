//! Turning a batch into a request body: protobuf message, then snappy block compression.
//!
//! A v1 `prometheus.WriteRequest` is nothing but repeated field 1 (`timeseries`) and repeated
//! field 3 (`metadata`), so a batch of already-encoded `TimeSeries` bytes becomes a request by
//! writing, for each series, the tag byte `0x0A` (field 1, wire type 2), the varint length and
//! the bytes; metadata uses tag `0x1A` (field 3, wire type 2). This framing is hand-written
//! because going through prost would decode and re-encode every series for nothing: the
//! bytes are already in their final form.
//!
//! Invariants: the v1 body decodes (after snappy) to exactly the input series, in order;
//! buffers are reused between batches of one shard.
//!
//! The v2 encoder ([`V2Encoder`], `io.prometheus.write.v2.Request` with a symbol table per
//! request) translates series from borrowed views, interning symbols (see its module).
//! A v2 series reaching the v1 encoder (a v2 destination that fell back to v1) is
//! translated from borrowed views too (`record::v2_to_v1`).

use std::fmt;

use bytes::Bytes;
use prw_core::Protocol;

use crate::record::V2Symbols;
use crate::record::v2_to_v1::{FamilyMetadata, Translator};
use crate::send::batch::{MetadataItem, SeriesItem};

/// Why a batch could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Snappy refused the input (only possible above snappy's 4 GiB block limit).
    #[error("snappy compression of a {len}-byte request failed: {source}")]
    Snappy {
        /// Uncompressed length.
        len: usize,
        /// The compressor's error.
        source: snap::Error,
    },
    /// prost refused to encode (only when a buffer cannot grow; a `Vec` always can).
    #[error("protobuf encoding failed: {0}")]
    Protobuf(#[from] prost::EncodeError),
    /// This encoder cannot carry metadata-only requests (v2 carries metadata inside series).
    #[error("metadata-only requests are not supported by the {0:?} encoder")]
    MetadataUnsupported(Protocol),
    /// The series bytes of an item are not a valid series message of its protocol, or a v2
    /// series refers to a symbol its record does not have.
    #[error("series item from record {record_seq} is not a valid series")]
    BadSeries {
        /// Record the item came from.
        record_seq: u64,
    },
    /// A whole v1 record for a destination sending v2 (the dispatch never forwards one: a
    /// record is forwarded whole only to a destination sending its protocol, and a
    /// destination never switches from v1 to v2).
    #[error("a whole {record:?} record cannot be forwarded as {destination:?}")]
    WholeRecordProtocol {
        /// The record's message.
        record: Protocol,
        /// What the destination sends.
        destination: Protocol,
    },
    /// A whole v2 record could not be converted to v1 (for a destination that fell back).
    #[error("whole record {record_seq} could not be converted to v1: {detail}")]
    WholeRecordBody {
        /// The record.
        record_seq: u64,
        /// What failed.
        detail: String,
    },
}

/// Encodes batches for one protocol. One encoder per shard, so it may keep buffers.
pub trait BatchEncoder: Send + Sync + fmt::Debug {
    /// The protocol of the bodies this encoder produces.
    fn protocol(&self) -> Protocol;

    /// A compressed request body holding `series`, in order.
    fn encode_series(&mut self, series: &[SeriesItem]) -> Result<Bytes, EncodeError>;

    /// A compressed request body holding the metadata of `item`.
    fn encode_metadata(&mut self, item: &MetadataItem) -> Result<Bytes, EncodeError>;
}

/// `prometheus.WriteRequest` field 1 (`timeseries`), wire type 2.
const TIMESERIES_TAG: u8 = 0x0A;
/// `prometheus.WriteRequest` field 3 (`metadata`), wire type 2.
const METADATA_TAG: u8 = 0x1A;

/// The v1 encoder: framing by hand (see the module docs), snappy block format.
pub struct V1Encoder {
    raw: Vec<u8>,
    out: Compressor,
    v2: V2AsV1,
}

impl fmt::Debug for V1Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V1Encoder")
            .field("buffer_capacity", &self.raw.capacity())
            .finish()
    }
}

impl Default for V1Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl V1Encoder {
    /// A new encoder with empty buffers.
    pub fn new() -> Self {
        V1Encoder {
            raw: Vec::new(),
            out: Compressor::default(),
            v2: V2AsV1::default(),
        }
    }

    fn compress(&mut self) -> Result<Bytes, EncodeError> {
        self.out.compress(&self.raw)
    }
}

/// Snappy block compression into a buffer kept between batches: the worst-case output
/// buffer is zero-filled only when it grows, never per batch; only the compressed bytes are
/// copied out (they become the request body).
pub(crate) struct Compressor {
    snappy: snap::raw::Encoder,
    buffer: Vec<u8>,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor {
            snappy: snap::raw::Encoder::new(),
            buffer: Vec::new(),
        }
    }
}

impl Compressor {
    /// The snappy block format of `raw`.
    pub(crate) fn compress(&mut self, raw: &[u8]) -> Result<Bytes, EncodeError> {
        let len = raw.len();
        let max = snap::raw::max_compress_len(len);
        if self.buffer.len() < max {
            self.buffer.resize(max, 0);
        }
        let written = self
            .snappy
            .compress(raw, &mut self.buffer)
            .map_err(|source| EncodeError::Snappy { len, source })?;
        Ok(Bytes::copy_from_slice(
            self.buffer.get(..written).unwrap_or_default(),
        ))
    }
}

impl BatchEncoder for V1Encoder {
    fn protocol(&self) -> Protocol {
        Protocol::V1
    }

    fn encode_series(&mut self, series: &[SeriesItem]) -> Result<Bytes, EncodeError> {
        self.raw.clear();
        // Tag byte and at most a 5-byte length per series for bodies under 4 GiB.
        let framed: usize = series.iter().map(|i| i.series.len() + 6).sum();
        self.raw.reserve(framed);
        self.v2.start();
        for item in series {
            match &item.symbols {
                None => write_field(&mut self.raw, TIMESERIES_TAG, &item.series),
                Some(symbols) => self.v2.series(item, symbols, &mut self.raw)?,
            }
        }
        self.raw.extend_from_slice(&self.v2.metadata);
        self.compress()
    }

    fn encode_metadata(&mut self, item: &MetadataItem) -> Result<Bytes, EncodeError> {
        self.raw.clear();
        for entry in &item.entries {
            write_field(&mut self.raw, METADATA_TAG, entry);
        }
        self.compress()
    }
}

/// The v2 series items of a batch written as v1: the rare case of a v2 destination that
/// fell back to v1 with v2 items already queued. Each series is translated from borrowed
/// views (`record::v2_to_v1`); the metadata of each family rides along once per batch.
#[derive(Default)]
struct V2AsV1 {
    translator: Translator,
    one: Vec<u8>,
    families: FamilyMetadata,
    metadata: Vec<u8>,
}

impl V2AsV1 {
    fn start(&mut self) {
        self.families.clear();
        self.metadata.clear();
    }

    fn series(
        &mut self,
        item: &SeriesItem,
        symbols: &V2Symbols,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        self.one.clear();
        let translated = self
            .translator
            .translate(&item.series, symbols, 0, &mut self.one)
            .map_err(|_| EncodeError::BadSeries {
                record_seq: item.record_seq,
            })?;
        write_field(out, TIMESERIES_TAG, &self.one);
        if let Some(entry) = self
            .families
            .first_of_family(&translated, &self.one, symbols)
        {
            write_field(&mut self.metadata, METADATA_TAG, &entry);
        }
        Ok(())
    }
}

/// Appends one length-delimited field.
fn write_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    write_varint(out, u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    out.extend_from_slice(bytes);
}

/// Protobuf base-128 varint.
#[inline]
fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    while value >= 0x80 {
        out.push((value as u8 & 0x7F) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

mod v2;

pub use v2::V2Encoder;

#[cfg(test)]
mod tests;
