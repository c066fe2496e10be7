//! `queue_config`: Prometheus's keys, defaults (remote-write.md 4.1, Prometheus >= 2.50) and
//! validation rules, except `retry_on_http_429`, which defaults to **true** in the relay.
//!
//! Why 429 is retried by default: Prometheus made it opt-in because Cortex answered 429 for
//! permanent limits (prometheus#8418), which made a sender retry for ever. The relay is a
//! durable queue in front of receivers that send 429 for rate limiting and overload (Mimir,
//! VictoriaMetrics, our edge filter), where dropping the batch is silent data loss; Alloy
//! flipped the same default (grafana/agent#4877). Set it to `false` for a receiver that answers
//! 429 for limits that will never clear.

use std::time::Duration;

use prw_core::classify::{Backoff, BackoffError};
use serde::Deserialize;

use super::duration::PromDuration;
use super::error::{ConfigError, KeyPath};

/// Default `capacity` (Prometheus >= 2.44).
pub const DEFAULT_CAPACITY: u64 = 10_000;
/// Default `max_shards` (Prometheus >= 2.44).
pub const DEFAULT_MAX_SHARDS: u64 = 50;
/// Default `min_shards`.
pub const DEFAULT_MIN_SHARDS: u64 = 1;
/// Default `max_samples_per_send` (Prometheus >= 2.44).
pub const DEFAULT_MAX_SAMPLES_PER_SEND: u64 = 2_000;
/// Default `batch_send_deadline`.
pub const DEFAULT_BATCH_SEND_DEADLINE: PromDuration = PromDuration::from_secs(5);
/// Default `min_backoff`.
pub const DEFAULT_MIN_BACKOFF: PromDuration = PromDuration::from_millis(30);
/// Default `max_backoff` (Prometheus >= 2.32).
pub const DEFAULT_MAX_BACKOFF: PromDuration = PromDuration::from_secs(5);
/// Default `retry_on_http_429` for the relay (Prometheus: false). See the module docs.
pub const DEFAULT_RETRY_ON_HTTP_429: bool = true;

/// `queue_config` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Samples buffered per shard before reading the WAL pauses. Default: 10000. Minimum: 1.
    pub capacity: u64,
    /// Upper bound of shards. Default: 50. Minimum: 1.
    pub max_shards: u64,
    /// Lower bound and starting number of shards. Default: 1. Minimum: 1, at most `max_shards`.
    pub min_shards: u64,
    /// Batch size in samples. Default: 2000. Minimum: 1.
    pub max_samples_per_send: u64,
    /// Longest wait before a partial batch is sent. Default: 5s. Minimum: above 0.
    pub batch_send_deadline: PromDuration,
    /// First retry delay. Default: 30ms. Minimum: above 0.
    pub min_backoff: PromDuration,
    /// Retry delay cap. Default: 5s. Minimum: `min_backoff`.
    pub max_backoff: PromDuration,
    /// Retry on 429 (honouring `Retry-After`). Default: true (Prometheus: false).
    pub retry_on_http_429: bool,
    /// Drop samples older than this; 0 disables. Default: 0s.
    pub sample_age_limit: PromDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            max_shards: DEFAULT_MAX_SHARDS,
            min_shards: DEFAULT_MIN_SHARDS,
            max_samples_per_send: DEFAULT_MAX_SAMPLES_PER_SEND,
            batch_send_deadline: DEFAULT_BATCH_SEND_DEADLINE,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            retry_on_http_429: DEFAULT_RETRY_ON_HTTP_429,
            sample_age_limit: PromDuration::default(),
        }
    }
}

/// Validated queue settings of one destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// Samples buffered per shard.
    pub capacity: usize,
    /// Upper bound of shards (>= 1).
    pub max_shards: usize,
    /// Lower bound and starting number of shards (1..=max_shards).
    pub min_shards: usize,
    /// Batch size in samples (>= 1).
    pub max_samples_per_send: usize,
    /// Longest wait before a partial batch is sent (> 0).
    pub batch_send_deadline: Duration,
    /// `min_backoff` (> 0) doubling up to `max_backoff` (>= `min_backoff`): the schedule the
    /// retry loop runs, built here once.
    pub backoff: Backoff,
    /// Retry on 429.
    pub retry_on_http_429: bool,
    /// Drop samples older than this.
    pub sample_age_limit: Option<Duration>,
}

