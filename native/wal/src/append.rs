//! Appending and group commit.
//!
//! Appenders write their record to the active segment under the state lock (sequential, page
//! cache only: one vectored write of header and payload parts) and then wait for `synced_seq`
//! to pass it. The first waiter that finds no fsync running becomes the leader: it releases the
//! lock, runs `fdatasync`, and wakes everyone covered, so N concurrent appenders share one
//! fsync.
//!
//! Faults (see the crate docs, "Faults"):
//! - a failed write is undone (the file is cut back to where the record started) and only
//!   that append fails; on a full disk the active segment is also sealed, so retention can
//!   delete it once delivered, and the next append starts a new one when space allows;
//! - a failed fsync marks the active segment broken; under `SyncPolicy::Always` every record
//!   it did not make durable is discarded at once (generation bump), so none of their
//!   appenders is acknowledged, even by a later successful fsync; `repair` then cuts the file
//!   and the log continues in a new segment.
//!
//! Invariant: an append returns `Ok` only for records below `synced_seq` (under `Always`) that
//! no discard removed.

use std::io::IoSlice;
use std::sync::MutexGuard;

use crate::config::SyncPolicy;
use crate::error::WalError;
use crate::failpoint::failpoint;
use crate::format::{self, RECORD_HEADER_LEN};
use crate::position::Position;
use crate::retention::Room;
use crate::segment;
use crate::shared::{Active, Failure, Shared, State};
use crate::storage::{append_all, is_out_of_space};

impl Shared {
    /// Appends records (each given as its payload parts) in order with one durability wait.
    pub(crate) fn append(&self, records: &[&[&[u8]]]) -> Result<Vec<Position>, WalError> {
        let mut lens = Vec::with_capacity(records.len());
        for parts in records {
            let len = parts.iter().map(|p| p.len() as u64).sum::<u64>();
            if len > self.config.max_record_bytes {
                return Err(WalError::RecordTooLarge {
                    len,
                    max: self.config.max_record_bytes,
                });
            }
            lens.push(len);
        }
        let mut st = self.lock();
        loop {
            if let Err(err) = self.ready_to_write(&mut st) {
                self.unlock(st);
                return Err(err);
            }
            match self.make_room(&mut st, &lens) {
                Ok(Room::Enough) => break,
                Ok(Room::Freed(work)) => {
                    self.unlock(st);
                    self.finish_drop(work);
                    st = self.lock();
                }
                Err(err) => {
                    self.unlock(st);
                    return Err(err);
                }
            }
        }
        let generation = st.generation;
        let mut positions = Vec::with_capacity(records.len());
        for parts in records {
            match self.write_record(&mut st, parts) {
                Ok(position) => positions.push(position),
                Err(err) => {
                    self.unlock(st);
                    return Err(err);
                }
            }
        }
        match self.config.sync {
            SyncPolicy::Always => {
                let target = st.next_seq;
                let st = self.sync_until(st, target, generation)?;
                self.unlock(st);
            }
            SyncPolicy::Interval(_) => {
                self.unlock(st);
                self.appended.notify_all();
            }
        }
        Ok(positions)
    }

    /// Refuses appends to a poisoned log and repairs a broken active segment first.
    fn ready_to_write(&self, st: &mut State) -> Result<(), WalError> {
        if st.poisoned {
            return Err(WalError::Poisoned);
        }
        self.repair(st)
    }

    /// Writes one record whose payload is the concatenation of `parts`, with one vectored
    /// write (header and parts, no intermediate buffer). Rotates first when the record does
    /// not fit the active segment; starts a segment when there is none. Does not sync.
    fn write_record(&self, st: &mut State, parts: &[&[u8]]) -> Result<Position, WalError> {
        let len = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let rec_bytes = RECORD_HEADER_LEN + len;
        let rotate = st
            .active_meta()
            .is_some_and(|s| s.records > 0 && s.len + rec_bytes > self.segment_bytes);
        if rotate {
            self.rotate(st)?;
        }
        if st.active.is_none() {
            self.start_segment(st)?;
        }
        let seq = st.next_seq;
        let header =
            format::encode_record_header_parts(seq, parts).ok_or(WalError::RecordTooLarge {
                len,
                max: u64::from(u32::MAX),
            })?;
        let (Some(active), Some(meta)) = (st.active.as_ref(), st.segments.back()) else {
            return Err(WalError::Poisoned);
        };
        let mut slices = Vec::with_capacity(parts.len() + 1);
        slices.push(IoSlice::new(&header));
        slices.extend(parts.iter().map(|p| IoSlice::new(p)));
        if let Err(source) = append_all(active.file.as_ref(), &mut slices) {
            let path = meta.path.clone();
            let start = meta.len;
            self.write_failed(st, start, &source);
            return Err(WalError::Io {
                op: "write",
                path,
                source,
            });
        }
        if let Some(seg) = st.segments.back_mut() {
            seg.note_record(seq, seg.len);
            seg.records += 1;
            seg.len += rec_bytes;
        }
        st.next_seq += 1;
        Ok(Position(seq))
    }

