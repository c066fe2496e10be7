//! Retention and the disk cap.
//!
//! - Retention: a sealed segment is taken out of the list when every consumer's cursor is past
//!   its last record; its file is deleted after the state lock is released
//!   ([`Shared::unlock`]). With no consumers nothing is deleted.
//! - The disk cap (`max_bytes`): under `FullPolicy::Block` an append that would exceed it
//!   fails at once with `WalError::Full`; under `FullPolicy::DropOldest` the oldest segment is
//!   taken out of the list and the consumers that had not passed it are moved past it and
//!   charged, under the lock, while the file is deleted and the moved cursors are stored with
//!   the lock released (appenders are never blocked behind that I/O).
//!
//! Invariant: a segment is only taken out of the list when no consumer needs it any more, or
//! (drop-oldest) after every consumer that needed it was moved past it and charged exactly.

use crate::config::FullPolicy;
use crate::error::WalError;
use crate::failpoint::failpoint;

use crate::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::shared::{Shared, State};

/// Whether an append can go ahead.
#[derive(Debug)]
pub(crate) enum Room {
    /// The records fit under the cap.
    Enough,
    /// A segment was dropped (drop-oldest): finish its I/O without the lock, then check again.
    Freed(DropWork),
}

/// The I/O of a drop, done without the state lock: the file is queued for deletion, these
/// consumers' cursors must be stored.
#[derive(Debug)]
pub(crate) struct DropWork {
    moved: Vec<String>,
}

impl Shared {
    /// Takes every sealed segment all consumers have passed out of the list and queues its
    /// file for deletion once the lock is released ([`Shared::unlock`]).
    pub(crate) fn apply_retention(&self, st: &mut State) {
        let Some(min) = st.consumers.values().map(|c| c.next_seq).min() else {
            return;
        };
        while st.sealed_count() > 0 && st.segments.front().is_some_and(|s| s.end_seq() <= min) {
            if let Some(seg) = st.segments.pop_front() {
                st.pending_removals.push_back(seg.path);
            }
        }
    }

    /// Bytes the records of lengths `lens` add to the log, new segment headers included.
    fn bytes_needed(&self, st: &State, lens: &[u64]) -> u64 {
        let (mut len, mut records) = st.active_meta().map_or((0, 0), |s| (s.len, s.records));
        let mut needed = 0;
        for &payload in lens {
            let rec = RECORD_HEADER_LEN + payload;
            if len == 0 || (records > 0 && len + rec > self.segment_bytes) {
                needed += SEGMENT_HEADER_LEN;
                len = SEGMENT_HEADER_LEN;
                records = 0;
            }
            needed += rec;
            len += rec;
            records += 1;
        }
        needed
    }

    /// Makes room under `max_bytes` for records of lengths `lens`, per the full policy.
    pub(crate) fn make_room(&self, st: &mut State, lens: &[u64]) -> Result<Room, WalError> {
        let max = self.config.max_bytes;
        loop {
            let used = st.total_bytes();
            let needed = self.bytes_needed(st, lens);
            if used + needed <= max {
                return Ok(Room::Enough);
            }
            if self.config.full == FullPolicy::Block {
                return Err(WalError::Full {
                    used,
                    max_bytes: max,
                    needed,
                });
            }
            if st.sealed_count() > 0 {
                return Ok(Room::Freed(self.drop_front(st)));
            }
            if st.active_meta().is_some_and(|s| s.records > 0) {
                self.seal_active(st)?;
                continue;
            }
            let len = lens.iter().copied().max().unwrap_or(0);
            return Err(WalError::RecordTooLarge {
                len,
                max: max.saturating_sub(2 * SEGMENT_HEADER_LEN + RECORD_HEADER_LEN),
            });
        }
    }

    /// Takes the oldest (sealed) segment out of the list under `DropOldest`, moving and
    /// charging every consumer that had not passed it. The file and cursors are written by
    /// [`Shared::finish_drop`] after the lock is released.
    fn drop_front(&self, st: &mut State) -> DropWork {
        let Some(seg) = st.segments.pop_front() else {
            return DropWork { moved: Vec::new() };
        };
        let next_first = st.segments.front().map_or(st.next_seq, |s| s.first_seq);
        let mut moved = Vec::new();
        for (name, c) in st.consumers.iter_mut() {
            if c.next_seq < seg.end_seq() {
                let start = c.next_seq.max(seg.first_seq);
                let offset = if c.segment == seg.first_seq {
                    c.offset
                } else {
                    SEGMENT_HEADER_LEN
                };
                let records = seg.end_seq() - start;
                c.dropped_records += records;
                c.dropped_bytes += seg.payload_from(offset, records);
                c.next_seq = seg.end_seq();
                c.segment = next_first;
                c.offset = SEGMENT_HEADER_LEN;
                moved.push(name.clone());
            }
        }
        if st.consumers.is_empty() {
            st.unconsumed_dropped_records += seg.records;
            st.unconsumed_dropped_bytes += seg.payload_from(SEGMENT_HEADER_LEN, seg.records);
        }
        tracing::warn!(segment = %seg.path.display(), records = seg.records, consumers_moved = moved.len(), "WAL at max_bytes with full_policy drop_oldest: oldest segment dropped");
        st.pending_removals.push_back(seg.path);
        self.appended.notify_all();
        DropWork { moved }
    }

    /// Deletes the dropped file and stores the moved cursors (without the state lock). A
    /// failure is logged: the file stays queued, the consumers are already moved in memory,
    /// and on reopen a cursor left behind is clamped to the oldest segment left.
    pub(crate) fn finish_drop(&self, work: DropWork) {
        failpoint("wal-drop-oldest");
        self.remove_pending();
        for name in work.moved {
            if let Err(error) = self.persist_cursor(&name) {
                tracing::warn!(consumer = %name, %error, "storing a cursor moved by drop_oldest failed");
            }
        }
    }
}
