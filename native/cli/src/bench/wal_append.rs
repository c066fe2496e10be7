//! `prw bench --wal-append DIR`: how fast prw-wal makes the generated payloads durable.
//!
//! `concurrency` threads append the pre-compressed bodies (the bytes a relay stores for a
//! request) to a fresh WAL in `DIR/bench-wal` with the default config (`SyncPolicy::Always`:
//! `append` returns once the record is fsynced; concurrent appends share one fsync, which
//! is the group commit being measured). The directory is removed afterwards.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prw_wal::{Wal, WalConfig, WalError};

use super::payload::Payload;
use super::summary::WalRate;

/// Appends for `time` from `appenders` threads.
pub fn measure(
    dir: &Path,
    payloads: &[Payload],
    appenders: usize,
    time: Duration,
) -> Result<WalRate, WalError> {
    let dir = dir.join("bench-wal");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| WalError::Io {
            op: "remove",
            path: dir.clone(),
            source: e,
        })?;
    }
    let (wal, _) = Wal::open(&dir, WalConfig::default())?;
    let wal = Arc::new(wal);
    let payloads: Arc<Vec<Payload>> = Arc::new(payloads.to_vec());
    let start = Instant::now();
    let deadline = start + time;
    let threads: Vec<_> = (0..appenders.max(1))
        .map(|t| {
            let wal = Arc::clone(&wal);
            let payloads = Arc::clone(&payloads);
            std::thread::spawn(move || -> Result<(u64, u64, u64), WalError> {
                let (mut records, mut samples, mut bytes) = (0u64, 0u64, 0u64);
                let mut i = t;
                while Instant::now() < deadline {
                    let Some(p) = payloads.get(i % payloads.len().max(1)) else {
                        break;
                    };
                    wal.append(&p.body)?;
                    records += 1;
                    samples += p.samples;
                    bytes += p.body.len() as u64;
                    i += 1;
                }
                Ok((records, samples, bytes))
            })
        })
        .collect();
    let (mut records, mut samples, mut bytes) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    for thread in threads {
        match thread.join() {
            Ok(Ok((r, s, b))) => {
                records += r;
                samples += s;
                bytes += b;
            }
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(_) => {}
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    drop(wal);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(WalRate {
        appenders: appenders.max(1),
        records,
        seconds,
        records_per_second: records as f64 / seconds,
        samples_per_second: samples as f64 / seconds,
        mb_per_second: bytes as f64 / seconds / 1e6,
    })
}
