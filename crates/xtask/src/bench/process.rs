//! Child processes of the benchmark: each is killed (SIGKILL) and reaped when its guard is
//! dropped, also when the run fails half way. Every server listens on 127.0.0.1 only.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::error::BenchError;

/// Points `cmd`'s stdout and stderr at `path` (created or appended to).
pub fn log_to(cmd: &mut Command, path: &Path) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        what: "open",
        path: path.to_path_buf(),
        source,
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    let log2 = log.try_clone().map_err(io)?;
    cmd.stdout(Stdio::from(log)).stderr(Stdio::from(log2));
    Ok(())
}

/// A running child, killed on drop.
#[derive(Debug)]
pub struct Guard {
    name: String,
    child: Option<Child>,
}

impl Guard {
    /// Starts `cmd` (stdin closed) and guards it.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Guard, BenchError> {
        eprintln!("    $ {}", show(cmd));
        Guard::spawn_quiet(name, cmd)
    }

    /// Like [`Guard::spawn`] without echoing the command (for programs started many times).
    pub fn spawn_quiet(name: &str, cmd: &mut Command) -> Result<Guard, BenchError> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| BenchError::Spawn {
                program: name.to_owned(),
                source,
            })?;
        Ok(Guard {
            name: name.to_owned(),
            child: Some(child),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The child itself (to take its pipes).
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// `kill -9` and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let running = matches!(child.try_wait(), Ok(None));
            let _ = child.kill();
            let _ = child.wait();
            if running {
                eprintln!("    killed {} (pid {})", self.name, child.id());
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the child's stdout until a line `listening on ADDR` (the test receiver's
/// announcement), within `seconds`.
pub fn announced_addr(guard: &mut Guard, seconds: u64) -> Result<SocketAddr, BenchError> {
    let name = guard_name(guard);
    let not_listening = || BenchError::NotListening {
        what: name.clone(),
        seconds,
    };
    let stdout = guard
        .child_mut()
        .and_then(|c| c.stdout.take())
        .ok_or_else(not_listening)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            if let Some(addr) = line
                .strip_prefix("listening on ")
                .and_then(|a| a.trim().parse().ok())
            {
                let _ = tx.send(addr);
                // Keep reading so the child never blocks on a full pipe.
                for _ in lines.by_ref() {}
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(seconds))
        .map_err(|_| not_listening())
}

fn guard_name(guard: &Guard) -> String {
    guard.name.clone()
}

/// A port that was free a moment ago on 127.0.0.1 (for programs that cannot report the port
/// they bound, like vmagent).
pub fn free_port() -> Result<u16, BenchError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| BenchError::Io {
            what: "bind",
            path: "127.0.0.1:0".into(),
            source,
        })
}

/// Waits until `addr` accepts TCP connections, or the child exits, or `seconds` pass.
pub fn wait_listening(guard: &mut Guard, addr: SocketAddr, seconds: u64) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if guard.exited() {
            return Err(BenchError::ExitedEarly {
                what: guard_name(guard),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(BenchError::NotListening {
        what: guard_name(guard),
        seconds,
    })
}

/// `program arg arg` for the log.
pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
