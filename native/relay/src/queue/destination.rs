//! One destination: dispatch of records' items to shards, the acknowledgement bookkeeping,
//! the resharding controller, progress persistence, and shutdown.
//!
//! Invariants:
//! - dispatch never drops: when a shard's queue is full, [`Destination::enqueue`] waits;
//! - the series -> shard mapping changes only after every shard was drained (all queued and
//!   in-flight items finished), so per-series order holds across a reshard;
//! - a record's items are registered before any of them is queued, so an acknowledgement can
//!   never precede its registration;
//! - the low watermark only covers acknowledged items (see [`super::watermark`]).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::http::Uri;
use prw_core::Protocol;
use prw_core::classify::{Backoff, SplitMix64};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::item::QueueItem;
use super::reshard::{Ewma, SHARD_UPDATE_INTERVAL, ShardingInputs, desired_shards, should_reshard};
use super::shard::{BatchSettings, Shard, ShardHandle};
use super::watermark::{AckError, Acks, ReplaySkip, ShardProgress, ShardProgressStore, StoreError};
use crate::clock::Clock;
use crate::send::age::{AgeOutcome, drop_older_than};
use crate::send::batch::ItemCounts;
use crate::send::context::{RetryPolicy, SendContext};
use crate::send::decorate::RequestDecorator;
use crate::send::encode::{BatchEncoder, V2Encoder};
use crate::send::headers::RequestHeaders;
use crate::send::metrics::DestinationMetrics;
use crate::send::observe::AttemptObserver;
use crate::send::retry::{Encoders, JitterSource, cutoff_ms};
use crate::send::stats::{ProtocolState, SendStats};
use crate::send::transport::Transport;

/// Makes a v2 encoder for each shard.
#[derive(Clone)]
pub struct V2EncoderFactory(pub Arc<dyn Fn() -> Box<dyn BatchEncoder> + Send + Sync>);

impl fmt::Debug for V2EncoderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("V2EncoderFactory")
    }
}

/// `queue_config` of a destination, already validated by the config layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueSettings {
    /// Items each shard queues before dispatch waits.
    pub capacity: usize,
    /// `min_shards` (also the starting count without saved progress).
    pub min_shards: usize,
    /// `max_shards`.
    pub max_shards: usize,
    /// Batch size and deadline.
    pub batch: BatchSettings,
    /// Backoff, 429, age limit.
    pub retry: RetryPolicy,
    /// Whether the controller may change the shard count.
    pub dynamic_resharding: bool,
    /// Least time between two saves of the shard progress ([`PROGRESS_SAVE_INTERVAL`]):
    /// changes that arrive in between are coalesced into the next save.
    pub progress_save_interval: Duration,
}

/// Least time between two saves of a destination's shard progress.
///
/// A save is an `fdatasync`. Saved on every acknowledgement, progress cost one per request
/// whenever acknowledgements came slower than a save (a slow receiver, or one request at a
/// time): a third of a destination's CPU while it drained a backlog (BENCHMARKS.md, issue
/// 11, sixth session). Progress only narrows what a replay after a crash resends beyond the
/// WAL cursor (committed every second); at most this much more of acknowledged deliveries
/// per shard is resent after a `kill -9`. Nothing acknowledged to a sender depends on it.
pub const PROGRESS_SAVE_INTERVAL: Duration = Duration::from_millis(100);

impl QueueSettings {
    /// Prometheus's defaults, except `retry_on_http_429`, which the relay turns on.
    pub fn relay_defaults() -> Self {
        QueueSettings {
            capacity: 10_000,
            min_shards: 1,
            max_shards: 50,
            batch: BatchSettings {
                max_samples_per_send: 2000,
                batch_send_deadline: Duration::from_secs(5),
            },
            retry: RetryPolicy {
                backoff: Backoff::PROMETHEUS_DEFAULT,
                retry_on_http_429: true,
                sample_age_limit: None,
            },
            dynamic_resharding: true,
            progress_save_interval: PROGRESS_SAVE_INTERVAL,
        }
    }
}

