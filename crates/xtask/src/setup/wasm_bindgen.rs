//! `wasm-bindgen-cli`, which must be exactly the version of the `wasm-bindgen` crate in
//! `Cargo.lock`. Installed with `cargo install --version` (without `--locked`: the CLI's
//! own lock file pins crates that no longer build; see toolchain.md). Skipped while no
//! crate depends on wasm-bindgen.

use crate::probe;
use crate::stage::{StageError, exec};
use crate::workspace;

/// Installs the locked version unless `wasm-bindgen --version` already reports it.
pub fn ensure() -> Result<(), StageError> {
    let Some(wanted) = workspace::locked_version("wasm-bindgen") else {
        eprintln!("    no wasm-bindgen in Cargo.lock yet: nothing to install");
        return Ok(());
    };
    let current = probe::output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if current.split_whitespace().nth(1) == Some(wanted.as_str()) {
        eprintln!("    wasm-bindgen {wanted} present");
        return Ok(());
    }
    let found = if current.trim().is_empty() {
        "none"
    } else {
        current.trim()
    };
    eprintln!("    installing wasm-bindgen-cli {wanted} (found: {found})");
    exec(
        "cargo install wasm-bindgen-cli",
        workspace::cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]),
    )
}
