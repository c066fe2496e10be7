//! The HTTP client keys of a `remote_write` stanza (Prometheus `common/config.HTTPClientConfig`):
//! `basic_auth`, `authorization`, legacy `bearer_token`/`bearer_token_file`, `tls_config`.
//! At most one auth method per destination, as in Prometheus. Keys that reference secrets
//! stores (`*_ref`) are refused. Files are read at load: PEM files become part of the
//! validated settings; credentials files must be readable and hold a usable header value
//! (they are read again for every request). Inline credentials become the `Authorization`
//! value here, once, so a credential HTTP cannot carry fails at load.

use std::path::{Path, PathBuf};

use hyper::header::HeaderValue;
use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::refused::{self, Refusal};
use super::secret::SecretSource;
use crate::send::auth::authorization;
use crate::send::auth::oauth2::OAuth2Settings;
use crate::send::auth::sigv4::SigV4Settings;
use crate::send::tls::{self, TlsError, TlsSettings, TlsVersion};

/// `basic_auth` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// User name. Default: empty. A YAML number (`username: 123456`, as Grafana Cloud's
    /// instance ids are written) is read as its text, as Prometheus's YAML parser does.
    #[serde(deserialize_with = "scalar_text")]
    pub username: String,
    /// File holding the user name. Default: none.
    pub username_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub username_ref: Option<String>,
    /// Password. Default: empty.
    #[serde(deserialize_with = "optional_scalar_text")]
    pub password: Option<String>,
    /// File holding the password. Default: none.
    pub password_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub password_ref: Option<String>,
}

/// A YAML scalar (string, number or boolean) as text.
fn scalar_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    match serde_yaml::Value::deserialize(deserializer)? {
        serde_yaml::Value::String(s) => Ok(s),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml::Value::Null => Ok(String::new()),
        _ => Err(D::Error::custom("expected a string")),
    }
}

fn optional_scalar_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    scalar_text(deserializer).map(|s| Some(s).filter(|s| !s.is_empty()))
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
    /// Inline credentials (`basic_auth`, `authorization`, `bearer_token`, or the URL's user
    /// info): the `Authorization` value, built at load (sensitive).
    Fixed(HeaderValue),
    /// `Authorization: Basic base64(username:password)`, at least one of them from a file.
    Basic {
        /// User name.
        username: SecretSource,
        /// Password (may be empty).
        password: SecretSource,
    },
    /// `Authorization: <scheme> <credentials>`, the credentials from a file.
    Authorization {
        /// Scheme, `Bearer` by default.
        scheme: String,
        /// The credentials file.
        credentials: SecretSource,
    },
    /// `oauth2`: client credentials tokens.
    OAuth2(Box<OAuth2Settings>),
    /// `sigv4`: AWS Signature V4.
    SigV4(Box<SigV4Settings>),
}

fn read_file(path: &KeyPath, file: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(file).map_err(|err| path.file_error(file, err))
}

/// PEM bytes from the inline key or the file key (not both), and the key that gave them.
fn pem(
    path: &KeyPath,
    inline_key: &'static str,
    inline: Option<&String>,
    file_key: &'static str,
    file: Option<&PathBuf>,
) -> Result<Option<(Vec<u8>, &'static str)>, ConfigError> {
    match (inline.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(path
            .key(file_key)
            .invalid("set either the inline value or the file, not both")),
        (Some(text), None) => Ok(Some((text.clone().into_bytes(), inline_key))),
        (None, Some(file)) => Ok(Some((read_file(&path.key(file_key), file)?, file_key))),
        (None, None) => Ok(None),
    }
}

/// A `min_version`/`max_version` value (`old`: the refusal of TLS 1.0/1.1 for this key).
fn version(
    path: &KeyPath,
    old: &Refusal,
    value: Option<&str>,
) -> Result<Option<TlsVersion>, ConfigError> {
    match value {
        None | Some("") => Ok(None),
        Some("TLS12") => Ok(Some(TlsVersion::Tls12)),
        Some("TLS13") => Ok(Some(TlsVersion::Tls13)),
        Some("TLS10" | "TLS11") => Err(path.refuse(old)),
        Some(other) => Err(path
            .key(old.leaf())
            .invalid_value("TLS version (TLS12 or TLS13)", other)),
    }
}