    /// After a failed write: cut the partial record off (the records before it stay); on a
    /// full disk seal the segment so retention can free it. If the cut fails the segment is
    /// broken (repaired before the next append).
    fn write_failed(&self, st: &mut State, start: u64, source: &std::io::Error) {
        let Some(active) = st.active.as_ref() else {
            return;
        };
        let path = st
            .segments
            .back()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        if let Err(cut) = active.file.set_len(start) {
            tracing::error!(path = %path.display(), write_error = %source, truncate_error = %cut, "WAL write failed and could not be undone: the segment will be cut and sealed");
            self.mark_broken(st, Failure::new("write", &path, source));
            return;
        }
        let has_records = st.active_meta().is_some_and(|s| s.records > 0);
        if is_out_of_space(source) && has_records {
            // A full disk: seal this segment now, so retention can delete it once delivered
            // instead of waiting for a segment that can no longer grow.
            if self.seal_active(st).is_ok() {
                tracing::warn!(path = %path.display(), "WAL disk full: segment sealed; writes resume when delivery frees space");
                self.apply_retention(st);
            }
        } else {
            tracing::warn!(path = %path.display(), error = %source, "WAL write failed; the record was cut off and not acknowledged");
        }
    }

    /// Creates a segment at `next_seq` and makes it the active one.
    pub(crate) fn start_segment(&self, st: &mut State) -> Result<(), WalError> {
        let (file, meta) = segment::create_segment(self.storage.as_ref(), &self.dir, st.next_seq)?;
        st.active = Some(Active {
            file,
            durable_len: meta.len,
        });
        st.segments.push_back(meta);
        Ok(())
    }

    /// Seals the active segment and starts a new one at `next_seq`.
    fn rotate(&self, st: &mut State) -> Result<(), WalError> {
        self.seal_active(st)?;
        failpoint("wal-rotate");
        self.start_segment(st)
    }

    /// Makes every record below `target` durable, as leader or by waiting for the leader.
    /// `generation` is the one the caller's records were written in.
    pub(crate) fn sync_until<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        target: u64,
        generation: u64,
    ) -> Result<MutexGuard<'a, State>, WalError> {
        loop {
            if st.generation != generation {
                let floor = st.discard_floors.get(generation as usize).copied();
                if floor.is_some_and(|f| target <= f) {
                    return Ok(st);
                }
                return Err(st
                    .last_failure
                    .as_ref()
                    .map_or(WalError::Poisoned, Failure::to_error));
            }
            if st.synced_seq >= target {
                return Ok(st);
            }
            if st.poisoned {
                return Err(WalError::Poisoned);
            }
            if st.syncing {
                st = self
                    .synced
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            if st.broken {
                // Never fsync a file in doubt: a second fsync could report success for pages
                // the first one lost. Cut and seal it first (interval policy re-verifies).
                self.repair(&mut st)?;
                continue;
            }
            let (Some(active), Some(meta)) = (st.active.as_ref(), st.segments.back()) else {
                // No active file: everything written was sealed (synced) already.
                st.synced_seq = st.next_seq;
                continue;
            };
            let file = std::sync::Arc::clone(&active.file);
            let (upto, upto_len, id, path) = (st.next_seq, meta.len, meta.id, meta.path.clone());
            st.syncing = true;
            drop(st);
            let result = self.before_sync().and_then(|()| file.sync_data());
            st = self.lock();
            st.syncing = false;
            match result {
                Ok(()) if st.generation == generation => {
                    st.synced_seq = st.synced_seq.max(upto);
                    let same_file = st.segments.back().is_some_and(|s| s.id == id);
                    if let (true, Some(active)) = (same_file, st.active.as_mut()) {
                        active.durable_len = active.durable_len.max(upto_len);
                    }
                }
                Ok(()) => {}
                Err(source) => {
                    let same_file = st.segments.back().is_some_and(|s| s.id == id);
                    if same_file && st.active.is_some() {
                        self.mark_broken(&mut st, Failure::new("fdatasync", &path, &source));
                    }
                    self.synced.notify_all();
                    return Err(WalError::Io {
                        op: "fdatasync",
                        path,
                        source,
                    });
                }
            }
            self.synced.notify_all();
            self.appended.notify_all();
        }
    }
}
