//! The HTTP client keys of a `remote_write` stanza (Prometheus `common/config.HTTPClientConfig`):
//! `basic_auth`, `authorization`, legacy `bearer_token`/`bearer_token_file`, `tls_config`.
//! At most one auth method per destination, as in Prometheus. Keys that reference secrets
//! stores (`*_ref`) are refused.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::secret::SecretSource;

/// `basic_auth` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// User name. Default: empty.
    pub username: String,
    /// File holding the user name. Default: none.
    pub username_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub username_ref: Option<String>,
    /// Password. Default: empty.
    pub password: Option<String>,
    /// File holding the password. Default: none.
    pub password_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub password_ref: Option<String>,
}

/// `authorization` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizationConfig {
    /// Scheme. Default: `Bearer`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The credentials. Default: none.
    pub credentials: Option<String>,
    /// File holding the credentials. Default: none.
    pub credentials_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub credentials_ref: Option<String>,
}

/// `tls_config` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Inline PEM CA certificates.
    pub ca: Option<String>,
    /// CA certificates file (PEM).
    pub ca_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub ca_ref: Option<String>,
    /// Inline PEM client certificate.
    pub cert: Option<String>,
    /// Client certificate file (PEM).
    pub cert_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub cert_ref: Option<String>,
    /// Inline PEM client key.
    pub key: Option<String>,
    /// Client key file (PEM).
    pub key_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub key_ref: Option<String>,
    /// Server name for SNI and certificate verification. Default: the URL's host.
    pub server_name: Option<String>,
    /// Skip certificate verification. Default: false.
    pub insecure_skip_verify: bool,
    /// Lowest TLS version: `TLS12` or `TLS13` (`TLS10`/`TLS11` refused: rustls lacks them).
    pub min_version: Option<String>,
    /// Highest TLS version: `TLS12` or `TLS13`.
    pub max_version: Option<String>,
}

/// How a destination authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// User name.
        username: SecretSource,
        /// Password (may be empty).
        password: SecretSource,
    },
    /// `Authorization: <scheme> <credentials>`.
    Authorization {
        /// Scheme, `Bearer` by default.
        scheme: String,
        /// The credentials.
        credentials: SecretSource,
    },
}

/// A PEM source: inline text or a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PemSource {
    /// PEM text in the configuration file.
    Inline(String),
    /// PEM file.
    File(PathBuf),
}

/// TLS protocol version bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// Validated client TLS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// Extra trusted CA certificates; none means the platform's web PKI roots.
    pub ca: Option<PemSource>,
    /// Client certificate and key for mutual TLS.
    pub client_cert: Option<(PemSource, PemSource)>,
    /// Server name override.
    pub server_name: Option<String>,
    /// Skip verification.
    pub insecure_skip_verify: bool,
    /// Lowest version, if bounded.
    pub min_version: Option<TlsVersion>,
    /// Highest version, if bounded.
    pub max_version: Option<TlsVersion>,
}

fn one_of<T: Clone>(
    path: &KeyPath,
    inline: Option<T>,
    file_key: &str,
    file: Option<PathBuf>,
    wrap_inline: impl FnOnce(T) -> PemSource,
) -> Result<Option<PemSource>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(path
            .key(file_key)
            .invalid("set either the inline value or the file, not both")),
        (Some(value), None) => Ok(Some(wrap_inline(value))),
        (None, Some(file)) => Ok(Some(PemSource::File(file))),
        (None, None) => Ok(None),
    }
}

fn version(path: &KeyPath, value: Option<&str>) -> Result<Option<TlsVersion>, ConfigError> {
    match value {
        None => Ok(None),
        Some("TLS12") => Ok(Some(TlsVersion::Tls12)),
        Some("TLS13") => Ok(Some(TlsVersion::Tls13)),
        Some("TLS10" | "TLS11") => Err(path.refused("TLS 1.0 and 1.1 are not supported (rustls)")),
        Some(other) => Err(path.invalid_value("TLS version (TLS12 or TLS13)", other)),
    }
}

