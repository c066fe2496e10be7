//! Finding the external tools and artifacts the browser test needs. The rule (helper
//! standards): an environment variable or a well-known path; when `CI=true` a missing tool
//! fails the test, otherwise the test skips with a printed reason.
// Test support: clippy.toml allows unwrap in #[test] fns only.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether we run in CI (missing tools fail instead of skipping).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A missing tool: panics in CI, else prints why the test is skipped and returns `None`.
pub fn missing<T>(what: &str) -> Option<T> {
    assert!(!in_ci(), "CI=true and {what}: the browser test cannot run");
    eprintln!("SKIPPED inspector browser test: {what}");
    None
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Cargo's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// `$var` if set (it must exist: a wrong explicit path fails the test, never skips), else
/// the first of `defaults` that exists.
pub fn tool(var: &str, defaults: &[&str]) -> Option<PathBuf> {
    if let Some(set) = std::env::var_os(var) {
        let path = PathBuf::from(set);
        assert!(path.exists(), "{var}={} does not exist", path.display());
        return Some(path);
    }
    match defaults.iter().map(PathBuf::from).find(|p| p.exists()) {
        Some(path) => Some(path),
        None => missing(&format!("{var} is unset and none of {defaults:?} exists")),
    }
}

/// A program on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The built inspector folder: `PRW_INSPECTOR_DIR`, else built now with
/// `wasm/inspector/build.sh` (the same steps as `cargo xtask dist`).
pub fn inspector_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PRW_INSPECTOR_DIR") {
        let dir = PathBuf::from(dir);
        let built = dir.join("index.html").exists() && dir.join("pkg").exists();
        assert!(
            built,
            "PRW_INSPECTOR_DIR={} holds no built inspector",
            dir.display()
        );
        return Some(dir);
    }
    // build.sh also wants a wasm-opt, but works (unoptimised) without a usable one.
    if on_path("wasm-bindgen").is_none() {
        return missing("PRW_INSPECTOR_DIR is unset and wasm-bindgen is not on PATH");
    }
    let out = target_dir().join("inspector-e2e");
    let status = Command::new("bash")
        .arg(workspace_root().join("wasm/inspector/build.sh"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "wasm/inspector/build.sh failed: {status}");
    Some(out)
}

/// The directory of the `playwright-core` package: `PLAYWRIGHT_CORE_DIR`, else
/// `tests/browser/node_modules/playwright-core`, installed with `npm ci` from the committed
/// lock file when missing (playwright-core never downloads a browser; the same install
/// brings the binaryen that wasm/inspector/build.sh uses).
pub fn playwright_core() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PLAYWRIGHT_CORE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let browser_dir = workspace_root().join("tests/browser");
    let dir = browser_dir.join("node_modules/playwright-core");
    let installed = dir.join("package.json").exists()
        && browser_dir
            .join("node_modules/binaryen/package.json")
            .exists();
    if !installed {
        let Some(npm) = on_path("npm") else {
            return missing("playwright-core is not installed and npm is not on PATH");
        };
        let status = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&browser_dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci in tests/browser failed: {status}");
    }
    Some(dir)
}

/// The `prw` binary: `PRW_BIN` (xtask sets it to dist/prw), else built now in the dev
/// profile.
pub fn prw_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PRW_BIN") {
        return PathBuf::from(bin);
    }
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "prw", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p prw failed: {status}");
    target_dir().join("debug").join("prw")
}

/// What the browser tests need: Chromium, node, playwright-core, the built page, and the
/// folder for screenshots (`target/artifacts`, created).
pub struct BrowserTools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// `node`.
    pub node: PathBuf,
    /// The `playwright-core` package directory.
    pub playwright_core: PathBuf,
    /// The built inspector folder.
    pub inspector: PathBuf,
    /// Where screenshots and observations go.
    pub artifacts: PathBuf,
}

/// Finds every tool of [`BrowserTools`]; `None` (after printing why) when one is missing
/// outside CI.
pub fn browser_tools() -> Option<BrowserTools> {
    let chromium = tool("CHROMIUM_BIN", &["/usr/bin/chromium"])?;
    let node = on_path("node").or_else(|| missing("node is not on PATH"))?;
    let playwright_core = playwright_core()?;
    let inspector = inspector_dir()?;
    let artifacts = target_dir().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    Some(BrowserTools {
        chromium,
        node,
        playwright_core,
        inspector,
        artifacts,
    })
}
