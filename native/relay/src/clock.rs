//! The relay's one wall clock, injectable so tests stay exact: ingest stamps records'
//! `received_at_ms` with it; the send side compares sample timestamps and HTTP dates with it
//! (`sample_age_limit`, `Retry-After: <date>`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Tells the wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> i64;
}

/// The system clock. A clock set before 1970 reads as 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A wall clock that starts at a given time and advances with tokio's clock: under
/// `start_paused` tests it moves only when tokio's time does.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base_unix_ms: i64,
    start: Instant,
}

impl TokioClock {
    /// A clock reading `base_unix_ms` now.
    pub fn starting_at(base_unix_ms: i64) -> Self {
        TokioClock {
            base_unix_ms,
            start: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_unix_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.base_unix_ms.saturating_add(elapsed)
    }
}