/// Everything that defines a destination.
#[derive(Debug, Clone)]
pub struct DestinationOptions {
    /// `name` (the `remote_name` label).
    pub name: String,
    /// `url`.
    pub url: Uri,
    /// `protobuf_message`.
    pub protocol: Protocol,
    /// `queue_config`.
    pub queue: QueueSettings,
    /// `headers` and the fixed `Authorization` of inline credentials, built by the config.
    pub headers: RequestHeaders,
    /// Seed of the backoff jitter (`None`: no jitter, Prometheus's exact schedule).
    pub jitter_seed: Option<u64>,
    /// The v2 encoder to use (`None`: [`V2Encoder`], prw-core's conversion).
    pub v2_encoder: Option<V2EncoderFactory>,
    /// Finishes every attempt's request (request signing, tokens); `None`: none.
    pub decorator: Option<Arc<dyn RequestDecorator>>,
    /// See the outcome of every attempt (refused batches, auditing); empty: none.
    pub observers: Vec<Arc<dyn AttemptObserver>>,
}

/// Why a destination could not start or take more items.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The progress store failed to load.
    #[error("destination {name}: loading shard progress failed: {source}")]
    LoadProgress {
        /// Destination name.
        name: String,
        /// The store's error.
        source: StoreError,
    },
    /// Records handed out of order.
    #[error("destination {name}: {source}")]
    Order {
        /// Destination name.
        name: String,
        /// The bookkeeping error.
        source: AckError,
    },
    /// A shard task ended (the destination was stopped).
    #[error("destination {0} is stopped")]
    Stopped(String),
}

/// What [`Destination::shutdown`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every queued item was finished before the deadline.
    pub drained: bool,
    /// The final progress (also saved to the store).
    pub progress: ShardProgress,
}

/// A running destination.
#[derive(Debug)]
pub struct Destination {
    name: String,
    ctx: Arc<SendContext>,
    queue: QueueSettings,
    jitter_seed: Option<u64>,
    v2_encoder: Option<V2EncoderFactory>,
    acks: Arc<Mutex<Acks>>,
    shards: Vec<ShardHandle>,
    shard_count: Arc<AtomicUsize>,
    generation: u64,
    skip: ReplaySkip,
    desired: watch::Receiver<usize>,
    controller: Option<JoinHandle<()>>,
    persister: JoinHandle<()>,
    store: Arc<dyn ShardProgressStore>,
}

