//! Reading the input of `prw inspect` from a relay's capture URL
//! (`http://127.0.0.1:9202/api/v1/captures/17`) instead of a file.
//!
//! Invariants: one GET (hyper 1 client, HTTP/1.1, `http://` or `https://`), bounded by
//! [`TIMEOUT`]; over https the relay's certificate is checked against the webpki (Mozilla)
//! roots, or only against `--ca-file` when given (a relay whose `listen.tls` certificate is
//! self-signed or from a private CA); `Authorization: Bearer <token file>` when a token file
//! is given; at most `max + 1` body bytes are kept, like a file read, so an oversized body
//! gets the same report. The body is taken byte for byte as served (hyper never decodes a
//! Content-Encoding; the relay serves the capture with the sender's). A non-2xx answer is an
//! error whose text includes the relay's own explanation (unknown or evicted id, capture off,
//! unauthorized).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Longest a fetch may take, answer body included.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A capture's body and its Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body as the relay kept it (cut to `max + 1` bytes).
    pub body: Vec<u8>,
    /// The Content-Type it had.
    pub content_type: Option<String>,
}

/// Why a capture could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an `http(s)://` URL this client can use.
    #[error("{url}: {reason}")]
    Url {
        /// The argument.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The token file cannot be read or is empty.
    #[error("bearer token file {}: {reason}", path.display())]
    Token {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The CA file cannot be read or holds no certificate.
    #[error("CA file {}: {reason}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No answer (connection refused, reset, TLS refused, ...).
    #[error("{url}: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// hyper's error and its causes, outermost first (the certificate error of a
        /// refused TLS handshake is a cause of "client error (Connect)").
        reason: String,
    },
    /// The body broke off.
    #[error("{url}: reading the answer: {source}")]
    Body {
        /// The URL.
        url: String,
        /// hyper's error.
        #[source]
        source: hyper::Error,
    },
    /// Nothing within [`TIMEOUT`].
    #[error("{url}: no complete answer within {}s", TIMEOUT.as_secs())]
    Timeout {
        /// The URL.
        url: String,
    },
    /// The relay answered, but not with a body.
    #[error("{url} answered {status}: {text}")]
    Status {
        /// The URL.
        url: String,
        /// Its status.
        status: u16,
        /// The start of its answer.
        text: String,
    },
    /// rustls refused the client configuration.
    #[error("cannot set up TLS: {0}")]
    TlsSetup(#[source] rustls::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl FetchError {
    /// Whether the command line itself is wrong (exit 64) rather than the fetch (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            FetchError::Url { .. } | FetchError::Token { .. } | FetchError::Ca { .. }
        )
    }
}

/// Whether `input` names a URL rather than a file.
pub fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

fn token(path: &Path) -> Result<String, FetchError> {
    let text = std::fs::read_to_string(path).map_err(|err| FetchError::Token {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(FetchError::Token {
            path: path.to_owned(),
            reason: "the file is empty".to_owned(),
        });
    }
    Ok(token.to_owned())
}

/// `err: cause: cause ...` (each cause once; hyper repeats some in its own text).
fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(next) = cause {
        let part = next.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = next.source();
    }
    text
}

/// The TLS client: the webpki roots, or only the certificates of `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, FetchError> {
    let roots = match ca_file {
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        Some(path) => {
            let ca = |reason: String| FetchError::Ca {
                path: path.to_owned(),
                reason,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|err| ca(err.to_string()))?;
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ca("no usable CERTIFICATE in the file".to_owned()));
            }
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(FetchError::TlsSetup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// GETs `url` (with the bearer token in `token_file`, if any; over https trusting `ca_file`
/// only, if given), keeping at most `max + 1` body bytes.
pub fn fetch(
    url: &str,
    token_file: Option<&Path>,
    ca_file: Option<&Path>,
    max: usize,
) -> Result<Fetched, FetchError> {
    let bad = |reason| FetchError::Url {
        url: url.to_owned(),
        reason,
    };
    if ca_file.is_some() && !url.starts_with("https://") {
        return Err(bad("--ca-file only applies to an https:// URL"));
    }
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    if uri.host().is_none() {
        return Err(bad("the URL has no host"));
    }
    let authorization = token_file
        .map(token)
        .transpose()?
        .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
        .transpose()
        .map_err(|_| FetchError::Token {
            path: token_file.map(Path::to_owned).unwrap_or_default(),
            reason: "the token is not a valid header value".to_owned(),
        })?;
    let tls = tls_config(ca_file)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(FetchError::Runtime)?;
    runtime.block_on(async {
        tokio::time::timeout(TIMEOUT, get(url, uri, tls, authorization, max))
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Timeout {
                    url: url.to_owned(),
                })
            })
    })
}

async fn get(
    url: &str,
    uri: hyper::Uri,
    tls: rustls::ClientConfig,
    authorization: Option<HeaderValue>,
    max: usize,
) -> Result<Fetched, FetchError> {
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = hyper::Request::get(uri);
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let request = request
        .header(
            USER_AGENT,
            concat!("prw-inspect/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|_| FetchError::Url {
            url: url.to_owned(),
            reason: "not a valid request URL",
        })?;
    let response = client
        .request(request)
        .await
        .map_err(|err| FetchError::Request {
            url: url.to_owned(),
            reason: with_causes(&err),
        })?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let limit = max.saturating_add(1);
    while bytes.len() < limit {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|source| FetchError::Body {
            url: url.to_owned(),
            source,
        })?;
        if let Ok(data) = frame.into_data() {
            let room = limit - bytes.len();
            bytes.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        }
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(bytes.get(..512.min(bytes.len())).unwrap_or_default())
            .trim()
            .to_owned();
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            text,
        });
    }
    Ok(Fetched {
        body: bytes,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_files() {
        assert!(is_url("http://127.0.0.1:9202/api/v1/captures/1"));
        assert!(is_url("https://relay/api/v1/captures/1"));
        assert!(!is_url("body.bin"));
        assert!(!is_url("-"));
    }

    #[test]
    fn bad_urls_and_ca_files_are_usage_errors() {
        let bad = fetch("http://", None, None, 10).unwrap_err();
        assert!(bad.is_usage(), "{bad}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("ca.pem");
        std::fs::write(&junk, "junk").unwrap();
        let ca = fetch("https://127.0.0.1:1/x", None, Some(&junk), 10).unwrap_err();
        assert!(ca.is_usage() && ca.to_string().contains("CA file"), "{ca}");
        let plain = fetch("http://127.0.0.1:1/x", None, Some(&junk), 10).unwrap_err();
        assert!(plain.is_usage(), "{plain}");
    }

    #[test]
    fn an_empty_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "\n").unwrap();
        let err = fetch("http://127.0.0.1:1/x", Some(&path), None, 10).unwrap_err();
        assert!(err.is_usage() && err.to_string().contains("empty"), "{err}");
    }
}
