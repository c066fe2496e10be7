//! Delivery: from the tail (or the WAL) to every destination.
//!
//! Per destination (see [`running`]): a dispatcher task takes each record from its feed
//! ([`feed`]: the record decoded at ingest, from the in-memory tail, or read back from the
//! WAL and decoded again when the destination is behind the tail), cuts it into queue items
//! ([`items`]: v1 series as exact byte ranges of the decoded body, v2 records through their
//! v1 form converted once, metadata, `write_relabel_configs`) or, when the destination would
//! send it unchanged, forwards it whole as received ([`forward`]), and enqueues them into the
//! send side ([`crate::queue::Destination`]); a cursor task ([`cursor`]) commits the WAL
//! cursor to the destination's low watermark about once a second and at shutdown. Per-shard
//! progress is persisted by [`progress_store::FileProgressStore`] so a replay after a crash
//! skips what each shard had already delivered.
//!
//! [`Delivery`] starts every destination of the validated config, applies a reloaded config
//! (adds, removes and restarts destinations; a destination keeps its cursor across restarts
//! because the cursor belongs to its name) and shuts everything down.
//!
//! Invariants: a destination's cursor only moves past records all of its shards acknowledged
//! (at-least-once, no gap); destinations never wait for each other (one feed, queue and
//! cursor each; the tail evicts at its cap rather than wait for a slow one); a removed destination loses its cursor and progress file, so adding it back
//! later starts it as new.

pub mod cursor;
pub mod feed;
pub mod forward;
pub mod items;
pub mod metrics;
pub mod options;
pub mod progress_store;
pub mod reload;
pub mod running;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::registry::Registry;
use prw_core::Limits;
use prw_wal::{Wal, WalError};

use crate::config;
use crate::queue::{DestinationError, ShardProgress};
use crate::send::{AttemptObserver, RemoteStorageMetrics};
use crate::tail::Tail;

pub use crate::record::UndecodableRecord;
pub use items::{RecordItems, cut, cut_for, record_items};
pub use metrics::DeliveryMetrics;
pub use options::OptionsError;
pub use progress_store::FileProgressStore;
pub use reload::DeliveryReload;
pub use running::Stopped;

/// Default time between cursor commits.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Where the progress files of a WAL in `wal_dir` live, one directory per WAL directory: a
/// WAL directory named `wal` keeps its sibling `delivery` (`./data/wal` -> `./data/delivery`,
/// the layout since the first release); any other name gets `<name>.delivery` beside it
/// (`/data/a` -> `/data/a.delivery`), so two relays whose WAL directories share a parent
/// never share progress files.
pub fn default_progress_dir(wal_dir: &Path) -> PathBuf {
    let name = wal_dir.file_name().and_then(|n| n.to_str());
    match (wal_dir.parent(), name) {
        (Some(parent), Some("wal")) => parent.join("delivery"),
        (Some(parent), Some(name)) => parent.join(format!("{name}.delivery")),
        _ => wal_dir.join("delivery"),
    }
}

/// How delivery runs.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Directory of the per-destination progress files.
    pub progress_dir: PathBuf,
    /// Decompression limits for stored bodies.
    pub limits: Limits,
    /// Time between cursor commits.
    pub commit_interval: Duration,
    /// When the newest record was received (Unix ms), shared with ingest so the lag metric
    /// sees records as soon as they are durable, even while a reader is held back.
    pub newest_received_ms: Arc<AtomicI64>,
    /// Added to every destination's [`crate::queue::DestinationOptions::observers`] (the
    /// capture of refused batches).
    pub attempt_observers: Vec<Arc<dyn AttemptObserver>>,
    /// The records ingest decoded, in memory (`WalIngest::tail` of ingest); `None`:
    /// every record is read back from the WAL (for a WAL appended to by something else).
    pub tail: Option<Arc<Tail>>,
}

impl DeliverySettings {
    /// Defaults for a WAL in `wal_dir`.
    pub fn for_wal_dir(wal_dir: &Path) -> Self {
        DeliverySettings {
            progress_dir: default_progress_dir(wal_dir),
            limits: Limits::default(),
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            newest_received_ms: Arc::new(AtomicI64::new(0)),
            attempt_observers: Vec::new(),
            tail: None,
        }
    }
}

/// Why a destination could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A WAL operation (consumer, reader) failed.
    #[error("destination {name}: WAL: {source}")]
    Wal {
        /// Destination.
        name: String,
        /// The error.
        source: WalError,
    },
    /// Credentials or TLS files.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The send side refused to start.
    #[error(transparent)]
    Destination(#[from] DestinationError),
}

/// What [`Delivery::apply`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Started (new names).
    pub added: Vec<String>,
    /// Stopped, cursor and progress removed.
    pub removed: Vec<String>,
    /// Stopped and started again with new settings (cursor kept).
    pub restarted: Vec<String>,
    /// Destinations that failed to start (the rest of the config is applied).
    pub failed: Vec<String>,
}

/// All running destinations.
#[derive(Debug)]
pub struct Delivery {
    shared: running::Shared,
    running: BTreeMap<String, running::RunningDestination>,
}