impl TlsConfig {
    /// Validates the block: reads the PEM files and builds the TLS client once, so TLS
    /// material rustls refuses fails here, naming the key.
    pub fn build(&self, path: &KeyPath) -> Result<TlsSettings, ConfigError> {
        for (refusal, value) in [
            (&refused::CA_REF, &self.ca_ref),
            (&refused::CERT_REF, &self.cert_ref),
            (&refused::KEY_REF, &self.key_ref),
        ] {
            if value.is_some() {
                return Err(path.refuse(refusal));
            }
        }
        let ca = pem(
            path,
            "ca",
            self.ca.as_ref(),
            "ca_file",
            self.ca_file.as_ref(),
        )?;
        let cert = pem(
            path,
            "cert",
            self.cert.as_ref(),
            "cert_file",
            self.cert_file.as_ref(),
        )?;
        let key = pem(
            path,
            "key",
            self.key.as_ref(),
            "key_file",
            self.key_file.as_ref(),
        )?;
        let (cert_key, key_key) = (
            cert.as_ref().map_or("cert_file", |c| c.1),
            key.as_ref().map_or("key_file", |k| k.1),
        );
        let client_identity = match (cert, key) {
            (Some((cert, _)), Some((key, _))) => Some((cert, key)),
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
        let min_version = version(path, &refused::MIN_VERSION_OLD, self.min_version.as_deref())?;
        let max_version = version(path, &refused::MAX_VERSION_OLD, self.max_version.as_deref())?;
        if let (Some(min), Some(max)) = (min_version, max_version) {
            if min > max {
                return Err(path
                    .key("max_version")
                    .invalid("must not be below min_version"));
            }
        }
        let ca_key = ca.as_ref().map_or("ca_file", |c| c.1);
        let settings = TlsSettings {
            ca_pem: ca.map(|(bytes, _)| bytes),
            client_identity,
            server_name: self.server_name.clone().filter(|name| !name.is_empty()),
            insecure_skip_verify: self.insecure_skip_verify,
            min_version,
            max_version,
        };
        if let Some(name) = &settings.server_name {
            tls::server_name(&settings, name)
                .map_err(|e| path.key("server_name").unusable(e.to_string()))?;
        }
        tls::client_config(&settings, false).map_err(|err| {
            let key = match &err {
                TlsError::Pem { what: "ca", .. } => ca_key,
                TlsError::Pem { what: "cert", .. } => cert_key,
                TlsError::Pem { .. } | TlsError::Rustls(_) => key_key,
                TlsError::ServerName(_) => "server_name",
            };
            path.key(key).unusable(err.to_string())
        })?;
        Ok(settings)
    }
}

pub(super) fn secret(
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
        (None, Some(file)) => {
            read_file(&path.key(file_key), file)?;
            Ok(Some(SecretSource::File(file.clone())))
        }
        (None, None) => Ok(None),
    }
}

/// The fixed `Authorization` value of inline credentials, or the error naming `key`.
fn fixed(
    path: &KeyPath,
    key: &str,
    value: Result<HeaderValue, authorization::InvalidCredentials>,
) -> Result<ClientAuth, ConfigError> {
    value
        .map(ClientAuth::Fixed)
        .map_err(|err| path.key(key).unusable(err.to_string()))
}

