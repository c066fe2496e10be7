//! The reload hook of the full relay: re-read the configuration file (with the same
//! command-line overrides) and apply its destinations to the running [`Delivery`].
//!
//! Invariant: a file that does not validate changes nothing (the error is returned and
//! logged by the caller); only `remote_write` changes are applied; `listen`, `wal` and
//! `limits` changes need a restart (logged).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::Delivery;
use crate::config::{self, ConfigError, ConfigErrorKind, Overrides};
use crate::handler::{BoxFuture, Reload};

/// Re-reads the file and applies it to the delivery held in `delivery` (`None` once shut
/// down: the reload is then only validated).
#[derive(Debug, Clone)]
pub struct DeliveryReload {
    /// The file (`None`: flags only).
    pub path: Option<PathBuf>,
    /// Command-line overrides applied again.
    pub overrides: Overrides,
    /// The running delivery.
    pub delivery: Arc<Mutex<Option<Delivery>>>,
    /// How long a stopped or restarted destination may drain.
    pub grace: Duration,
}

impl Reload for DeliveryReload {
    fn reload(&self) -> BoxFuture<Result<(), ConfigError>> {
        let this = self.clone();
        Box::pin(async move {
            let path = this.path.clone();
            let overrides = this.overrides.clone();
            let loaded =
                tokio::task::spawn_blocking(move || config::load(path.as_deref(), &overrides))
                    .await
                    .map_err(|_| {
                        ConfigError::at(".", ConfigErrorKind::Invalid("reload task failed"))
                    })??;
            for warning in &loaded.warnings {
                tracing::warn!(%warning, "configuration key ignored");
            }
            let mut guard = this.delivery.lock().await;
            if let Some(delivery) = guard.as_mut() {
                let report = delivery
                    .apply(&loaded.config.destinations, this.grace)
                    .await;
                tracing::info!(
                    destinations = loaded.config.destinations.len(),
                    added = ?report.added,
                    removed = ?report.removed,
                    restarted = ?report.restarted,
                    failed = ?report.failed,
                    "configuration reloaded and applied"
                );
                if !report.failed.is_empty() {
                    return Err(ConfigError::at(
                        "remote_write",
                        ConfigErrorKind::Invalid("some destinations could not start (see the log)"),
                    ));
                }
            }
            Ok(())
        })
    }
}
