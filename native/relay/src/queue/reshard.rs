//! Dynamic resharding: Prometheus's `calculateDesiredShards` and `shouldReshard`
//! (remote-write.md 4.4) as pure functions over EWMA rates, so they are tested with numbers.
//!
//! Every [`SHARD_UPDATE_INTERVAL`] the controller ticks the rates, computes the desired
//! shard count, and asks the queue to reshard when [`should_reshard`] agrees. The queue then
//! drains every shard (in-flight and queued items) before it changes the series -> shard
//! mapping, so per-series order holds across a reshard.

use std::time::Duration;

/// EWMA weight of the newest tick.
pub const EWMA_WEIGHT: f64 = 0.2;
/// How often rates are ticked and shards recomputed.
pub const SHARD_UPDATE_INTERVAL: Duration = Duration::from_secs(10);
/// A desired count within this fraction of the current one changes nothing.
pub const SHARD_TOLERANCE_FRACTION: f64 = 0.3;
/// Share of the backlog to catch up per second.
pub const BACKLOG_CATCHUP_FRACTION: f64 = 0.05;
/// No downshard while this far behind; no reshard when the last send is older.
pub const BEHIND_LIMIT: Duration = Duration::from_secs(10);

/// An exponentially weighted per-second rate, ticked every [`SHARD_UPDATE_INTERVAL`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ewma {
    rate: f64,
    initialized: bool,
}

impl Ewma {
    /// Folds in the events of one interval of `interval` length.
    pub fn tick(&mut self, events: f64, interval: Duration) {
        let secs = interval.as_secs_f64();
        let instant = if secs > 0.0 { events / secs } else { 0.0 };
        if self.initialized {
            self.rate += EWMA_WEIGHT * (instant - self.rate);
        } else if instant != 0.0 {
            self.rate = instant;
            self.initialized = true;
        }
    }

    /// The current rate (per second).
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

/// What the calculation reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardingInputs {
    /// Items handed to the destination, per second.
    pub data_in_rate: f64,
    /// Items sent (success or failure), per second.
    pub data_out_rate: f64,
    /// Items dropped before sending, per second.
    pub data_dropped_rate: f64,
    /// Seconds spent in send calls, per second.
    pub data_out_duration: f64,
    /// Newest timestamp handed to the destination, seconds.
    pub highest_in_secs: f64,
    /// Newest timestamp acknowledged by the receiver, seconds.
    pub highest_sent_secs: f64,
    /// Shards running now.
    pub current: usize,
    /// `min_shards`.
    pub min: usize,
    /// `max_shards`.
    pub max: usize,
}

/// The result of one calculation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Desired {
    /// The unrounded value (`shards_desired` gauge); `None` when nothing was sent yet.
    pub raw: Option<f64>,
    /// The shard count to run.
    pub shards: usize,
}

/// Prometheus's `calculateDesiredShards`.
pub fn desired_shards(inputs: &ShardingInputs) -> Desired {
    let keep = Desired {
        raw: None,
        shards: inputs.current,
    };
    if inputs.data_out_rate <= 0.0 {
        return keep;
    }
    let kept_ratio = inputs.data_out_rate / (inputs.data_dropped_rate + inputs.data_out_rate);
    let delay = inputs.highest_in_secs - inputs.highest_sent_secs;
    let pending = delay * inputs.data_in_rate * kept_ratio;
    let backlog_catchup = BACKLOG_CATCHUP_FRACTION * pending;
    let time_per_sample = inputs.data_out_duration / inputs.data_out_rate;
    let raw = time_per_sample * (inputs.data_in_rate * kept_ratio + backlog_catchup);

    let current = inputs.current as f64;
    let lower = current * (1.0 - SHARD_TOLERANCE_FRACTION);
    let upper = current * (1.0 + SHARD_TOLERANCE_FRACTION);
    let rounded = raw.ceil();
    let mut shards = inputs.current;
    if !(lower <= rounded && rounded <= upper) && rounded.is_finite() {
        shards = if rounded <= 0.0 {
            0
        } else {
            // Saturating float-to-int cast; clamped below.
            rounded as usize
        };
        if shards < inputs.current && delay > BEHIND_LIMIT.as_secs_f64() {
            shards = inputs.current;
        }
    }
    Desired {
        raw: Some(raw),
        shards: shards.clamp(inputs.min.max(1), inputs.max.max(inputs.min).max(1)),
    }
}