fn positive(path: &KeyPath, key: &str, value: u64) -> Result<usize, ConfigError> {
    let path = path.key(key);
    if value == 0 {
        return Err(path.invalid("must be greater than 0"));
    }
    usize::try_from(value)
        .map_err(|_| path.invalid_value("count that fits in memory", value.to_string()))
}

impl QueueConfig {
    /// Applies Prometheus's `QueueConfig` validation rules.
    pub fn build(&self, path: &KeyPath) -> Result<Queue, ConfigError> {
        let capacity = positive(path, "capacity", self.capacity)?;
        let max_shards = positive(path, "max_shards", self.max_shards)?;
        let min_shards = positive(path, "min_shards", self.min_shards)?;
        if min_shards > max_shards {
            return Err(path
                .key("min_shards")
                .invalid("must not be greater than max_shards"));
        }
        let max_samples_per_send =
            positive(path, "max_samples_per_send", self.max_samples_per_send)?;
        if self.batch_send_deadline.0.is_zero() {
            return Err(path
                .key("batch_send_deadline")
                .invalid("must be greater than 0"));
        }
        let backoff =
            Backoff::new(self.min_backoff.0, self.max_backoff.0).map_err(|err| match err {
                BackoffError::ZeroMin => path.key("min_backoff").invalid("must be greater than 0"),
                BackoffError::MaxBelowMin => path
                    .key("max_backoff")
                    .invalid("must not be less than min_backoff"),
            })?;
        Ok(Queue {
            capacity,
            max_shards,
            min_shards,
            max_samples_per_send,
            batch_send_deadline: self.batch_send_deadline.0,
            backoff,
            retry_on_http_429: self.retry_on_http_429,
            sample_age_limit: Some(self.sample_age_limit.0).filter(|d| !d.is_zero()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> Result<Queue, ConfigError> {
        let config: QueueConfig = serde_yaml::from_str(yaml).unwrap();
        config.build(&KeyPath::root().key("queue_config"))
    }

    #[test]
    fn defaults_are_prometheus_current_except_429() {
        let queue = build("{}").unwrap();
        assert_eq!(queue.capacity, 10_000);
        assert_eq!(queue.max_shards, 50);
        assert_eq!(queue.min_shards, 1);
        assert_eq!(queue.max_samples_per_send, 2_000);
        assert_eq!(queue.batch_send_deadline, Duration::from_secs(5));
        assert_eq!(queue.backoff, Backoff::PROMETHEUS_DEFAULT);
        assert!(queue.retry_on_http_429);
        assert_eq!(queue.sample_age_limit, None);
    }

    #[test]
    fn every_key_is_read() {
        let queue = build(
            "capacity: 5\nmax_shards: 4\nmin_shards: 2\nmax_samples_per_send: 3\n\
             batch_send_deadline: 1s\nmin_backoff: 1ms\nmax_backoff: 2ms\n\
             retry_on_http_429: false\nsample_age_limit: 1h",
        )
        .unwrap();
        assert_eq!(
            queue,
            Queue {
                capacity: 5,
                max_shards: 4,
                min_shards: 2,
                max_samples_per_send: 3,
                batch_send_deadline: Duration::from_secs(1),
                backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(2)).unwrap(),
                retry_on_http_429: false,
                sample_age_limit: Some(Duration::from_secs(3600)),
            }
        );
    }

    #[test]
    fn prometheus_rules_name_the_key() {
        let cases = [
            ("max_shards: 0", "queue_config.max_shards"),
            ("min_shards: 0", "queue_config.min_shards"),
            ("min_shards: 5\nmax_shards: 4", "queue_config.min_shards"),
            ("capacity: 0", "queue_config.capacity"),
            (
                "max_samples_per_send: 0",
                "queue_config.max_samples_per_send",
            ),
            (
                "batch_send_deadline: 0s",
                "queue_config.batch_send_deadline",
            ),
            (
                "min_backoff: 2s\nmax_backoff: 1s",
                "queue_config.max_backoff",
            ),
            ("min_backoff: 0s", "queue_config.min_backoff"),
        ];
        for (yaml, key) in cases {
            assert_eq!(build(yaml).unwrap_err().path, key, "{yaml}");
        }
    }

    #[test]
    fn unknown_queue_key_is_an_error() {
        assert!(serde_yaml::from_str::<QueueConfig>("max_retries: 3").is_err());
    }
}
