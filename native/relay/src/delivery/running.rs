//! One running destination: its WAL reader thread, the dispatcher task that enqueues the
//! reader's records into the send-side [`Destination`], and the cursor task.
//!
//! Invariants: the WAL consumer (named after the destination) exists before the reader
//! starts; records reach `Destination::enqueue` in position order, each once; shutdown stops
//! the reader first, lets the destination drain for the grace period, then commits the cursor
//! to the final low watermark, so nothing acknowledged is lost and nothing unacknowledged is
//! skipped.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prw_wal::Wal;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cursor::{Committer, Lag, NOTHING_COMMITTED, follow};
use super::metrics::DeliveryMetrics;
use super::options::sender_parts;
use super::progress_store::FileProgressStore;
use super::reader::{CutSettings, ReadRecord, ReaderThread};
use super::{DeliveryError, DeliverySettings};
use crate::clock::SystemClock;
use crate::config;
use crate::queue::{Destination, ShardProgress};
use crate::send::{DestinationMetrics, RemoteStorageMetrics};
use crate::wal_setup::start_at;

/// Records the reader may cut ahead of the dispatcher.
const RECORD_CHANNEL: usize = 4;

/// How a destination stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Destination name.
    pub name: String,
    /// Everything queued was delivered (or dropped by a non-retryable answer) in time.
    pub drained: bool,
    /// The position the cursor was finally committed to (`None`: nothing acknowledged).
    pub committed: Option<u64>,
}

/// A destination that is running.
#[derive(Debug)]
pub struct RunningDestination {
    config: config::Destination,
    reader: ReaderThread,
    dispatcher: JoinHandle<Option<Destination>>,
    cursor: JoinHandle<()>,
    stop: CancellationToken,
    progress: watch::Receiver<ShardProgress>,
    committer: Arc<Committer>,
    _abandon: AbandonOnDrop,
}

/// Stops the tasks of a destination dropped without [`RunningDestination::shutdown`] (an
/// error path): nothing more is acknowledged or committed; the WAL keeps the rest.
#[derive(Debug)]
struct AbandonOnDrop {
    stop: CancellationToken,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.stop.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What every destination shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The WAL.
    pub wal: Arc<Wal>,
    /// Delivery settings.
    pub settings: DeliverySettings,
    /// Send-side metric families.
    pub remote: Arc<RemoteStorageMetrics>,
    /// Delivery metric families.
    pub metrics: DeliveryMetrics,
    /// Newest receive time read by any destination.
    pub newest_received_ms: Arc<AtomicI64>,
}

impl RunningDestination {
    /// Adds the WAL consumer if new (at the destination's `start`), loads the shard progress
    /// and starts the reader, dispatcher and cursor task. Needs a tokio runtime.
    pub fn start(
        shared: &Shared,
        destination: &config::Destination,
    ) -> Result<Self, DeliveryError> {
        let name = destination.name.clone();
        let wal_error = |source| DeliveryError::Wal {
            name: name.clone(),
            source,
        };
        let store = FileProgressStore::new(&shared.settings.progress_dir, &name);
        discard_stale_progress(&shared.wal, &name, &store);
        shared
            .wal
            .add_consumer(&name, start_at(destination.start))
            .map_err(wal_error)?;
        let (mut options, transport) = sender_parts(destination)?;
        options
            .observers
            .extend(shared.settings.attempt_observers.iter().cloned());
        let remote_metrics: DestinationMetrics = shared
            .remote
            .destination(&name, &destination.url.to_string());
        let store = Arc::new(store);
        let sender = Destination::start(
            options,
            transport,
            remote_metrics.clone(),
            store,
            Arc::new(SystemClock),
        )?;
        let progress = sender.progress();
        let committed = Arc::new(AtomicU64::new(NOTHING_COMMITTED));
        let lag = Arc::new(Mutex::new(Lag::default()));
        let committer = Arc::new(Committer {
            wal: Arc::clone(&shared.wal),
            name: name.clone(),
            committed: Arc::clone(&committed),
            lag: Arc::clone(&lag),
            newest_received_ms: Arc::clone(&shared.newest_received_ms),
            metrics: shared.metrics.clone(),
        });
        let (tx, rx) = mpsc::channel(RECORD_CHANNEL);
        let reader = shared.wal.reader(&name).map_err(wal_error)?;
        let reader = ReaderThread::spawn(
            reader,
            CutSettings {
                name: name.clone(),
                rules: destination.relabel.clone(),
                limits: shared.settings.limits,
            },
            tx,
            committed,
        )
        .map_err(|source| DeliveryError::ReaderThread {
            name: name.clone(),
            source,
        })?;
        let stop = CancellationToken::new();
        let dispatcher = tokio::spawn(dispatch(Dispatch {
            sender,
            rx,
            stop: stop.clone(),
            lag,
            remote_metrics,
            metrics: shared.metrics.clone(),
            newest_received_ms: Arc::clone(&shared.newest_received_ms),
            name: name.clone(),
        }));
        let cursor = tokio::spawn(follow(
            Arc::clone(&committer),
            progress.clone(),
            shared.settings.commit_interval,
            stop.clone(),
        ));
        tracing::info!(destination = %name, url = %destination.url, "destination started");
        let abandon = AbandonOnDrop {
            stop: stop.clone(),
            tasks: vec![dispatcher.abort_handle(), cursor.abort_handle()],
        };
        Ok(RunningDestination {
            config: destination.clone(),
            reader,
            dispatcher,
            cursor,
            stop,
            progress,
            committer,
            _abandon: abandon,
        })
    }

