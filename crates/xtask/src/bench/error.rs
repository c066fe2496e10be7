//! Why a benchmark step failed.

use std::fmt;
use std::path::PathBuf;

use crate::stage::StageError;

/// A benchmark step that could not be completed.
#[derive(Debug)]
pub enum BenchError {
    /// Setup or a build failed.
    Stage(StageError),
    /// A program could not be started.
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// A server did not say (or show) that it listens within the time allowed.
    NotListening { what: String, seconds: u64 },
    /// A server exited before it listened (see its log under `target/xtask/bench/`).
    ExitedEarly { what: String },
    /// A file operation failed.
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Talking to the test receiver's `/-/stats` failed.
    Stats { source: std::io::Error },
    /// A program's JSON output was not what was expected.
    Json { what: String, detail: String },
    /// `prw bench` exited with a code that means it did not run (usage, internal).
    Generator { code: Option<i32>, stderr: String },
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Stage(e) => write!(f, "{e}"),
            BenchError::Spawn { program, source } => write!(f, "cannot start {program}: {source}"),
            BenchError::NotListening { what, seconds } => {
                write!(f, "{what} did not listen within {seconds} s")
            }
            BenchError::ExitedEarly { what } => write!(f, "{what} exited before it listened"),
            BenchError::Io { what, path, source } => {
                write!(f, "cannot {what} {}: {source}", path.display())
            }
            BenchError::Stats { source } => {
                write!(f, "cannot read the test receiver's /-/stats: {source}")
            }
            BenchError::Json { what, detail } => write!(f, "unexpected output of {what}: {detail}"),
            BenchError::Generator { code, stderr } => {
                write!(f, "prw bench failed (exit {code:?}): {}", stderr.trim())
            }
        }
    }
}

impl std::error::Error for BenchError {}

impl From<StageError> for BenchError {
    fn from(e: StageError) -> Self {
        BenchError::Stage(e)
    }
}
