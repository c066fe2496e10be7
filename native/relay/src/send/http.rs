//! The real transport: hyper 1 client (hyper-util connection pool), HTTP/1.1, plain or TLS
//! (rustls with the ring provider; webpki roots plus optional extra CA certificates).
//!
//! Invariants: each call is bounded by `remote_timeout` (connect, send, and reading the answer
//! head and body prefix); bodies beyond [`BODY_PREFIX_LIMIT`] are drained up to
//! [`DRAIN_LIMIT`] so the connection can be reused, never buffered.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use super::transport::{
    BODY_PREFIX_LIMIT, OutgoingRequest, Response, Transport, TransportError, TransportFuture,
};

/// Past this many body bytes the connection is abandoned instead of drained.
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// TLS settings of a destination (`tls_config`), as PEM bytes read by the config layer.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra CA certificates (`ca_file`), trusted beside the webpki roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and key (`cert_file`, `key_file`).
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file did not parse.
    #[error("{what} is not valid PEM: {source}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// The parser's error.
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A hyper client posting to destinations.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpTransport {
    /// A client with `remote_timeout` per attempt and the given TLS settings.
    pub fn new(remote_timeout: Duration, tls: &TlsOptions) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = &tls.ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|source| TlsError::Pem {
                    what: "ca_file",
                    source,
                })?;
                roots.add(cert)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let config = match &tls.client_identity {
            None => builder.with_no_client_auth(),
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|source| TlsError::Pem {
                        what: "cert_file",
                        source,
                    })?;
                let key =
                    PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem {
                        what: "key_file",
                        source,
                    })?;
                builder.with_client_auth_cert(chain, key)?
            }
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpTransport {
            client,
            timeout: remote_timeout,
        })
    }

    async fn attempt(&self, request: OutgoingRequest) -> Result<Response, TransportError> {
        let mut builder = hyper::Request::post(request.url);
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers;
        }
        let http_request = builder
            .body(Full::new(request.body))
            .map_err(|e| TransportError::Io(Box::new(e)))?;
        let answer = self.client.request(http_request).await.map_err(|e| {
            if e.is_connect() {
                TransportError::Connect(Box::new(e))
            } else {
                TransportError::Io(Box::new(e))
            }
        })?;
        let (parts, body) = answer.into_parts();
        let body_prefix = read_prefix(body).await?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body_prefix,
        })
    }
}

/// Keeps the first [`BODY_PREFIX_LIMIT`] bytes, drains the rest up to [`DRAIN_LIMIT`].
async fn read_prefix(mut body: Incoming) -> Result<Bytes, TransportError> {
    let mut prefix = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| TransportError::Io(Box::new(e)))?;
        if let Ok(data) = frame.into_data() {
            let room = BODY_PREFIX_LIMIT.saturating_sub(prefix.len());
            prefix.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            seen = seen.saturating_add(data.len());
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    Ok(prefix.freeze())
}

impl Transport for HttpTransport {
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.attempt(request))
                .await
                .unwrap_or(Err(TransportError::Timeout(self.timeout)))
        })
    }
}

#[cfg(test)]
mod tests;