/// Prometheus's `shouldReshard`: a change is wanted, the destination delivered something in
/// the last [`BEHIND_LIMIT`], and no retry backoff is active.
pub fn should_reshard(
    desired: usize,
    current: usize,
    since_last_success: Option<Duration>,
    backoff_active: bool,
) -> bool {
    if desired == current || backoff_active {
        return false;
    }
    matches!(since_last_success, Some(age) if age <= BEHIND_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> ShardingInputs {
        ShardingInputs {
            data_in_rate: 8192.0,
            data_out_rate: 8192.0,
            data_dropped_rate: 0.0,
            data_out_duration: 0.0,
            highest_in_secs: 1000.0,
            highest_sent_secs: 1000.0,
            current: 4,
            min: 1,
            max: 50,
        }
    }

    #[test]
    fn ewma_starts_at_the_first_nonzero_rate_then_moves_a_fifth_of_the_way() {
        let mut ewma = Ewma::default();
        ewma.tick(0.0, SHARD_UPDATE_INTERVAL);
        assert_eq!(ewma.rate(), 0.0);
        ewma.tick(1000.0, SHARD_UPDATE_INTERVAL);
        assert_eq!(ewma.rate(), 100.0);
        ewma.tick(2000.0, SHARD_UPDATE_INTERVAL);
        assert!((ewma.rate() - 120.0).abs() < 1e-9);
        ewma.tick(0.0, SHARD_UPDATE_INTERVAL);
        assert!((ewma.rate() - 96.0).abs() < 1e-9);
    }

    #[test]
    fn one_send_second_per_second_of_data_needs_one_shard_per_unit_of_time() {
        // Each item costs 8/8192 s of send time; 8192 items/s keep 8 shards busy.
        let desired = desired_shards(&ShardingInputs {
            data_out_duration: 8.0,
            ..inputs()
        });
        assert_eq!(desired.raw, Some(8.0));
        assert_eq!(desired.shards, 8);
    }

    #[test]
    fn change_within_thirty_percent_keeps_the_current_count() {
        // raw 5.0 is within [2.8, 5.2] of 4 shards.
        let desired = desired_shards(&ShardingInputs {
            data_out_duration: 5.0,
            ..inputs()
        });
        assert_eq!(desired.raw, Some(5.0));
        assert_eq!(desired.shards, 4);
    }

    #[test]
    fn backlog_adds_five_percent_per_second_of_pending_data() {
        // 20 s behind at 8192/s: 163840 pending, catch up 8192/s more at 2/8192 s per item:
        // desired = 2/8192 * (8192 + 8192) = 4.
        let desired = desired_shards(&ShardingInputs {
            data_out_duration: 2.0,
            highest_in_secs: 1020.0,
            current: 1,
            ..inputs()
        });
        assert!((desired.raw.unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(desired.shards, 4);
    }

    #[test]
    fn no_downshard_while_more_than_ten_seconds_behind() {
        let behind = ShardingInputs {
            data_out_duration: 0.1,
            highest_in_secs: 1011.0,
            current: 10,
            ..inputs()
        };
        assert_eq!(desired_shards(&behind).shards, 10);
        let caught_up = ShardingInputs {
            highest_in_secs: 1000.0,
            ..behind
        };
        assert_eq!(desired_shards(&caught_up).shards, 1);
    }

    #[test]
    fn result_is_clamped_to_min_and_max_shards() {
        let many = desired_shards(&ShardingInputs {
            data_out_duration: 500.0,
            max: 20,
            ..inputs()
        });
        assert_eq!(many.shards, 20);
        let few = desired_shards(&ShardingInputs {
            data_out_duration: 0.0,
            min: 2,
            ..inputs()
        });
        assert_eq!(few.shards, 2);
    }

    #[test]
    fn nothing_sent_keeps_the_current_count() {
        let desired = desired_shards(&ShardingInputs {
            data_out_rate: 0.0,
            ..inputs()
        });
        assert_eq!(
            desired,
            Desired {
                raw: None,
                shards: 4
            }
        );
    }

    #[test]
    fn dropped_data_lowers_the_kept_ratio() {
        // Half dropped: effective input 4096/s at 8/8192 s per item => 4 shards.
        let desired = desired_shards(&ShardingInputs {
            data_out_duration: 8.0,
            data_dropped_rate: 8192.0,
            current: 1,
            ..inputs()
        });
        assert_eq!(desired.raw, Some(4.0));
        assert_eq!(desired.shards, 4);
    }

    #[test]
    fn reshard_refused_without_a_recent_success_or_during_backoff() {
        let recent = Some(Duration::from_secs(3));
        assert!(should_reshard(8, 4, recent, false));
        assert!(!should_reshard(4, 4, recent, false));
        assert!(!should_reshard(8, 4, recent, true));
        assert!(!should_reshard(8, 4, Some(Duration::from_secs(11)), false));
        assert!(!should_reshard(8, 4, None, false));
    }
}
