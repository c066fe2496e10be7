//! rustup targets for the wasm artifacts and the no_std proof.

use crate::probe;
use crate::stage::{StageError, exec};
use std::process::Command;

/// The targets `dist` and `test` build for.
pub const TARGETS: &[&str] = &["wasm32-wasip1", "wasm32-unknown-unknown", "wasm32v1-none"];

/// Adds the targets that `rustup target list --installed` does not list.
pub fn ensure_targets() -> Result<(), StageError> {
    let installed = probe::output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|line| line.trim() == *t))
        .collect();
    if missing.is_empty() {
        eprintln!("    all targets installed: {}", TARGETS.join(" "));
        return Ok(());
    }
    eprintln!("    adding targets: {}", missing.join(" "));
    exec(
        "rustup target add",
        Command::new("rustup")
            .args(["target", "add"])
            .args(&missing),
    )
}