impl Destination {
    /// Loads saved progress, starts the shards (as many as were saved, else `min_shards`),
    /// the progress persister and, if enabled, the resharding controller.
    pub fn start(
        options: DestinationOptions,
        transport: Arc<dyn Transport>,
        metrics: DestinationMetrics,
        store: Arc<dyn ShardProgressStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DestinationError> {
        let name = options.name.clone();
        let loaded = store
            .load()
            .map_err(|source| DestinationError::LoadProgress {
                name: name.clone(),
                source,
            })?;
        let skip = ReplaySkip::new(loaded.as_ref());
        let queue = options.queue;
        let shards = skip.shards().unwrap_or(queue.min_shards).max(1);
        let acks = Acks::new(shards, loaded.as_ref());
        let persister = tokio::spawn(persist(
            Arc::clone(&store),
            acks.subscribe(),
            queue.progress_save_interval,
        ));
        let stats = Arc::new(SendStats::new());
        let ctx = Arc::new(SendContext {
            name: name.clone(),
            url: options.url.clone(),
            transport,
            headers: options.headers,
            policy: queue.retry,
            protocol: Arc::new(ProtocolState::new(options.protocol)),
            metrics,
            stats: Arc::clone(&stats),
            clock,
            stop: CancellationToken::new(),
            decorator: options.decorator,
            observers: options.observers,
        });
        let shard_count = Arc::new(AtomicUsize::new(shards));
        let (desired_tx, desired) = watch::channel(shards);
        let controller = queue.dynamic_resharding.then(|| {
            tokio::spawn(control(Controller {
                stats,
                metrics: ctx.metrics.clone(),
                shard_count: Arc::clone(&shard_count),
                min: queue.min_shards,
                max: queue.max_shards,
                desired: desired_tx,
            }))
        });
        let mut destination = Destination {
            name,
            ctx,
            queue,
            jitter_seed: options.jitter_seed,
            v2_encoder: options.v2_encoder,
            acks: Arc::new(Mutex::new(acks)),
            shards: Vec::new(),
            shard_count,
            generation: 0,
            skip,
            desired,
            controller,
            persister,
            store,
        };
        destination.spawn_shards(shards);
        Ok(destination)
    }

    fn spawn_shards(&mut self, count: usize) {
        self.generation = self.generation.wrapping_add(1);
        self.shards = (0..count)
            .map(|index| {
                let jitter = match self.jitter_seed {
                    None => JitterSource::None,
                    Some(seed) => JitterSource::Seeded(SplitMix64::new(
                        seed ^ (self.generation << 32) ^ index as u64,
                    )),
                };
                Shard {
                    index,
                    ctx: Arc::clone(&self.ctx),
                    acks: Arc::clone(&self.acks),
                    settings: self.queue.batch,
                    encoders: Encoders {
                        v2: Some(match &self.v2_encoder {
                            Some(make) => (make.0)(),
                            None => Box::new(V2Encoder::new()),
                        }),
                        ..Encoders::default()
                    },
                    jitter,
                }
                .spawn(self.queue.capacity)
            })
            .collect();
        self.shard_count.store(count, Ordering::SeqCst);
        self.ctx
            .metrics
            .shards(count, self.queue.min_shards, self.queue.max_shards);
    }

    /// Hands over the items of WAL record `record_seq` (seqs must increase). A record at or
    /// below the low watermark (a replay from a cursor older than the saved progress) is
    /// skipped whole. Too-old data is dropped here (counted `too_old`), items a shard
    /// delivered before a restart are skipped, the rest is queued; waits while a shard queue
    /// is full. It never reshards: the caller calls [`Destination::reshard_if_wanted`]
    /// between records, and decides with the shard count that results (a whole record,
    /// [`QueueItem::Whole`], keeps per-series order only with one shard).
    ///
    /// Not cancel-safe: once called, drive it to completion (dropping it half-way leaves the
    /// record registered with items that will never be acknowledged).
    pub async fn enqueue(
        &mut self,
        record_seq: u64,
        items: Vec<QueueItem>,
    ) -> Result<(), DestinationError> {
        if self.low_watermark().is_some_and(|low| record_seq <= low) {
            tracing::debug!(destination = %self.name, record_seq, "record already acknowledged; skipped");
            return Ok(());
        }
        let shards = self.shards.len();
        let cutoff = self
            .queue
            .retry
            .sample_age_limit
            .map(|limit| cutoff_ms(self.ctx.clock.now_unix_ms(), limit));
        let mut per_shard = vec![0u32; shards];
        // One group per shard, sent with one channel operation each.
        let expected = items.len() / shards.max(1) + 1;
        let mut groups: Vec<Vec<QueueItem>> =
            (0..shards).map(|_| Vec::with_capacity(expected)).collect();
        let mut counts = ItemCounts::default();
        let mut newest = i64::MIN;
        for item in items {
            let item = match (item, cutoff) {
                (QueueItem::Series(series), Some(cutoff)) => {
                    match drop_older_than(&series, cutoff) {
                        AgeOutcome::Unchanged | AgeOutcome::Undecodable => {
                            QueueItem::Series(series)
                        }
                        AgeOutcome::Trimmed { item, dropped } => {
                            self.drop_too_old(dropped);
                            QueueItem::Series(item)
                        }
                        AgeOutcome::AllTooOld => {
                            self.drop_too_old(series.counts);
                            continue;
                        }
                    }
                }
                (item, _) => item,
            };
            let shard = item.shard(shards);
            if self.skip.should_skip(record_seq, shard) {
                continue;
            }
            match &item {
                QueueItem::Series(series) => newest = newest.max(series.max_timestamp_ms),
                QueueItem::Whole(whole) => newest = newest.max(whole.max_timestamp_ms),
                QueueItem::Metadata(_) => {}
            }
            counts.add(item.counts());
            if let (Some(slot), Some(group)) = (per_shard.get_mut(shard), groups.get_mut(shard)) {
                *slot = slot.saturating_add(1);
                group.push(item);
            }
        }
        self.lock_acks()
            .register(record_seq, per_shard)
            .map_err(|source| DestinationError::Order {
                name: self.name.clone(),
                source,
            })?;
        self.ctx.stats.record_in(counts.total(), newest);
        self.ctx.metrics.pending(counts, true);
        for (handle, group) in self.shards.iter().zip(groups) {
            if handle.tx.send(group).await.is_err() {
                return Err(DestinationError::Stopped(self.name.clone()));
            }
        }
        Ok(())
    }

    /// Performs the reshard the controller asked for, if any (draining every shard first):
    /// the dispatcher calls it before each record.
    pub async fn reshard_if_wanted(&mut self) -> Result<(), DestinationError> {
        if self.desired.has_changed().unwrap_or(false) {
            let wanted = *self.desired.borrow_and_update();
            if wanted != self.shards.len() {
                self.reshard(wanted).await?;
            }
        }
        Ok(())
    }

    fn drop_too_old(&self, counts: ItemCounts) {
        self.ctx.metrics.dropped("too_old", counts);
        self.ctx.stats.record_dropped(counts.total());
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.acks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drains every shard (queued and in-flight items finish), then continues with `shards`
    /// shards (clamped to `min_shards..=max_shards`).
    pub async fn reshard(&mut self, shards: usize) -> Result<(), DestinationError> {
        let shards = shards.clamp(self.queue.min_shards.max(1), self.queue.max_shards.max(1));
        tracing::info!(destination = %self.name, from = self.shards.len(), to = shards, "resharding");
        for handle in std::mem::take(&mut self.shards) {
            drop(handle.tx);
            let _ = handle.task.await;
        }
        if self.ctx.stop.is_cancelled() || !self.lock_acks().is_idle() {
            return Err(DestinationError::Stopped(self.name.clone()));
        }
        self.lock_acks().reset_shards(shards);
        self.skip.clear();
        self.spawn_shards(shards);
        Ok(())
    }

    /// Shards running now.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The highest record seq whose every item is acknowledged: commit the WAL cursor here.
    pub fn low_watermark(&self) -> Option<u64> {
        self.lock_acks().progress().low_watermark
    }

    /// Follows the progress (low watermark and per-shard watermarks) as it changes.
    pub fn progress(&self) -> watch::Receiver<ShardProgress> {
        self.lock_acks().subscribe()
    }

    /// Whether an item of `record_seq` mapping to `shard` is skipped as already delivered
    /// before the restart.
    pub fn should_skip(&self, record_seq: u64, shard: usize) -> bool {
        self.skip.should_skip(record_seq, shard)
    }

    /// The protocol the destination sends now (v2 destinations may have fallen back to v1).
    pub fn protocol(&self) -> Protocol {
        self.ctx.protocol.current()
    }

    /// The protocol the destination sends now, shared (it changes only from v2 to v1).
    pub fn protocol_state(&self) -> Arc<ProtocolState> {
        Arc::clone(&self.ctx.protocol)
    }

    /// The number of shards running, shared (it changes only in a reshard, which the
    /// caller of [`Destination::enqueue`] drives).
    pub fn shard_counter(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.shard_count)
    }

    /// Stops taking items and lets the shards finish what they hold; at `grace` from now,
    /// stops retrying and abandons what is in flight (it stays in the WAL). Saves the final
    /// progress.
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let deadline = Instant::now() + grace;
        let tasks: Vec<_> = std::mem::take(&mut self.shards)
            .into_iter()
            .map(|handle| handle.task)
            .collect();
        let joined = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        tokio::pin!(joined);
        let drained = tokio::select! {
            () = &mut joined => true,
            () = tokio::time::sleep_until(deadline) => {
                self.ctx.stop.cancel();
                joined.await;
                false
            }
        };
        if let Some(controller) = self.controller.take() {
            controller.abort();
        }
        self.persister.abort();
        let progress = self.lock_acks().progress().clone();
        let store = Arc::clone(&self.store);
        let saved = {
            let progress = progress.clone();
            tokio::task::spawn_blocking(move || store.save(&progress)).await
        };
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(destination = %self.name, %error, "saving shard progress failed")
            }
            Err(error) => {
                tracing::error!(destination = %self.name, %error, "saving shard progress failed")
            }
        }
        ShutdownReport { drained, progress }
    }
}

