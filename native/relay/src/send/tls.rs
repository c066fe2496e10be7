//! A destination's TLS client (`tls_config`): the rustls configuration and the name the
//! server certificate is checked against.
//!
//! Semantics follow Prometheus's `tls_config` (Go's `crypto/tls`):
//! - trusted roots: with `ca`/`ca_file`, those certificates only (Go sets `RootCAs` to a pool
//!   holding just them); without, the system store, as Go's `SystemCertPool` (read with
//!   `rustls-native-certs`: the distribution's bundle, `SSL_CERT_FILE`, `SSL_CERT_DIR`), once
//!   per process; when the system store has no certificate at all (a scratch container), the
//!   bundled webpki (Mozilla) roots instead of trusting nothing;
//! - `cert`/`key`: a client certificate for mutual TLS;
//! - `server_name`: the name sent as SNI and checked against the certificate, instead of the
//!   URL's host;
//! - `insecure_skip_verify`: the certificate chain and name are not checked (the handshake
//!   signatures still are);
//! - `min_version`/`max_version`: TLS 1.2 and 1.3 (rustls has no 1.0/1.1; the config layer
//!   refuses them with that reason). Go's default minimum is TLS 1.2, as rustls's;
//! - ALPN: `http/1.1`, plus `h2` first when `enable_http2` is on.
//!
//! Invariant: [`client_config`] is a pure function of [`TlsSettings`]: the config layer calls
//! it at load to validate, the transport at start to build, so a configuration that loaded
//! always builds.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A TLS protocol version bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// Validated TLS settings of one client (PEM bytes already read).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The trusted CA certificates (PEM): when set, the only roots trusted.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and key (PEM) for mutual TLS.
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Name for SNI and certificate verification (default: the URL's host).
    pub server_name: Option<String>,
    /// Do not verify the server's certificate.
    pub insecure_skip_verify: bool,
    /// Lowest version accepted (default TLS 1.2).
    pub min_version: Option<TlsVersion>,
    /// Highest version accepted (default TLS 1.3).
    pub max_version: Option<TlsVersion>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .field("client_identity", &self.client_identity.is_some())
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .finish()
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM input did not parse, or held nothing usable.
    #[error("{what} is not valid PEM: {reason}")]
    Pem {
        /// Which input (`ca`, `cert`, `key`).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration (for example a key that does not match the
    /// certificate, or no version left between the bounds).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// Not a name a certificate can be checked against.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

fn pem_error(what: &'static str) -> impl Fn(rustls::pki_types::pem::Error) -> TlsError {
    move |err| TlsError::Pem {
        what,
        reason: err.to_string(),
    }
}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what))?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    Ok(certs)
}

/// The versions between the bounds, newest first.
fn versions(settings: &TlsSettings) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let min = settings.min_version.unwrap_or(TlsVersion::Tls12);
    let max = settings.max_version.unwrap_or(TlsVersion::Tls13);
    let mut out = Vec::new();
    if min <= TlsVersion::Tls13 && TlsVersion::Tls13 <= max {
        out.push(&rustls::version::TLS13);
    }
    if min <= TlsVersion::Tls12 && TlsVersion::Tls12 <= max {
        out.push(&rustls::version::TLS12);
    }
    out
}

/// The rustls client configuration for `settings`; ALPN offers `h2` when `http2`.
pub fn client_config(
    settings: &TlsSettings,
    http2: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions(settings))?;
    let builder = if settings.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SkipVerify(provider)))
    } else {
        builder.with_root_certificates(roots(settings)?)
    };
    let mut config = match &settings.client_identity {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let chain = certificates(cert_pem, "cert")?;
            let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(pem_error("key"))?;
            builder.with_client_auth_cert(chain, key)?
        }
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The roots `settings` trusts: `ca` alone when set, else the system store.
fn roots(settings: &TlsSettings) -> Result<Arc<RootCertStore>, TlsError> {
    let Some(pem) = &settings.ca_pem else {
        return Ok(system_roots());
    };
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem, "ca")? {
        roots.add(cert)?;
    }
    Ok(Arc::new(roots))
}

