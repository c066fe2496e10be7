//! One shard: a bounded FIFO of items, a batcher, and exactly one request in flight.
//!
//! A batch is cut when its items hold `max_samples_per_send` samples+histograms+exemplars (the
//! item that reaches the limit is included), when `batch_send_deadline` has passed since its
//! first item arrived, when an item with a different forwarded-header set (another tenant)
//! arrives, when a metadata item arrives (sent alone), or when the queue is closed (drain).
//!
//! Invariants: items leave in the order they arrived and a batch is sent only after the
//! previous one was finished (so per-series order holds); items are acknowledged only after
//! their batch's outcome is known, and never when it was aborted by the stop token.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::item::QueueItem;
use super::watermark::Acks;
use crate::send::batch::{Batch, SeriesItem};
use crate::send::context::SendContext;
use crate::send::retry::{Encoders, JitterSource, deliver};

/// How a shard cuts batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// `max_samples_per_send`.
    pub max_samples_per_send: u64,
    /// `batch_send_deadline`.
    pub batch_send_deadline: Duration,
}

/// A running shard: its queue's sending end and its task.
#[derive(Debug)]
pub(crate) struct ShardHandle {
    pub(crate) tx: mpsc::Sender<QueueItem>,
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
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(self.run(rx));
        ShardHandle { tx, task }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<QueueItem>) {
        let mut carry: Option<QueueItem> = None;
        loop {
            let first = match carry.take() {
                Some(item) => item,
                None => match rx.recv().await {
                    Some(item) => item,
                    None => return,
                },
            };
            let (batch, closed) = match first {
                QueueItem::Metadata(item) => (Batch::Metadata(item), false),
                QueueItem::Series(item) => {
                    let (items, closed) = self.collect(item, &mut rx, &mut carry).await;
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
    async fn collect(
        &self,
        first: SeriesItem,
        rx: &mut mpsc::Receiver<QueueItem>,
        carry: &mut Option<QueueItem>,
    ) -> (Vec<SeriesItem>, bool) {
        let deadline = Instant::now() + self.settings.batch_send_deadline;
        let mut total = first.counts.total();
        let headers = Arc::clone(&first.headers);
        let mut items = vec![first];
        while total < self.settings.max_samples_per_send {
            tokio::select! {
                biased;
                next = rx.recv() => match next {
                    None => return (items, true),
                    Some(QueueItem::Series(item)) if item.headers == headers => {
                        total = total.saturating_add(item.counts.total());
                        items.push(item);
                    }
                    Some(other) => {
                        *carry = Some(other);
                        break;
                    }
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        (items, false)
    }
}

/// (record seq, items of it) in batch order, consecutive seqs merged.
fn acks_of(batch: &Batch) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = Vec::new();
    let seqs: Vec<u64> = match batch {
        Batch::Series(items) => items.iter().map(|i| i.record_seq).collect(),
        Batch::Metadata(item) => vec![item.record_seq],
    };
    for seq in seqs {
        match out.last_mut() {
            Some((last, count)) if *last == seq => *count = count.saturating_add(1),
            _ => out.push((seq, 1)),
        }
    }
    out
}
