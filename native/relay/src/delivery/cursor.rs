//! Cursor commits and lag bookkeeping of one destination.
//!
//! A task ticks every `commit_interval` (about 1 s): it reads the destination's low
//! watermark and, when it moved, commits the WAL cursor there (`Wal::commit`, fsynced, on a
//! blocking thread) and publishes the committed position to the reader thread; it also
//! refreshes the lag metrics. The final commit at shutdown goes through [`Committer`] too.
//!
//! Invariants: the cursor is only ever committed to a low watermark, i.e. past records every
//! shard acknowledged, so a crash replays from there (at-least-once, no gap); commits never
//! move backwards (the WAL ignores them, and the committer does not issue them).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prw_wal::{Position, Wal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::metrics::DeliveryMetrics;
use crate::queue::ShardProgress;

/// Marks "nothing committed yet" in the shared committed position.
pub const NOTHING_COMMITTED: u64 = u64::MAX;

/// Records handed to the queue and not yet acknowledged, with their receive times.
#[derive(Debug, Default)]
pub struct Lag {
    pending: VecDeque<(u64, i64)>,
    delivered_ms: Option<i64>,
}

impl Lag {
    /// Record `seq`, received at `received_at_ms`, was handed to the queue.
    pub fn handed(&mut self, seq: u64, received_at_ms: i64) {
        self.pending.push_back((seq, received_at_ms));
    }

    /// Every record up to `low` is acknowledged.
    pub fn acknowledged(&mut self, low: u64) {
        while let Some(&(seq, received)) = self.pending.front() {
            if seq > low {
                break;
            }
            if received > 0 {
                self.delivered_ms = Some(self.delivered_ms.map_or(received, |d| d.max(received)));
            }
            self.pending.pop_front();
        }
    }

    /// Records pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Seconds between `newest_ms` and the newest delivered record (0 when nothing lags).
    pub fn seconds_behind(&self, newest_ms: i64, lag_records: u64) -> f64 {
        if lag_records == 0 && self.pending.is_empty() {
            return 0.0;
        }
        let reference = self
            .delivered_ms
            .or_else(|| self.pending.front().map(|&(_, r)| r))
            .unwrap_or(newest_ms);
        (newest_ms.saturating_sub(reference)).max(0) as f64 / 1000.0
    }
}

/// Commits one destination's cursor.
#[derive(Debug)]
pub struct Committer {
    /// The WAL.
    pub wal: Arc<Wal>,
    /// Destination (= consumer) name.
    pub name: String,
    /// The last committed position, read by the reader thread.
    pub committed: Arc<AtomicU64>,
    /// Lag bookkeeping shared with the dispatcher.
    pub lag: Arc<Mutex<Lag>>,
    /// Newest receive time read by any destination (Unix ms).
    pub newest_received_ms: Arc<AtomicI64>,
    /// Metrics.
    pub metrics: DeliveryMetrics,
}

impl Committer {
    fn lock_lag(&self) -> std::sync::MutexGuard<'_, Lag> {
        self.lag.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits the cursor to `low` (every record up to it is done) if it moved forward.
    pub async fn commit(&self, low: Option<u64>) {
        let Some(low) = low else { return };
        self.lock_lag().acknowledged(low);
        let done = self.committed.load(Ordering::SeqCst);
        if done != NOTHING_COMMITTED && low <= done {
            return;
        }
        let wal = Arc::clone(&self.wal);
        let name = self.name.clone();
        match tokio::task::spawn_blocking(move || wal.commit(&name, Position(low))).await {
            Ok(Ok(())) => {
                self.committed.store(low, Ordering::SeqCst);
                self.metrics.commit(&self.name);
                tracing::debug!(destination = %self.name, position = low, "cursor committed");
            }
            Ok(Err(error)) => {
                tracing::error!(destination = %self.name, %error, "committing the WAL cursor failed")
            }
            Err(error) => {
                tracing::error!(destination = %self.name, %error, "committing the WAL cursor failed")
            }
        }
    }

    /// Refreshes the lag metrics.
    pub fn refresh_metrics(&self) {
        let lag_records = self
            .wal
            .stats()
            .consumers
            .iter()
            .find(|c| c.name == self.name)
            .map_or(0, |c| c.lag_records);
        let newest = self.newest_received_ms.load(Ordering::SeqCst);
        let lag = self.lock_lag();
        self.metrics.set_lag_records(&self.name, lag_records);
        self.metrics.set_pending_records(&self.name, lag.pending());
        self.metrics
            .set_lag_seconds(&self.name, lag.seconds_behind(newest, lag_records));
    }
}

/// Every `interval` until `stop`: commit to the current low watermark, refresh metrics.
pub async fn follow(
    committer: Arc<Committer>,
    progress: watch::Receiver<ShardProgress>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let low = progress.borrow().low_watermark;
        committer.commit(low).await;
        committer.refresh_metrics();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_newest_received_minus_newest_delivered() {
        let mut lag = Lag::default();
        lag.handed(1, 1_000);
        lag.handed(2, 3_000);
        lag.handed(3, 9_000);
        assert_eq!(lag.seconds_behind(9_000, 3), 8.0);
        lag.acknowledged(2);
        assert_eq!(lag.pending(), 1);
        assert_eq!(lag.seconds_behind(9_000, 1), 6.0);
        lag.acknowledged(3);
        assert_eq!(lag.seconds_behind(9_000, 0), 0.0);
    }
}
