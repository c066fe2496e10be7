//! A Remote Write load generator for relay tests: a thread POSTs v1 batches (every series
//! once, with a strictly increasing timestamp per batch) to a fixed address until stopped,
//! and remembers which pairs were acknowledged (2xx), refused (answered otherwise), or never
//! answered.
//!
//! Invariants: each batch's timestamp is greater than the previous batch's (wall clock, or
//! +1 ms when the clock has not moved), so per-series order at a receiver is checkable; a
//! batch that was not acknowledged is not retried (its pairs may or may not arrive).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use prw_core::Protocol;

use crate::pairs::Pairs;
use crate::payload::{Series, v1};

/// What a load run did.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Pairs of batches answered 2xx.
    pub acked: Pairs,
    /// Pairs of every batch sent (answered or not).
    pub sent: Pairs,
    /// Pairs of batches answered with a status other than 2xx (e.g. 503): the server said it
    /// did not take them, and they are never retried.
    pub refused: Pairs,
    /// Batches by answer status (0 = no answer: connection refused or reset).
    pub statuses: BTreeMap<u16, u64>,
}

/// A running generator.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    batches: Arc<AtomicU64>,
    report: Arc<Mutex<LoadReport>>,
    thread: Option<JoinHandle<()>>,
}

/// The series of batch `t`: `prw_e2e_load{id="<k>",job="<job>"}`, one sample at `t`.
pub fn batch(job: &str, series: usize, t: i64) -> Vec<Series> {
    (0..series)
        .map(|k| {
            let id = format!("{k:05}");
            Series::new(
                &[("__name__", "prw_e2e_load"), ("id", &id), ("job", job)],
                &[(t, k as f64)],
            )
        })
        .collect()
}

impl Load {
    /// Starts posting batches of `series` series to `addr` every `every`.
    pub fn start(addr: SocketAddr, job: &str, series: usize, every: Duration) -> Load {
        Load::start_with_headers(addr, job, series, every, &[])
    }

    /// [`Load::start`] with extra request headers (e.g. `X-Scope-OrgID`).
    pub fn start_with_headers(
        addr: SocketAddr,
        job: &str,
        series: usize,
        every: Duration,
        headers: &[(&str, &str)],
    ) -> Load {
        let extra: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let batches = Arc::new(AtomicU64::new(0));
        let report = Arc::new(Mutex::new(LoadReport::default()));
        let thread = {
            let (stop, batches, report) =
                (Arc::clone(&stop), Arc::clone(&batches), Arc::clone(&report));
            let job = job.to_string();
            std::thread::spawn(move || {
                let mut last = 0i64;
                while !stop.load(Ordering::SeqCst) {
                    let t = crate::wait::now_ms().max(last + 1);
                    last = t;
                    let body = v1(&batch(&job, series, t));
                    let mut pairs = Pairs::new();
                    let _ = pairs.add_body(&body, Protocol::V1);
                    let headers: Vec<(&str, &str)> = extra
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    let status =
                        crate::http::post_v1(addr, &headers, &body).map_or(0, |a| a.status);
                    {
                        let mut report = report
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        report.sent.extend(&pairs);
                        if (200..300).contains(&status) {
                            report.acked.extend(&pairs);
                        } else if status != 0 {
                            report.refused.extend(&pairs);
                        }
                        *report.statuses.entry(status).or_default() += 1;
                    }
                    batches.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(every);
                }
            })
        };
        Load {
            stop,
            batches,
            report,
            thread: Some(thread),
        }
    }

    /// Batches sent so far.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }

    /// What was done so far.
    pub fn report(&self) -> LoadReport {
        self.report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops and returns the final report.
    pub fn stop(mut self) -> LoadReport {
        self.halt();
        self.report()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.halt();
    }
}
