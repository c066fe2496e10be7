//! The log's public face: open, append, consumers, readers and stats. The machinery is in
//! the modules below it: `open` (lock, recovery, cursors), `append` (writes, group commit,
//! rotation), `repair` (after failures), `retention` (deleting delivered segments, the disk
//! cap), `commit` (cursors), over `shared` (the state they share).

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::{StartAt, SyncPolicy, WalConfig};
use crate::cursor;
use crate::error::WalError;
use crate::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::open;
use crate::position::Position;
use crate::reader::Reader;
use crate::recovery::RecoveryReport;
use crate::shared::{Consumer, Shared, locate_plan};
use crate::stats::{ConsumerStats, WalStats};

/// A segmented write-ahead log of opaque records. `Send + Sync`; share it with `Arc<Wal>`.
/// Dropping it stops the interval sync thread after a final sync.
#[derive(Debug)]
pub struct Wal {
    shared: Arc<Shared>,
    syncer: Option<JoinHandle<()>>,
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`, running recovery. Returns the log and what
    /// recovery did. Fails under `RecoveryMode::Strict` on any damage other than a torn tail,
    /// and with [`WalError::Locked`] when another process has the directory open.
    pub fn open(
        dir: impl AsRef<Path>,
        config: WalConfig,
    ) -> Result<(Wal, RecoveryReport), WalError> {
        let (shared, report) = open::open(dir.as_ref(), config)?;
        let shared = Arc::new(shared);
        let syncer = match shared.config.sync {
            SyncPolicy::Always => None,
            SyncPolicy::Interval(every) => Some(spawn_syncer(Arc::clone(&shared), every)),
        };
        Ok((Wal { shared, syncer }, report))
    }

    /// Appends one record; under `SyncPolicy::Always` returns once it is durable.
    pub fn append(&self, data: &[u8]) -> Result<Position, WalError> {
        self.append_parts(&[data])
    }

    /// Appends one record whose payload is the concatenation of `parts` (one CRC over all of
    /// them), written without copying the parts into an intermediate buffer (vectored write);
    /// returns once durable under `sync: always`, like `append`.
    pub fn append_parts(&self, parts: &[&[u8]]) -> Result<Position, WalError> {
        let positions = self.shared.append(&[parts])?;
        positions.first().copied().ok_or(WalError::Poisoned)
    }

    /// Appends records in order with one durability wait; returns their positions. On error
    /// some leading records may have been stored (their positions are lost to the caller).
    pub fn append_batch(&self, records: &[&[u8]]) -> Result<Vec<Position>, WalError> {
        let records: Vec<&[&[u8]]> = records.iter().map(std::slice::from_ref).collect();
        self.shared.append(&records)
    }

    /// Like [`Wal::append_batch`], each record given as parts (as [`Wal::append_parts`]):
    /// several records, none copied into an intermediate buffer, one durability wait.
    pub fn append_batch_parts(&self, records: &[&[&[u8]]]) -> Result<Vec<Position>, WalError> {
        self.shared.append(records)
    }

    /// Makes every record appended so far durable (useful under `Interval` before shutdown).
    pub fn sync(&self) -> Result<(), WalError> {
        let st = self.shared.lock();
        let (target, generation) = (st.next_seq, st.generation);
        let st = self.shared.sync_until(st, target, generation)?;
        self.shared.unlock(st);
        Ok(())
    }

    /// Adds consumer `name` starting at `start`; an existing consumer keeps its position.
    pub fn add_consumer(&self, name: &str, start: StartAt) -> Result<(), WalError> {
        cursor::validate_name(name)?;
        let _io = self
            .shared
            .cursor_io
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (next, loc) = {
            let st = self.shared.lock();
            if st.consumers.contains_key(name) {
                return Ok(());
            }
            let next = match start {
                StartAt::Newest => st.next_seq,
                StartAt::Oldest => st.first_seq(),
            };
            (next, locate_plan(&st, next))
        };
        let loc = self.shared.resolve(loc, next)?;
        let value = cursor::create(self.shared.storage.as_ref(), &self.shared.dir, name, next)?;
        let mut st = self.shared.lock();
        let consumer = Consumer::new(next, loc.0, loc.1, value.generation);
        st.consumers.insert(name.to_owned(), consumer);
        Ok(())
    }

    /// Removes consumer `name` and its cursor file; segments only it held are deleted.
    pub fn remove_consumer(&self, name: &str) -> Result<(), WalError> {
        let _io = self
            .shared
            .cursor_io
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cursor::remove(self.shared.storage.as_ref(), &self.shared.dir, name)?;
        let mut st = self.shared.lock();
        if st.consumers.remove(name).is_none() {
            return Err(WalError::UnknownConsumer(name.to_owned()));
        }
        self.shared.apply_retention(&mut st);
        self.shared.appended.notify_all();
        self.shared.unlock(st);
        Ok(())
    }

    /// Names of the consumers.
    pub fn consumers(&self) -> Vec<String> {
        self.shared.lock().consumers.keys().cloned().collect()
    }

    /// A reader for consumer `name`, starting at its committed cursor.
    pub fn reader(&self, name: &str) -> Result<Reader, WalError> {
        Reader::new(Arc::clone(&self.shared), name)
    }

    /// Commits for `name` every record up to and including `position` (same as
    /// [`Reader::commit`], for callers that track positions elsewhere).
    pub fn commit(&self, name: &str, position: Position) -> Result<(), WalError> {
        self.shared.commit(name, position.0.saturating_add(1), None)
    }

    /// Sizes, positions and per-consumer lag and loss, for metrics.
    pub fn stats(&self) -> WalStats {
        let st = self.shared.lock();
        let end = st.next_seq;
        let consumers = st
            .consumers
            .iter()
            .map(|(name, c)| {
                let lag_records = end.saturating_sub(c.next_seq);
                let disk: u64 = st
                    .segments
                    .iter()
                    .filter(|s| s.first_seq >= c.segment)
                    .map(|s| {
                        let from = if s.first_seq == c.segment {
                            c.offset
                        } else {
                            SEGMENT_HEADER_LEN
                        };
                        s.len.saturating_sub(from.max(SEGMENT_HEADER_LEN))
                    })
                    .sum();
                ConsumerStats {
                    name: name.clone(),
                    next: Position(c.next_seq),
                    lag_records,
                    lag_bytes: disk.saturating_sub(lag_records * RECORD_HEADER_LEN),
                    dropped_records: c.dropped_records,
                    dropped_bytes: c.dropped_bytes,
                }
            })
            .collect();
        WalStats {
            bytes_on_disk: st.total_bytes(),
            segments: st.segments.len(),
            first: (st.first_seq() < end).then(|| Position(st.first_seq())),
            last: end
                .checked_sub(1)
                .filter(|l| *l >= st.first_seq())
                .map(Position),
            next: Position(end),
            durable: Position(st.synced_seq),
            poisoned: st.poisoned,
            repairing: st.broken,
            segment_bytes: self.shared.segment_bytes,
            unconsumed_dropped_records: st.unconsumed_dropped_records,
            unconsumed_dropped_bytes: st.unconsumed_dropped_bytes,
            consumers,
        }
    }

    /// The directory of this WAL.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.shutdown = true;
            // Best effort: leave no bytes in doubt for the next open to find.
            if let Err(error) = self.shared.repair(&mut st) {
                tracing::warn!(%error, "WAL repair at close failed; the next open recovers");
            }
        }
        self.shared.appended.notify_all();
        if let Some(handle) = self.syncer.take() {
            let _ = handle.join();
        }
    }
}

/// The interval sync thread: every `every` (and at shutdown) repairs a broken segment and
/// syncs what was written. A failure is logged and retried on the next tick.
fn spawn_syncer(shared: Arc<Shared>, every: Duration) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut st = shared.lock();
        loop {
            // Sleep a full interval (the condvar also wakes on every append and commit).
            let deadline = std::time::Instant::now() + every;
            while !st.shutdown {
                let now = std::time::Instant::now();
                if now >= deadline {
                    break;
                }
                let (guard, _) = shared
                    .appended
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                st = guard;
            }
            let shutdown = st.shutdown;
            let (target, generation) = (st.next_seq, st.generation);
            st = match shared.sync_until(st, target, generation) {
                Ok(guard) => guard,
                Err(error) => {
                    tracing::warn!(%error, "WAL interval sync failed; retrying on the next tick");
                    shared.lock()
                }
            };
            if shutdown {
                shared.unlock(st);
                return;
            }
        }
    })
}
