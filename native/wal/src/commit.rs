//! Cursor commits: a consumer's progress is stored in its cursor file (one slot overwritten in
//! place and fdatasynced: no free space needed), then applied in memory, then retention runs.
//!
//! Invariants: cursor file writes are serialised (`cursor_io`) and never run under the state
//! lock; a failed store changes nothing in memory (the commit can simply be retried) and never
//! overwrites the slot holding the last durable value; a commit never moves a cursor backwards
//! and never past what readers may see.

use crate::cursor;
use crate::error::WalError;
use crate::shared::{Locate, Shared, locate_plan};

impl Shared {
    /// Moves consumer `name` to `next_seq` (never backwards), persists it, applies retention.
    /// `location` is where `next_seq` starts, when the caller knows it.
    pub(crate) fn commit(
        &self,
        name: &str,
        next_seq: u64,
        location: Option<(u64, u64)>,
    ) -> Result<(), WalError> {
        let _io = self
            .cursor_io
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (plan, generation) = {
            let st = self.lock();
            let readable = self.readable_seq(&st);
            if next_seq > readable {
                return Err(WalError::CommitBeyondEnd {
                    position: next_seq.saturating_sub(1),
                    end: readable,
                });
            }
            let Some(c) = st.consumers.get(name) else {
                return Err(WalError::UnknownConsumer(name.to_owned()));
            };
            if next_seq <= c.next_seq {
                return Ok(());
            }
            let plan = match location {
                Some(loc) => Locate::Known(loc),
                None => locate_plan(&st, next_seq),
            };
            (plan, c.cursor_generation.wrapping_add(1))
        };
        let location = self.resolve(plan, next_seq)?;
        cursor::store(self.storage.as_ref(), &self.dir, name, next_seq, generation)?;
        let mut st = self.lock();
        if let Some(c) = st.consumers.get_mut(name) {
            c.cursor_generation = generation;
            c.stored_next = next_seq;
            if next_seq > c.next_seq {
                c.next_seq = next_seq;
                (c.segment, c.offset) = location;
            }
        }
        self.apply_retention(&mut st);
        self.appended.notify_all();
        self.unlock(st);
        Ok(())
    }

    /// Stores consumer `name`'s in-memory position when its file holds an older one (after
    /// `DropOldest` moved it).
    pub(crate) fn persist_cursor(&self, name: &str) -> Result<(), WalError> {
        let _io = self
            .cursor_io
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (next, generation) = {
            let st = self.lock();
            match st.consumers.get(name) {
                Some(c) if c.next_seq != c.stored_next => {
                    (c.next_seq, c.cursor_generation.wrapping_add(1))
                }
                _ => return Ok(()),
            }
        };
        cursor::store(self.storage.as_ref(), &self.dir, name, next, generation)?;
        let mut st = self.lock();
        if let Some(c) = st.consumers.get_mut(name) {
            c.cursor_generation = generation;
            c.stored_next = next;
        }
        Ok(())
    }
}
