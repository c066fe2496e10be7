//! The v2 encoder: series items (v1 `TimeSeries` bytes) are decoded with prw-core's owned
//! structs, converted by `prw_core::convert::v1_to_v2` (one symbol table per request, a
//! series with both samples and histograms split in two), encoded and snappy-compressed.
//!
//! Metadata-only requests do not exist in v2 (metadata rides with each series), so
//! [`BatchEncoder::encode_metadata`] refuses; the retry loop never asks for it.

use std::fmt;

use bytes::Bytes;
use prost::Message;
use prw_core::Protocol;
use prw_core::convert::v1_to_v2;
use prw_core::proto::v1;

use super::{BatchEncoder, EncodeError, compress};
use crate::send::batch::{MetadataItem, SeriesItem};

/// Encodes `io.prometheus.write.v2.Request` bodies.
pub struct V2Encoder {
    raw: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for V2Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for V2Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V2Encoder")
            .field("buffer_capacity", &self.raw.capacity())
            .finish()
    }
}

impl V2Encoder {
    /// A new encoder with empty buffers.
    pub fn new() -> Self {
        V2Encoder {
            raw: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl BatchEncoder for V2Encoder {
    fn protocol(&self) -> Protocol {
        Protocol::V2
    }

    fn encode_series(&mut self, series: &[SeriesItem]) -> Result<Bytes, EncodeError> {
        let mut request = v1::WriteRequest {
            timeseries: Vec::with_capacity(series.len()),
            metadata: Vec::new(),
        };
        for item in series {
            let decoded = v1::TimeSeries::decode(item.series.clone()).map_err(|source| {
                EncodeError::BadSeries {
                    record_seq: item.record_seq,
                    source,
                }
            })?;
            request.timeseries.push(decoded);
        }
        self.raw.clear();
        v1_to_v2(&request).encode(&mut self.raw)?;
        compress(&mut self.snappy, &self.raw)
    }

    fn encode_metadata(&mut self, _: &MetadataItem) -> Result<Bytes, EncodeError> {
        Err(EncodeError::MetadataUnsupported(Protocol::V2))
    }
}