impl Delivery {
    /// Registers the metric families and starts every destination. Needs a tokio runtime.
    /// A destination that cannot start fails the whole start (the config was validated; what
    /// is left is I/O: credentials files, the WAL).
    pub fn start(
        wal: Arc<Wal>,
        destinations: &[config::Destination],
        settings: DeliverySettings,
        registry: &mut Registry,
    ) -> Result<Self, DeliveryError> {
        let remote = RemoteStorageMetrics::register(registry);
        let metrics = DeliveryMetrics::register(registry);
        let newest_received_ms = Arc::clone(&settings.newest_received_ms);
        let mut delivery = Delivery {
            shared: running::Shared {
                wal,
                settings,
                remote,
                metrics,
                newest_received_ms,
            },
            running: BTreeMap::new(),
        };
        for destination in destinations {
            let started = running::RunningDestination::start(&delivery.shared, destination)?;
            delivery.running.insert(destination.name.clone(), started);
        }
        Ok(delivery)
    }

    /// Names of the running destinations.
    pub fn destinations(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// The current progress of destination `name`.
    pub fn progress(&self, name: &str) -> Option<ShardProgress> {
        self.running
            .get(name)
            .map(running::RunningDestination::progress)
    }

    /// The delivery metric families.
    pub fn metrics(&self) -> &DeliveryMetrics {
        &self.shared.metrics
    }

    /// Tells delivery that a record received at `received_at_ms` was appended (the lag
    /// metric's "newest received"; readers also advance it as they read).
    pub fn note_received(&self, received_at_ms: i64) {
        self.shared
            .newest_received_ms
            .fetch_max(received_at_ms, Ordering::SeqCst);
    }

    /// Applies a reloaded configuration: stops and removes destinations no longer present
    /// (their cursor and progress are deleted), restarts changed ones (same name: cursor and
    /// progress kept; what was queued is still in the WAL past the cursor), starts new ones.
    /// `grace` bounds each stop.
    pub async fn apply(
        &mut self,
        destinations: &[config::Destination],
        grace: Duration,
    ) -> ApplyReport {
        let mut report = ApplyReport::default();
        let wanted: BTreeMap<&str, &config::Destination> =
            destinations.iter().map(|d| (d.name.as_str(), d)).collect();
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|name| !wanted.contains_key(name.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(running) = self.running.remove(&name) {
                running.shutdown(grace).await;
            }
            self.forget(&name);
            report.removed.push(name);
        }
        for destination in destinations {
            let name = destination.name.clone();
            let restart = match self.running.get(&name) {
                Some(running) if running.config() == destination => continue,
                Some(_) => true,
                None => false,
            };
            if let Some(running) = self.running.remove(&name) {
                running.shutdown(grace).await;
            }
            match running::RunningDestination::start(&self.shared, destination) {
                Ok(started) => {
                    self.running.insert(name.clone(), started);
                    if restart {
                        report.restarted.push(name);
                    } else {
                        report.added.push(name);
                    }
                }
                Err(error) => {
                    tracing::error!(destination = %name, %error, "destination not started");
                    report.failed.push(name);
                }
            }
        }
        tracing::info!(?report, "configuration applied to delivery");
        report
    }

    /// Deletes a removed destination's cursor and progress.
    fn forget(&self, name: &str) {
        match self.shared.wal.remove_consumer(name) {
            Ok(()) | Err(WalError::UnknownConsumer(_)) => {}
            Err(error) => {
                tracing::error!(destination = %name, %error, "removing the WAL cursor failed")
            }
        }
        let store = FileProgressStore::new(&self.shared.settings.progress_dir, name);
        if let Err(error) = store.remove() {
            tracing::error!(destination = %name, %error, "removing the progress file failed");
        }
        self.shared.metrics.remove(name);
        if let Some(tail) = &self.shared.settings.tail {
            tail.metrics().remove(name);
        }
    }

    /// Stops every destination (in parallel), each draining for up to `grace`, and commits
    /// the final cursors.
    pub async fn shutdown(self, grace: Duration) -> Vec<Stopped> {
        let tasks: Vec<_> = self
            .running
            .into_values()
            .map(|running| tokio::spawn(running.shutdown(grace)))
            .collect();
        let mut stopped = Vec::with_capacity(tasks.len());
        for task in tasks {
            match task.await {
                Ok(s) => stopped.push(s),
                Err(error) => tracing::error!(%error, "a destination's shutdown task failed"),
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wal_directory_gets_its_own_progress_directory() {
        let dir = |p: &str| default_progress_dir(Path::new(p));
        assert_eq!(
            dir("./data/wal"),
            Path::new("./data/delivery"),
            "the usual layout"
        );
        assert_eq!(
            dir("/data/relay-1/wal"),
            Path::new("/data/relay-1/delivery")
        );
        assert_eq!(dir("wal"), Path::new("delivery"));
        assert_eq!(dir("/data/a"), Path::new("/data/a.delivery"));
        assert_eq!(dir("/data/b"), Path::new("/data/b.delivery"));
        assert_ne!(dir("/data/a"), dir("/data/b"), "siblings never share");
        assert_ne!(dir("/data/wal"), dir("/data/other"));
        assert_eq!(dir("/"), Path::new("/delivery"));
    }
}
