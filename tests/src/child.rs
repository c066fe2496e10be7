//! A child process for tests: its output goes to a log file, it can be killed with SIGKILL
//! or stopped with SIGTERM, and it is always killed and reaped when the guard drops (also
//! when a test fails).
//!
//! Invariant: at most one live process per [`ChildProcess`]; [`ChildProcess::spawn`]
//! replaces a dead one (restart with the same command), never a live one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Why a child process could not be run or did not start.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// Spawning or waiting failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// It exited before it was ready.
    #[error("{name} exited ({status}) before it was ready; log tail:\n{log}")]
    Exited {
        /// The process.
        name: String,
        /// Exit status.
        status: std::process::ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// It did not become ready in time.
    #[error("{name} not ready after {waited:?} (waiting for {what}); log tail:\n{log}")]
    NotReady {
        /// The process.
        name: String,
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
        /// The end of its log.
        log: String,
    },
}

/// A supervised child process with a log file.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log_path: PathBuf,
    child: Option<Child>,
}

impl ChildProcess {
    /// Prepares `program args` (not started) logging to `log_path` (appended to across
    /// restarts).
    pub fn new(name: &str, program: &Path, args: Vec<String>, log_path: PathBuf) -> ChildProcess {
        ChildProcess {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            env: Vec::new(),
            log_path,
            child: None,
        }
    }

    /// Environment variables added for the next [`ChildProcess::spawn`] (the test process's
    /// own environment is never changed).
    pub fn set_env(&mut self, env: Vec<(String, String)>) {
        self.env = env;
    }

    /// Replaces the arguments used by the next [`ChildProcess::spawn`].
    pub fn set_args(&mut self, args: Vec<String>) {
        self.args = args;
    }

    /// Starts the process (after reaping a previous, dead one).
    pub fn spawn(&mut self) -> Result<(), ChildError> {
        self.kill();
        let io = |what: &str| {
            let what = format!("{what} ({})", self.name);
            move |source| ChildError::Io { what, source }
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io("opening the log"))?;
        let log_err = log.try_clone().map_err(io("cloning the log handle"))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io("spawning"))?;
        self.child = Some(child);
        Ok(())
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL (`kill -9`) and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait up to `grace` for it to exit (SIGKILL after that). Returns its
    /// exit code when it exited by itself.
    pub fn terminate(&mut self, grace: Duration) -> Option<i32> {
        self.stop_with("TERM", grace)?.code()
    }

    /// Sends `signal` (a name `kill` knows: `INT`, `TERM`, ...), then waits up to `grace`
    /// for it to exit (SIGKILL after that). Returns its exit status when it exited by
    /// itself within `grace`.
    pub fn stop_with(&mut self, signal: &str, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Polls `ready` every 50 ms until it returns `Some`, the process exits, or `timeout`.
    pub fn wait_ready<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&ChildProcess) -> Option<T>,
    ) -> Result<T, ChildError> {
        let start = Instant::now();
        loop {
            if let Some(value) = ready(self) {
                return Ok(value);
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(ChildError::Exited {
                        name: self.name.clone(),
                        status,
                        log: self.log_tail(30),
                    });
                }
            }
            if start.elapsed() > timeout {
                return Err(ChildError::NotReady {
                    name: self.name.clone(),
                    what: what.to_string(),
                    waited: timeout,
                    log: self.log_tail(30),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Processes a child started and reported by pid (e.g. `cargo xtask up`'s, each in its own
/// process group, so killing the child does not reach them): SIGKILLed when the guard drops,
/// also when a test fails.
#[derive(Debug, Default)]
pub struct PidGuard(pub Vec<u32>);

impl PidGuard {
    /// Whether process `pid` still exists.
    pub fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }
}

impl Drop for PidGuard {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The pid in the first `(pid N)` of `line`.
pub fn pid_in(line: &str) -> Option<u32> {
    line.split("(pid ").nth(1)?.split(')').next()?.parse().ok()
}

/// A free loopback port (bound then released: the caller binds it right away).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
