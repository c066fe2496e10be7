//! `wal:` where and how the relay persists what it acknowledged.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::byte_size::ByteSize;
use super::duration::PromDuration;
use super::error::{ConfigError, KeyPath};

/// Default WAL directory (DESIGN.md).
pub const DEFAULT_WAL_DIR: &str = "./data/wal";
/// Default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Default disk cap: 10 GiB (DESIGN.md).
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;
/// Smallest segment accepted: 1 MiB (smaller segments make rotation dominate).
pub const MIN_SEGMENT_BYTES: u64 = 1 << 20;
/// Default `sync_interval` when `sync: interval`.
pub const DEFAULT_SYNC_INTERVAL: PromDuration = PromDuration::from_secs(1);

/// What happens when the WAL reaches `max_bytes`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FullPolicy {
    /// Answer 503 + Retry-After; lose nothing.
    #[default]
    Block,
    /// Advance the slowest cursor, counting and logging every dropped sample.
    DropOldest,
}

/// Default largest record: 64 MiB (prw-wal's default).
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

/// What opening a WAL with damage in the middle does (prw-wal `RecoveryMode`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// Keep every record before the damage, quarantine the rest, count it.
    #[default]
    TolerateTail,
    /// Refuse to start, naming the file and offset.
    Strict,
}

/// When appends are fsynced.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Every group commit is fsynced before senders get 2xx.
    #[default]
    Always,
    /// fsync every `sync_interval`; a crash may lose what was acknowledged since.
    Interval,
}

/// `wal` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WalConfig {
    /// Directory. Default: `./data/wal`.
    pub dir: PathBuf,
    /// Segment size. Default: 64MiB. Minimum: 1MiB.
    pub segment_bytes: ByteSize,
    /// Disk cap. Default: 10GiB. Minimum: 2 segments.
    pub max_bytes: ByteSize,
    /// Policy at the cap. Default: `block`.
    pub full_policy: FullPolicy,
    /// Largest record. Default: 64MiB. Range: 1B..4GiB.
    pub max_record_bytes: ByteSize,
    /// Damage on open: `tolerate_tail` or `strict`. Default: `tolerate_tail`.
    pub recovery: Recovery,
    /// `always` or `interval`. Default: `always`.
    pub sync: SyncMode,
    /// fsync period with `sync: interval`. Default: 1s.
    pub sync_interval: Option<PromDuration>,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from(DEFAULT_WAL_DIR),
            segment_bytes: ByteSize(DEFAULT_SEGMENT_BYTES),
            max_bytes: ByteSize(DEFAULT_MAX_BYTES),
            full_policy: FullPolicy::Block,
            max_record_bytes: ByteSize(DEFAULT_MAX_RECORD_BYTES),
            recovery: Recovery::TolerateTail,
            sync: SyncMode::Always,
            sync_interval: None,
        }
    }
}

/// Validated fsync policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// fsync each group commit.
    Always,
    /// fsync on this period.
    Interval(Duration),
}

/// Validated WAL settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wal {
    /// Directory.
    pub dir: PathBuf,
    /// Segment size in bytes.
    pub segment_bytes: u64,
    /// Disk cap in bytes.
    pub max_bytes: u64,
    /// Policy at the cap.
    pub full_policy: FullPolicy,
    /// Largest record in bytes (1..=u32::MAX).
    pub max_record_bytes: u64,
    /// Damage handling on open.
    pub recovery: Recovery,
    /// fsync policy.
    pub sync: Sync,
}

impl WalConfig {
    /// Validates the section.
    pub fn build(&self, path: &KeyPath) -> Result<Wal, ConfigError> {
        if self.dir.as_os_str().is_empty() {
            return Err(path.key("dir").invalid("must not be empty"));
        }
        if self.segment_bytes.0 < MIN_SEGMENT_BYTES {
            return Err(path.key("segment_bytes").invalid("must be at least 1MiB"));
        }
        if self.max_bytes.0 < self.segment_bytes.0.saturating_mul(2) {
            return Err(path
                .key("max_bytes")
                .invalid("must be at least twice segment_bytes"));
        }
        if self.max_record_bytes.0 == 0 || self.max_record_bytes.0 > u64::from(u32::MAX) {
            return Err(path
                .key("max_record_bytes")
                .invalid("must be between 1B and 4GiB - 1"));
        }
        let sync = match (self.sync, self.sync_interval) {
            (SyncMode::Always, None) => Sync::Always,
            (SyncMode::Always, Some(_)) => {
                return Err(path
                    .key("sync_interval")
                    .invalid("only allowed with sync: interval"));
            }
            (SyncMode::Interval, interval) => {
                let interval = interval.unwrap_or(DEFAULT_SYNC_INTERVAL).0;
                if interval.is_zero() {
                    return Err(path.key("sync_interval").invalid("must be greater than 0"));
                }
                Sync::Interval(interval)
            }
        };
        Ok(Wal {
            dir: self.dir.clone(),
            segment_bytes: self.segment_bytes.0,
            max_bytes: self.max_bytes.0,
            full_policy: self.full_policy,
            max_record_bytes: self.max_record_bytes.0,
            recovery: self.recovery,
            sync,
        })
    }
}
