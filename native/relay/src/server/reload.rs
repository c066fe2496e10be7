//! A [`Reload`] hook that only validates: [`ValidateFile`] re-reads and validates the file and
//! logs the outcome (the full relay uses `delivery::DeliveryReload`, which also applies it).

use std::path::PathBuf;

use crate::config::{self, ConfigError, Overrides};
use crate::handler::{BoxFuture, Reload};

/// Reload hook that only re-validates the file (no pipeline to apply it to yet).
#[derive(Clone, Debug)]
pub struct ValidateFile {
    /// The file (`None`: flags only, nothing to re-read).
    pub path: Option<PathBuf>,
    /// The command-line overrides to apply again.
    pub overrides: Overrides,
}

impl Reload for ValidateFile {
    fn reload(&self) -> BoxFuture<Result<(), ConfigError>> {
        let this = self.clone();
        Box::pin(async move {
            let loaded = tokio::task::spawn_blocking(move || {
                config::load(this.path.as_deref(), &this.overrides)
            })
            .await
            .map_err(|_| {
                ConfigError::at(".", config::ConfigErrorKind::Invalid("reload task failed"))
            })??;
            for warning in &loaded.warnings {
                tracing::warn!(%warning, "configuration key ignored");
            }
            tracing::info!(
                destinations = loaded.config.destinations.len(),
                "configuration reloaded (validated; applying it needs the pipeline)"
            );
            Ok(())
        })
    }
}
