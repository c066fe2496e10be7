//! The browser test tools from npm, pinned by `tests/browser/package-lock.json`:
//! `playwright-core` (drives Debian's Chromium; never downloads a browser) and `binaryen`
//! 132 (the wasm-opt `dist` uses: Debian's binaryen 108 breaks wasm-bindgen's externref
//! table, see `wasm/inspector/build.sh`). Installed with `npm ci` into the git-ignored
//! `tests/browser/node_modules`.

use crate::stage::{StageError, exec};
use crate::workspace;
use std::path::PathBuf;
use std::process::Command;

/// The folder with `package.json` and its lock file.
fn browser_dir() -> PathBuf {
    workspace::path("tests/browser")
}

/// Where playwright-core lands; tests get it as `PLAYWRIGHT_CORE_DIR`.
pub fn playwright_core_dir() -> PathBuf {
    browser_dir().join("node_modules/playwright-core")
}

/// The npm binaryen's wasm-opt.
pub fn npm_wasm_opt() -> PathBuf {
    browser_dir().join("node_modules/.bin/wasm-opt")
}

/// Runs `npm ci` unless both packages are already installed.
pub fn ensure() -> Result<(), StageError> {
    if playwright_core_dir().join("package.json").is_file() && npm_wasm_opt().exists() {
        eprintln!("    playwright-core and binaryen present in tests/browser/node_modules");
        return Ok(());
    }
    eprintln!("    npm ci in {}", browser_dir().display());
    exec(
        "npm ci (tests/browser)",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(browser_dir()),
    )
}
