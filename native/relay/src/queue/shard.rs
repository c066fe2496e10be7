//! One shard: a bounded FIFO of items, a batcher, and exactly one request in flight.
//!
//! A batch is cut when its items hold `max_samples_per_send` samples+histograms+exemplars (the
//! item that reaches the limit is included), when `batch_send_deadline` has passed since its
//! first item arrived, when an item with a different forwarded-header set (another tenant)
//! arrives, when a metadata item or a whole record arrives (each sent alone), or when the
//! queue is closed (drain).
//!
//! Invariants: items leave in the order they arrived and a batch is sent only after the
//! previous one was finished (so per-series order holds); items are acknowledged only after
//! their batch's outcome is known, and never when it was aborted by the stop token.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::item::QueueItem;
use super::watermark::Acks;
use crate::send::batch::{Batch, HeaderSet, SeriesItem};
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
                QueueItem::Whole(item) => (Batch::Whole(item), false),
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

    /// Fills a batch starting with `first`; returns it and whether the queue is closed.
    async fn collect(&self, first: SeriesItem, rx: &mut Inbox) -> (Vec<SeriesItem>, bool) {
        let deadline = tokio::time::sleep_until(Instant::now() + self.settings.batch_send_deadline);
        tokio::pin!(deadline);
        let mut total = first.counts.total();
        let headers = Arc::clone(&first.headers);
        let limit = self.settings.max_samples_per_send;
        // One sample per series is the common shape: room for that many items up front.
        let mut items = Vec::with_capacity(usize::try_from(limit.clamp(1, 4096)).unwrap_or(1));
        items.push(first);
        while total < limit {
            // Items already in hand are taken without touching the timer.
            let next = match rx.in_hand() {
                Some(item) => Some(item),
                None => tokio::select! {
                    biased;
                    next = rx.next() => next,
                    () = &mut deadline => break,
                },
            };
            match next {
                None => return (items, true),
                Some(QueueItem::Series(item)) if same_headers(&item.headers, &headers) => {
                    total = total.saturating_add(item.counts.total());
                    items.push(item);
                }
                Some(other) => {
                    rx.put_back(other);
                    break;
                }
            }
        }
        (items, false)
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
        Batch::Whole(item) => push(item.record_seq),
    }
    out
}
