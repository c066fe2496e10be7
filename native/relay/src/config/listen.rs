//! `listen:` the relay's HTTP listener: address, optional client auth, optional TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};

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

/// How senders authenticate to the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAuth {
    /// `Authorization: Bearer <token in file>`.
    BearerTokenFile(PathBuf),
    /// `Authorization: Basic` checked against a `user:password` file.
    BasicAuthUsersFile(PathBuf),
}

/// Certificate and key files of the listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenTls {
    /// Certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Private key (PEM).
    pub key_file: PathBuf,
}

/// Validated listener settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Address to bind.
    pub address: SocketAddr,
    /// Client authentication.
    pub auth: Option<ListenAuth>,
    /// TLS files.
    pub tls: Option<ListenTls>,
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
                    (Some(file), None) => Some(ListenAuth::BearerTokenFile(file.clone())),
                    (None, Some(file)) => Some(ListenAuth::BasicAuthUsersFile(file.clone())),
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
                Some(ListenTls {
                    cert_file,
                    key_file,
                })
            }
        };
        Ok(Listen { address, auth, tls })
    }
}
