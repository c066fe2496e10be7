//! The state the log ([`crate::Wal`]) and its readers ([`crate::Reader`]) share: the segment
//! list, the active file, positions, consumers and failure bookkeeping, plus record lookup.
//! The operations on it live in the modules above: `seal` (sealing the active segment, failure
//! bookkeeping), `repair` (after a failed write or fsync), `retention` (deleting delivered
//! segments and the disk cap), `append` (writes and group commit), `commit` (cursors). It sits
//! below all of them, so none imports another's internals through it.
//!
//! Concurrency: one mutex guards [`State`]. The I/O that is frequent or can be slow runs with
//! it released: group commit's fsync of appended data, deleting segments, cursor writes and
//! the header scans of `locate`. Rare steps that must be ordered with the segment list run
//! under it: writing a record to the page cache, sealing a segment at rotation (its
//! `fdatasync`; see `seal`), creating the next segment, and `repair` after a failed write or
//! fsync (truncate + fsync).
//!
//! Invariants: `synced_seq <= next_seq`; every record below `synced_seq` is on stable storage;
//! readers see records below `readable_seq()` only; a consumer's `next_seq` never decreases;
//! when `active` is some, it is the file of the last segment; segments are contiguous.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::config::{SyncPolicy, WalConfig};
use crate::error::WalError;
use crate::failpoint::failpoint;
use crate::format::SEGMENT_HEADER_LEN;
use crate::lock::DirLock;
use crate::scan::{RecordScanner, Step};
use crate::segment::SegmentMeta;
use crate::storage::{Storage, StorageFile};

/// One consumer's state.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    /// First record not committed (in memory; may be ahead of the file after `DropOldest`
    /// moved it, until the cursor is stored).
    pub(crate) next_seq: u64,
    /// Segment and byte offset where `next_seq` starts (for byte accounting).
    pub(crate) segment: u64,
    pub(crate) offset: u64,
    pub(crate) dropped_records: u64,
    pub(crate) dropped_bytes: u64,
    /// Generation of the cursor slot holding the newest value known durable.
    pub(crate) cursor_generation: u32,
    /// The value in that slot.
    pub(crate) stored_next: u64,
}

impl Consumer {
    pub(crate) fn new(next_seq: u64, segment: u64, offset: u64, cursor_generation: u32) -> Self {
        Consumer {
            next_seq,
            segment,
            offset,
            dropped_records: 0,
            dropped_bytes: 0,
            cursor_generation,
            stored_next: next_seq,
        }
    }
}

/// The file appended to.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) file: Arc<dyn StorageFile>,
    /// Bytes of it known durable (covered by `synced_seq`).
    pub(crate) durable_len: u64,
}

