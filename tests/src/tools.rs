//! Finding external tools (Envoy) and built artifacts (the filter's .wasm) for tests.
//!
//! Invariant: a tool comes from its environment variable, else a well-known path; when it is
//! missing and `CI=true` the caller gets an error (the test fails), otherwise `Ok(None)` and
//! a printed reason (the test may skip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Why a tool or artifact is unavailable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// Not found while `CI=true`.
    #[error("{name} not found (set {env}); CI=true, so this fails instead of skipping")]
    MissingInCi {
        /// The tool.
        name: &'static str,
        /// Its environment variable.
        env: &'static str,
    },
    /// The environment variable names a file that does not exist.
    #[error("{env}={path} does not exist")]
    BadEnv {
        /// The variable.
        env: &'static str,
        /// Its value.
        path: String,
    },
    /// Building the artifact failed.
    #[error("building {what} failed: {detail}")]
    Build {
        /// What was being built.
        what: &'static str,
        /// The command's error output.
        detail: String,
    },
}

/// Whether `CI=true`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Finds a tool: `$env`, else the first of `defaults` that exists. `Ok(None)` means skip
/// (reason printed); an error means fail.
pub fn find_tool(
    name: &'static str,
    env: &'static str,
    defaults: &[&str],
) -> Result<Option<PathBuf>, ToolError> {
    if let Some(value) = std::env::var_os(env) {
        let path = PathBuf::from(&value);
        return if path.exists() {
            Ok(Some(path))
        } else {
            Err(ToolError::BadEnv {
                env,
                path: path.display().to_string(),
            })
        };
    }
    if let Some(found) = defaults.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Ok(Some(found));
    }
    if in_ci() {
        return Err(ToolError::MissingInCi { name, env });
    }
    println!("skipping: {name} not found (set {env} or install it)");
    Ok(None)
}

/// Envoy 1.40: `$ENVOY_BIN`, else `.venv/bin/envoy` in the workspace root (where
/// `cargo xtask test` installs it).
pub fn envoy() -> Result<Option<PathBuf>, ToolError> {
    let local = workspace_root().join(".venv/bin/envoy");
    let local = local.to_string_lossy().into_owned();
    find_tool("envoy", "ENVOY_BIN", &[&local])
}

/// The edge filter: `$PRW_ENVOY_FILTER_WASM` (what `cargo xtask dist` builds as
/// `dist/prw_envoy_filter.wasm`), else built once per test process with
/// `cargo build --profile small --target wasm32-wasip1 -p prw-envoy-filter` into
/// `target/prw-e2e-wasm` (a separate target dir, so the outer `cargo test` lock is not
/// contended). wasm-opt is not applied to this fallback build.
pub fn filter_wasm() -> Result<PathBuf, ToolError> {
    if let Some(value) = std::env::var_os("PRW_ENVOY_FILTER_WASM") {
        let path = PathBuf::from(&value);
        return if path.exists() {
            Ok(path)
        } else {
            Err(ToolError::BadEnv {
                env: "PRW_ENVOY_FILTER_WASM",
                path: path.display().to_string(),
            })
        };
    }
    static BUILT: OnceLock<Result<PathBuf, ToolError>> = OnceLock::new();
    BUILT.get_or_init(build_filter_wasm).clone()
}

fn build_filter_wasm() -> Result<PathBuf, ToolError> {
    let root = workspace_root();
    let target_dir = root.join("target/prw-e2e-wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--profile",
            "small",
            "--target",
            "wasm32-wasip1",
            "-p",
            "prw-envoy-filter",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| ToolError::Build {
            what: "prw-envoy-filter",
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        let detail = String::from_utf8_lossy(&output.stderr).into_owned();
        return Err(ToolError::Build {
            what: "prw-envoy-filter",
            detail,
        });
    }
    Ok(target_dir.join("wasm32-wasip1/small/prw_envoy_filter.wasm"))
}
