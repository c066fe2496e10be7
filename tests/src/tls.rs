//! TLS for test servers: a self-signed identity ([`Identity::self_signed`]) whose
//! certificate a client can trust as its CA, the rustls acceptor the receiver serves HTTPS
//! with (ALPN `h2`, `http/1.1`), and a client config trusting it (for a relay's `listen.tls`).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate and its key.
#[derive(Clone)]
pub struct Identity {
    /// The certificate (PEM), usable as a trusted CA by a client.
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM), for a server configured with files (`listen.tls`).
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// Why an identity could not be made.
#[derive(Debug, thiserror::Error)]
#[error("self-signed certificate: {0}")]
pub struct TlsError(#[from] rcgen::Error);

impl Identity {
    /// A self-signed certificate for `names` (DNS names or IP literals).
    pub fn self_signed(names: &[&str]) -> Result<Identity, TlsError> {
        let key = rcgen::KeyPair::generate()?;
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )?;
        let cert = params.self_signed(&key)?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// A client trusting only this certificate (TLS 1.2 and 1.3, no client certificate).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// The server side (TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`).
    pub fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_no_client_auth().with_single_cert(
                    vec![self.cert_der.clone()],
                    PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
                )
            });
        let mut config = config?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}
