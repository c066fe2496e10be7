//! Exclusive ownership of a WAL directory: `DIR/lock`, locked with `flock(LOCK_EX|LOCK_NB)`
//! for as long as the log is open. The kernel releases the lock when the process dies, so a
//! restart after `kill -9` just works; the file is never deleted (deleting a lock file races).
//! The holder writes its pid into the file, only so a second process can name it. A held lock
//! is retried for up to 2 s (see [`DirLock::acquire`]) before the open fails.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::WalError;

/// How long a held lock is retried before the open fails.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Name of the lock file inside the WAL directory.
pub const LOCK_FILE: &str = "lock";

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (which must exist) or fails with [`WalError::Locked`] naming the directory
    /// and, when it can be read, the holder's pid.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, WalError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(WalError::io("open", &path))?;
        // A lock released a moment ago can still be held by a child this process is just
        // forking (the child shares the open file until it execs): retry briefly before
        // calling the directory taken.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let mut attempt =
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive);
        while attempt == Err(rustix::io::Errno::WOULDBLOCK) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            attempt =
                rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive);
        }
        match attempt {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                return Err(WalError::Locked {
                    dir: dir.to_path_buf(),
                    pid,
                });
            }
            Err(errno) => {
                return Err(WalError::Io {
                    op: "flock",
                    path,
                    source: errno.into(),
                });
            }
        }
        // Best effort (a full disk must not stop the open): only improves a second process's
        // error message.
        let _ = file
            .set_len(0)
            .and_then(|()| (&file).write_all(format!("{}\n", std::process::id()).as_bytes()));
        Ok(DirLock { _file: file })
    }
}
