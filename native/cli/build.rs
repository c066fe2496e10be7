//! With feature `embed-inspector`, generates `$OUT_DIR/inspector_assets.rs`: a table of
//! `(relative path, include_bytes!(absolute path))` for every file under the directory named
//! by `PRW_INSPECTOR_DIST` (the built inspector: `dist/inspector/` from `cargo xtask dist`,
//! or `wasm/inspector/build.sh OUT_DIR`). Without the feature it does nothing.
//!
//! Hand-written (about 40 lines) rather than the `include_dir` crate: a flat table is all
//! `inspector_asset` needs, and this keeps the CLI free of a proc-macro dependency.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else {
            println!("cargo::rerun-if-changed={}", path.display());
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-env-changed=PRW_INSPECTOR_DIST");
    if std::env::var_os("CARGO_FEATURE_EMBED_INSPECTOR").is_none() {
        return Ok(());
    }
    let dist = std::env::var_os("PRW_INSPECTOR_DIST").ok_or(
        "feature embed-inspector needs PRW_INSPECTOR_DIST=<absolute path of the built inspector> \
         (dist/inspector from `cargo xtask dist`, or run wasm/inspector/build.sh OUT_DIR)",
    )?;
    let root = PathBuf::from(&dist)
        .canonicalize()
        .map_err(|e| format!("PRW_INSPECTOR_DIST={}: {e}", Path::new(&dist).display()))?;
    if !root.join("index.html").is_file() || !root.join("pkg").is_dir() {
        return Err(format!(
            "PRW_INSPECTOR_DIST={} is not a built inspector (no index.html and pkg/)",
            root.display()
        )
        .into());
    }
    let mut found = Vec::new();
    files(&root, &mut found)?;
    found.sort();
    let mut table = String::from("&[\n");
    for path in &found {
        let relative = path
            .strip_prefix(&root)?
            .to_str()
            .ok_or("non-UTF-8 file name")?;
        let relative = relative.replace(std::path::MAIN_SEPARATOR, "/");
        let absolute = path.to_str().ok_or("non-UTF-8 path")?;
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({absolute:?}).as_slice()),"
        )?;
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    std::fs::write(out.join("inspector_assets.rs"), table)?;
    Ok(())
}
