//! `cargo xtask test` (README command 2, and all that `.ci/run` calls).

use crate::stage::{StageError, Stages};
use std::process::Command;

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs the whole suite, printing the time of each stage.
pub fn run() -> Result<(), StageError> {
    let mut stages = Stages::default();
    let result = run_stages(&mut stages);
    stages.summary();
    result
}

fn run_stages(stages: &mut Stages) -> Result<(), StageError> {
    stages.run("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    stages.run(
        "clippy (host)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    stages.run("tests", cargo().args(["test", "--workspace"]))?;
    Ok(())
}
