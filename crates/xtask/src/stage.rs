//! Timed stages: each prints its name when it starts and its duration when it ends,
//! and a summary table at the end of the run.

use std::fmt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Why a stage failed.
#[derive(Debug)]
pub enum StageError {
    /// The program could not be started at all.
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// The program ran and exited unsuccessfully.
    Failed {
        stage: String,
        status: std::process::ExitStatus,
    },
    /// A file operation on `path` failed.
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// Something a stage needs is not there and setup cannot provide it.
    Missing { what: String, hint: &'static str },
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageError::Spawn { program, source } => write!(f, "cannot start {program}: {source}"),
            StageError::Failed { stage, status } => write!(f, "stage `{stage}` failed: {status}"),
            StageError::Io { what, path, source } => {
                write!(f, "cannot {what} {}: {source}", path.display())
            }
            StageError::Missing { what, hint } => write!(f, "{what} is missing: {hint}"),
        }
    }
}

impl std::error::Error for StageError {}

/// Records stage durations and prints them.
#[derive(Debug, Default)]
pub struct Stages {
    done: Vec<(String, Duration)>,
}

impl Stages {
    /// Runs `cmd` as the stage `name`, inheriting stdio.
    pub fn run(&mut self, name: &str, cmd: &mut Command) -> Result<(), StageError> {
        self.time(name, || exec(name, cmd))
    }

    /// Times an arbitrary step.
    pub fn time<T, E>(&mut self, name: &str, step: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        eprintln!("==> {name}");
        let start = Instant::now();
        let result = step();
        let took = start.elapsed();
        let outcome = if result.is_ok() { "ok" } else { "FAILED" };
        eprintln!("<== {name}: {outcome} in {:.1}s", took.as_secs_f64());
        self.done.push((name.to_owned(), took));
        result
    }

    /// Prints every stage's duration and the total.
    pub fn summary(&self) {
        let total: Duration = self.done.iter().map(|(_, d)| *d).sum();
        eprintln!("\nstage times:");
        for (name, took) in &self.done {
            eprintln!("  {:>8.1}s  {name}", took.as_secs_f64());
        }
        eprintln!("  {:>8.1}s  total", total.as_secs_f64());
    }
}

/// Runs `cmd` inside an already timed step (`name` for the error), echoing the command.
pub fn exec(name: &str, cmd: &mut Command) -> Result<(), StageError> {
    eprintln!("    $ {}", show(cmd));
    let status = cmd.status().map_err(|source| StageError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(StageError::Failed {
            stage: name.to_owned(),
            status,
        })
    }
}

/// `program arg arg`, with the environment variables the command sets first.
fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_command_shows_its_environment_then_program_and_arguments() {
        let mut cmd = Command::new("cargo");
        cmd.env("PRW_BIN", "/x/prw").args(["test", "--doc"]);
        assert_eq!(show(&cmd), "PRW_BIN=/x/prw cargo test --doc");
    }

    #[test]
    fn failing_program_fails_the_stage_with_its_name() {
        let mut stages = Stages::default();
        let err = stages.run("always fails", &mut Command::new("false"));
        assert!(
            matches!(err, Err(StageError::Failed { ref stage, .. }) if stage == "always fails")
        );
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = exec("x", &mut Command::new("/nonexistent/program"));
        assert!(matches!(err, Err(StageError::Spawn { .. })));
    }
}
