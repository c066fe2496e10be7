//! Process signals: SIGTERM and SIGINT end the server (graceful shutdown), SIGHUP runs the
//! reload hook and keeps going. Handlers are installed by [`Signals::install`] before the
//! listener is bound, so a signal sent as soon as the address is logged is never lost to
//! the default action.
//!
//! A graceful shutdown starts with a grace period ([`Signals::grace_period`]) during which
//! the relay still serves writes while load balancers notice its `/-/ready` answering 503;
//! a second SIGTERM or SIGINT ends the grace period at once (SIGHUP still reloads meanwhile).

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::handler::Reload;

/// Which signal ended [`Signals::until_terminated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// SIGTERM.
    Term,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

/// How a [`Signals::grace_period`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraceEnd {
    /// The whole period passed.
    Elapsed,
    /// A second SIGTERM or SIGINT cut it short.
    CutShort(Termination),
}

/// Installed SIGTERM, SIGINT and SIGHUP handlers.
#[derive(Debug)]
pub struct Signals {
    term: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    /// Installs the handlers (needs a tokio runtime).
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for SIGTERM or SIGINT, running `reload` on each SIGHUP meanwhile.
    pub async fn until_terminated(&mut self, reload: &Arc<dyn Reload>) -> Termination {
        loop {
            tokio::select! {
                _ = self.term.recv() => return Termination::Term,
                _ = self.interrupt.recv() => return Termination::Interrupt,
                _ = self.hangup.recv() => run_reload(reload).await,
            }
        }
    }

    /// Waits `grace`, or until the next SIGTERM or SIGINT (SIGHUP still reloads).
    pub async fn grace_period(&mut self, grace: Duration, reload: &Arc<dyn Reload>) -> GraceEnd {
        if grace.is_zero() {
            return GraceEnd::Elapsed;
        }
        tokio::select! {
            () = tokio::time::sleep(grace) => GraceEnd::Elapsed,
            signal = self.until_terminated(reload) => GraceEnd::CutShort(signal),
        }
    }
}

async fn run_reload(reload: &Arc<dyn Reload>) {
    tracing::info!("SIGHUP: reloading the configuration");
    if let Err(err) = reload.reload().await {
        tracing::error!(error = %err, "reload failed; keeping the running configuration");
    }
}
