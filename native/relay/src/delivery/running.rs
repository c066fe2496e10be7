//! One running destination: the dispatcher task that takes records from its feed (the tail,
//! or the WAL when behind), cuts them into items and enqueues them into the send-side
//! [`Destination`], and the cursor task.
//!
//! Invariants: the WAL consumer (named after the destination) exists before the feed
//! starts; records reach `Destination::enqueue` in position order, each once; shutdown stops
//! the feed first, lets the destination drain for the grace period, then commits the cursor
//! to the final low watermark, so nothing acknowledged is lost and nothing unacknowledged is
//! skipped.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prw_core::Protocol;
use prw_wal::Wal;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cursor::{Committer, Lag, NOTHING_COMMITTED, follow};
use prometheus_client::metrics::counter::Counter;

use super::feed::{Fed, Feed};
use super::forward::{Forwarding, whole_item};
use super::items::{RecordItems, cut_for};
use super::metrics::DeliveryMetrics;
use super::options::sender_parts;
use super::progress_store::FileProgressStore;
use super::{DeliveryError, DeliverySettings};
use crate::clock::SystemClock;
use crate::config;
use crate::queue::{Destination, QueueItem, ShardProgress};
use crate::record::{DecodedRecord, ForwardedHeader, ReceivedBody};
use crate::relabel::RelabelRule;
use crate::send::{DestinationMetrics, ItemCounts, RemoteStorageMetrics};
use crate::wal_setup::start_at;

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
        let feed = Feed::new(
            Arc::clone(&shared.wal),
            shared.settings.tail.as_ref(),
            &name,
            shared.settings.limits,
            committed,
        )
        .map_err(wal_error)?;
        let forwarding = Forwarding::new(destination, &sender);
        let feed = feed.forwarding(forwarding.clone());
        let stop = CancellationToken::new();
        let dispatcher = tokio::spawn(dispatch(Dispatch {
            sender,
            feed,
            forwarding,
            forwarded: shared.metrics.forwarded(&name),
            rules: destination.relabel.clone(),
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
    feed: Feed,
    forwarding: Option<Forwarding>,
    forwarded: Counter,
    rules: Vec<RelabelRule>,
    stop: CancellationToken,
    lag: Arc<Mutex<Lag>>,
    remote_metrics: DestinationMetrics,
    metrics: DeliveryMetrics,
    newest_received_ms: Arc<AtomicI64>,
    name: String,
}

/// Hands the feed's records to the destination until stopped; returns the destination for
/// its graceful shutdown (`None` when it failed).
async fn dispatch(mut d: Dispatch) -> Option<Destination> {
    while let Some(fed) = d.feed.next(&d.stop).await {
        let seq = fed.seq();
        // Forwarding depends on the shard count: settle it before deciding.
        if let Err(error) = d.sender.reshard_if_wanted().await {
            tracing::error!(destination = %d.name, %error, "resharding failed; destination stops reading");
            return None;
        }
        let items = match fed {
            Fed::Record(record) => match d.forward(&record) {
                Some(items) => Some(items),
                None => cut_items(record, &d.rules, d.sender.protocol(), &d.name).await,
            },
            Fed::Undecodable { error, .. } => {
                tracing::error!(destination = %d.name, seq, %error, "WAL record cannot be decoded; skipped");
                None
            }
        };
        let items = items.unwrap_or_else(|| {
            d.metrics.undecodable(&d.name);
            RecordItems::default()
        });
        if items.relabel_dropped.total() > 0 {
            d.remote_metrics
                .dropped("dropped_series", items.relabel_dropped);
        }
        d.newest_received_ms
            .fetch_max(items.received_at_ms, Ordering::SeqCst);
        d.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handed(seq, items.received_at_ms);
        if let Err(error) = d.sender.enqueue(seq, items.items).await {
            tracing::error!(destination = %d.name, %error, "enqueue failed; destination stops reading");
            return None;
        }
    }
    Some(d.sender)
}

impl Dispatch {
    /// The whole record as one item, when the destination forwards it now.
    fn forward(&self, record: &DecodedRecord) -> Option<RecordItems> {
        let received = record.received()?;
        self.forwards(record.protocol(), received).then(|| {
            whole_items(
                record.seq(),
                record.protocol(),
                record.headers(),
                received,
                record.received_at_ms(),
            )
        })
    }

    /// Whether the destination forwards a record of `protocol` whole now (counted).
    fn forwards(&self, protocol: Protocol, received: &ReceivedBody) -> bool {
        let allowed = self
            .forwarding
            .as_ref()
            .is_some_and(|f| f.allows(protocol, received));
        if allowed {
            self.forwarded.inc();
        }
        allowed
    }
}

/// The items of a record forwarded whole: one [`QueueItem::Whole`].
fn whole_items(
    seq: u64,
    protocol: Protocol,
    headers: &Arc<[ForwardedHeader]>,
    received: &ReceivedBody,
    received_at_ms: i64,
) -> RecordItems {
    let item = whole_item(seq, protocol, Arc::clone(headers), received);
    RecordItems {
        items: vec![QueueItem::Whole(item)],
        relabel_dropped: ItemCounts::default(),
        received_at_ms,
    }
}

/// Cuts `record` into items for a destination sending `protocol`: at once when that is
/// slicing (a v1 record, or a v2 record for a v2 destination without relabelling), on the
/// blocking pool when the record's v1 form may have to be converted first (once per record,
/// whatever the number of destinations). `None` (logged) when it cannot be cut.
async fn cut_items(
    record: Arc<DecodedRecord>,
    rules: &[RelabelRule],
    protocol: Protocol,
    name: &str,
) -> Option<RecordItems> {
    let seq = record.seq();
    // A record held as received only is decoded first: not on a worker thread.
    let slicing = !record.is_undecoded()
        && (record.protocol() == Protocol::V1 || (protocol == Protocol::V2 && rules.is_empty()));
    let result = if slicing {
        cut_for(&record, rules, protocol)
    } else {
        let rules = rules.to_vec();
        match tokio::task::spawn_blocking(move || cut_for(&record, &rules, protocol)).await {
            Ok(result) => result,
            Err(error) => {
                tracing::error!(destination = %name, seq, %error, "cutting task failed");
                return None;
            }
        }
    };
    result
        .inspect_err(|error| {
            tracing::error!(destination = %name, seq, %error, "record cannot be cut into items; skipped");
        })
        .ok()
}
