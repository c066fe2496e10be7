//! Process signals: SIGTERM and SIGINT end the server (graceful shutdown), SIGHUP runs the
//! reload hook and keeps going.

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};

use super::reload::Reload;

/// Which signal ended [`until_terminated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// SIGTERM.
    Term,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

/// Waits for SIGTERM or SIGINT, running `reload` on each SIGHUP meanwhile.
pub async fn until_terminated(reload: Arc<dyn Reload>) -> std::io::Result<Termination> {
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(Termination::Term),
            _ = interrupt.recv() => return Ok(Termination::Interrupt),
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                if let Err(err) = reload.reload().await {
                    tracing::error!(error = %err, "reload failed; keeping the running configuration");
                }
            }
        }
    }
}
