//! The relay's WAL record: one accepted request, exactly as the WAL stores it (the WAL itself
//! knows nothing of Remote Write: to it this is an opaque byte string).
//!
//! ```text
//! offset  size  field
//! 0       1     format version, currently 1
//! 1       1     protocol: 1 = prometheus.WriteRequest, 2 = io.prometheus.write.v2.Request
//! 2       8     received_at: Unix milliseconds when the relay accepted the request (i64 LE)
//! 10      8     max_timestamp: newest sample/histogram/exemplar timestamp in the body, ms
//!               (i64 LE; i64::MIN when the body has none, e.g. a metadata-only request)
//! 18      4     samples in the body (u32 LE)
//! 22      4     histograms in the body (u32 LE)
//! 26      4     exemplars in the body (u32 LE)
//! 30      2     number of forwarded headers H (u16 LE)
//! 32      ...   H times: name length (u16 LE), name (ASCII), value length (u16 LE), value
//! ...     rest  the request body as received: snappy block format, never re-encoded
//! ```
//!
//! Invariants: [`Record::decode`] never panics and rejects every byte string that
//! [`Record::encode`] cannot produce (unknown version or protocol, truncated fields, trailing
//! header bytes that overrun the record); `decode(encode(r)) == r` for every record whose
//! header names and values fit in a `u16` length.
//!
//! The same record decoded once (decompressed body and per-series facts) is a
//! [`DecodedRecord`] ([`decoded`]).

pub mod buffers;
pub mod decoded;
pub mod facts;
mod header;
pub mod received;
pub mod symbols;
pub mod v2_to_v1;

pub use decoded::{DecodedRecord, RecordInfo, UndecodableRecord};
pub use header::ForwardedHeader;
pub use received::ReceivedBody;
pub use symbols::V2Symbols;

use prw_core::Protocol;

/// The only format version this relay writes and reads.
pub const FORMAT_VERSION: u8 = 1;

const FIXED_LEN: usize = 32;

/// One accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Which message the body holds.
    pub protocol: Protocol,
    /// When the relay accepted it (Unix ms).
    pub received_at_ms: i64,
    /// The newest sample, histogram or exemplar timestamp in the body (Unix ms), if any.
    pub max_timestamp_ms: Option<i64>,
    /// Samples in the body.
    pub samples: u32,
    /// Histograms in the body.
    pub histograms: u32,
    /// Exemplars in the body.
    pub exemplars: u32,
    /// Request headers that travel with the data (the tenant, e.g. `X-Scope-OrgID`).
    pub headers: Vec<ForwardedHeader>,
    /// The request body as received (snappy block format).
    pub body: Vec<u8>,
}

/// Why stored bytes are not a record this relay can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than the fixed part, or a length field runs past the end.
    #[error("record truncated: needed {needed} bytes at offset {offset}, {available} available")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// How many bytes the field needs.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// Written by a newer (or foreign) format.
    #[error(
        "record format version {0} is not supported (this relay reads version {FORMAT_VERSION})"
    )]
    UnknownVersion(u8),
    /// Neither 1 nor 2.
    #[error("record protocol byte {0} is neither 1 (v1) nor 2 (v2)")]
    UnknownProtocol(u8),
    /// A header name or value that is not a valid header token/value.
    #[error("forwarded header {index} is not a valid HTTP header")]
    BadHeader {
        /// Index of the header in the record.
        index: usize,
    },
    /// A header longer than a u16 length can describe, or too many headers.
    #[error(
        "forwarded headers do not fit the record format (at most 65535 headers of 65535 bytes)"
    )]
    HeadersTooLarge,
}

/// Everything a record stores besides its body: what [`Record::encode_parts`] writes before
/// the body and [`Record::decode_parts`] reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHead {
    /// Which message the body holds.
    pub protocol: Protocol,
    /// When the relay accepted it (Unix ms).
    pub received_at_ms: i64,
    /// The newest sample or histogram timestamp in the body (Unix ms), if any.
    pub max_timestamp_ms: Option<i64>,
    /// Samples in the body.
    pub samples: u32,
    /// Histograms in the body.
    pub histograms: u32,
    /// Exemplars in the body.
    pub exemplars: u32,
    /// Request headers that travel with the data.
    pub headers: Vec<ForwardedHeader>,
}

impl RecordHead {
    /// Bytes [`RecordHead::encode_into`] writes.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN
            + self
                .headers
                .iter()
                .map(ForwardedHeader::encoded_len)
                .sum::<usize>()
    }

    /// Appends the fixed fields and the headers (everything before the body) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        out.push(FORMAT_VERSION);
        out.push(match self.protocol {
            Protocol::V1 => 1,
            Protocol::V2 => 2,
        });
        out.extend_from_slice(&self.received_at_ms.to_le_bytes());
        out.extend_from_slice(&self.max_timestamp_ms.unwrap_or(i64::MIN).to_le_bytes());
        out.extend_from_slice(&self.samples.to_le_bytes());
        out.extend_from_slice(&self.histograms.to_le_bytes());
        out.extend_from_slice(&self.exemplars.to_le_bytes());
        let count = u16::try_from(self.headers.len()).map_err(|_| RecordError::HeadersTooLarge)?;
        out.extend_from_slice(&count.to_le_bytes());
        for header in &self.headers {
            header.encode_into(out)?;
        }
        Ok(())
    }
}

