//! The state the log ([`crate::Wal`]) and its readers ([`crate::Reader`]) share: the segment
//! list, consumers, group commit, rotation, retention, the disk cap and record lookup. It
//! sits below both, so neither imports the other's internals.
//!
//! Concurrency: one mutex guards [`State`]. Appenders write their record to the active segment
//! under the lock (sequential, page cache only) and then wait for `synced_seq` to pass their
//! record. The first waiter that finds no fsync running becomes the leader: it releases the
//! lock, runs `fdatasync`, and wakes everyone covered. So N concurrent appenders share one fsync.
//!
//! Invariants: `synced_seq <= next_seq`; every record below `synced_seq` is on stable storage;
//! readers see records below `readable_seq()` only; a consumer's `next_seq` never decreases.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::config::{FullPolicy, SyncPolicy, WalConfig};
use crate::cursor;
use crate::error::WalError;
use crate::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::position::Position;
use crate::scan::{RecordScanner, Step};
use crate::segment::{self, SegmentMeta};

/// One consumer's state.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    /// First record not committed.
    pub(crate) next_seq: u64,
    /// Segment and byte offset where `next_seq` starts (for byte accounting).
    pub(crate) segment: u64,
    pub(crate) offset: u64,
    pub(crate) dropped_records: u64,
    pub(crate) dropped_bytes: u64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) segments: VecDeque<SegmentMeta>,
    pub(crate) active: Arc<File>,
    pub(crate) next_seq: u64,
    pub(crate) synced_seq: u64,
    pub(crate) syncing: bool,
    pub(crate) poisoned: bool,
    pub(crate) shutdown: bool,
    pub(crate) consumers: BTreeMap<String, Consumer>,
    pub(crate) unconsumed_dropped_records: u64,
    pub(crate) unconsumed_dropped_bytes: u64,
    pub(crate) scratch: Vec<u8>,
}

