//! The files `listen:` names, read and parsed at load (so `--check-config` and start agree,
//! and the server uses what was checked): the bearer token or the basic-auth users of
//! `listen.auth`, and the certificate chain and key of `listen.tls`, built into the rustls
//! server configuration (ring provider; ALPN h2 and http/1.1, matching the auto HTTP
//! builder).
//!
//! Invariants: a [`ListenAuth`] always holds a non-empty token or at least one user; a
//! [`ListenTls`] always holds a server configuration rustls accepted. Secrets never appear in
//! `Debug` output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How senders authenticate to the relay, with the credentials read from the file.
#[derive(Clone, PartialEq, Eq)]
pub enum ListenAuth {
    /// `bearer_token_file`: `Authorization: Bearer <token>`.
    BearerToken {
        /// The file.
        file: PathBuf,
        /// The token (trimmed, not empty).
        token: String,
    },
    /// `basic_auth_users_file`: `Authorization: Basic` checked against these users.
    BasicAuthUsers {
        /// The file.
        file: PathBuf,
        /// `(user, password)` pairs (at least one).
        users: Vec<(String, String)>,
    },
}

impl fmt::Debug for ListenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BearerToken { file, .. } => f
                .debug_struct("BearerToken")
                .field("file", file)
                .field("token", &"<secret>")
                .finish(),
            Self::BasicAuthUsers { file, users } => f
                .debug_struct("BasicAuthUsers")
                .field("file", file)
                .field("users", &users.len())
                .finish(),
        }
    }
}

/// The listener's certificate and key files and the server configuration built from them.
#[derive(Clone)]
pub struct ListenTls {
    /// Certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Private key (PEM, PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// What the listener serves with.
    pub server_config: Arc<ServerConfig>,
}

impl PartialEq for ListenTls {
    fn eq(&self, other: &Self) -> bool {
        self.cert_file == other.cert_file && self.key_file == other.key_file
    }
}

impl Eq for ListenTls {}

impl fmt::Debug for ListenTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenTls")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

/// A `listen` file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ListenFileError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file holds no usable credential.
    #[error("{}: {reason}", path.display())]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The certificate or key is not usable TLS material.
    #[error("{}: invalid TLS material: {source}", path.display())]
    Tls {
        /// The file at fault.
        path: PathBuf,
        /// Parse or rustls error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ListenFileError {
    /// The file at fault.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. } | Self::Content { path, .. } | Self::Tls { path, .. } => path,
        }
    }
}

fn read(path: &Path) -> Result<String, ListenFileError> {
    std::fs::read_to_string(path).map_err(|source| ListenFileError::Read {
        path: path.to_owned(),
        source,
    })
}

impl ListenAuth {
    /// Reads a bearer token file (trimmed; empty is refused).
    pub fn bearer_token_file(path: &Path) -> Result<Self, ListenFileError> {
        let token = read(path)?.trim().to_owned();
        if token.is_empty() {
            return Err(ListenFileError::Content {
                path: path.to_owned(),
                reason: "the bearer token file is empty",
            });
        }
        Ok(Self::BearerToken {
            file: path.to_owned(),
            token,
        })
    }

    /// Reads a `user:password` file (one per line; `#` comments and blank lines allowed;
    /// the password is everything after the first `:`).
    pub fn basic_auth_users_file(path: &Path) -> Result<Self, ListenFileError> {
        let mut users = Vec::new();
        for line in read(path)?.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                return Err(ListenFileError::Content {
                    path: path.to_owned(),
                    reason: "each line must be user:password",
                });
            };
            users.push((user.to_owned(), password.to_owned()));
        }
        if users.is_empty() {
            return Err(ListenFileError::Content {
                path: path.to_owned(),
                reason: "the users file lists no user",
            });
        }
        Ok(Self::BasicAuthUsers {
            file: path.to_owned(),
            users,
        })
    }

    /// The file the credentials came from.
    pub fn file(&self) -> &Path {
        match self {
            Self::BearerToken { file, .. } | Self::BasicAuthUsers { file, .. } => file,
        }
    }
}

fn tls_error(
    path: &Path,
    source: impl std::error::Error + Send + Sync + 'static,
) -> ListenFileError {
    ListenFileError::Tls {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

impl ListenTls {
    /// Reads the certificate chain and key and builds the server configuration.
    pub fn from_files(cert_file: &Path, key_file: &Path) -> Result<Self, ListenFileError> {
        let certs = CertificateDer::pem_file_iter(cert_file)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|err| tls_error(cert_file, err))?;
        if certs.is_empty() {
            return Err(ListenFileError::Content {
                path: cert_file.to_owned(),
                reason: "no CERTIFICATE block in the file",
            });
        }
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|err| tls_error(key_file, err))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| tls_error(cert_file, err))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|err| tls_error(key_file, err))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ListenTls {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            server_config: Arc::new(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_is_parsed_and_empty_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# comment\n\nalice:pw\nbob:a:b\n").unwrap();
        let ListenAuth::BasicAuthUsers { users, .. } =
            ListenAuth::basic_auth_users_file(&path).unwrap()
        else {
            panic!("expected basic");
        };
        assert_eq!(
            users,
            vec![("alice".into(), "pw".into()), ("bob".into(), "a:b".into())]
        );
        std::fs::write(&path, "# nobody\n").unwrap();
        assert!(matches!(
            ListenAuth::basic_auth_users_file(&path),
            Err(ListenFileError::Content { .. })
        ));
        std::fs::write(&path, "nocolon\n").unwrap();
        assert!(ListenAuth::basic_auth_users_file(&path).is_err());
    }

    #[test]
    fn bearer_file_is_trimmed_empty_refused_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let auth = ListenAuth::bearer_token_file(&path).unwrap();
        assert!(matches!(&auth, ListenAuth::BearerToken { token, .. } if token == "s3cret"));
        assert!(!format!("{auth:?}").contains("s3cret"));
        std::fs::write(&path, " \n").unwrap();
        assert!(ListenAuth::bearer_token_file(&path).is_err());
        let missing = ListenAuth::bearer_token_file(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, ListenFileError::Read { .. }));
    }

    #[test]
    fn tls_files_are_parsed_and_the_faulty_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key, junk) = (
            dir.path().join("cert.pem"),
            dir.path().join("key.pem"),
            dir.path().join("junk.pem"),
        );
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        std::fs::write(&junk, "junk").unwrap();
        let tls = ListenTls::from_files(&cert, &key).unwrap();
        assert_eq!(tls.server_config.alpn_protocols[0], b"h2");
        assert_eq!(ListenTls::from_files(&junk, &key).unwrap_err().path(), junk);
        assert_eq!(
            ListenTls::from_files(&cert, &junk).unwrap_err().path(),
            junk
        );
        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&junk, other.serialize_pem()).unwrap();
        assert_eq!(
            ListenTls::from_files(&cert, &junk).unwrap_err().path(),
            junk
        );
    }
}
