//! Where things are: the repository root, `dist/`, `target/`, the optional crates, and the
//! versions `Cargo.lock` pins. Every path xtask hands to a program is absolute, so the
//! commands work from any current directory.
//!
//! The root is found at run time, never from the compile-time `CARGO_MANIFEST_DIR`: a
//! checkout copied or moved together with its `target/` would otherwise build and run the old
//! directory. Candidates, first match wins: `$CARGO_MANIFEST_DIR` as `cargo run` (so
//! `cargo xtask`) sets it for the running program, the directories above the xtask
//! executable (`<root>/target/debug/xtask`), the directories above the current one. A match
//! is a directory with `Cargo.toml` and `crates/xtask/Cargo.toml`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Envoy filter crate (added by its own issue; absent until then).
pub const ENVOY_FILTER_DIR: &str = "wasm/envoy-filter";
/// The browser inspector crate (added by its own issue; absent until then).
pub const INSPECTOR_DIR: &str = "wasm/inspector";

/// The repository root, found once per run (see the module docs); the current directory
/// when nothing matches.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let exe = std::env::current_exe().ok();
        let starts = manifest
            .into_iter()
            .chain(exe)
            .chain(std::iter::once(current.clone()));
        find_root(starts).unwrap_or(current)
    })
    .clone()
}

/// The first directory at or above one of `starts` (in order) that is this workspace.
fn find_root(starts: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    starts.into_iter().find_map(|start| {
        start
            .ancestors()
            .find(|dir| is_workspace_root(dir))
            .map(Path::to_path_buf)
    })
}

fn is_workspace_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("crates/xtask/Cargo.toml").is_file()
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
        .is_ok_and(|manifest| declares_feature(&manifest, feature))
}

/// Whether a manifest's text has a line `feature = ...` (features are the only such keys
/// with dashes that xtask asks about).
fn declares_feature(manifest: &str, feature: &str) -> bool {
    manifest.lines().any(|line| {
        line.trim_start()
            .strip_prefix(feature)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
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
    version_in_lock(&lock, name)
}

/// The `version` line right after `name = "<name>"` in a lock file's text.
fn version_in_lock(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            return lines
                .next()?
                .trim()
                .strip_prefix("version = \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen-macro"
version = "0.2.129"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
"#;

    #[test]
    fn lock_version_is_the_one_of_the_exact_package_name() {
        assert_eq!(
            version_in_lock(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
    }

    #[test]
    fn lock_without_the_package_has_no_version() {
        assert_eq!(version_in_lock(LOCK, "proxy-wasm"), None);
    }

    #[test]
    fn feature_is_found_only_as_a_key() {
        let manifest = "[features]\nembed-inspector = []\n# embed-inspector-docs\n";
        assert!(declares_feature(manifest, "embed-inspector"));
        assert!(!declares_feature(
            "[features]\nembed-inspector-x = []\n",
            "embed-inspector"
        ));
        assert!(!declares_feature("# embed-inspector\n", "embed-inspector"));
    }

    #[test]
    fn root_is_found_above_the_executable_of_a_moved_checkout() {
        let moved = tempfile_dir("moved-checkout");
        std::fs::create_dir_all(moved.join("crates/xtask")).unwrap();
        std::fs::create_dir_all(moved.join("target/debug")).unwrap();
        std::fs::write(moved.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(moved.join("crates/xtask/Cargo.toml"), "[package]\n").unwrap();
        let elsewhere = tempfile_dir("elsewhere");
        let found = find_root([elsewhere.clone(), moved.join("target/debug/xtask"), root()]);
        assert_eq!(found, Some(moved.clone()));
        assert_eq!(find_root([elsewhere.clone()]), None);
        let _ = std::fs::remove_dir_all(&moved);
        let _ = std::fs::remove_dir_all(&elsewhere);
    }

    /// A fresh directory under the system temp dir (xtask has no tempfile dependency).
    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn root_is_the_workspace_with_the_lock_file() {
        assert!(root().join("Cargo.lock").is_file());
        assert!(root().join("crates/xtask/Cargo.toml").is_file());
    }
}
