//! `dist/prw_envoy_filter.wasm`: the proxy-wasm filter for Envoy's V8 runtime.

use super::wasm_opt;
use crate::stage::{StageError, exec};
use crate::workspace::{self, ENVOY_FILTER_DIR};
use std::path::{Path, PathBuf};

/// The filter's package name and target.
pub const PACKAGE: &str = "prw-envoy-filter";
/// The target Envoy loads.
pub const TARGET: &str = "wasm32-wasip1";

/// Builds and optimises the filter; `None` (with a notice) while its crate is absent.
pub fn build(dist: &Path) -> Result<Option<PathBuf>, StageError> {
    if !workspace::has_crate(ENVOY_FILTER_DIR) {
        eprintln!("    skipped: {ENVOY_FILTER_DIR} does not exist yet");
        return Ok(None);
    }
    exec(
        "cargo build (filter)",
        workspace::cargo().args([
            "build",
            "--profile",
            "small",
            "--target",
            TARGET,
            "-p",
            PACKAGE,
        ]),
    )?;
    let built = workspace::path("target")
        .join(TARGET)
        .join("small")
        .join(format!("{}.wasm", PACKAGE.replace('-', "_")));
    let out = dist.join("prw_envoy_filter.wasm");
    wasm_opt::optimize(&built, &out)?;
    Ok(Some(out))
}
