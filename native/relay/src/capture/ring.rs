//! The bounded ring behind the store: one queue per kind, one byte budget over both.
//!
//! Invariants (checked by the property test below): after every [`Ring::insert`], each kind
//! holds at most its own limit, the bytes held are at most `max_bytes`, ids increase from
//! the oldest to the newest capture of each kind, and what was evicted is always the oldest
//! (the lowest id) of its kind, or of both kinds when memory was short. An entry larger than
//! `max_bytes` is not kept (the store removes its body first so that it fits).

use std::collections::VecDeque;
use std::sync::Arc;

use super::entry::{CaptureEntry, CaptureKind};

/// The bounds of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingLimits {
    /// Rejected captures kept.
    pub max_rejected: usize,
    /// Refused captures kept.
    pub max_refused: usize,
    /// Bytes over both kinds.
    pub max_bytes: usize,
}

/// Why a capture left the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Its kind was at its count limit.
    Count,
    /// Memory was needed for a newer capture.
    Memory,
}

impl Eviction {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Eviction::Count => "count",
            Eviction::Memory => "memory",
        }
    }
}

#[derive(Debug)]
struct Slot {
    id: u64,
    entry: Arc<CaptureEntry>,
    footprint: usize,
}

/// What an insert did.
#[derive(Debug, Default)]
pub struct Inserted {
    /// The new capture's id; `None` when it was not kept (its kind's limit is 0, or it is
    /// larger than `max_bytes`).
    pub id: Option<u64>,
    /// The captures that left to make room (drop them outside any lock).
    pub evicted: Vec<(CaptureKind, Eviction, Arc<CaptureEntry>)>,
}

/// The captures kept, oldest first per kind.
#[derive(Debug)]
pub struct Ring {
    limits: RingLimits,
    rejected: VecDeque<Slot>,
    refused: VecDeque<Slot>,
    bytes: usize,
    next_id: u64,
}