impl Record {
    /// Serializes the record for the WAL.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        Record::encode_parts(&self.head(), &self.body)
    }

    /// Serializes a record from its head and its body (one allocation, one copy of the
    /// body).
    pub fn encode_parts(head: &RecordHead, body: &[u8]) -> Result<Vec<u8>, RecordError> {
        let mut out = Vec::with_capacity(head.encoded_len() + body.len());
        head.encode_into(&mut out)?;
        out.extend_from_slice(body);
        Ok(out)
    }

    /// Reads a record written by [`Record::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let (head, body) = Record::decode_parts(bytes)?;
        Ok(Record::from_parts(head, body.to_vec()))
    }

    /// Reads the head of a stored record; the body is returned as a slice of `bytes` (not
    /// copied).
    pub fn decode_parts(bytes: &[u8]) -> Result<(RecordHead, &[u8]), RecordError> {
        let mut reader = Reader { bytes, offset: 0 };
        let version = reader.u8()?;
        if version != FORMAT_VERSION {
            return Err(RecordError::UnknownVersion(version));
        }
        let protocol = match reader.u8()? {
            1 => Protocol::V1,
            2 => Protocol::V2,
            other => return Err(RecordError::UnknownProtocol(other)),
        };
        let received_at_ms = i64::from_le_bytes(reader.array()?);
        let max_timestamp_ms = match i64::from_le_bytes(reader.array()?) {
            i64::MIN => None,
            ts => Some(ts),
        };
        let samples = u32::from_le_bytes(reader.array()?);
        let histograms = u32::from_le_bytes(reader.array()?);
        let exemplars = u32::from_le_bytes(reader.array()?);
        let count = u16::from_le_bytes(reader.array()?);
        let mut headers = Vec::with_capacity(usize::from(count).min(64));
        for index in 0..usize::from(count) {
            let name_len = u16::from_le_bytes(reader.array()?);
            let name = reader.take(usize::from(name_len))?;
            let value_len = u16::from_le_bytes(reader.array()?);
            let value = reader.take(usize::from(value_len))?;
            headers.push(
                ForwardedHeader::from_bytes(name, value).ok_or(RecordError::BadHeader { index })?,
            );
        }
        let head = RecordHead {
            protocol,
            received_at_ms,
            max_timestamp_ms,
            samples,
            histograms,
            exemplars,
            headers,
        };
        Ok((head, reader.rest()))
    }

    /// Everything but the body.
    pub fn head(&self) -> RecordHead {
        RecordHead {
            protocol: self.protocol,
            received_at_ms: self.received_at_ms,
            max_timestamp_ms: self.max_timestamp_ms,
            samples: self.samples,
            histograms: self.histograms,
            exemplars: self.exemplars,
            headers: self.headers.clone(),
        }
    }

    /// A record from its head and body.
    pub fn from_parts(head: RecordHead, body: Vec<u8>) -> Record {
        Record {
            protocol: head.protocol,
            received_at_ms: head.received_at_ms,
            max_timestamp_ms: head.max_timestamp_ms,
            samples: head.samples,
            histograms: head.histograms,
            exemplars: head.exemplars,
            headers: head.headers,
            body,
        }
    }
}

/// A bounds-checked cursor over the stored bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], RecordError> {
        let available = self.bytes.len().saturating_sub(self.offset);
        let field = self
            .offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.offset..end))
            .ok_or(RecordError::Truncated {
                offset: self.offset,
                needed: len,
                available,
            })?;
        self.offset += len;
        Ok(field)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let field = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(field);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.array::<1>()?[0])
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.offset..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;

/// Stored records for the crate's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ForwardedHeader, Protocol, Record};

    /// The stored bytes of a record of `protocol` whose decoded body is `decoded` (tenant
    /// header `tenant-a`, received at 1,700,000,000,000 ms).
    pub(crate) fn stored(protocol: Protocol, decoded: &[u8]) -> Vec<u8> {
        Record {
            protocol,
            received_at_ms: 1_700_000_000_000,
            max_timestamp_ms: None,
            samples: 0,
            histograms: 0,
            exemplars: 0,
            headers: vec![ForwardedHeader::new("X-Scope-OrgID", "tenant-a").unwrap()],
            body: prw_core::codec::compress(decoded).unwrap(),
        }
        .encode()
        .unwrap()
    }
}