/// A failed operation, kept for the appenders whose records it discarded.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) op: &'static str,
    pub(crate) path: PathBuf,
    pub(crate) kind: io::ErrorKind,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(op: &'static str, path: &Path, source: &io::Error) -> Failure {
        Failure {
            op,
            path: path.to_path_buf(),
            kind: source.kind(),
            message: source.to_string(),
        }
    }

    pub(crate) fn to_error(&self) -> WalError {
        WalError::Io {
            op: self.op,
            path: self.path.clone(),
            source: io::Error::new(self.kind, self.message.clone()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) segments: VecDeque<SegmentMeta>,
    /// The last segment's file while it is appended to; `None` after it was sealed by a full
    /// disk or cut after a failure (the next append creates a segment at `next_seq`).
    pub(crate) active: Option<Active>,
    pub(crate) next_seq: u64,
    pub(crate) synced_seq: u64,
    pub(crate) syncing: bool,
    /// A failed fsync, or a failed write that could not be undone: the active file may hold
    /// bytes the log does not describe; `repair` cuts and seals it before the next append.
    pub(crate) broken: bool,
    /// Bumped when written-but-unsynced records are discarded (`SyncPolicy::Always`): an
    /// appender whose record was written in an older generation is not acknowledged unless
    /// its record was below that discard's floor.
    pub(crate) generation: u64,
    /// `discard_floors[g]`: `synced_seq` when generation `g` ended (records below it were
    /// durable before the discard).
    pub(crate) discard_floors: Vec<u64>,
    /// Bumped when records a reader may already have returned were cut (interval policy,
    /// records that failed re-verification): readers go back to their committed cursor.
    pub(crate) cut_epoch: u64,
    /// The failure that discarded records, for their appenders.
    pub(crate) last_failure: Option<Failure>,
    /// Set only when records that were acknowledged cannot be kept or cut safely (interval
    /// policy, a consumer already past them): appends are refused until the WAL is reopened.
    pub(crate) poisoned: bool,
    pub(crate) shutdown: bool,
    pub(crate) consumers: BTreeMap<String, Consumer>,
    pub(crate) unconsumed_dropped_records: u64,
    pub(crate) unconsumed_dropped_bytes: u64,
    /// Segment files taken out of `segments` by retention or drop-oldest, oldest first;
    /// deleted in that order once the lock is released (a failed delete stays queued, so the
    /// files left on disk are always a contiguous run of the log).
    pub(crate) pending_removals: VecDeque<PathBuf>,
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

    /// Segments not appended to any more.
    pub(crate) fn sealed_count(&self) -> usize {
        self.segments.len() - usize::from(self.active.is_some())
    }

    /// The active segment's description, when there is an active file.
    pub(crate) fn active_meta(&self) -> Option<&SegmentMeta> {
        self.active.as_ref().and(self.segments.back())
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) config: WalConfig,
    pub(crate) storage: Arc<dyn Storage>,
    /// `config.segment_bytes`, lowered to an eighth of the filesystem when that is smaller.
    pub(crate) segment_bytes: u64,
    pub(crate) state: Mutex<State>,
    /// Signalled when `synced_seq` moves or records are discarded.
    pub(crate) synced: Condvar,
    /// Signalled when records become readable, cursors move, or on shutdown.
    pub(crate) appended: Condvar,
    /// Serialises cursor file writes.
    pub(crate) cursor_io: Mutex<()>,
    /// Serialises segment deletes (so they happen in log order).
    pub(crate) removal_io: Mutex<()>,
    /// Held while the WAL is open; the kernel releases it when the process dies.
    pub(crate) _lock: DirLock,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Releases the lock, then deletes the segment files queued for removal.
    pub(crate) fn unlock(&self, st: MutexGuard<'_, State>) {
        let pending = !st.pending_removals.is_empty();
        drop(st);
        if pending {
            self.remove_pending();
        }
    }

    /// Deletes queued segment files, oldest first, without the state lock. Stops at a failed
    /// delete (it stays queued and is retried by the next caller; a later file is never
    /// deleted before an earlier one). When another thread is deleting, it does the work.
    pub(crate) fn remove_pending(&self) {
        let Ok(_removing) = self.removal_io.try_lock() else {
            return;
        };
        loop {
            let Some(path) = self.lock().pending_removals.front().cloned() else {
                return;
            };
            failpoint("wal-retention");
            match self.storage.remove(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "deleting a delivered WAL segment failed; retrying later");
                    return;
                }
            }
            let mut st = self.lock();
            if st.pending_removals.front() == Some(&path) {
                st.pending_removals.pop_front();
            }
        }
    }

    pub(crate) fn readable_seq(&self, st: &State) -> u64 {
        match self.config.sync {
            SyncPolicy::Always => st.synced_seq,
            SyncPolicy::Interval(_) => st.next_seq,
        }
    }

    pub(crate) fn before_sync(&self) -> io::Result<()> {
        #[cfg(feature = "test-util")]
        if let Some(hook) = &self.config.sync_hook {
            return hook.before_sync();
        }
        Ok(())
    }

    /// Where record `seq` starts: `(segment first seq, byte offset)`, by scanning headers.
    /// For `seq` at the end of the log, the end of the last segment.
    pub(crate) fn locate(&self, st: &State, seq: u64) -> Result<(u64, u64), WalError> {
        self.resolve(locate_plan(st, seq), seq)
    }

    /// The scanning half of [`Shared::locate`], to run without holding the state lock: scans
    /// the headers of `scan`'s segment from its start point up to record `seq`.
    pub(crate) fn locate_in(&self, scan: &ScanPlan, seq: u64) -> Result<(u64, u64), WalError> {
        let opened = RecordScanner::open(
            self.storage.as_ref(),
            &scan.path,
            scan.first_seq,
            self.config.max_record_bytes,
        )?;
        let mut scanner = match opened {
            Ok(s) => s,
            Err(_) => return Ok((scan.first_seq, SEGMENT_HEADER_LEN)),
        };
        scanner.limit = scan.len;
        let (from_seq, from_offset) = scan.from;
        if from_offset > SEGMENT_HEADER_LEN && from_seq <= seq {
            scanner.seek(from_offset, from_seq)?;
        }
        while scanner.next_seq() < seq {
            match scanner.next(false)? {
                Step::Record { .. } => {}
                Step::End => break,
                Step::Damage { offset, kind, .. } => {
                    return Err(WalError::Corrupt {
                        path: scan.path.clone(),
                        offset,
                        kind,
                    });
                }
            }
        }
        Ok((scan.first_seq, scanner.offset()))
    }

    /// Resolves a location from a plan made under the lock (scanning after it was released).
    pub(crate) fn resolve(&self, plan: Locate, seq: u64) -> Result<(u64, u64), WalError> {
        match plan {
            Locate::Known(loc) => Ok(loc),
            Locate::Scan(seg) => self.locate_in(&seg, seq),
        }
    }
}

/// Where a record is, as far as the in-memory state tells without I/O.
#[derive(Debug)]
pub(crate) enum Locate {
    /// Known: `(segment, offset)`.
    Known((u64, u64)),
    /// Scan a segment's headers.
    Scan(ScanPlan),
}

/// A segment to scan for a record, and where to start.
#[derive(Debug)]
pub(crate) struct ScanPlan {
    path: PathBuf,
    first_seq: u64,
    len: u64,
    /// `(seq, offset)` of the record the scan starts at ([`SegmentMeta::scan_start`]).
    from: (u64, u64),
}

/// Plans [`Shared::locate`] under the lock: known for the start of a segment or the end of
/// the log, else the segment to scan.
pub(crate) fn locate_plan(st: &State, seq: u64) -> Locate {
    let Some(seg) = st.segment_index(seq).and_then(|i| st.segments.get(i)) else {
        return Locate::Known(
            st.segments
                .back()
                .filter(|s| s.end_seq() == seq)
                .map_or((seq, SEGMENT_HEADER_LEN), |s| (s.first_seq, s.len)),
        );
    };
    if seg.first_seq == seq {
        return Locate::Known((seq, SEGMENT_HEADER_LEN));
    }
    Locate::Scan(ScanPlan {
        path: seg.path.clone(),
        first_seq: seg.first_seq,
        len: seg.len,
        from: seg.scan_start(seq),
    })
}
