//! `dist/inspector/`: the browser inspector. Release (opt-level 3) rather than `small`:
//! for this module opt 3 + wasm-opt -Oz came out smaller (toolchain.md section 4).
//! Layout: the files of `wasm/inspector/www/` at the top, wasm-bindgen's output in `pkg/`.

use super::{copy_file, create_dir, wasm_opt};
use crate::stage::{StageError, exec};
use crate::workspace::{self, INSPECTOR_DIR};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The inspector's package name.
pub const PACKAGE: &str = "prw-inspector";
/// The browser target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Builds the page; `None` (with a notice) while its crate is absent.
pub fn build(dist: &Path) -> Result<Option<PathBuf>, StageError> {
    if !workspace::has_crate(INSPECTOR_DIR) {
        eprintln!("    skipped: {INSPECTOR_DIR} does not exist yet");
        return Ok(None);
    }
    exec(
        "cargo build (inspector)",
        workspace::cargo().args(["build", "--release", "--target", TARGET, "-p", PACKAGE]),
    )?;
    let stem = PACKAGE.replace('-', "_");
    let built = workspace::path("target")
        .join(TARGET)
        .join("release")
        .join(format!("{stem}.wasm"));
    let out = dist.join("inspector");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|source| StageError::Io {
            what: "remove",
            path: out.clone(),
            source,
        })?;
    }
    let pkg = out.join("pkg");
    create_dir(&pkg)?;
    exec(
        "wasm-bindgen",
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--out-dir"])
            .arg(&pkg)
            .arg(&built),
    )?;
    let bindgen_wasm = pkg.join(format!("{stem}_bg.wasm"));
    let unoptimized = pkg.join(format!("{stem}_bg.unopt.wasm"));
    std::fs::rename(&bindgen_wasm, &unoptimized).map_err(|source| StageError::Io {
        what: "rename",
        path: bindgen_wasm.clone(),
        source,
    })?;
    wasm_opt::optimize(&unoptimized, &bindgen_wasm)?;
    std::fs::remove_file(&unoptimized).map_err(|source| StageError::Io {
        what: "remove",
        path: unoptimized.clone(),
        source,
    })?;
    copy_tree(&workspace::path(INSPECTOR_DIR).join("www"), &out)?;
    Ok(Some(out))
}

/// Copies the files under `from` into `to`, keeping relative paths; a missing `from` is
/// an empty tree.
fn copy_tree(from: &Path, to: &Path) -> Result<(), StageError> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            copy_file(&source, &target)?;
        }
    }
    Ok(())
}
