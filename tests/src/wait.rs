//! Bounded polling: wait until a condition holds or a deadline passes, then fail with
//! what was expected and what was last seen. Never a sleep used as an assertion.

use std::time::{Duration, Instant};

/// How often conditions are polled.
pub const POLL: Duration = Duration::from_millis(200);

/// Calls `check` every [`POLL`] until it returns `Ok(value)` or `timeout` passes; `check`
/// returns `Err(last seen)` while the condition does not hold. The error names `what`, the
/// timeout and the last observation.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(seen) => {
                if start.elapsed() >= timeout {
                    return Err(format!(
                        "timed out after {timeout:?} waiting for {what}; last seen: {seen}"
                    ));
                }
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
