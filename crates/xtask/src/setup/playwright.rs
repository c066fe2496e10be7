//! npm `playwright-core` (driving the system Chromium; no browser download) for the
//! inspector's end-to-end test, in the git-ignored `target/xtask/playwright`.

use crate::stage::{StageError, exec};
use crate::workspace;
use std::path::PathBuf;
use std::process::Command;

/// The version used by the test (toolchain.md).
pub const VERSION: &str = "1.65.1";

/// Where the package lands; tests get it as `PLAYWRIGHT_CORE_DIR`.
pub fn playwright_core_dir() -> PathBuf {
    workspace::path("target/xtask/playwright/node_modules/playwright-core")
}

/// Installs `playwright-core@VERSION` unless its package.json is already there.
pub fn ensure() -> Result<(), StageError> {
    let package_json = playwright_core_dir().join("package.json");
    let present = std::fs::read_to_string(&package_json)
        .is_ok_and(|json| json.contains(&format!("\"version\": \"{VERSION}\"")));
    if present {
        eprintln!("    playwright-core {VERSION} present");
        return Ok(());
    }
    let prefix = workspace::path("target/xtask/playwright");
    std::fs::create_dir_all(&prefix).map_err(|source| StageError::Io {
        what: "create",
        path: prefix.clone(),
        source,
    })?;
    eprintln!(
        "    installing playwright-core@{VERSION} into {}",
        prefix.display()
    );
    exec(
        "npm install playwright-core",
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(format!("playwright-core@{VERSION}")),
    )
}
