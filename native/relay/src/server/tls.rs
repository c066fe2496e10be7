//! The listener's TLS acceptor, from the server configuration the config layer built at load
//! (`config::ListenTls`: certificate and key read and checked there).

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::config::ListenTls;

/// The acceptor of `tls`.
pub fn acceptor(tls: &ListenTls) -> TlsAcceptor {
    TlsAcceptor::from(Arc::clone(&tls.server_config))
}
