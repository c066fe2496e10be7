//! The progress line of `prw bench`: once a second on stderr, the acknowledged requests
//! and samples so far, the rate over the last second and the failures.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::load::Live;
use super::summary::human;

/// Prints a line a second until the task is aborted.
pub async fn tick(live: Arc<Live>) {
    let start = Instant::now();
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.tick().await;
    let mut last = 0u64;
    loop {
        interval.tick().await;
        let samples = live.samples.load(Ordering::Relaxed);
        eprintln!(
            "  {:>5.0}s  {} requests ok  {} samples  {}/s  {} failed",
            start.elapsed().as_secs_f64(),
            live.ok.load(Ordering::Relaxed),
            samples,
            human(samples.saturating_sub(last) as f64),
            live.failed.load(Ordering::Relaxed),
        );
        last = samples;
    }
}
