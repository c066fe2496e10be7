//! Shared facts about one destination's sending, read by the resharding controller, and its
//! current protocol (which a v2 -> v1 fallback switches for every shard at once).
//!
//! Times are milliseconds since the stats were created, on tokio's clock (paused in tests).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prw_core::Protocol;
use tokio::time::Instant;

const NEVER: u64 = u64::MAX;

/// Counters and times of one destination's sends.
#[derive(Debug)]
pub struct SendStats {
    epoch: Instant,
    data_in: AtomicU64,
    data_out: AtomicU64,
    data_dropped: AtomicU64,
    out_nanos: AtomicU64,
    highest_in_ms: AtomicI64,
    highest_sent_ms: AtomicI64,
    last_success: AtomicU64,
    backoff_until: AtomicU64,
}

/// The counters taken (and reset) by one resharding tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TickCounts {
    /// Items handed to the destination.
    pub data_in: u64,
    /// Items sent (success or failure).
    pub data_out: u64,
    /// Items dropped before sending.
    pub data_dropped: u64,
    /// Time spent in send calls.
    pub out_duration: Duration,
}

impl Default for SendStats {
    fn default() -> Self {
        Self::new()
    }
}

impl SendStats {
    /// Fresh stats; nothing sent yet.
    pub fn new() -> Self {
        SendStats {
            epoch: Instant::now(),
            data_in: AtomicU64::new(0),
            data_out: AtomicU64::new(0),
            data_dropped: AtomicU64::new(0),
            out_nanos: AtomicU64::new(0),
            highest_in_ms: AtomicI64::new(i64::MIN),
            highest_sent_ms: AtomicI64::new(i64::MIN),
            last_success: AtomicU64::new(NEVER),
            backoff_until: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    /// Items were handed to the destination; `max_ts_ms` is their newest timestamp.
    pub fn record_in(&self, items: u64, max_ts_ms: i64) {
        self.data_in.fetch_add(items, Ordering::Relaxed);
        self.highest_in_ms.fetch_max(max_ts_ms, Ordering::Relaxed);
    }

    /// Items were dropped before sending.
    pub fn record_dropped(&self, items: u64) {
        self.data_dropped.fetch_add(items, Ordering::Relaxed);
    }

    /// One send call of `items` took `took`.
    pub fn record_send(&self, items: u64, took: Duration) {
        self.data_out.fetch_add(items, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.out_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A batch was acknowledged by the receiver; its newest timestamp was `max_ts_ms`.
    pub fn record_success(&self, max_ts_ms: i64) {
        self.highest_sent_ms.fetch_max(max_ts_ms, Ordering::Relaxed);
        self.last_success.store(self.now(), Ordering::Relaxed);
    }

    /// A retry will wait `sleep`: resharding is off until twice that from now.
    pub fn record_backoff(&self, sleep: Duration) {
        let until = self
            .now()
            .saturating_add(u64::try_from(sleep.as_millis().saturating_mul(2)).unwrap_or(NEVER));
        self.backoff_until.fetch_max(until, Ordering::Relaxed);
    }

    /// Takes the counters accumulated since the last call.
    pub fn take_tick(&self) -> TickCounts {
        TickCounts {
            data_in: self.data_in.swap(0, Ordering::Relaxed),
            data_out: self.data_out.swap(0, Ordering::Relaxed),
            data_dropped: self.data_dropped.swap(0, Ordering::Relaxed),
            out_duration: Duration::from_nanos(self.out_nanos.swap(0, Ordering::Relaxed)),
        }
    }

    /// Newest timestamp handed to the destination (ms), if any.
    pub fn highest_in_ms(&self) -> Option<i64> {
        Some(self.highest_in_ms.load(Ordering::Relaxed)).filter(|t| *t != i64::MIN)
    }

    /// Newest timestamp acknowledged by the receiver (ms), if any.
    pub fn highest_sent_ms(&self) -> Option<i64> {
        Some(self.highest_sent_ms.load(Ordering::Relaxed)).filter(|t| *t != i64::MIN)
    }

    /// Time since the last acknowledged batch (`None`: never).
    pub fn since_last_success(&self) -> Option<Duration> {
        match self.last_success.load(Ordering::Relaxed) {
            NEVER => None,
            at => Some(Duration::from_millis(self.now().saturating_sub(at))),
        }
    }

    /// Whether a retry backoff is holding resharding off.
    pub fn backoff_active(&self) -> bool {
        self.now() < self.backoff_until.load(Ordering::Relaxed)
    }
}

/// The protocol a destination currently sends.
#[derive(Debug)]
pub struct ProtocolState {
    v2: AtomicBool,
}

impl ProtocolState {
    /// Starts with `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        ProtocolState {
            v2: AtomicBool::new(protocol == Protocol::V2),
        }
    }

    /// What to send now.
    pub fn current(&self) -> Protocol {
        if self.v2.load(Ordering::SeqCst) {
            Protocol::V2
        } else {
            Protocol::V1
        }
    }

    /// Switches to v1; true when this call made the switch (so it is logged/counted once).
    pub fn fall_back(&self) -> bool {
        self.v2.swap(false, Ordering::SeqCst)
    }
}
