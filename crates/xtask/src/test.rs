//! `cargo xtask test` (README command 2, and all that `.ci/run` calls). Stages, each timed,
//! stopping at the first failure:
//!
//! 1. setup (every area);
//! 2. `cargo fmt --check`;
//! 3. clippy on the host (`--workspace --all-targets -D warnings`, minus the wasm crates),
//!    then prw-wal once more with its `failpoints` feature (the soak build's kill points);
//! 4. clippy for each wasm crate on its own target;
//! 5. the no_std proof (core for wasm32v1-none without default features) and core builds
//!    for wasm32-wasip1 and wasm32-unknown-unknown;
//! 6. dist (every artifact, release built once);
//! 7. `envoy --mode validate` on `envoy/*.yaml`;
//! 8. the tests (nextest when installed, else `cargo test`), with the environment
//!    [`env::for_tests`] builds, then doc tests (nextest does not run them);
//! 9. the wasm crates' own tests: natively, and the inspector's in headless Chromium.
//!
//! The tests run over the default members: the wasm crates are tested on their own
//! targets by their own suites, never linked natively.

mod env;
mod envoy_validate;
mod wasm_builds;

use crate::stage::{StageError, Stages};
use crate::{dist, probe, setup, workspace};

/// Runs the whole suite, printing the time of each stage.
pub fn run() -> Result<(), StageError> {
    let mut stages = Stages::default();
    let result = run_stages(&mut stages);
    stages.summary();
    result
}

fn run_stages(stages: &mut Stages) -> Result<(), StageError> {
    setup::run(stages, setup::FOR_TEST)?;
    stages.run(
        "fmt",
        workspace::cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    let mut host_clippy = workspace::cargo();
    host_clippy.args(["clippy", "--workspace", "--all-targets"]);
    for krate in wasm_builds::present() {
        host_clippy.args(["--exclude", krate.package]);
    }
    stages.run("clippy (host)", host_clippy.args(["--", "-D", "warnings"]))?;
    stages.run(
        "clippy (prw-wal with failpoints)",
        workspace::cargo().args([
            "clippy",
            "-p",
            "prw-wal",
            "--features",
            "failpoints",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    wasm_builds::clippy(stages)?;
    wasm_builds::core_builds(stages)?;
    let artifacts = dist::build(stages)?;
    stages.time("envoy --mode validate", envoy_validate::run)?;
    let env = env::for_tests(&artifacts);
    if nextest_installed() {
        stages.run(
            "tests (nextest)",
            workspace::cargo()
                .args(["nextest", "run", "--no-tests=pass"])
                .envs(env.iter().map(|(k, v)| (k, v))),
        )?;
        stages.run(
            "doc tests",
            workspace::cargo()
                .args(["test", "--doc"])
                .envs(env.iter().map(|(k, v)| (k, v))),
        )?;
    } else {
        stages.run(
            "tests (cargo test, incl. doc tests)",
            workspace::cargo()
                .arg("test")
                .envs(env.iter().map(|(k, v)| (k, v))),
        )?;
    }
    wasm_builds::tests(stages, &env)?;
    Ok(())
}

fn nextest_installed() -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    probe::output(&cargo, &["nextest", "--version"]).is_some()
}
