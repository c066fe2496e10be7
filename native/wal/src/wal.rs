//! The log's public face: open (recovery + cursors), append, consumers, readers and stats.
//! The machinery (group commit, rotation, retention, the disk cap) is in [`crate::shared`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::{RecoveryMode, StartAt, SyncPolicy, WalConfig};
use crate::cursor::{self, CURSOR_DIR};
use crate::error::WalError;
use crate::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::position::Position;
use crate::reader::Reader;
use crate::recovery::{RecoveryReport, recover_segments};
use crate::segment::{self, SegmentMeta};
use crate::shared::{Consumer, Shared, State, locate_plan};
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
    /// recovery did. Fails under `RecoveryMode::Strict` on any damage other than a torn tail.
    pub fn open(
        dir: impl AsRef<Path>,
        config: WalConfig,
    ) -> Result<(Wal, RecoveryReport), WalError> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(dir.join(CURSOR_DIR)).map_err(WalError::io("create_dir", &dir))?;
        let mut report = RecoveryReport::default();
        let mut metas =
            recover_segments(&dir, config.recovery, config.max_record_bytes, &mut report)?;
        let end = metas.last().map_or(0, SegmentMeta::end_seq);
        let first = metas.first().map_or(end, |m| m.first_seq);

        // Cursors: parse, reset or refuse, clamp into [first, end].
        let mut consumers = BTreeMap::new();
        for (name, path, value) in cursor::load_all(&dir)? {
            let mut next = match value {
                Ok(v) => v,
                Err(kind) => {
                    if config.recovery == RecoveryMode::Strict {
                        return Err(WalError::CorruptCursor { path, kind });
                    }
                    report.cursors_reset.push(name.clone());
                    cursor::store(&dir, &name, first)?;
                    first
                }
            };
            if next > end || next < first {
                report.cursors_clamped.push(name.clone());
                next = next.clamp(first, end);
                cursor::store(&dir, &name, next)?;
            }
            consumers.insert(
                name,
                Consumer {
                    next_seq: next,
                    segment: first,
                    offset: SEGMENT_HEADER_LEN,
                    dropped_records: 0,
                    dropped_bytes: 0,
                },
            );
        }

        let active = match metas.last() {
            // Records that survived a process crash may still be only in the page cache:
            // make them durable before calling them so.
            Some(meta) => {
                let file = segment::open_for_append(meta)?;
                file.sync_data()
                    .map_err(WalError::io("fdatasync", &meta.path))?;
                file
            }
            None => {
                let (file, meta) = segment::create_segment(&dir, end)?;
                metas.push(meta);
                file
            }
        };
        let state = State {
            segments: metas.into_iter().collect(),
            active: Arc::new(active),
            next_seq: end,
            synced_seq: end,
            syncing: false,
            poisoned: false,
            shutdown: false,
            consumers,
            unconsumed_dropped_records: 0,
            unconsumed_dropped_bytes: 0,
            scratch: Vec::new(),
        };
        let shared = Arc::new(Shared {
            dir,
            config,
            state: Mutex::new(state),
            synced: Condvar::new(),
            appended: Condvar::new(),
            cursor_io: Mutex::new(()),
        });
        {
            let mut st = shared.lock();
            let names: Vec<(String, u64)> = st
                .consumers
                .iter()
                .map(|(n, c)| (n.clone(), c.next_seq))
                .collect();
            for (name, next) in names {
                let loc = shared.locate(&st, next)?;
                if let Some(c) = st.consumers.get_mut(&name) {
                    (c.segment, c.offset) = loc;
                }
            }
            shared.apply_retention(&mut st);
        }
        let syncer = match shared.config.sync {
            SyncPolicy::Always => None,
            SyncPolicy::Interval(every) => Some(spawn_syncer(Arc::clone(&shared), every)),
        };
        Ok((Wal { shared, syncer }, report))
    }

    /// Appends one record; under `SyncPolicy::Always` returns once it is durable.
    pub fn append(&self, data: &[u8]) -> Result<Position, WalError> {
        let positions = self.append_batch(&[data])?;
        positions.last().copied().ok_or(WalError::Poisoned)
    }

    /// Appends records in order with one durability wait; returns their positions. On error
    /// some leading records may have been written (their positions are lost to the caller).
    pub fn append_batch(&self, records: &[&[u8]]) -> Result<Vec<Position>, WalError> {
        let mut st = self.shared.lock();
        let positions = self.shared.write_records(&mut st, records)?;
        match self.shared.config.sync {
            SyncPolicy::Always => {
                let target = st.next_seq;
                drop(self.shared.sync_until(st, target)?);
            }
            SyncPolicy::Interval(_) => {
                drop(st);
                self.shared.appended.notify_all();
            }
        }
        Ok(positions)
    }

    /// Makes every record appended so far durable (useful under `Interval` before shutdown).
    pub fn sync(&self) -> Result<(), WalError> {
        let st = self.shared.lock();
        let target = st.next_seq;
        drop(self.shared.sync_until(st, target)?);
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
        cursor::store(&self.shared.dir, name, next)?;
        let mut st = self.shared.lock();
        let consumer = Consumer {
            next_seq: next,
            segment: loc.0,
            offset: loc.1,
            dropped_records: 0,
            dropped_bytes: 0,
        };
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
        cursor::remove(&self.shared.dir, name)?;
        let mut st = self.shared.lock();
        if st.consumers.remove(name).is_none() {
            return Err(WalError::UnknownConsumer(name.to_owned()));
        }
        self.shared.apply_retention(&mut st);
        self.shared.appended.notify_all();
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
        }
        self.shared.appended.notify_all();
        if let Some(handle) = self.syncer.take() {
            let _ = handle.join();
        }
    }
}

fn spawn_syncer(shared: Arc<Shared>, every: Duration) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut st = shared.lock();
        loop {
            if st.shutdown {
                let target = st.next_seq;
                drop(shared.sync_until(st, target));
                return;
            }
            let (guard, _) = shared
                .appended
                .wait_timeout(st, every)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            st = guard;
            let shutdown = st.shutdown;
            let target = st.next_seq;
            st = match shared.sync_until(st, target) {
                Ok(g) => g,
                // Poisoned: appends now fail; nothing more to sync.
                Err(_) => return,
            };
            if shutdown {
                return;
            }
        }
    })
}
