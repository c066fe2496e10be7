//! `cargo xtask dist`: every artifact into `dist/` (git-ignored), each as a timed stage:
//!
//! - `dist/prw_envoy_filter.wasm`: `--profile small` for wasm32-wasip1, then wasm-opt -Oz;
//! - `dist/inspector/`: release for wasm32-unknown-unknown, wasm-bindgen `--target web`
//!   into `dist/inspector/pkg/`, wasm-opt -Oz, plus a copy of `wasm/inspector/www/`;
//! - `dist/prw`: the release CLI, with `--features embed-inspector` and
//!   `PRW_INSPECTOR_DIST=<abs dist/inspector>` when the inspector was built and the CLI
//!   declares that feature.
//!
//! The wasm artifacts are built first so the CLI can embed the inspector. A step whose
//! crate does not exist yet prints a notice and is skipped. Nothing is built twice: each
//! artifact has one profile and one target.

pub mod cli;
pub mod envoy_filter;
pub mod inspector;
mod wasm_opt;

use crate::setup;
use crate::stage::{StageError, Stages};
use std::path::{Path, PathBuf};

/// What `dist` produced (absolute paths), for the tests' environment.
#[derive(Debug, Default)]
pub struct Artifacts {
    /// `dist/prw`.
    pub prw: Option<PathBuf>,
    /// `dist/prw_envoy_filter.wasm`.
    pub envoy_filter: Option<PathBuf>,
    /// `dist/inspector/`.
    pub inspector: Option<PathBuf>,
}

/// `cargo xtask dist`: setup for dist, then every artifact.
pub fn run() -> Result<(), StageError> {
    let mut stages = Stages::default();
    let result = setup::run(&mut stages, setup::FOR_DIST).and_then(|()| build(&mut stages));
    stages.summary();
    result.map(|artifacts| {
        for path in [artifacts.prw, artifacts.envoy_filter, artifacts.inspector]
            .into_iter()
            .flatten()
        {
            eprintln!("built {}", path.display());
        }
    })
}

/// Builds every artifact whose crate exists (after [`setup::FOR_DIST`]).
pub fn build(stages: &mut Stages) -> Result<Artifacts, StageError> {
    let dist = crate::workspace::dist();
    create_dir(&dist)?;
    let envoy_filter = stages.time("dist: envoy filter", || envoy_filter::build(&dist))?;
    let inspector = stages.time("dist: inspector", || inspector::build(&dist))?;
    let prw = stages.time("dist: prw", || cli::build(&dist, inspector.as_deref()))?;
    Ok(Artifacts {
        prw: Some(prw),
        envoy_filter,
        inspector,
    })
}

/// `mkdir -p`.
fn create_dir(dir: &Path) -> Result<(), StageError> {
    std::fs::create_dir_all(dir).map_err(|source| StageError::Io {
        what: "create",
        path: dir.to_path_buf(),
        source,
    })
}

/// Copies one file, creating the destination's directory.
fn copy_file(from: &Path, to: &Path) -> Result<(), StageError> {
    if let Some(parent) = to.parent() {
        create_dir(parent)?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|source| StageError::Io {
            what: "copy",
            path: from.to_path_buf(),
            source,
        })
}
