//! Acknowledgements: which WAL records a destination is done with.
//!
//! Every record handed to the destination is registered with how many of its items went to
//! each shard; each acknowledged item (delivered, or dropped by a 4xx / age decision) counts
//! down its shard's share. Two watermarks follow:
//! - the **low watermark**: the highest record seq such that every item of every record up to
//!   it is acknowledged by all shards. The WAL cursor is committed from it.
//! - per shard, the **acknowledged watermark**: the highest record seq such that every item of
//!   every record up to it that went to *that* shard is acknowledged. Persisted through
//!   [`ShardProgressStore`], it lets a replay after a crash skip what a shard already
//!   delivered ([`ReplaySkip`]), so only what was in flight is sent twice.
//!
//! Invariants: watermarks never move backwards; a record not registered (a gap in seqs) has
//! no items for this destination; a watermark never covers an unacknowledged item.

use std::collections::VecDeque;
use std::fmt;

use tokio::sync::watch;

/// What a destination has acknowledged: persisted per destination by the lead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardProgress {
    /// The low watermark (`None`: nothing acknowledged since the destination started empty).
    pub low_watermark: Option<u64>,
    /// Per shard (index = shard), the acknowledged watermark; `len()` is the shard count.
    pub shards: Vec<Option<u64>>,
}

/// Error of a [`ShardProgressStore`].
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Persistence of [`ShardProgress`] (implemented on disk by the lead).
pub trait ShardProgressStore: Send + Sync + fmt::Debug {
    /// The last saved progress; `None` when there is none.
    fn load(&self) -> Result<Option<ShardProgress>, StoreError>;
    /// Saves `progress` (atomically: a crash leaves the old or the new value).
    fn save(&self, progress: &ShardProgress) -> Result<(), StoreError>;
}

/// A store that keeps nothing (no replay skipping).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgressStore;

impl ShardProgressStore for NoProgressStore {
    fn load(&self) -> Result<Option<ShardProgress>, StoreError> {
        Ok(None)
    }

    fn save(&self, _: &ShardProgress) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Replay decisions from progress loaded at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplaySkip {
    shards: Vec<Option<u64>>,
}

impl ReplaySkip {
    /// From the loaded progress (`None`: skip nothing).
    pub fn new(loaded: Option<&ShardProgress>) -> Self {
        ReplaySkip {
            shards: loaded.map(|p| p.shards.clone()).unwrap_or_default(),
        }
    }

    /// Whether an item of record `record_seq` that maps to `shard` was already acknowledged
    /// by that shard before the restart (only meaningful with the persisted shard count).
    pub fn should_skip(&self, record_seq: u64, shard: usize) -> bool {
        matches!(self.shards.get(shard), Some(Some(acked)) if record_seq <= *acked)
    }

    /// The shard count the progress was saved with (`None`: no progress).
    pub fn shards(&self) -> Option<usize> {
        Some(self.shards.len()).filter(|n| *n > 0)
    }

    /// Forgets everything (after a reshard the mapping changed).
    pub fn clear(&mut self) {
        self.shards.clear();
    }
}

/// Why an acknowledgement did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// Registered out of order.
    #[error("record {seq} registered after record {last}: seqs must increase")]
    OutOfOrder {
        /// The record being registered.
        seq: u64,
        /// The last one registered.
        last: u64,
    },
    /// An ack for an item that was never registered, or acked twice.
    #[error("ack for record {seq} shard {shard} that has no pending item")]
    Unexpected {
        /// Record.
        seq: u64,
        /// Shard.
        shard: usize,
    },
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    remaining: Vec<u32>,
}

/// The acknowledgement bookkeeping of one destination.
///
/// Cost: registering a record is O(shards); acknowledging a batch is O(records in the batch)
/// plus, while the shard still has items pending, a scan from the oldest pending record to the
/// shard's first pending one.
#[derive(Debug)]
pub struct Acks {
    records: VecDeque<Pending>,
    /// Per shard, items registered and not yet acknowledged.
    outstanding: Vec<u64>,
    last_registered: Option<u64>,
    progress: ShardProgress,
    tx: watch::Sender<ShardProgress>,
}

impl Acks {
    /// Starts with `shards` shards and the progress loaded at start (if any).
    pub fn new(shards: usize, loaded: Option<&ShardProgress>) -> Self {
        let low = loaded.and_then(|p| p.low_watermark);
        let per_shard = match loaded {
            Some(p) if p.shards.len() == shards => p.shards.clone(),
            _ => vec![low; shards],
        };
        let progress = ShardProgress {
            low_watermark: low,
            shards: per_shard,
        };
        let (tx, _) = watch::channel(progress.clone());
        Acks {
            records: VecDeque::new(),
            outstanding: vec![0; shards],
            last_registered: low,
            progress,
            tx,
        }
    }

