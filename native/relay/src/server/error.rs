//! Errors that stop the server from starting.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// A file named in `listen` cannot be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The listener auth file holds no usable credential.
    #[error("{}: {reason}", path.display())]
    AuthFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The TLS certificate or key is unusable.
    #[error("{}: invalid TLS material", path.display())]
    Tls {
        /// The file.
        path: PathBuf,
        /// Parse or rustls error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
