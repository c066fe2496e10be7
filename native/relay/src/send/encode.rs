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
//! request) decodes the series and converts them with `prw_core::convert::v1_to_v2`.

use std::fmt;

use bytes::Bytes;
use prw_core::Protocol;

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
    /// The series bytes of an item are not a `prometheus.TimeSeries` (v2 conversion).
    #[error("series item from record {record_seq} is not a valid TimeSeries: {source}")]
    BadSeries {
        /// Record the item came from.
        record_seq: u64,
        /// The decoder's error.
        source: prost::DecodeError,
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
    snappy: snap::raw::Encoder,
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
            snappy: snap::raw::Encoder::new(),
        }
    }

    fn compress(&mut self) -> Result<Bytes, EncodeError> {
        compress(&mut self.snappy, &self.raw)
    }
}

/// Snappy block format of `raw`, in a buffer of its own (it becomes the request body).
fn compress(snappy: &mut snap::raw::Encoder, raw: &[u8]) -> Result<Bytes, EncodeError> {
    let len = raw.len();
    let mut out = vec![0u8; snap::raw::max_compress_len(len)];
    let written = snappy
        .compress(raw, &mut out)
        .map_err(|source| EncodeError::Snappy { len, source })?;
    out.truncate(written);
    Ok(Bytes::from(out))
}

impl BatchEncoder for V1Encoder {
    fn protocol(&self) -> Protocol {
        Protocol::V1
    }

    fn encode_series(&mut self, series: &[SeriesItem]) -> Result<Bytes, EncodeError> {
        self.raw.clear();
        for item in series {
            write_field(&mut self.raw, TIMESERIES_TAG, &item.series);
        }
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

/// Appends one length-delimited field.
fn write_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    write_varint(out, u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    out.extend_from_slice(bytes);
}

/// Protobuf base-128 varint.
fn write_varint(out: &mut Vec<u8>, mut value: u64) {
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
