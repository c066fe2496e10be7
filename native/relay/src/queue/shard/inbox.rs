//! A shard's inbox: items arrive in groups (one channel operation per record per shard, not
//! one per series), bounded by a number of slots (`QueueItem::slots`: one per series item,
//! one per sample of a whole record).
//!
//! The bound is a semaphore of `capacity` permits: sending a group of `n` slots first takes
//! `min(n, capacity)` permits (so a group larger than the whole capacity waits for an empty
//! inbox instead of for ever), and the shard gives them back when it takes the group out.
//! Items the shard has taken out but not yet batched wait in its hand ([`Inbox::next`]).
//!
//! Invariants: items come out in the order they were sent, groups never interleave; a
//! closed sending side lets the shard drain everything sent before it sees the end;
//! [`Inbox::next`] is cancel-safe (nothing is lost when its future is dropped).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use crate::queue::item::QueueItem;

/// The sending side, held by the destination's dispatch.
#[derive(Debug)]
pub(crate) struct InboxSender {
    tx: mpsc::UnboundedSender<(Vec<QueueItem>, u32)>,
    permits: Arc<Semaphore>,
    capacity: u32,
}

/// The shard's side.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: mpsc::UnboundedReceiver<(Vec<QueueItem>, u32)>,
    permits: Arc<Semaphore>,
    hand: VecDeque<QueueItem>,
}

/// The shard stopped: the group was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// An inbox of `capacity` items (at least 1).
pub(crate) fn inbox(capacity: usize) -> (InboxSender, Inbox) {
    let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(capacity));
    let (tx, rx) = mpsc::unbounded_channel();
    (
        InboxSender {
            tx,
            permits: Arc::clone(&permits),
            capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
        },
        Inbox {
            rx,
            permits,
            hand: VecDeque::new(),
        },
    )
}

impl InboxSender {
    /// Sends `items` as one group, waiting while the inbox is full.
    pub(crate) async fn send(&self, items: Vec<QueueItem>) -> Result<(), Closed> {
        if items.is_empty() {
            return Ok(());
        }
        let slots = items
            .iter()
            .fold(0u64, |sum, item| sum.saturating_add(item.slots()));
        let wanted = u32::try_from(slots).unwrap_or(u32::MAX).min(self.capacity);
        let permit = self
            .permits
            .acquire_many(wanted)
            .await
            .map_err(|_| Closed)?;
        permit.forget();
        self.tx.send((items, wanted)).map_err(|_| Closed)
    }
}

impl Inbox {
    /// The next item: from the hand, else from the next group (waiting for one). `None` once
    /// the sending side is closed and everything was taken.
    pub(crate) async fn next(&mut self) -> Option<QueueItem> {
        if let Some(item) = self.hand.pop_front() {
            return Some(item);
        }
        let (group, permits) = self.rx.recv().await?;
        self.permits.add_permits(permits as usize);
        self.hand.extend(group);
        self.hand.pop_front()
    }

    /// The next item if one is already in hand (no waiting).
    pub(crate) fn in_hand(&mut self) -> Option<QueueItem> {
        self.hand.pop_front()
    }

    /// Puts `item` back at the front (it opens the next batch).
    pub(crate) fn put_back(&mut self, item: QueueItem) {
        self.hand.push_front(item);
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // A stopped shard must not leave a sender waiting for permits for ever.
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::send::batch::MetadataItem;

    fn item(seq: u64) -> QueueItem {
        QueueItem::Metadata(MetadataItem {
            entries: Vec::new(),
            record_seq: seq,
            headers: Arc::from(Vec::new()),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn groups_come_out_in_order_and_a_full_inbox_makes_the_sender_wait() {
        let (tx, mut rx) = inbox(3);
        tx.send(vec![item(1), item(2)]).await.unwrap();
        tx.send(vec![item(3)]).await.unwrap();
        {
            let blocked = tx.send(vec![item(4)]);
            tokio::pin!(blocked);
            tokio::select! {
                _ = &mut blocked => panic!("a full inbox must make the sender wait"),
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            // Taking the first group out frees its two permits.
            assert_eq!(rx.next().await.map(|i| i.record_seq()), Some(1));
            blocked.await.unwrap();
        }
        drop(tx);
        let mut rest = Vec::new();
        while let Some(i) = rx.next().await {
            rest.push(i.record_seq());
        }
        assert_eq!(rest, vec![2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_larger_than_the_capacity_waits_for_an_empty_inbox_not_for_ever() {
        let (tx, mut rx) = inbox(2);
        tx.send(vec![item(1)]).await.unwrap();
        let big: Vec<_> = (2..=6).map(item).collect();
        let sender = tokio::spawn(async move { tx.send(big).await });
        let mut got = Vec::new();
        while let Some(i) = rx.next().await {
            got.push(i.record_seq());
        }
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(sender.await.unwrap(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_whole_record_takes_one_slot_per_sample() {
        use crate::send::batch::{ItemCounts, WholeItem};
        let whole = |seq: u64, samples: u64| {
            QueueItem::Whole(WholeItem {
                body: bytes::Bytes::new(),
                protocol: prw_core::Protocol::V1,
                counts: ItemCounts {
                    samples,
                    ..ItemCounts::default()
                },
                max_timestamp_ms: 0,
                record_seq: seq,
                headers: Arc::from(Vec::new()),
            })
        };
        let (tx, mut rx) = inbox(10);
        tx.send(vec![whole(1, 6)]).await.unwrap();
        {
            // 6 + 6 slots do not fit in 10: the second record waits for the first to leave.
            let blocked = tx.send(vec![whole(2, 6)]);
            tokio::pin!(blocked);
            tokio::select! {
                _ = &mut blocked => panic!("a whole record must take one slot per sample"),
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            assert_eq!(rx.next().await.map(|i| i.record_seq()), Some(1));
            blocked.await.unwrap();
        }
        // 4 more slots still fit beside the second record's 6.
        tokio::time::timeout(Duration::from_secs(1), tx.send(vec![whole(3, 4)]))
            .await
            .expect("4 free slots take a 4-sample record")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn sending_to_a_stopped_shard_fails_instead_of_waiting() {
        let (tx, rx) = inbox(1);
        tx.send(vec![item(1)]).await.unwrap();
        drop(rx);
        assert_eq!(tx.send(vec![item(2)]).await, Err(Closed));
    }
}