    /// The settings it runs with.
    pub fn config(&self) -> &config::Destination {
        &self.config
    }

    /// The destination's current progress.
    pub fn progress(&self) -> ShardProgress {
        self.progress.borrow().clone()
    }

    /// Stops reading, lets the queue drain for up to `grace`, commits the cursor to the final
    /// low watermark.
    pub async fn shutdown(self, grace: Duration) -> Stopped {
        let deadline = Instant::now() + grace;
        let name = self.config.name.clone();
        self.stop.cancel();
        self.reader.stop();
        let mut dispatcher = self.dispatcher;
        let (drained, low) = match tokio::time::timeout_at(deadline, &mut dispatcher).await {
            Ok(Ok(Some(sender))) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let report = sender.shutdown(left).await;
                (report.drained, report.progress.low_watermark)
            }
            Ok(Ok(None)) | Ok(Err(_)) => (false, self.progress.borrow().low_watermark),
            Err(_) => {
                // Blocked in enqueue behind a full queue: dropping the destination stops its
                // shards; what they held is still in the WAL past the cursor.
                dispatcher.abort();
                let _ = dispatcher.await;
                (false, self.progress.borrow().low_watermark)
            }
        };
        let _ = self.cursor.await;
        self.reader.join().await;
        self.committer.commit(low).await;
        self.committer.refresh_metrics();
        let committed = match self.committer.committed.load(Ordering::SeqCst) {
            NOTHING_COMMITTED => None,
            position => Some(position),
        };
        tracing::info!(destination = %name, drained, ?committed, "destination stopped");
        Stopped {
            name,
            drained,
            committed,
        }
    }
}

/// Progress only describes the cursor it was saved beside: when the WAL has no cursor for
/// `name` (a new destination, or a WAL directory that was replaced) or the saved watermark is
/// past the end of the WAL, replaying with it would skip records never delivered. Such
/// progress, and progress that cannot be read, is deleted (at worst more is resent; nothing
/// is skipped).
fn discard_stale_progress(wal: &Wal, name: &str, store: &FileProgressStore) {
    if !store.path().exists() {
        return;
    }
    let stats = wal.stats();
    let has_cursor = stats.consumers.iter().any(|c| c.name == name);
    let (saved, unreadable) = match crate::queue::ShardProgressStore::load(store) {
        Ok(saved) => (saved, false),
        Err(error) => {
            tracing::warn!(destination = %name, %error, "unreadable shard progress");
            (None, true)
        }
    };
    let past_end = saved
        .as_ref()
        .and_then(|p| p.low_watermark)
        .is_some_and(|low| low >= stats.next.0);
    if !has_cursor || past_end || unreadable {
        tracing::warn!(destination = %name, has_cursor, past_end, "shard progress does not match the WAL cursor; discarded");
        if let Err(error) = store.remove() {
            tracing::error!(destination = %name, %error, "removing stale shard progress failed");
        }
    }
}

struct Dispatch {
    sender: Destination,
    rx: mpsc::Receiver<ReadRecord>,
    stop: CancellationToken,
    lag: Arc<Mutex<Lag>>,
    remote_metrics: DestinationMetrics,
    metrics: DeliveryMetrics,
    newest_received_ms: Arc<AtomicI64>,
    name: String,
}

/// Hands the reader's records to the destination until stopped; returns the destination for
/// its graceful shutdown (`None` when it failed).
async fn dispatch(mut d: Dispatch) -> Option<Destination> {
    loop {
        let read = tokio::select! {
            biased;
            () = d.stop.cancelled() => break,
            read = d.rx.recv() => match read {
                Some(read) => read,
                None => break,
            },
        };
        if read.undecodable {
            d.metrics.undecodable(&d.name);
        }
        if read.items.relabel_dropped.total() > 0 {
            d.remote_metrics
                .dropped("dropped_series", read.items.relabel_dropped);
        }
        d.newest_received_ms
            .fetch_max(read.items.received_at_ms, Ordering::SeqCst);
        d.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handed(read.seq, read.items.received_at_ms);
        if let Err(error) = d.sender.enqueue(read.seq, read.items.items).await {
            tracing::error!(destination = %d.name, %error, "enqueue failed; destination stops reading");
            return None;
        }
    }
    Some(d.sender)
}
