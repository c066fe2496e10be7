//! A record's body exactly as the relay received it (snappy, never re-encoded) and the
//! counts its head stores: everything a destination needs to forward the record whole, with
//! no decompression and no parse.
//!
//! Invariant: `body` is the compressed request body stored in the WAL record (the same
//! bytes whether it comes from ingest or is read back), and the counts and newest timestamp
//! are those of the record head, which ingest's validation pass computed from that body.

use bytes::Bytes;

use super::{Record, RecordError, RecordHead};

/// The body as received and the head's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedBody {
    /// The request body as received (snappy block format).
    pub body: Bytes,
    /// Samples in the body.
    pub samples: u32,
    /// Native histograms in the body.
    pub histograms: u32,
    /// Exemplars in the body.
    pub exemplars: u32,
    /// The newest sample, histogram or exemplar timestamp (Unix ms), if any.
    pub max_timestamp_ms: Option<i64>,
}

impl ReceivedBody {
    /// The body `body` of a record whose head is `head`.
    pub fn new(head: &RecordHead, body: Bytes) -> Self {
        ReceivedBody {
            body,
            samples: head.samples,
            histograms: head.histograms,
            exemplars: head.exemplars,
            max_timestamp_ms: head.max_timestamp_ms,
        }
    }

    /// Reads the head of stored record bytes and takes their body (a slice of `stored`,
    /// not a copy), without decoding it.
    pub fn read(stored: &Bytes) -> Result<(RecordHead, ReceivedBody), RecordError> {
        let (head, body) = Record::decode_parts(stored)?;
        let offset = stored.len().saturating_sub(body.len());
        let received = ReceivedBody::new(&head, stored.slice(offset..));
        Ok((head, received))
    }

    /// Samples + histograms + exemplars (what `max_samples_per_send` counts).
    pub fn total(&self) -> u64 {
        u64::from(self.samples) + u64::from(self.histograms) + u64::from(self.exemplars)
    }
}