impl TlsConfig {
    /// Validates the TLS block.
    pub fn build(&self, path: &KeyPath) -> Result<ClientTls, ConfigError> {
        for (key, value) in [
            ("ca_ref", &self.ca_ref),
            ("cert_ref", &self.cert_ref),
            ("key_ref", &self.key_ref),
        ] {
            if value.is_some() {
                return Err(path
                    .key(key)
                    .refused("secret references are not supported; use the *_file key"));
            }
        }
        let ca = one_of(
            path,
            self.ca.clone(),
            "ca_file",
            self.ca_file.clone(),
            PemSource::Inline,
        )?;
        let cert = one_of(
            path,
            self.cert.clone(),
            "cert_file",
            self.cert_file.clone(),
            PemSource::Inline,
        )?;
        let key = one_of(
            path,
            self.key.clone(),
            "key_file",
            self.key_file.clone(),
            PemSource::Inline,
        )?;
        let client_cert = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(path
                    .key("key_file")
                    .invalid("a client certificate needs a key"));
            }
            (None, Some(_)) => {
                return Err(path
                    .key("cert_file")
                    .invalid("a client key needs a certificate"));
            }
        };
        let min_version = version(&path.key("min_version"), self.min_version.as_deref())?;
        let max_version = version(&path.key("max_version"), self.max_version.as_deref())?;
        if let (Some(min), Some(max)) = (min_version, max_version) {
            if min > max {
                return Err(path
                    .key("max_version")
                    .invalid("must not be below min_version"));
            }
        }
        Ok(ClientTls {
            ca,
            client_cert,
            server_name: self.server_name.clone().filter(|name| !name.is_empty()),
            insecure_skip_verify: self.insecure_skip_verify,
            min_version,
            max_version,
        })
    }
}

fn secret(
    path: &KeyPath,
    inline: Option<&String>,
    file_key: &str,
    file: Option<&PathBuf>,
) -> Result<Option<SecretSource>, ConfigError> {
    match (inline.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(path
            .key(file_key)
            .invalid("set either the inline value or the file, not both")),
        (Some(value), None) => Ok(Some(SecretSource::Inline(value.clone()))),
        (None, Some(file)) => Ok(Some(SecretSource::File(file.clone()))),
        (None, None) => Ok(None),
    }
}

impl BasicAuthConfig {
    /// Validates the block (Prometheus: username or username_file, not both).
    pub fn build(&self, path: &KeyPath) -> Result<ClientAuth, ConfigError> {
        for (key, value) in [
            ("username_ref", &self.username_ref),
            ("password_ref", &self.password_ref),
        ] {
            if value.is_some() {
                return Err(path
                    .key(key)
                    .refused("secret references are not supported; use the *_file key"));
            }
        }
        let username = secret(
            path,
            Some(&self.username),
            "username_file",
            self.username_file.as_ref(),
        )?
        .unwrap_or_else(|| SecretSource::Inline(String::new()));
        let password = secret(
            path,
            self.password.as_ref(),
            "password_file",
            self.password_file.as_ref(),
        )?
        .unwrap_or_else(|| SecretSource::Inline(String::new()));
        Ok(ClientAuth::Basic { username, password })
    }
}