/// Where the roots trusted without `ca` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRoots {
    /// The system store (`rustls-native-certs`).
    System,
    /// The bundled webpki roots: the system store had no certificate.
    Webpki,
}

fn load_system_roots() -> (Arc<RootCertStore>, DefaultRoots) {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "reading the system certificate store");
    }
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!(
            "the system certificate store has no certificate: trusting the bundled webpki roots"
        );
        let webpki = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        return (Arc::new(webpki), DefaultRoots::Webpki);
    }
    (Arc::new(roots), DefaultRoots::System)
}

static SYSTEM_ROOTS: OnceLock<(Arc<RootCertStore>, DefaultRoots)> = OnceLock::new();

/// The roots trusted without `ca` (read once per process).
fn system_roots() -> Arc<RootCertStore> {
    Arc::clone(&SYSTEM_ROOTS.get_or_init(load_system_roots).0)
}

/// Where the roots trusted without `ca` come from on this machine.
pub fn default_roots() -> DefaultRoots {
    SYSTEM_ROOTS.get_or_init(load_system_roots).1
}

/// The name to verify and send as SNI: `server_name` when set, else `host`.
pub fn server_name(settings: &TlsSettings, host: &str) -> Result<ServerName<'static>, TlsError> {
    let name = settings.server_name.as_deref().unwrap_or(host);
    // A bracketed IPv6 host from a URI: `[::1]`.
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(name.to_owned()).map_err(|_| TlsError::ServerName(name.to_owned()))
}

/// `insecure_skip_verify`: any certificate is accepted; handshake signatures are still
/// verified with the provider's algorithms, so the peer must hold the key it presents.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bounds_pick_the_versions_between_them() {
        let only12 = TlsSettings {
            max_version: Some(TlsVersion::Tls12),
            ..TlsSettings::default()
        };
        assert_eq!(versions(&only12), [&rustls::version::TLS12]);
        let only13 = TlsSettings {
            min_version: Some(TlsVersion::Tls13),
            ..TlsSettings::default()
        };
        assert_eq!(versions(&only13), [&rustls::version::TLS13]);
        assert_eq!(versions(&TlsSettings::default()).len(), 2);
    }

    #[test]
    fn bad_pem_names_the_input() {
        let settings = TlsSettings {
            ca_pem: Some(b"not pem".to_vec()),
            ..TlsSettings::default()
        };
        let err = client_config(&settings, false).unwrap_err();
        assert!(err.to_string().starts_with("ca is not valid PEM"), "{err}");
    }

    #[test]
    fn a_ca_replaces_the_default_roots() {
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(vec!["ca.test".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let with_ca = TlsSettings {
            ca_pem: Some(ca.pem().into_bytes()),
            ..TlsSettings::default()
        };
        assert_eq!(roots(&with_ca).unwrap().len(), 1);
        let default = roots(&TlsSettings::default()).unwrap();
        assert!(
            default.len() > 1,
            "{:?} roots: {}",
            default_roots(),
            default.len()
        );
    }

    #[test]
    fn alpn_offers_h2_only_when_enabled() {
        let plain = client_config(&TlsSettings::default(), false).unwrap();
        assert_eq!(plain.alpn_protocols, [b"http/1.1".to_vec()]);
        let h2 = client_config(&TlsSettings::default(), true).unwrap();
        assert_eq!(h2.alpn_protocols[0], b"h2".to_vec());
    }

    #[test]
    fn server_name_overrides_the_host_and_accepts_ip_literals() {
        let named = TlsSettings {
            server_name: Some("receiver.test".into()),
            ..TlsSettings::default()
        };
        assert_eq!(
            server_name(&named, "127.0.0.1").unwrap(),
            ServerName::try_from("receiver.test").unwrap()
        );
        assert!(matches!(
            server_name(&TlsSettings::default(), "[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
    }
}
