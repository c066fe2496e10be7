//! The listener's rustls configuration (ring provider), from PEM files. ALPN offers h2 and
//! http/1.1, matching the auto HTTP builder.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::error::ServeError;
use crate::config::ListenTls;

fn tls_error(path: &Path, source: impl std::error::Error + Send + Sync + 'static) -> ServeError {
    ServeError::Tls {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

/// Builds the acceptor from the certificate chain and key files.
pub fn acceptor(tls: &ListenTls) -> Result<TlsAcceptor, ServeError> {
    let certs = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| tls_error(&tls.cert_file, err))?;
    if certs.is_empty() {
        return Err(tls_error(
            &tls.cert_file,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "no certificate in file"),
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|err| tls_error(&tls.key_file, err))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| tls_error(&tls.cert_file, err))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| tls_error(&tls.key_file, err))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
