//! One shard: a bounded FIFO of items, a batcher, and exactly one request in flight.
//!
//! A batch is cut when its items hold `max_samples_per_send` samples+histograms+exemplars (the
//! item that reaches the limit is included), when `batch_send_deadline` has passed since its
//! first item arrived, when an item with a different forwarded-header set (another tenant)
//! arrives, when a metadata item or a whole record arrives (metadata is sent alone; whole 1.0
//! records with the same headers are joined into one request up to `max_samples_per_send`,
//! a 2.0 one goes alone), or when the queue is closed (drain).
//!
//! Invariants: items leave in the order they arrived and a batch is sent only after the
//! previous one was finished (so per-series order holds); items are acknowledged only after
//! their batch's outcome is known, and never when it was aborted by the stop token.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prw_core::Protocol;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use super::item::QueueItem;
use super::watermark::Acks;
use crate::send::batch::{Batch, HeaderSet, SeriesItem, WholeItem};
use crate::send::context::SendContext;
use crate::send::retry::{Encoders, JitterSource, deliver};
use inbox::{Inbox, InboxSender, inbox};

/// How a shard cuts batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// `max_samples_per_send`.
    pub max_samples_per_send: u64,
    /// `batch_send_deadline`.
    pub batch_send_deadline: Duration,
}

pub(crate) mod inbox;

/// A running shard: its queue's sending end and its task.
#[derive(Debug)]
pub(crate) struct ShardHandle {
    pub(crate) tx: InboxSender,
    pub(crate) task: JoinHandle<()>,
}

/// Everything a shard task owns.
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) ctx: Arc<SendContext>,
    pub(crate) acks: Arc<Mutex<Acks>>,
    pub(crate) settings: BatchSettings,
    pub(crate) encoders: Encoders,
    pub(crate) jitter: JitterSource,
}

impl Shard {
    /// Starts the shard with a queue of `capacity` items.
    pub(crate) fn spawn(self, capacity: usize) -> ShardHandle {
        let (tx, rx) = inbox(capacity);
        let task = tokio::spawn(self.run(rx));
        ShardHandle { tx, task }
    }

    async fn run(mut self, mut rx: Inbox) {
        loop {
            let Some(first) = rx.next().await else {
                return;
            };
            let (batch, closed) = match first {
                QueueItem::Metadata(item) => (Batch::Metadata(item), false),
                QueueItem::Whole(item) => {
                    let (items, closed) = self.collect_whole(item, &mut rx).await;
                    (Batch::Whole(items), closed)
                }
                QueueItem::Series(item) => {
                    let (items, closed) = self.collect(item, &mut rx).await;
                    (Batch::Series(items), closed)
                }
            };
            let acks = acks_of(&batch);
            let counts = batch.counts();
            let outcome = deliver(&self.ctx, &mut self.encoders, &mut self.jitter, batch).await;
            if !outcome.acknowledged() {
                tracing::debug!(shard = self.index, "stopped with a batch unacknowledged");
                return;
            }
            self.ctx.metrics.pending(counts, false);
            let acked = self
                .acks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .ack_batch(self.index, &acks);
            if let Err(error) = acked {
                tracing::error!(shard = self.index, %error, "acknowledgement bookkeeping");
            }
            if closed {
                return;
            }
        }
    }

    /// Fills a batch of series starting with `first`; returns it and whether the queue is
    /// closed.
    async fn collect(&self, first: SeriesItem, rx: &mut Inbox) -> (Vec<SeriesItem>, bool) {
        let headers = Arc::clone(&first.headers);
        let total = first.counts.total();
        // One sample per series is the common shape: room for that many items up front.
        let limit = self.settings.max_samples_per_send;
        let room = usize::try_from(limit.clamp(1, 4096)).unwrap_or(1);
        self.fill(first, total, room, rx, |item, _| match item {
            QueueItem::Series(item) if same_headers(&item.headers, &headers) => {
                let samples = item.counts.total();
                Ok((item, samples))
            }
            other => Err(other),
        })
        .await
    }

    /// Joins whole 1.0 records that follow `first` into one request while they fit in
    /// `max_samples_per_send` together and share its forwarded headers, waiting for more up
    /// to `batch_send_deadline` (as series batches do); a 2.0 record goes alone (its refs
    /// point into its own symbol table). Returns the records and whether the queue is closed.
    async fn collect_whole(&self, first: WholeItem, rx: &mut Inbox) -> (Vec<WholeItem>, bool) {
        let limit = self.settings.max_samples_per_send;
        let total = first.counts.total();
        if first.protocol != Protocol::V1 || total >= limit {
            return (vec![first], false);
        }
        let headers = Arc::clone(&first.headers);
        self.fill(first, total, 4, rx, |item, total| match item {
            QueueItem::Whole(item)
                if item.protocol == Protocol::V1
                    && same_headers(&item.headers, &headers)
                    && total.saturating_add(item.counts.total()) <= limit =>
            {
                let samples = item.counts.total();
                Ok((item, samples))
            }
            other => Err(other),
        })
        .await
    }

    /// Fills a batch (room for `room` parts) from `first` (holding `total` samples): takes
    /// the items `accept` turns into parts (given the batch's samples so far) while the batch
    /// holds fewer than `max_samples_per_send` and `batch_send_deadline` has not passed; the
    /// first item it refuses opens the next batch. Returns the parts and whether the queue is
    /// closed.
    async fn fill<T>(
        &self,
        first: T,
        mut total: u64,
        room: usize,
        rx: &mut Inbox,
        accept: impl Fn(QueueItem, u64) -> Result<(T, u64), QueueItem>,
    ) -> (Vec<T>, bool) {
        let deadline = tokio::time::sleep_until(Instant::now() + self.settings.batch_send_deadline);
        tokio::pin!(deadline);
        let limit = self.settings.max_samples_per_send;
        let mut items = Vec::with_capacity(room);
        items.push(first);
        while total < limit {
            let Some(next) = next_before(rx, deadline.as_mut()).await else {
                break;
            };
            let Some(next) = next else {
                return (items, true);
            };
            match accept(next, total) {
                Ok((item, samples)) => {
                    total = total.saturating_add(samples);
                    items.push(item);
                }
                Err(other) => {
                    rx.put_back(other);
                    break;
                }
            }
        }
        (items, false)
    }
}

/// The next item for the batch being filled: `Some(Some(item))`; `Some(None)` when the queue
/// is closed; `None` once `deadline` passed. Items already in hand are taken without
/// touching the timer.
async fn next_before(rx: &mut Inbox, deadline: Pin<&mut Sleep>) -> Option<Option<QueueItem>> {
    if let Some(item) = rx.in_hand() {
        return Some(Some(item));
    }
    tokio::select! {
        biased;
        next = rx.next() => Some(next),
        () = deadline => None,
    }
}

/// Items of one record share one header set: comparing pointers first skips the string
/// comparison in the common case.
fn same_headers(a: &HeaderSet, b: &HeaderSet) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// (record seq, items of it) in batch order, consecutive seqs merged.
fn acks_of(batch: &Batch) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    let mut push = |seq: u64| match out.last_mut() {
        Some((last, count)) if *last == seq => *count = count.saturating_add(1),
        _ => out.push((seq, 1)),
    };
    match batch {
        Batch::Series(items) => items.iter().for_each(|i| push(i.record_seq)),
        Batch::Metadata(item) => push(item.record_seq),
        Batch::Whole(items) => items.iter().for_each(|i| push(i.record_seq)),
    }
    out
}
