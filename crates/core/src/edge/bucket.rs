//! A token bucket in integer arithmetic with the time passed in: the per-tenant ingestion
//! limit (Mimir's `ingestion_rate` and `ingestion_burst_size`), one token per sample or
//! histogram.
//!
//! Tokens are counted in millionths ("micro-tokens") so a fractional rate refills exactly:
//! a rate of `r` tokens per second refills `round(r * 1000)` micro-tokens per millisecond.
//! The state is 16 bytes ([`BucketState::to_bytes`]) so Envoy's worker threads can share it
//! through proxy-wasm shared data.
//!
//! Invariants (proptest in `tests`): tokens never exceed the burst; a clock reading older
//! than the state's (another worker read the clock a little later) refills nothing and never
//! moves `updated_ms` back; over any window of `d` ms the tokens handed out are at most
//! `burst + rate * d / 1000`; a request of `cost <= burst` that waits its `Retry-After`
//! is admitted when nobody else took tokens meanwhile; nothing overflows or panics.

use alloc::format;
use alloc::string::String;

/// Micro-tokens per token.
pub const MICRO: u64 = 1_000_000;

/// A refill rate and a capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Micro-tokens per millisecond (= tokens per second x 1000).
    micro_per_ms: u64,
    /// Capacity in tokens.
    burst: u64,
}

impl Rate {
    /// `per_second` tokens per second (rounded to 0.001) up to `burst` tokens; `None` when
    /// the rate is not finite or rounds to 0, or the burst is 0.
    pub fn new(per_second: f64, burst: u64) -> Option<Rate> {
        let milli = per_second * 1000.0;
        // Rounded to the nearest by hand (`f64::round` is std-only); the range check keeps
        // the cast exact and non-zero.
        if !milli.is_finite() || !(0.5..=1e18).contains(&milli) || burst == 0 {
            return None;
        }
        Some(Rate {
            micro_per_ms: (milli + 0.5) as u64,
            burst,
        })
    }

    /// Tokens per second.
    pub fn per_second(&self) -> f64 {
        self.micro_per_ms as f64 / 1000.0
    }

    /// Tokens per second as text (`500`, `0.5`, `12.125`), without formatting a float
    /// (which would pull float printing into the Envoy module: about 10 KB).
    pub fn per_second_text(&self) -> String {
        let (whole, milli) = (self.micro_per_ms / 1000, self.micro_per_ms % 1000);
        if milli == 0 {
            format!("{whole}")
        } else {
            let fraction = format!("{milli:03}");
            format!("{whole}.{}", fraction.trim_end_matches('0'))
        }
    }

    /// Capacity in tokens.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    fn capacity(&self) -> u64 {
        self.burst.saturating_mul(MICRO)
    }
}

/// The bucket: micro-tokens left at `updated_ms` (Unix ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketState {
    /// Micro-tokens available at `updated_ms`.
    pub micro_tokens: u64,
    /// When the state was last refilled.
    pub updated_ms: i64,
}

impl BucketState {
    /// Length of [`BucketState::to_bytes`].
    pub const ENCODED_LEN: usize = 16;

    /// A full bucket at `now_ms`.
    pub fn full(rate: &Rate, now_ms: i64) -> BucketState {
        BucketState {
            micro_tokens: rate.capacity(),
            updated_ms: now_ms,
        }
    }

    /// Little-endian micro-tokens, then little-endian `updated_ms`.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        let (tokens, updated) = out.split_at_mut(8);
        tokens.copy_from_slice(&self.micro_tokens.to_le_bytes());
        updated.copy_from_slice(&self.updated_ms.to_le_bytes());
        out
    }

    /// Reads [`BucketState::to_bytes`]; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<BucketState> {
        let (tokens, updated) = bytes.split_first_chunk::<8>()?;
        let updated: &[u8; 8] = updated.try_into().ok()?;
        Some(BucketState {
            micro_tokens: u64::from_le_bytes(*tokens),
            updated_ms: i64::from_le_bytes(*updated),
        })
    }

    /// The state refilled up to `now_ms` (capped at the burst).
    pub fn refilled(&self, rate: &Rate, now_ms: i64) -> BucketState {
        let elapsed = u64::try_from(now_ms.saturating_sub(self.updated_ms)).unwrap_or(0);
        let added = elapsed.saturating_mul(rate.micro_per_ms);
        BucketState {
            micro_tokens: self.micro_tokens.saturating_add(added).min(rate.capacity()),
            updated_ms: self.updated_ms.max(now_ms),
        }
    }

    /// Whole tokens available.
    pub fn tokens(&self) -> u64 {
        self.micro_tokens / MICRO
    }
}

/// The result of taking tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// Taken: the new state.
    Admitted(BucketState),
    /// Not enough tokens now.
    Limited {
        /// Whole seconds until enough tokens have refilled (at least 1).
        retry_after_secs: u32,
        /// Whole tokens available now.
        available: u64,
    },
    /// `cost` is more than the burst: it can never be taken.
    TooLarge,
}

/// Takes `cost` tokens at `now_ms` from `state` (`None`: a full bucket).
pub fn take(rate: &Rate, state: Option<BucketState>, cost: u64, now_ms: i64) -> Take {
    if cost > rate.burst {
        return Take::TooLarge;
    }
    let state = state.map_or_else(
        || BucketState::full(rate, now_ms),
        |s| s.refilled(rate, now_ms),
    );
    let needed = cost.saturating_mul(MICRO);
    match state.micro_tokens.checked_sub(needed) {
        Some(left) => Take::Admitted(BucketState {
            micro_tokens: left,
            updated_ms: state.updated_ms,
        }),
        None => {
            let deficit = needed - state.micro_tokens;
            let wait_ms = deficit.div_ceil(rate.micro_per_ms);
            let secs = wait_ms.div_ceil(1000).max(1);
            Take::Limited {
                retry_after_secs: u32::try_from(secs).unwrap_or(u32::MAX),
                available: state.tokens(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
