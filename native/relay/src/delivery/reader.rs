//! The WAL reader of one destination, on a dedicated OS thread (the WAL reader blocks).
//!
//! The thread reads records from the destination's cursor, cuts each into queue items
//! ([`super::items`]) and hands them to the async side through a bounded channel, so a slow
//! destination only slows its own reader; the data waits in the WAL.
//!
//! Invariants: records are handed over in position order, each exactly once per run (an
//! undecodable one as an empty [`ReadRecord`] flagged `undecodable`, so it is acknowledged and
//! does not wedge the destination); the thread stops within [`POLL`] of [`ReaderThread::stop`]
//! or at once when the receiving side is dropped. Commits happen elsewhere
//! ([`super::cursor`]); the thread only releases the WAL reader's bookkeeping of records
//! up to the committed position (a no-op commit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prw_core::Limits;
use prw_wal::{Position, Reader};
use tokio::sync::mpsc;

use super::cursor::NOTHING_COMMITTED;
use super::items::{RecordItems, record_items};
use crate::relabel::RelabelRule;

/// How long one wait for a new record lasts before the stop flag is checked again.
pub const POLL: Duration = Duration::from_millis(100);

/// Pause after a WAL read error before trying again.
const READ_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// One record, cut into items.
#[derive(Debug)]
pub struct ReadRecord {
    /// The WAL position (the items' `record_seq`).
    pub seq: u64,
    /// When the relay received it (Unix ms; 0 when undecodable).
    pub received_at_ms: i64,
    /// The items and what relabelling dropped.
    pub items: RecordItems,
    /// The record could not be decoded (it is acknowledged with no items).
    pub undecodable: bool,
}

/// What the thread needs to cut records.
#[derive(Debug, Clone)]
pub struct CutSettings {
    /// Destination name (for logs).
    pub name: String,
    /// `write_relabel_configs`.
    pub rules: Vec<RelabelRule>,
    /// Decompression limits.
    pub limits: Limits,
}

/// A running reader thread.
#[derive(Debug)]
pub struct ReaderThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ReaderThread {
    /// Starts reading with `reader`; `committed` is the last committed position (or
    /// [`NOTHING_COMMITTED`]), published by the cursor task.
    pub fn spawn(
        reader: Reader,
        settings: CutSettings,
        tx: mpsc::Sender<ReadRecord>,
        committed: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(format!("wal-reader-{}", settings.name))
            .spawn(move || run(reader, &settings, &tx, &committed, &flag))?;
        Ok(ReaderThread {
            stop,
            handle: Some(handle),
        })
    }

    /// Asks the thread to stop (it ends within [`POLL`], or at once if blocked on a closed
    /// channel).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops the thread and waits for it (on a blocking-capable thread).
    pub async fn join(mut self) {
        self.stop();
        if let Some(handle) = self.handle.take() {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}

impl Drop for ReaderThread {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    mut reader: Reader,
    settings: &CutSettings,
    tx: &mpsc::Sender<ReadRecord>,
    committed: &AtomicU64,
    stop: &AtomicBool,
) {
    let mut released = NOTHING_COMMITTED;
    while !stop.load(Ordering::SeqCst) {
        let done = committed.load(Ordering::SeqCst);
        if done != NOTHING_COMMITTED && (released == NOTHING_COMMITTED || done > released) {
            // Already committed by the cursor task: this only drops the reader's bookkeeping.
            if let Err(error) = reader.commit(Position(done)) {
                tracing::warn!(destination = %settings.name, %error, "releasing committed records failed");
            }
            released = done;
        }
        let record = match reader.next_timeout(POLL) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(destination = %settings.name, %error, "reading the WAL failed; retrying");
                std::thread::sleep(READ_ERROR_PAUSE);
                continue;
            }
        };
        let seq = record.position.0;
        let read = match record_items(seq, &record.data, &settings.rules, &settings.limits) {
            Ok(items) => ReadRecord {
                seq,
                received_at_ms: items.received_at_ms,
                items,
                undecodable: false,
            },
            Err(error) => {
                tracing::error!(destination = %settings.name, seq, %error, "WAL record cannot be decoded; skipped");
                ReadRecord {
                    seq,
                    received_at_ms: 0,
                    items: RecordItems::default(),
                    undecodable: true,
                }
            }
        };
        if tx.blocking_send(read).is_err() {
            break;
        }
    }
}
