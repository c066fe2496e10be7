//! The relay's one wall clock, injectable so tests stay exact: ingest stamps records'
//! `received_at_ms` with it; the send side compares sample timestamps and HTTP dates with it
//! (`sample_age_limit`, `Retry-After: <date>`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(any(test, feature = "test-util"))]
mod tokio_clock;
#[cfg(any(test, feature = "test-util"))]
pub use tokio_clock::TokioClock;

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