impl State {
    pub(crate) fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown
    }

    pub(crate) fn first_seq(&self) -> u64 {
        self.segments.front().map_or(self.next_seq, |s| s.first_seq)
    }

    /// Index of the segment holding `seq`, if any.
    pub(crate) fn segment_index(&self, seq: u64) -> Option<usize> {
        let idx = self
            .segments
            .partition_point(|s| s.first_seq <= seq)
            .checked_sub(1)?;
        let seg = self.segments.get(idx)?;
        (seq < seg.end_seq()).then_some(idx)
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) config: WalConfig,
    pub(crate) state: Mutex<State>,
    /// Signalled when `synced_seq` moves or the WAL is poisoned.
    pub(crate) synced: Condvar,
    /// Signalled when records become readable, cursors move, or on shutdown.
    pub(crate) appended: Condvar,
    /// Serialises cursor file writes.
    pub(crate) cursor_io: Mutex<()>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn readable_seq(&self, st: &State) -> u64 {
        match self.config.sync {
            SyncPolicy::Always => st.synced_seq,
            SyncPolicy::Interval(_) => st.next_seq,
        }
    }

    fn before_sync(&self) -> std::io::Result<()> {
        #[cfg(feature = "test-util")]
        if let Some(hook) = &self.config.sync_hook {
            return hook.before_sync();
        }
        Ok(())
    }

    /// Makes every record below `target` durable, as leader or by waiting for the leader.
    pub(crate) fn sync_until<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        target: u64,
    ) -> Result<MutexGuard<'a, State>, WalError> {
        loop {
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
            st.syncing = true;
            let upto = st.next_seq;
            let file = Arc::clone(&st.active);
            let path = st
                .segments
                .back()
                .map(|s| s.path.clone())
                .unwrap_or_default();
            drop(st);
            let result = self.before_sync().and_then(|()| file.sync_data());
            st = self.lock();
            st.syncing = false;
            match result {
                Ok(()) => st.synced_seq = st.synced_seq.max(upto),
                Err(source) => {
                    st.poisoned = true;
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

    /// Seals the active segment (synced) and starts a new one at `next_seq`.
    fn rotate(&self, st: &mut State) -> Result<(), WalError> {
        let path = st
            .segments
            .back()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        if let Err(source) = self.before_sync().and_then(|()| st.active.sync_data()) {
            st.poisoned = true;
            self.synced.notify_all();
            return Err(WalError::Io {
                op: "fdatasync",
                path,
                source,
            });
        }
        st.synced_seq = st.next_seq;
        let (file, meta) = segment::create_segment(&self.dir, st.next_seq)?;
        st.active = Arc::new(file);
        st.segments.push_back(meta);
        self.synced.notify_all();
        self.appended.notify_all();
        Ok(())
    }

    /// Deletes sealed segments every consumer has passed. With no consumers nothing is deleted.
    pub(crate) fn apply_retention(&self, st: &mut State) {
        let Some(min) = st.consumers.values().map(|c| c.next_seq).min() else {
            return;
        };
        while st.segments.len() > 1 && st.segments.front().is_some_and(|s| s.end_seq() <= min) {
            if let Some(seg) = st.segments.pop_front() {
                // A failed unlink only wastes space; the segment is re-deleted after reopen.
                let _ = std::fs::remove_file(&seg.path);
            }
        }
    }

    /// Deletes the oldest segment under `DropOldest`, advancing and charging every consumer
    /// that had not passed it.
    fn drop_oldest(&self, st: &mut State) -> Result<(), WalError> {
        let Some(seg) = st.segments.pop_front() else {
            return Ok(());
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
                moved.push((name.clone(), c.next_seq));
            }
        }
        if st.consumers.is_empty() {
            st.unconsumed_dropped_records += seg.records;
            st.unconsumed_dropped_bytes += seg.payload_from(SEGMENT_HEADER_LEN, seg.records);
        }
        std::fs::remove_file(&seg.path).map_err(WalError::io("remove", &seg.path))?;
        for (name, next) in moved {
            cursor::store(&self.dir, &name, next)?;
        }
        self.appended.notify_all();
        Ok(())
    }

    /// Makes room for `needed` more bytes under the disk cap, per the full policy.
    fn ensure_room(&self, st: &mut State, needed: u64, record_len: u64) -> Result<(), WalError> {
        let max = self.config.max_bytes;
        loop {
            let used = st.total_bytes();
            if used + needed <= max {
                return Ok(());
            }
            if self.config.full == FullPolicy::Block {
                return Err(WalError::Full {
                    used,
                    max_bytes: max,
                    needed,
                });
            }
            if st.segments.len() > 1 {
                self.drop_oldest(st)?;
            } else if st.segments.back().is_some_and(|s| s.records > 0) {
                self.rotate(st)?;
            } else {
                return Err(WalError::RecordTooLarge {
                    len: record_len,
                    max: max.saturating_sub(2 * SEGMENT_HEADER_LEN + RECORD_HEADER_LEN),
                });
            }
        }
    }

    /// Writes records under the lock; returns the positions. Does not sync.
    pub(crate) fn write_records(
        &self,
        st: &mut State,
        records: &[&[u8]],
    ) -> Result<Vec<Position>, WalError> {
        if st.poisoned {
            return Err(WalError::Poisoned);
        }
        let mut out = Vec::with_capacity(records.len());
        for data in records {
            let len = data.len() as u64;
            if len > self.config.max_record_bytes {
                return Err(WalError::RecordTooLarge {
                    len,
                    max: self.config.max_record_bytes,
                });
            }
            let rec_bytes = RECORD_HEADER_LEN + len;
            let rotate = st
                .segments
                .back()
                .is_some_and(|s| s.records > 0 && s.len + rec_bytes > self.config.segment_bytes);
            let needed = rec_bytes + if rotate { SEGMENT_HEADER_LEN } else { 0 };
            self.ensure_room(st, needed, len)?;
            let rotate = st
                .segments
                .back()
                .is_some_and(|s| s.records > 0 && s.len + rec_bytes > self.config.segment_bytes);
            if rotate {
                self.rotate(st)?;
            }
            let seq = st.next_seq;
            let header =
                format::encode_record_header(seq, data).ok_or(WalError::RecordTooLarge {
                    len,
                    max: u64::from(u32::MAX),
                })?;
            let mut buf = std::mem::take(&mut st.scratch);
            buf.clear();
            buf.extend_from_slice(&header);
            buf.extend_from_slice(data);
            let result = (&*st.active).write_all(&buf);
            st.scratch = buf;
            if let Err(source) = result {
                st.poisoned = true;
                self.synced.notify_all();
                let path = st
                    .segments
                    .back()
                    .map(|s| s.path.clone())
                    .unwrap_or_default();
                return Err(WalError::Io {
                    op: "write",
                    path,
                    source,
                });
            }
            if let Some(seg) = st.segments.back_mut() {
                seg.records += 1;
                seg.len += rec_bytes;
            }
            st.next_seq += 1;
            out.push(Position(seq));
        }
        Ok(out)
    }

    /// Where record `seq` starts: `(segment first seq, byte offset)`, by scanning headers.
    /// For `seq` at the end of the log, the end of the last segment.
    pub(crate) fn locate(&self, st: &State, seq: u64) -> Result<(u64, u64), WalError> {
        match locate_plan(st, seq) {
            Locate::Known(loc) => Ok(loc),
            Locate::Scan(seg) => self.locate_in(&seg, seq),
        }
    }

    /// The scanning half of [`Shared::locate`], to run without holding the state lock.
    pub(crate) fn locate_in(&self, seg: &SegmentMeta, seq: u64) -> Result<(u64, u64), WalError> {
        let mut scanner =
            match RecordScanner::open(&seg.path, seg.first_seq, self.config.max_record_bytes)? {
                Ok(s) => s,
                Err(_) => return Ok((seg.first_seq, SEGMENT_HEADER_LEN)),
            };
        scanner.limit = seg.len;
        while scanner.next_seq() < seq {
            match scanner.next(false)? {
                Step::Record { .. } => {}
                Step::End => break,
                Step::Damage { offset, kind, .. } => {
                    return Err(WalError::Corrupt {
                        path: seg.path.clone(),
                        offset,
                        kind,
                    });
                }
            }
        }
        Ok((seg.first_seq, scanner.offset()))
    }

    /// Resolves a location from a plan made under the lock (scanning after it was released).
    pub(crate) fn resolve(&self, plan: Locate, seq: u64) -> Result<(u64, u64), WalError> {
        match plan {
            Locate::Known(loc) => Ok(loc),
            Locate::Scan(seg) => self.locate_in(&seg, seq),
        }
    }

    /// Moves consumer `name` to `next_seq` (never backwards), persists it, applies retention.
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
        let location = {
            let st = self.lock();
            if next_seq > st.next_seq {
                return Err(WalError::CommitBeyondEnd {
                    position: next_seq.saturating_sub(1),
                    end: st.next_seq,
                });
            }
            let Some(c) = st.consumers.get(name) else {
                return Err(WalError::UnknownConsumer(name.to_owned()));
            };
            if next_seq <= c.next_seq {
                return Ok(());
            }
            match location {
                Some(loc) => Locate::Known(loc),
                None => locate_plan(&st, next_seq),
            }
        };
        let location = self.resolve(location, next_seq)?;
        cursor::store(&self.dir, name, next_seq)?;
        let mut st = self.lock();
        if let Some(c) = st.consumers.get_mut(name) {
            if next_seq > c.next_seq {
                c.next_seq = next_seq;
                (c.segment, c.offset) = location;
            }
        }
        self.apply_retention(&mut st);
        Ok(())
    }
}

/// Where a record is, as far as the in-memory state tells without I/O.
#[derive(Debug)]
pub(crate) enum Locate {
    /// Known: `(segment, offset)`.
    Known((u64, u64)),
    /// Scan this segment's headers.
    Scan(SegmentMeta),
}

/// Plans [`Shared::locate`] under the lock: known for the start of a segment or the end of
/// the log, else the segment to scan.
pub(crate) fn locate_plan(st: &State, seq: u64) -> Locate {
    let Some(seg) = st.segment_index(seq).and_then(|i| st.segments.get(i)) else {
        return Locate::Known(
            st.segments
                .back()
                .map_or((seq, SEGMENT_HEADER_LEN), |s| (s.first_seq, s.len)),
        );
    };
    if seg.first_seq == seq {
        return Locate::Known((seq, SEGMENT_HEADER_LEN));
    }
    Locate::Scan(seg.clone())
}