impl BasicAuthConfig {
    /// Validates the block (Prometheus: username or username_file, not both).
    pub fn build(&self, path: &KeyPath) -> Result<ClientAuth, ConfigError> {
        for (refusal, value) in [
            (&refused::USERNAME_REF, &self.username_ref),
            (&refused::PASSWORD_REF, &self.password_ref),
        ] {
            if value.is_some() {
                return Err(path.refuse(refusal));
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
        match (&username, &password) {
            (SecretSource::Inline(user), SecretSource::Inline(pass)) => {
                fixed(path, "password", authorization::basic(user, pass))
            }
            _ => Ok(ClientAuth::Basic { username, password }),
        }
    }
}

/// `<scheme> <credentials>` from `credentials` (inline or a file) at `path` (the block).
pub(super) fn scheme_auth(
    path: &KeyPath,
    scheme: String,
    inline_key: &str,
    credentials: SecretSource,
    file_key: &str,
) -> Result<ClientAuth, ConfigError> {
    match credentials {
        SecretSource::Inline(text) => {
            fixed(path, inline_key, authorization::scheme(&scheme, &text))
        }
        SecretSource::File(file) => {
            // Read once more to check the content: a file HTTP cannot carry fails at load.
            let now = SecretSource::File(file.clone())
                .read()
                .map_err(|err| path.key(file_key).file_error(&file, err))?;
            authorization::scheme(&scheme, &now).map_err(|_| {
                path.key(file_key).unusable(format!(
                    "the content of {} contains characters not allowed in an HTTP header",
                    file.display()
                ))
            })?;
            Ok(ClientAuth::Authorization {
                scheme,
                credentials: SecretSource::File(file),
            })
        }
    }
}

impl AuthorizationConfig {
    /// Validates the block (Prometheus: `Basic` is refused as a type; credentials or file).
    pub fn build(&self, path: &KeyPath) -> Result<ClientAuth, ConfigError> {
        if self.credentials_ref.is_some() {
            return Err(path.refuse(&refused::CREDENTIALS_REF));
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
        scheme_auth(path, scheme, "credentials", credentials, "credentials_file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(yaml: &str) -> Result<TlsSettings, ConfigError> {
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

    /// A directory with `ca.pem`, `cert.pem`, `key.pem` (a self-signed pair) and `p`
    /// (a password).
    fn files() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("p"), "pw\n").unwrap();
        let path = dir.path().display().to_string();
        (dir, path)
    }

    #[test]
    fn tls_reads_files_inline_pem_and_versions() {
        let (_dir, d) = files();
        let cert = std::fs::read_to_string(format!("{d}/cert.pem")).unwrap();
        let yaml = format!(
            "{{ca_file: {d}/ca.pem, cert: {cert:?}, key_file: {d}/key.pem, server_name: s, min_version: TLS12, max_version: TLS13}}"
        );
        let t = tls(&yaml).unwrap();
        assert_eq!(
            t.ca_pem.as_deref(),
            Some(std::fs::read(format!("{d}/ca.pem")).unwrap().as_slice())
        );
        assert_eq!(t.client_identity.as_ref().unwrap().0, cert.as_bytes());
        assert_eq!(t.server_name.as_deref(), Some("s"));
        assert_eq!(
            (t.min_version, t.max_version),
            (Some(TlsVersion::Tls12), Some(TlsVersion::Tls13))
        );
    }

    #[test]
    fn tls_rules_name_the_key() {
        let (_dir, d) = files();
        assert_eq!(
            tls(&format!("{{ca: x, ca_file: {d}/ca.pem}}"))
                .unwrap_err()
                .path,
            "tls_config.ca_file"
        );
        assert_eq!(
            tls(&format!("{{cert_file: {d}/cert.pem}}"))
                .unwrap_err()
                .path,
            "tls_config.key_file"
        );
        assert_eq!(
            tls(&format!("{{key_file: {d}/key.pem}}")).unwrap_err().path,
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
    fn tls_material_rustls_refuses_fails_at_load_on_its_key() {
        let (_dir, d) = files();
        let bad_ca = tls("{ca: not a certificate}").unwrap_err();
        assert_eq!(bad_ca.path, "tls_config.ca");
        std::fs::write(format!("{d}/junk.pem"), "junk").unwrap();
        let bad_key = tls(&format!(
            "{{cert_file: {d}/cert.pem, key_file: {d}/junk.pem}}"
        ))
        .unwrap_err();
        assert_eq!(bad_key.path, "tls_config.key_file");
        let missing = tls("{ca_file: /nonexistent/ca.pem}").unwrap_err();
        assert_eq!(missing.path, "tls_config.ca_file");
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
    }

    #[test]
    fn basic_auth_value_or_file() {
        let (_dir, d) = files();
        assert_eq!(
            auth_basic("{username: Aladdin, password: open sesame}").unwrap(),
            ClientAuth::Fixed(HeaderValue::from_static(
                "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
            ))
        );
        let ok = auth_basic(&format!("{{username: u, password_file: {d}/p}}")).unwrap();
        assert_eq!(
            ok,
            ClientAuth::Basic {
                username: SecretSource::Inline("u".into()),
                password: SecretSource::File(format!("{d}/p").into()),
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
        let (_dir, d) = files();
        assert_eq!(
            auth_authorization(&format!("{{credentials_file: {d}/p}}")).unwrap(),
            ClientAuth::Authorization {
                scheme: "Bearer".into(),
                credentials: SecretSource::File(format!("{d}/p").into()),
            }
        );
        assert_eq!(
            auth_authorization("{type: Token, credentials: abc}").unwrap(),
            ClientAuth::Fixed(HeaderValue::from_static("Token abc"))
        );
        assert_eq!(
            auth_authorization("{credentials: \"a\\u0001b\"}")
                .unwrap_err()
                .path,
            "authorization.credentials"
        );
        std::fs::write(format!("{d}/bad"), "to\u{1}ken").unwrap();
        assert_eq!(
            auth_authorization(&format!("{{credentials_file: {d}/bad}}"))
                .unwrap_err()
                .path,
            "authorization.credentials_file"
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
