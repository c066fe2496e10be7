//! A child process of the stack: started in its own process group (so a Ctrl-C reaches only
//! xtask, which then stops the stack in order), its output appended to a log file, and
//! stopped on drop: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL. It can be started
//! again with the same command line ([`Managed::restart`], for relays that died).
//!
//! Invariant: at most one live child per [`Managed`]; a restart only follows an exit.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a process gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

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

    /// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL. Does nothing once it has exited.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        self.request_stop();
        self.wait_stopped();
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

    /// Waits up to [`STOP_GRACE`] for the exit after [`Managed::request_stop`], then
    /// SIGKILL.
    pub fn wait_stopped(&mut self) {
        self.wait_stopped_until(Instant::now() + STOP_GRACE);
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
    fn drop(&mut self) {
        self.stop();
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
        process.stop();
        assert!(process.exited().is_some());
        let _ = std::fs::remove_file(&log);
    }
}
