//! Errors that stop the server from starting.

use std::net::SocketAddr;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listen address cannot be bound.
    #[error("cannot bind {addr}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
}
