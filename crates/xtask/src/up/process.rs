//! A child process of the stack: started in its own process group (so a Ctrl-C reaches only
//! xtask, which then stops the stack in order), its output appended to a log file. Stopping
//! is the stack's job (SIGTERM, then a wait up to a deadline the stack shares among all its
//! processes, then SIGKILL); a [`Managed`] dropped while still running is killed at once, so
//! nothing outlives xtask. It can be started again with the same command line
//! ([`Managed::restart`], for relays that died).
//!
//! Invariant: at most one live child per [`Managed`]; a restart only follows an exit.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The command line of a process, kept to start it again.
#[derive(Debug, Clone)]
struct Spec {
    program: OsString,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
}

impl Spec {
    fn of(cmd: &Command) -> Spec {
        Spec {
            program: cmd.get_program().to_owned(),
            args: cmd.get_args().map(ToOwned::to_owned).collect(),
            dir: cmd.get_current_dir().map(Path::to_path_buf),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }
}

/// A running process of the stack.
#[derive(Debug)]
pub struct Managed {
    name: String,
    spec: Spec,
    child: Child,
    started: Instant,
    log: PathBuf,
}

/// Why a process could not be started.
#[derive(Debug)]
pub struct StartError {
    /// Which process.
    pub name: String,
    /// What failed.
    pub source: std::io::Error,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot start {}: {}", self.name, self.source)
    }
}

impl std::error::Error for StartError {}

fn spawn(name: &str, spec: &Spec, log: &Path) -> Result<Child, StartError> {
    let failed = |source| StartError {
        name: name.to_owned(),
        source,
    };
    let open = || OpenOptions::new().create(true).append(true).open(log);
    let out = open().map_err(failed)?;
    let err = open().map_err(failed)?;
    spec.command()
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(failed)
}

impl Managed {
    /// Starts `cmd` (program, arguments, directory) as `name`, appending stdout and stderr
    /// to `log`.
    pub fn start(name: &str, cmd: &Command, log: &Path) -> Result<Self, StartError> {
        let spec = Spec::of(cmd);
        let child = spawn(name, &spec, log)?;
        Ok(Managed {
            name: name.to_owned(),
            spec,
            child,
            started: Instant::now(),
            log: log.to_path_buf(),
        })
    }

    /// Starts the same command line again; only after it exited.
    pub fn restart(&mut self) -> Result<(), StartError> {
        if self.exited().is_none() {
            return Ok(());
        }
        self.child = spawn(&self.name, &self.spec, &self.log)?;
        self.started = Instant::now();
        Ok(())
    }

    /// The process's name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How long ago it was (re)started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
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

    /// Its exit status once it has exited (`None` while it runs or when unknown).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM (nothing when it has exited already).
    pub fn request_stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        // std can only send SIGKILL; `kill` sends the polite signal without unsafe code.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits until `deadline` for the exit, then SIGKILL. Processes asked to stop together
    /// share one deadline, so they wait in parallel.
    pub fn wait_stopped_until(&mut self, deadline: Instant) {
        while Instant::now() < deadline {
            if self.exited().is_some() {
                eprintln!("    stopped {}", self.name);
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        eprintln!("    {} did not stop in time: killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Managed {
    /// The orderly stop is the stack's (one deadline for all); whatever still runs here is
    /// killed at once.
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_process_restarts_with_the_same_command_line_and_log() {
        let log = std::env::temp_dir().join(format!("xtask-managed-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo run"]);
        let mut process = Managed::start("echo", &cmd, &log).unwrap();
        let first = process.pid();
        while process.exited().is_none() {
            thread::sleep(Duration::from_millis(10));
        }
        process.restart().unwrap();
        assert_ne!(process.pid(), first);
        while process.exited().is_none() {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "run\nrun\n");
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn stopping_a_running_process_ends_it() {
        let log = std::env::temp_dir().join(format!("xtask-sleep-{}.log", std::process::id()));
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let mut process = Managed::start("sleep", &cmd, &log).unwrap();
        assert!(process.exited().is_none());
        process.request_stop();
        process.wait_stopped_until(Instant::now() + Duration::from_secs(5));
        assert!(process.exited().is_some());
        // `sleep` ends on SIGTERM: stopped by the signal, not killed after the grace.
        let status = process.exit_status().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(15)
        );
        let _ = std::fs::remove_file(&log);
    }

    #[test]
    fn a_process_dropped_while_running_is_killed_at_once() {
        let log = std::env::temp_dir().join(format!("xtask-drop-{}.log", std::process::id()));
        let mut cmd = Command::new("sh");
        // Ignores SIGTERM: only SIGKILL ends it.
        cmd.args(["-c", "trap '' TERM; exec sleep 600"]);
        let process = Managed::start("stubborn", &cmd, &log).unwrap();
        let pid = process.pid();
        let started = Instant::now();
        drop(process);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        let _ = std::fs::remove_file(&log);
    }
}
