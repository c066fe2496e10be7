//! A wall clock driven by tokio's clock, for paused-time tests (feature `test-util`).

use tokio::time::Instant;

use super::Clock;

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
