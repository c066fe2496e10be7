//! A child process of the stack: started in its own process group (so a Ctrl-C reaches only
//! xtask, which then stops the stack in order), its output appended to a log file, and
//! stopped on drop: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a process gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// A running process of the stack.
#[derive(Debug)]
pub struct Managed {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

/// Why a process could not be started.
#[derive(Debug)]
pub struct StartError {
    /// Which process.
    pub name: &'static str,
    /// What failed.
    pub source: std::io::Error,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot start {}: {}", self.name, self.source)
    }
}

impl std::error::Error for StartError {}

impl Managed {
    /// Starts `cmd` as `name`, appending stdout and stderr to `log`.
    pub fn start(name: &'static str, cmd: &mut Command, log: &Path) -> Result<Self, StartError> {
        let open = || OpenOptions::new().create(true).append(true).open(log);
        let out = open().map_err(|source| StartError { name, source })?;
        let err = open().map_err(|source| StartError { name, source })?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| StartError { name, source })?;
        Ok(Managed {
            name,
            child,
            log: log.to_path_buf(),
        })
    }

    /// The process's name in messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `Some(status text)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(err) => Some(format!("unknown ({err})")),
        }
    }

    /// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL. Idempotent.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        // std can only send SIGKILL; `kill` sends the polite signal without unsafe code.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                eprintln!("    stopped {}", self.name);
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "    {} did not stop within {STOP_GRACE:?}: killing it",
            self.name
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop();
    }
}