impl AuthorizationConfig {
    /// Validates the block (Prometheus: `Basic` is refused as a type; credentials or file).
    pub fn build(&self, path: &KeyPath) -> Result<ClientAuth, ConfigError> {
        if self.credentials_ref.is_some() {
            return Err(path
                .key("credentials_ref")
                .refused("secret references are not supported; use credentials_file"));
        }
        let scheme = self
            .kind
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Bearer".to_owned());
        if scheme.eq_ignore_ascii_case("basic") {
            return Err(path.key("type").invalid(
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ));
        }
        let credentials = secret(
            path,
            self.credentials.as_ref(),
            "credentials_file",
            self.credentials_file.as_ref(),
        )?
        .unwrap_or_else(|| SecretSource::Inline(String::new()));
        Ok(ClientAuth::Authorization {
            scheme,
            credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(yaml: &str) -> Result<ClientTls, ConfigError> {
        serde_yaml::from_str::<TlsConfig>(yaml)
            .unwrap()
            .build(&KeyPath::root().key("tls_config"))
    }

    fn auth_basic(yaml: &str) -> Result<ClientAuth, ConfigError> {
        serde_yaml::from_str::<BasicAuthConfig>(yaml)
            .unwrap()
            .build(&KeyPath::root().key("basic_auth"))
    }

    fn auth_authorization(yaml: &str) -> Result<ClientAuth, ConfigError> {
        serde_yaml::from_str::<AuthorizationConfig>(yaml)
            .unwrap()
            .build(&KeyPath::root().key("authorization"))
    }

    #[test]
    fn tls_reads_files_inline_pem_and_versions() {
        let t = tls("{ca_file: ca.pem, cert: CERT, key_file: k.pem, server_name: s, min_version: TLS12, max_version: TLS13}").unwrap();
        assert_eq!(t.ca, Some(PemSource::File("ca.pem".into())));
        assert_eq!(
            t.client_cert,
            Some((
                PemSource::Inline("CERT".into()),
                PemSource::File("k.pem".into())
            ))
        );
        assert_eq!(t.server_name.as_deref(), Some("s"));
        assert_eq!(
            (t.min_version, t.max_version),
            (Some(TlsVersion::Tls12), Some(TlsVersion::Tls13))
        );
    }

    #[test]
    fn tls_rules_name_the_key() {
        assert_eq!(
            tls("{ca: x, ca_file: y}").unwrap_err().path,
            "tls_config.ca_file"
        );
        assert_eq!(
            tls("{cert_file: c}").unwrap_err().path,
            "tls_config.key_file"
        );
        assert_eq!(
            tls("{key_file: k}").unwrap_err().path,
            "tls_config.cert_file"
        );
        assert_eq!(
            tls("{min_version: TLS13, max_version: TLS12}")
                .unwrap_err()
                .path,
            "tls_config.max_version"
        );
        assert_eq!(
            tls("{max_version: SSL3}").unwrap_err().path,
            "tls_config.max_version"
        );
        let old = tls("{min_version: TLS10}").unwrap_err();
        assert_eq!(old.path, "tls_config.min_version");
        assert!(matches!(
            old.kind,
            super::super::ConfigErrorKind::Refused(_)
        ));
        assert_eq!(
            tls("{ca_ref: vault}").unwrap_err().path,
            "tls_config.ca_ref"
        );
    }

    #[test]
    fn basic_auth_value_or_file() {
        let ok = auth_basic("{username: u, password_file: /p}").unwrap();
        assert_eq!(
            ok,
            ClientAuth::Basic {
                username: SecretSource::Inline("u".into()),
                password: SecretSource::File("/p".into()),
            }
        );
        assert_eq!(
            auth_basic("{username: u, username_file: /u}")
                .unwrap_err()
                .path,
            "basic_auth.username_file"
        );
        assert_eq!(
            auth_basic("{password: p, password_file: /p}")
                .unwrap_err()
                .path,
            "basic_auth.password_file"
        );
        assert_eq!(
            auth_basic("{password_ref: x}").unwrap_err().path,
            "basic_auth.password_ref"
        );
    }

    #[test]
    fn authorization_defaults_to_bearer_and_refuses_basic() {
        assert_eq!(
            auth_authorization("{credentials_file: /t}").unwrap(),
            ClientAuth::Authorization {
                scheme: "Bearer".into(),
                credentials: SecretSource::File("/t".into()),
            }
        );
        assert_eq!(
            auth_authorization("{type: Basic, credentials: x}")
                .unwrap_err()
                .path,
            "authorization.type"
        );
        assert_eq!(
            auth_authorization("{credentials: a, credentials_file: b}")
                .unwrap_err()
                .path,
            "authorization.credentials_file"
        );
    }
}
