//! Builds for wasm targets that are checks rather than artifacts: clippy of the wasm crates
//! on their own targets, and the core on every target it must support (the no_std proof:
//! wasm32v1-none has no std at all).

use crate::dist::{envoy_filter, inspector};
use crate::stage::{StageError, Stages};
use crate::workspace::{self, ENVOY_FILTER_DIR, INSPECTOR_DIR};

/// A wasm crate and the target it is built for.
#[derive(Debug, Clone, Copy)]
pub struct WasmCrate {
    /// Its directory, relative to the root.
    pub dir: &'static str,
    /// Its cargo package name.
    pub package: &'static str,
    /// Its target triple.
    pub target: &'static str,
}

const WASM_CRATES: [WasmCrate; 2] = [
    WasmCrate {
        dir: ENVOY_FILTER_DIR,
        package: envoy_filter::PACKAGE,
        target: envoy_filter::TARGET,
    },
    WasmCrate {
        dir: INSPECTOR_DIR,
        package: inspector::PACKAGE,
        target: inspector::TARGET,
    },
];

/// The wasm crates that exist so far.
pub fn present() -> impl Iterator<Item = WasmCrate> {
    WASM_CRATES
        .into_iter()
        .filter(|krate| workspace::has_crate(krate.dir))
}

/// `cargo clippy -p <crate> --target <its target> --all-targets -- -D warnings` for each.
pub fn clippy(stages: &mut Stages) -> Result<(), StageError> {
    for krate in WASM_CRATES {
        let name = format!("clippy ({} on {})", krate.package, krate.target);
        if !workspace::has_crate(krate.dir) {
            eprintln!("==> {name}: skipped, {} does not exist yet", krate.dir);
            continue;
        }
        stages.run(
            &name,
            workspace::cargo().args([
                "clippy",
                "-p",
                krate.package,
                "--target",
                krate.target,
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    Ok(())
}

/// The core without default features for wasm32v1-none, and with them for the two wasm
/// targets that have std.
pub fn core_builds(stages: &mut Stages) -> Result<(), StageError> {
    stages.run(
        "no_std proof (prw-core on wasm32v1-none)",
        workspace::cargo().args([
            "build",
            "-p",
            "prw-core",
            "--no-default-features",
            "--target",
            "wasm32v1-none",
        ]),
    )?;
    for target in ["wasm32-wasip1", "wasm32-unknown-unknown"] {
        stages.run(
            &format!("prw-core on {target}"),
            workspace::cargo().args(["build", "-p", "prw-core", "--target", target]),
        )?;
    }
    Ok(())
}

/// The wasm crates' own tests: natively (`cargo test -p <crate>`: config parsing, report and
/// edge-simulation logic), then the inspector's exported functions in headless Chromium
/// (wasm-bindgen-test through `wasm-bindgen-test-runner` and chromedriver; the runner is set
/// in `.cargo/config.toml`).
pub fn tests(stages: &mut Stages, env: &[(String, std::path::PathBuf)]) -> Result<(), StageError> {
    let present: Vec<WasmCrate> = present().collect();
    if present.is_empty() {
        return Ok(());
    }
    let mut native = workspace::cargo();
    native.arg("test");
    for krate in &present {
        native.args(["-p", krate.package]);
    }
    stages.run(
        "tests (wasm crates, native)",
        native.envs(env.iter().map(|(k, v)| (k, v))),
    )?;
    if present.iter().any(|k| k.package == inspector::PACKAGE) {
        stages.run(
            "tests (inspector in headless Chromium)",
            workspace::cargo()
                .args([
                    "test",
                    "-p",
                    inspector::PACKAGE,
                    "--target",
                    inspector::TARGET,
                ])
                .envs(env.iter().map(|(k, v)| (k, v))),
        )?;
    }
    Ok(())
}