impl Ring {
    /// An empty ring; the first id is 1.
    pub fn new(limits: RingLimits) -> Self {
        Ring {
            limits,
            rejected: VecDeque::new(),
            refused: VecDeque::new(),
            bytes: 0,
            next_id: 1,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Captures held of `kind`.
    pub fn len(&self, kind: CaptureKind) -> usize {
        self.queue(kind).len()
    }

    fn queue(&self, kind: CaptureKind) -> &VecDeque<Slot> {
        match kind {
            CaptureKind::Rejected => &self.rejected,
            CaptureKind::Refused => &self.refused,
        }
    }

    fn queue_mut(&mut self, kind: CaptureKind) -> &mut VecDeque<Slot> {
        match kind {
            CaptureKind::Rejected => &mut self.rejected,
            CaptureKind::Refused => &mut self.refused,
        }
    }

    fn limit(&self, kind: CaptureKind) -> usize {
        match kind {
            CaptureKind::Rejected => self.limits.max_rejected,
            CaptureKind::Refused => self.limits.max_refused,
        }
    }

    /// Removes the oldest capture of `kind`.
    fn pop_oldest(&mut self, kind: CaptureKind) -> Option<Arc<CaptureEntry>> {
        let slot = self.queue_mut(kind).pop_front()?;
        self.bytes -= slot.footprint;
        Some(slot.entry)
    }

    /// The kind whose oldest capture is the oldest of all.
    fn oldest_kind(&self) -> Option<CaptureKind> {
        match (self.rejected.front(), self.refused.front()) {
            (Some(a), Some(b)) if a.id < b.id => Some(CaptureKind::Rejected),
            (Some(_), Some(_)) | (None, Some(_)) => Some(CaptureKind::Refused),
            (Some(_), None) => Some(CaptureKind::Rejected),
            (None, None) => None,
        }
    }

    /// Keeps `entry` (which holds `footprint` bytes), evicting the oldest captures as the
    /// limits require.
    pub fn insert(&mut self, entry: Arc<CaptureEntry>, footprint: usize) -> Inserted {
        let kind = entry.kind;
        let mut inserted = Inserted::default();
        if self.limit(kind) == 0 || footprint > self.limits.max_bytes {
            return inserted;
        }
        while self.queue(kind).len() >= self.limit(kind) {
            match self.pop_oldest(kind) {
                Some(old) => inserted.evicted.push((kind, Eviction::Count, old)),
                None => break,
            }
        }
        while self.bytes + footprint > self.limits.max_bytes {
            let Some(oldest) = self.oldest_kind() else {
                break;
            };
            if let Some(old) = self.pop_oldest(oldest) {
                inserted.evicted.push((oldest, Eviction::Memory, old));
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.bytes += footprint;
        self.queue_mut(kind).push_back(Slot {
            id,
            entry,
            footprint,
        });
        inserted.id = Some(id);
        inserted
    }

    /// The capture with this id, if it is still kept.
    pub fn get(&self, id: u64) -> Option<Arc<CaptureEntry>> {
        [&self.rejected, &self.refused]
            .into_iter()
            .find_map(|queue| {
                let at = queue.partition_point(|slot| slot.id < id);
                queue
                    .get(at)
                    .filter(|slot| slot.id == id)
                    .map(|slot| Arc::clone(&slot.entry))
            })
    }

    /// Every capture kept, newest first.
    pub fn newest_first(&self) -> Vec<(u64, Arc<CaptureEntry>)> {
        let mut out = Vec::with_capacity(self.rejected.len() + self.refused.len());
        let mut a = self.rejected.iter().rev().peekable();
        let mut b = self.refused.iter().rev().peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.id > y.id => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            if let Some(slot) = next {
                out.push((slot.id, Arc::clone(&slot.entry)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(kind: CaptureKind) -> Arc<CaptureEntry> {
        Arc::new(CaptureEntry {
            time_ms: 0,
            kind,
            status: 400,
            summary: String::new(),
            reason: None,
            rules: Vec::new(),
            answer: String::new(),
            destination: None,
            tenant: None,
            remote: None,
            protocol: None,
            bytes: None,
            body: None,
            body_missing: None,
            content_type: None,
            content_encoding: None,
            headers: Vec::new(),
            removed_headers: Vec::new(),
            retry_attempt: None,
        })
    }

    fn kind_of(rejected: bool) -> CaptureKind {
        if rejected {
            CaptureKind::Rejected
        } else {
            CaptureKind::Refused
        }
    }

    #[test]
    fn the_oldest_of_a_kind_goes_when_the_kind_is_full() {
        let mut ring = Ring::new(RingLimits {
            max_rejected: 2,
            max_refused: 2,
            max_bytes: 1000,
        });
        let ids: Vec<_> = (0..3)
            .map(|_| ring.insert(entry(CaptureKind::Rejected), 10).id)
            .collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        assert!(ring.get(1).is_none(), "the oldest was evicted");
        assert!(ring.get(2).is_some() && ring.get(3).is_some());
        let listed: Vec<u64> = ring.newest_first().iter().map(|(id, _)| *id).collect();
        assert_eq!(listed, [3, 2]);
    }

    #[test]
    fn memory_evicts_the_oldest_of_both_kinds() {
        let mut ring = Ring::new(RingLimits {
            max_rejected: 10,
            max_refused: 10,
            max_bytes: 100,
        });
        ring.insert(entry(CaptureKind::Refused), 40);
        ring.insert(entry(CaptureKind::Rejected), 40);
        let third = ring.insert(entry(CaptureKind::Rejected), 40);
        assert_eq!(third.id, Some(3));
        assert_eq!(third.evicted.len(), 1);
        assert_eq!(third.evicted[0].0, CaptureKind::Refused);
        assert_eq!(third.evicted[0].1, Eviction::Memory);
        assert_eq!(ring.bytes(), 80);
        assert!(ring.get(1).is_none());
    }

    #[test]
    fn an_entry_over_the_cap_or_a_kind_limited_to_zero_is_not_kept() {
        let mut ring = Ring::new(RingLimits {
            max_rejected: 1,
            max_refused: 0,
            max_bytes: 100,
        });
        assert_eq!(ring.insert(entry(CaptureKind::Rejected), 101).id, None);
        assert_eq!(ring.insert(entry(CaptureKind::Refused), 1).id, None);
        assert_eq!(ring.bytes(), 0);
        assert!(ring.newest_first().is_empty());
    }

    proptest! {
        #[test]
        fn limits_hold_and_the_oldest_go_first(
            max_rejected in 0usize..6,
            max_refused in 0usize..6,
            max_bytes in 1usize..400,
            inserts in prop::collection::vec((any::<bool>(), 1usize..200), 0..60),
        ) {
            let limits = RingLimits { max_rejected, max_refused, max_bytes };
            let mut ring = Ring::new(limits);
            // A model: every kept (id, kind, footprint) in arrival order.
            let mut model: Vec<(u64, CaptureKind, usize)> = Vec::new();
            for (rejected, footprint) in inserts {
                let kind = kind_of(rejected);
                let inserted = ring.insert(entry(kind), footprint);
                for (evicted_kind, why, _) in &inserted.evicted {
                    // What goes is the oldest of its kind (count) or of all (memory).
                    let position = match why {
                        Eviction::Count => model.iter().position(|(_, k, _)| k == evicted_kind),
                        Eviction::Memory => (!model.is_empty()).then_some(0),
                    };
                    prop_assert!(position.is_some());
                    let (_, k, _) = model.remove(position.unwrap_or(0));
                    prop_assert_eq!(k, *evicted_kind);
                }
                if let Some(id) = inserted.id {
                    model.push((id, kind, footprint));
                }
                let held: usize = model.iter().map(|(_, _, f)| f).sum();
                prop_assert_eq!(ring.bytes(), held);
                prop_assert!(ring.bytes() <= max_bytes);
                prop_assert!(ring.len(CaptureKind::Rejected) <= max_rejected);
                prop_assert!(ring.len(CaptureKind::Refused) <= max_refused);
                let listed: Vec<u64> = ring.newest_first().iter().map(|(id, _)| *id).collect();
                let expected: Vec<u64> = model.iter().rev().map(|(id, _, _)| *id).collect();
                prop_assert_eq!(&listed, &expected);
                for (id, kind, _) in &model {
                    prop_assert_eq!(ring.get(*id).map(|e| e.kind), Some(*kind));
                }
            }
        }
    }
}
