//! Forwarding a record as received: when a destination would send a record's series exactly
//! as they arrived, it sends the stored request body itself, with no decompression, no parse
//! and no compression (the shard may join consecutive 1.0 records into one request,
//! `crate::send::whole`).
//!
//! A destination forwards record R whole when all of these hold:
//! - its settings change nothing: no `write_relabel_configs`, no `sample_age_limit`, and
//!   `forward_as_received` is not turned off;
//! - the destination sends R's protocol now (v1 to v1, v2 to v2; a v2 destination that fell
//!   back to v1 gets v2 records cut and converted from then on, and the v2 records already
//!   queued are converted when sent, `crate::send::whole`);
//! - R's samples + histograms + exemplars are at most `max_samples_per_send`;
//! - the destination runs one shard.
//!
//! Otherwise R is cut into items as usual (`super::items`).
//!
//! Why one shard: a whole record holds many series and goes to one shard. With one shard,
//! every item of the destination passes through the same queue in record order, so
//! per-series order holds. With more shards, series are spread by label hash, so records are
//! cut. Resharding drains every shard first; forwarding starts or stops only between
//! records.
//!
//! Ingest benefits too: when every destination would forward a record, it keeps the record
//! as received only, without per-series facts or decoded body (`crate::tail::TakesWhole`,
//! `crate::ingest::prepare`).
//!
//! The WAL path benefits most. A feed whose destination forwards does not decode a record
//! it will forward: it reads the record head and slices the body.
//!
//! Invariants: a forwarded body is byte for byte the body that ingest validated and stored;
//! the counts and newest timestamp sent with it are those of its record head; [`Forwarding`]
//! answers from settings and the destination's current shard count and protocol, so the
//! dispatcher asks it again for every record, after any pending reshard.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use prw_core::Protocol;

use crate::config;
use crate::queue::Destination;
use crate::record::{ForwardedHeader, ReceivedBody};
use crate::send::ProtocolState;
use crate::send::batch::{ItemCounts, WholeItem};
use crate::tail::TakesWhole;

/// One destination's forwarding rule (see the module docs).
#[derive(Debug, Clone)]
pub struct Forwarding {
    max_samples: u64,
    shards: Arc<AtomicUsize>,
    protocol: Arc<ProtocolState>,
}

impl Forwarding {
    /// The rule of `destination`, running as `sender`; `None` when its settings never allow
    /// forwarding.
    pub fn new(destination: &config::Destination, sender: &Destination) -> Option<Self> {
        settings_allow(destination).then(|| Forwarding {
            max_samples: u64::try_from(destination.queue.max_samples_per_send).unwrap_or(u64::MAX),
            shards: sender.shard_counter(),
            protocol: sender.protocol_state(),
        })
    }

    /// Whether a record of `protocol` whose body as received is `received` is forwarded
    /// whole now.
    pub fn allows(&self, protocol: Protocol, received: &ReceivedBody) -> bool {
        self.whole_limit(protocol)
            .is_some_and(|limit| received.total() <= limit)
    }
}

impl TakesWhole for Forwarding {
    fn whole_limit(&self, protocol: Protocol) -> Option<u64> {
        (protocol == self.protocol.current() && self.shards.load(Ordering::SeqCst) == 1)
            .then_some(self.max_samples)
    }
}

/// Whether `destination`'s settings let it forward records (they change nothing).
fn settings_allow(destination: &config::Destination) -> bool {
    destination.forward_as_received
        && destination.relabel.is_empty()
        && destination.queue.sample_age_limit.is_none()
}

/// The queue item that forwards record `seq` whole.
pub fn whole_item(
    seq: u64,
    protocol: Protocol,
    headers: Arc<[ForwardedHeader]>,
    received: &ReceivedBody,
) -> WholeItem {
    WholeItem {
        body: received.body.clone(),
        protocol,
        counts: ItemCounts {
            samples: u64::from(received.samples),
            histograms: u64::from(received.histograms),
            exemplars: u64::from(received.exemplars),
        },
        max_timestamp_ms: received.max_timestamp_ms.unwrap_or(i64::MIN),
        record_seq: seq,
        headers,
    }
}

#[cfg(test)]
mod tests;
