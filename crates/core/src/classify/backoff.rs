//! A pure exponential backoff schedule: `min`, doubling, capped at `max`, with jitter from an
//! injected source, and `Retry-After` taking precedence.
//!
//! Semantics follow Prometheus's `sendWriteRequestWithBackoff` (remote-write.md 4.5):
//! the delay before a retry is the current backoff, or the server's `Retry-After` when it is
//! non-zero (honoured exactly, not capped, not jittered); the next backoff is then twice that
//! delay, capped at `max`. Unlike Prometheus, the backoff is jittered: up to
//! [`JITTER_FRACTION`] of it is taken off at random so that many senders that failed together
//! do not retry together; a jittered delay never goes below `min`.
//!
//! Invariants: without `Retry-After`, every delay lies in `[min, max]`; the schedule never
//! panics (all arithmetic saturates).

use core::time::Duration;

/// The largest share of a backoff delay that jitter may take off.
pub const JITTER_FRACTION: f64 = 0.2;

/// A source of randomness for jitter: each call returns a number in `[0, 1)`.
pub trait Jitter {
    /// The next number in `[0, 1)`. Values outside are clamped.
    fn unit(&mut self) -> f64;
}

/// No jitter: the exact Prometheus schedule (for tests and reproducible runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn unit(&mut self) -> f64 {
        0.0
    }
}

/// A tiny deterministic generator (SplitMix64): seed it from the clock in production, from a
/// constant in tests. Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }
}

impl Jitter for SplitMix64 {
    fn unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits -> [0, 1).
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A backoff configuration that is known to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
}

/// Why a backoff configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackoffError {
    /// `min_backoff` must be greater than zero.
    #[error("min_backoff must be greater than zero")]
    ZeroMin,
    /// `max_backoff` must not be smaller than `min_backoff`.
    #[error("max_backoff must not be smaller than min_backoff")]
    MaxBelowMin,
}

impl Backoff {
    /// Prometheus's defaults: 30 ms doubling to 5 s.
    pub const PROMETHEUS_DEFAULT: Backoff = Backoff {
        min: Duration::from_millis(30),
        max: Duration::from_secs(5),
    };

    /// A schedule from `min` doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Result<Self, BackoffError> {
        if min.is_zero() {
            return Err(BackoffError::ZeroMin);
        }
        if max < min {
            return Err(BackoffError::MaxBelowMin);
        }
        Ok(Backoff { min, max })
    }

    /// The smallest delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The largest delay without `Retry-After`.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// A fresh schedule for one batch.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            backoff: *self,
            next: self.min,
            retries: 0,
        }
    }
}

/// The retry state of one batch.
#[derive(Debug, Clone)]
pub struct Schedule {
    backoff: Backoff,
    next: Duration,
    retries: u32,
}

impl Schedule {
    /// The delay before the next attempt, after a failed one whose answer carried
    /// `retry_after` (already parsed; `None` or zero means no hint).
    pub fn next_delay(
        &mut self,
        retry_after: Option<Duration>,
        jitter: &mut impl Jitter,
    ) -> Duration {
        let delay = match retry_after {
            Some(hint) if !hint.is_zero() => hint,
            _ => jittered(self.next, self.backoff.min, jitter),
        };
        self.next = delay
            .saturating_mul(2)
            .clamp(self.backoff.min, self.backoff.max);
        self.retries = self.retries.saturating_add(1);
        delay
    }

    /// How many retries were scheduled so far: the value of the `Retry-Attempt` header to send
    /// on the next attempt (0 on the first attempt, when no header is sent).
    pub fn retries(&self) -> u32 {
        self.retries
    }
}

fn jittered(base: Duration, floor: Duration, jitter: &mut impl Jitter) -> Duration {
    let unit = jitter.unit();
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Per-mille integer arithmetic: no float-to-Duration conversion that could panic.
    let off_permille = (unit * JITTER_FRACTION * 1000.0) as u128;
    let nanos = base.as_nanos() * (1000 - off_permille.min(1000)) / 1000;
    let delay = Duration::new(
        u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
        u32::try_from(nanos % 1_000_000_000).unwrap_or(0),
    );
    delay.max(floor)
}
