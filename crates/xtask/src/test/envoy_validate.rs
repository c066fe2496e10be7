//! `envoy --mode validate -c <file>` for every `envoy/*.yaml` (run from the root, so paths
//! in the configs are relative to it). Validation also loads the wasm filter and runs its
//! `on_configure`, so a bad plugin config fails here (toolchain.md section 1).

use crate::setup::envoy_bin;
use crate::stage::{StageError, exec};
use crate::workspace;
use std::process::Command;

/// Validates each config; prints a notice when there are none yet.
pub fn run() -> Result<(), StageError> {
    let dir = workspace::path("envoy");
    let mut configs: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    configs.sort();
    if configs.is_empty() {
        eprintln!("    skipped: no envoy/*.yaml yet");
        return Ok(());
    }
    for config in configs {
        exec(
            "envoy --mode validate",
            Command::new(envoy_bin())
                .current_dir(workspace::root())
                .args(["--mode", "validate", "--use-dynamic-base-id", "-c"])
                .arg(&config),
        )?;
    }
    Ok(())
}
