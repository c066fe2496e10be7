//! `prw bench --floor`: the physical limits on the payloads the load generator sends,
//! measured on the calling thread (one core), with no network: snappy block decompression
//! into a reused buffer, and decompression plus prw-core validation in verdict mode (the
//! relay's ingest work before the WAL append).
//!
//! Each measurement runs whole bodies in a loop until its time is up (at least one body).

use std::time::{Duration, Instant};

use prw_core::validate::{Mode, validate};
use prw_core::{Limits, Protocol};

use super::payload::Payload;
use super::summary::FloorRate;

/// Why a floor could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// A generated payload did not decompress (a bug in the generator or the codec).
    #[error("payload {index} does not decompress: {source}")]
    Decompress {
        /// Payload index.
        index: usize,
        /// Cause.
        source: prw_core::codec::CodecError,
    },
    /// A generated payload did not decode.
    #[error("payload {index} does not decode: {source}")]
    Decode {
        /// Payload index.
        index: usize,
        /// Cause.
        source: prw_core::DecodeError,
    },
}

/// Snappy decompression alone.
pub fn snappy(payloads: &[Payload], time: Duration) -> Result<FloorRate, FloorError> {
    let limits = Limits::default();
    let mut buffer = Vec::new();
    measure(payloads, time, |index, p| {
        prw_core::codec::decompress_into(&p.body, &limits, &mut buffer)
            .map_err(|source| FloorError::Decompress { index, source })
    })
}

/// Decompression plus validation.
pub fn validate_path(
    payloads: &[Payload],
    protocol: Protocol,
    time: Duration,
) -> Result<FloorRate, FloorError> {
    let limits = Limits::default();
    let mut buffer = Vec::new();
    measure(payloads, time, |index, p| {
        prw_core::codec::decompress_into(&p.body, &limits, &mut buffer)
            .map_err(|source| FloorError::Decompress { index, source })?;
        validate(&buffer, protocol, &limits, Mode::Verdict)
            .map(drop)
            .map_err(|source| FloorError::Decode { index, source })
    })
}

fn measure(
    payloads: &[Payload],
    time: Duration,
    mut step: impl FnMut(usize, &Payload) -> Result<(), FloorError>,
) -> Result<FloorRate, FloorError> {
    let start = Instant::now();
    let (mut iterations, mut samples, mut bytes) = (0u64, 0u64, 0u64);
    'outer: loop {
        for (index, payload) in payloads.iter().enumerate() {
            step(index, payload)?;
            iterations += 1;
            samples += payload.samples;
            bytes += payload.decoded_len as u64;
            if start.elapsed() >= time {
                break 'outer;
            }
        }
        if payloads.is_empty() {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    Ok(FloorRate {
        iterations,
        seconds,
        samples_per_second: samples as f64 / seconds,
        decoded_mb_per_second: bytes as f64 / seconds / 1e6,
    })
}
