//! Kill points for crash testing (cargo feature `failpoints`, enabled only by the soak build
//! of `prw`): named places inside rotation, retention and cursor commits where the process can
//! be made to SIGKILL itself, so a crash lands there on purpose instead of by chance.
//!
//! Configured with `PRW_WAL_FAILPOINTS="name=actions;name=actions"` in the `fail` crate's
//! syntax (e.g. `wal-rotate=return`, `wal-retention=2*off->return`); the `return` action kills
//! the process with SIGKILL. Without the feature, [`failpoint`] compiles to nothing.

/// A kill point named `name` (a no-op unless the feature is on and the point is configured).
#[inline]
pub(crate) fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    imp::eval(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(feature = "failpoints")]
mod imp {
    use std::sync::Once;

    static SETUP: Once = Once::new();

    pub(super) fn eval(name: &str) {
        SETUP.call_once(|| {
            let spec = std::env::var("PRW_WAL_FAILPOINTS").unwrap_or_default();
            for entry in spec.split(';').filter(|e| !e.trim().is_empty()) {
                if let Some((point, actions)) = entry.split_once('=') {
                    if let Err(err) = fail::cfg(point.trim(), actions.trim()) {
                        eprintln!("prw-wal: bad PRW_WAL_FAILPOINTS entry {entry:?}: {err}");
                    }
                }
            }
        });
        fail::fail_point!(name, |_| kill_self(name));
    }

    /// SIGKILL to this process: no destructor, no flush, exactly like `kill -9` from outside.
    fn kill_self(name: &str) {
        eprintln!("prw-wal: failpoint {name}: SIGKILL");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        // SIGKILL cannot be caught; this line is never reached in practice.
        std::process::abort();
    }
}