    /// Follows every change of the progress.
    pub fn subscribe(&self) -> watch::Receiver<ShardProgress> {
        self.tx.subscribe()
    }

    /// The current progress.
    pub fn progress(&self) -> &ShardProgress {
        &self.progress
    }

    /// Registers record `seq` with `per_shard[i]` items going to shard `i`.
    pub fn register(&mut self, seq: u64, mut per_shard: Vec<u32>) -> Result<(), AckError> {
        if let Some(last) = self.last_registered
            && seq <= last
        {
            return Err(AckError::OutOfOrder { seq, last });
        }
        self.last_registered = Some(seq);
        per_shard.resize(self.outstanding.len(), 0);
        let before = self.progress.clone();
        for ((outstanding, count), mark) in self
            .outstanding
            .iter_mut()
            .zip(&per_shard)
            .zip(&mut self.progress.shards)
        {
            *outstanding = outstanding.saturating_add(u64::from(*count));
            if *outstanding == 0 {
                *mark = (*mark).max(Some(seq));
            }
        }
        self.records.push_back(Pending {
            seq,
            remaining: per_shard,
        });
        self.pop_finished();
        self.publish_if_changed(&before);
        Ok(())
    }

    /// `count` items of record `seq` that went to `shard` are acknowledged.
    pub fn ack(&mut self, seq: u64, shard: usize, count: u32) -> Result<(), AckError> {
        self.ack_batch(shard, &[(seq, count)])
    }

    /// Acknowledges, for `shard`, `count` items of each `(seq, count)`.
    pub fn ack_batch(&mut self, shard: usize, acks: &[(u64, u32)]) -> Result<(), AckError> {
        let before = self.progress.clone();
        let mut result = Ok(());
        for &(seq, count) in acks {
            let slot = self
                .records
                .iter_mut()
                .find(|p| p.seq == seq)
                .and_then(|p| p.remaining.get_mut(shard))
                .filter(|r| **r >= count);
            match (slot, self.outstanding.get_mut(shard)) {
                (Some(remaining), Some(outstanding)) => {
                    *remaining -= count;
                    *outstanding = outstanding.saturating_sub(u64::from(count));
                }
                _ => result = Err(AckError::Unexpected { seq, shard }),
            }
        }
        self.update_shard(shard);
        self.pop_finished();
        self.publish_if_changed(&before);
        result
    }

    /// Whether every registered item is acknowledged.
    pub fn is_idle(&self) -> bool {
        self.records.is_empty()
    }

    /// After all shards were drained: continue with `shards` shards, all at the low watermark.
    pub fn reset_shards(&mut self, shards: usize) {
        let low = self.progress.low_watermark;
        self.progress.shards = vec![low; shards];
        self.outstanding = vec![0; shards];
        for pending in &mut self.records {
            pending.remaining.resize(shards, 0);
            for (outstanding, remaining) in self.outstanding.iter_mut().zip(&pending.remaining) {
                *outstanding = outstanding.saturating_add(u64::from(*remaining));
            }
        }
        for shard in 0..shards {
            self.update_shard(shard);
        }
        self.tx.send_replace(self.progress.clone());
    }

    /// Recomputes one shard's watermark: the last registered record when nothing of it is
    /// pending, else the record before its first pending one.
    fn update_shard(&mut self, shard: usize) {
        let covered = if self.outstanding.get(shard).copied().unwrap_or(0) == 0 {
            self.last_registered
        } else {
            let mut covered = self.progress.low_watermark;
            for pending in &self.records {
                if pending.remaining.get(shard).copied().unwrap_or(0) > 0 {
                    break;
                }
                covered = Some(pending.seq);
            }
            covered
        };
        if let Some(mark) = self.progress.shards.get_mut(shard)
            && covered > *mark
        {
            *mark = covered;
        }
    }

    /// Pops fully acknowledged records off the front, advancing the low watermark.
    fn pop_finished(&mut self) {
        while let Some(front) = self.records.front() {
            if front.remaining.iter().any(|r| *r > 0) {
                break;
            }
            self.progress.low_watermark = Some(front.seq);
            self.records.pop_front();
        }
    }

    fn publish_if_changed(&self, before: &ShardProgress) {
        if self.progress != *before {
            self.tx.send_replace(self.progress.clone());
        }
    }
}

#[cfg(test)]
mod tests;
