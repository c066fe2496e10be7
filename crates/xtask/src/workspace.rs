//! Where things are: the repository root, `dist/`, `target/`, the optional crates, and the
//! versions `Cargo.lock` pins. Every path xtask hands to a program is absolute, so the
//! commands work from any current directory.

use std::path::PathBuf;
use std::process::Command;

/// The Envoy filter crate (added by its own issue; absent until then).
pub const ENVOY_FILTER_DIR: &str = "wasm/envoy-filter";
/// The browser inspector crate (added by its own issue; absent until then).
pub const INSPECTOR_DIR: &str = "wasm/inspector";

/// The repository root (two levels above this crate's manifest).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|crates| crates.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// `root/<relative>`.
pub fn path(relative: &str) -> PathBuf {
    root().join(relative)
}

/// `dist/`, where `cargo xtask dist` puts every artifact.
pub fn dist() -> PathBuf {
    path("dist")
}

/// Whether the crate in `dir` (relative to the root) exists yet.
pub fn has_crate(dir: &str) -> bool {
    path(dir).join("Cargo.toml").is_file()
}

/// Whether the crate in `dir` declares the cargo feature `feature`.
pub fn has_feature(dir: &str, feature: &str) -> bool {
    std::fs::read_to_string(path(dir).join("Cargo.toml"))
        .map(|manifest| {
            manifest
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("{feature} =")))
        })
        .unwrap_or(false)
}

/// The cargo that runs xtask (so `+toolchain` overrides carry over), in the root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// The version of package `name` in `Cargo.lock`, if the lock file has it.
pub fn locked_version(name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(path("Cargo.lock")).ok()?;
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}