impl Drop for Destination {
    fn drop(&mut self) {
        self.ctx.stop.cancel();
        if let Some(controller) = &self.controller {
            controller.abort();
        }
        self.persister.abort();
    }
}

/// Saves progress whenever it changed, at most once per `interval` (changes that arrive
/// while saving or waiting are coalesced: the next save takes the newest progress). The
/// final progress is saved by [`Destination::shutdown`], not here.
async fn persist(
    store: Arc<dyn ShardProgressStore>,
    mut rx: watch::Receiver<ShardProgress>,
    interval: Duration,
) {
    while rx.changed().await.is_ok() {
        let next_save = Instant::now() + interval;
        let progress = rx.borrow_and_update().clone();
        let store = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || store.save(&progress)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "saving shard progress failed"),
            Err(error) => tracing::error!(%error, "saving shard progress failed"),
        }
        tokio::time::sleep_until(next_save).await;
    }
}

struct Controller {
    stats: Arc<SendStats>,
    metrics: DestinationMetrics,
    shard_count: Arc<AtomicUsize>,
    min: usize,
    max: usize,
    desired: watch::Sender<usize>,
}

/// Every [`SHARD_UPDATE_INTERVAL`]: tick the rates, compute the desired shards, and ask the
/// dispatcher to reshard when [`should_reshard`] agrees.
async fn control(controller: Controller) {
    let mut interval = tokio::time::interval_at(
        Instant::now() + SHARD_UPDATE_INTERVAL,
        SHARD_UPDATE_INTERVAL,
    );
    let (mut data_in, mut data_out, mut dropped, mut out_duration) = (
        Ewma::default(),
        Ewma::default(),
        Ewma::default(),
        Ewma::default(),
    );
    loop {
        interval.tick().await;
        let tick = controller.stats.take_tick();
        data_in.tick(tick.data_in as f64, SHARD_UPDATE_INTERVAL);
        data_out.tick(tick.data_out as f64, SHARD_UPDATE_INTERVAL);
        dropped.tick(tick.data_dropped as f64, SHARD_UPDATE_INTERVAL);
        out_duration.tick(tick.out_duration.as_secs_f64(), SHARD_UPDATE_INTERVAL);
        let highest_in = controller.stats.highest_in_ms().unwrap_or(0);
        let highest_sent = controller.stats.highest_sent_ms().unwrap_or(highest_in);
        let current = controller.shard_count.load(Ordering::SeqCst);
        let desired = desired_shards(&ShardingInputs {
            data_in_rate: data_in.rate(),
            data_out_rate: data_out.rate(),
            data_dropped_rate: dropped.rate(),
            data_out_duration: out_duration.rate(),
            highest_in_secs: highest_in as f64 / 1000.0,
            highest_sent_secs: highest_sent as f64 / 1000.0,
            current,
            min: controller.min,
            max: controller.max,
        });
        controller
            .metrics
            .shards_desired(desired.raw.unwrap_or(current as f64));
        if should_reshard(
            desired.shards,
            current,
            controller.stats.since_last_success(),
            controller.stats.backoff_active(),
        ) {
            controller.desired.send_replace(desired.shards);
        }
    }
}

#[cfg(test)]
mod tests;
