//! `listen:` the relay's HTTP listener: address, optional client auth, optional TLS. The
//! files named are read and parsed here, at load ([`super::listen_files`]), so a missing or
//! unusable file fails `--check-config` as it fails start, naming its key.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
pub use super::listen_files::{ListenAuth, ListenFileError, ListenTls};

/// Default listen address (DESIGN.md "Defaults and ports").
pub const DEFAULT_LISTEN_ADDRESS: &str = "127.0.0.1:9202";

/// `listen` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ListenConfig {
    /// `ip:port`; port 0 binds a free port (logged). Default: `127.0.0.1:9202`.
    pub address: String,
    /// Client authentication. Default: none.
    pub auth: Option<ListenAuthConfig>,
    /// TLS. Default: plain HTTP.
    pub tls: Option<ListenTlsConfig>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_LISTEN_ADDRESS.to_owned(),
            auth: None,
            tls: None,
        }
    }
}

/// `listen.auth` as written: exactly one of the two files.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ListenAuthConfig {
    /// File holding the bearer token senders must present.
    pub bearer_token_file: Option<PathBuf>,
    /// File of `user:password` lines (one per user; `#` comments and blank lines allowed).
    pub basic_auth_users_file: Option<PathBuf>,
}

/// `listen.tls` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ListenTlsConfig {
    /// Certificate chain (PEM).
    pub cert_file: Option<PathBuf>,
    /// Private key (PEM, PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

/// Validated listener settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Address to bind.
    pub address: SocketAddr,
    /// Client authentication, credentials read.
    pub auth: Option<ListenAuth>,
    /// TLS, certificate and key read.
    pub tls: Option<ListenTls>,
}

/// `err` at `path` (the key naming the file).
fn file_error(path: &KeyPath, err: ListenFileError) -> ConfigError {
    match err {
        ListenFileError::Read { path: file, source } => path.file_error(&file, source),
        other => path.unusable(other.to_string()),
    }
}

impl ListenConfig {
    /// Validates the section.
    pub fn build(&self, path: &KeyPath) -> Result<Listen, ConfigError> {
        let address = self.address.parse().map_err(|_| {
            path.key("address")
                .invalid_value("ip:port address", &self.address)
        })?;
        let auth = match &self.auth {
            None => None,
            Some(auth) => {
                let path = path.key("auth");
                match (&auth.bearer_token_file, &auth.basic_auth_users_file) {
                    (Some(file), None) => Some(
                        ListenAuth::bearer_token_file(file)
                            .map_err(|e| file_error(&path.key("bearer_token_file"), e))?,
                    ),
                    (None, Some(file)) => Some(
                        ListenAuth::basic_auth_users_file(file)
                            .map_err(|e| file_error(&path.key("basic_auth_users_file"), e))?,
                    ),
                    (Some(_), Some(_)) => {
                        return Err(path
                            .invalid("set bearer_token_file or basic_auth_users_file, not both"));
                    }
                    (None, None) => {
                        return Err(path.invalid("set bearer_token_file or basic_auth_users_file"));
                    }
                }
            }
        };
        let tls = match &self.tls {
            None => None,
            Some(tls) => {
                let path = path.key("tls");
                let cert_file = tls
                    .cert_file
                    .clone()
                    .ok_or_else(|| path.key("cert_file").invalid("required when tls is set"))?;
                let key_file = tls
                    .key_file
                    .clone()
                    .ok_or_else(|| path.key("key_file").invalid("required when tls is set"))?;
                let tls = ListenTls::from_files(&cert_file, &key_file).map_err(|e| {
                    let key = if e.path() == key_file {
                        "key_file"
                    } else {
                        "cert_file"
                    };
                    file_error(&path.key(key), e)
                })?;
                Some(tls)
            }
        };
        Ok(Listen { address, auth, tls })
    }
}
