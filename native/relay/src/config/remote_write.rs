//! One `remote_write:` stanza: Prometheus's keys as users have them in prometheus.yml, plus
//! the prw-only `start` and `forward_as_received`. Every key Prometheus knows has a field here and is either supported,
//! accepted and ignored with a warning, or refused ([`super::refused::REFUSED`];
//! docs/relay-config.md has the tables); any other key is a parse error
//! (`deny_unknown_fields`).
//!
//! What the send side runs is built here, once: the request headers (custom headers and the
//! fixed `Authorization` of inline credentials, [`RequestHeaders`]), the backoff, the TLS
//! client settings, the proxies. The URL's user info (`https://user:pass@host/`) is taken off
//! the URL and sent as Basic auth, as Go's `net/http` does; the URL kept (logged, summarised,
//! the `url` metric label) never holds credentials.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use hyper::Uri;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::duration::PromDuration;
use super::error::{ConfigError, ConfigWarning, KeyPath};
use super::http_client::{
    AuthorizationConfig, BasicAuthConfig, ClientAuth, TlsConfig, scheme_auth, secret,
};
use super::name;
use super::oauth2::OAuth2Config;
use super::proxy::ProxyKeys;
use super::queue::{Queue, QueueConfig};
use super::refused::{self, Refusal};
use super::relabel_config::RelabelConfig;
use super::secret::SecretSource;
use super::sigv4::SigV4Config;
use crate::environment::Environment;
use crate::relabel::RelabelRule;
use crate::send::auth::{authorization, userinfo};
use crate::send::headers::{RequestHeaders, Reserved, ReservedBy, reserved};
use crate::send::http::ClientSettings;

/// Default `remote_timeout` (Prometheus).
pub const DEFAULT_REMOTE_TIMEOUT: PromDuration = PromDuration::from_secs(30);

/// `metadata_config` as written (accepted and ignored: the relay forwards the metadata it
/// receives and sends none of its own).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// Ignored.
    pub send: Option<bool>,
    /// Ignored.
    pub send_interval: Option<PromDuration>,
    /// Ignored.
    pub max_samples_per_send: Option<u64>,
}

/// A `remote_write` stanza as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteConfig {
    /// Endpoint URL (http or https). Required.
    pub url: Option<String>,
    /// Destination name; owns the WAL cursor. Default: derived from a hash of the stanza.
    pub name: Option<String>,
    /// Timeout of one HTTP attempt. Default: 30s.
    pub remote_timeout: PromDuration,
    /// Extra request headers (reserved ones and `Authorization` refused). Default: none.
    pub headers: BTreeMap<String, String>,
    /// Relabel rules applied to every series before sending. Default: none.
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// `prometheus.WriteRequest` (v1) or `io.prometheus.write.v2.Request` (v2). Default: v1.
    pub protobuf_message: Option<String>,
    /// Queue tuning.
    pub queue_config: QueueConfig,
    /// Ignored with a warning.
    pub metadata_config: Option<MetadataConfig>,
    /// `true`: what the relay does (it forwards the exemplars it receives); `false` refused.
    pub send_exemplars: Option<bool>,
    /// `true`: what the relay does (it forwards native histograms); `false` refused.
    pub send_native_histograms: Option<bool>,
    /// Rotate resolved addresses between connections. Default: false.
    pub round_robin_dns: bool,
    /// Basic auth.
    pub basic_auth: Option<BasicAuthConfig>,
    /// `Authorization` header.
    pub authorization: Option<AuthorizationConfig>,
    /// Legacy: same as `authorization: {credentials: ...}`.
    pub bearer_token: Option<String>,
    /// Legacy: same as `authorization: {credentials_file: ...}`.
    pub bearer_token_file: Option<PathBuf>,
    /// TLS client settings.
    pub tls_config: TlsConfig,
    /// Follow HTTP 3xx redirects. Default: true.
    pub follow_redirects: bool,
    /// Allow HTTP/2. Default: false (Prometheus's remote-write default).
    pub enable_http2: bool,
    /// OAuth2 client credentials.
    pub oauth2: Option<OAuth2Config>,
    /// AWS Signature V4.
    pub sigv4: Option<SigV4Config>,
    /// Refused ([`refused::AZUREAD`]).
    pub azuread: Option<serde_yaml::Value>,
    /// Refused ([`refused::GOOGLE_IAM`]).
    pub google_iam: Option<serde_yaml::Value>,
    /// HTTP proxy (`http://`). Default: none.
    pub proxy_url: Option<String>,
    /// Comma-separated exceptions to `proxy_url` (Go's `NO_PROXY` rules). Default: none.
    pub no_proxy: Option<String>,
    /// Use `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`. Default: false.
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy on `CONNECT`. Default: none.
    pub proxy_connect_header: BTreeMap<String, Vec<String>>,
    /// Refused ([`refused::HTTP_HEADERS`]).
    pub http_headers: Option<serde_yaml::Value>,
    /// prw extension: where a destination without a cursor starts. Default: `newest`.
    pub start: Start,
    /// prw extension: send a record that needs no change as the relay received it (see
    /// `crate::delivery::forward`). Default: true.
    pub forward_as_received: bool,
}

impl Default for RemoteWriteConfig {
    fn default() -> Self {
        Self {
            url: None,
            name: None,
            remote_timeout: DEFAULT_REMOTE_TIMEOUT,
            headers: BTreeMap::new(),
            write_relabel_configs: Vec::new(),
            protobuf_message: None,
            queue_config: QueueConfig::default(),
            metadata_config: None,
            send_exemplars: None,
            send_native_histograms: None,
            round_robin_dns: false,
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: false,
            oauth2: None,
            sigv4: None,
            azuread: None,
            google_iam: None,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            http_headers: None,
            start: Start::Newest,
            forward_as_received: true,
        }
    }
}

/// Where a new destination (no cursor yet) starts reading the WAL.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// Only records written after the destination was added.
    #[default]
    Newest,
    /// Everything still in the WAL.
    Oldest,
}

/// The message a destination is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProtobufMessage {
    /// `prometheus.WriteRequest` (Remote Write 1.0).
    #[default]
    V1,
    /// `io.prometheus.write.v2.Request` (Remote Write 2.0).
    V2,
}

/// How the destination's name was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    /// From the `name` key.
    Configured,
    /// Derived from a hash of the stanza (see `config::name`).
    Derived,
}

/// A validated destination. Equality compares every setting, so a reload can tell which
/// destinations changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Identity; owns the WAL cursor.
    pub name: String,
    /// Whether `name` was written or derived.
    pub name_source: NameSource,
    /// Endpoint, without user info (safe to log and to use as a label).
    pub url: Uri,
    /// Timeout of one HTTP attempt.
    pub remote_timeout: Duration,
    /// The request headers the send side adds: `headers` and, for inline credentials (or
    /// the URL's user info), the fixed `Authorization`.
    pub headers: RequestHeaders,
    /// Authentication, at most one method (`ClientAuth::Fixed` is also in `headers`).
    pub auth: Option<ClientAuth>,
    /// The HTTP client: `remote_timeout`, `tls_config`, proxies, `follow_redirects`,
    /// `enable_http2`.
    pub client: ClientSettings,
    /// v1 or v2.
    pub protobuf_message: ProtobufMessage,
    /// Queue settings.
    pub queue: Queue,
    /// Relabel rules in order.
    pub relabel: Vec<RelabelRule>,
    /// Start position for a new cursor.
    pub start: Start,
    /// Whether records that need no change are forwarded as received.
    pub forward_as_received: bool,
}

/// The URL without user info, and the user info as fixed Basic credentials.
fn parse_url(path: &KeyPath, url: Option<&str>) -> Result<(Uri, Option<ClientAuth>), ConfigError> {
    let path = path.key("url");
    let text = url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| path.invalid("url for remote_write is empty"))?;
    let shown = || userinfo::redacted(text).into_owned();
    let (without, credentials) = userinfo::split(text);
    let uri: Uri = without
        .parse()
        .map_err(|_| path.invalid_value("URL", shown()))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(path.invalid_value("URL with scheme http or https", shown())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(path.invalid_value("URL with a host", shown()));
    }
    let auth = credentials
        .map(|c| {
            authorization::basic(&c.username, c.password.as_deref().unwrap_or_default())
                .map(ClientAuth::Fixed)
                .map_err(|err| path.unusable(err.to_string()))
        })
        .transpose()?;
    Ok((uri, auth))
}

fn parse_headers(
    path: &KeyPath,
    headers: &BTreeMap<String, String>,
) -> Result<HeaderMap, ConfigError> {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let key_path = path.key("headers").key(name);
        match reserved(name) {
            Some(Reserved {
                by: ReservedBy::Auth,
                ..
            }) => {
                return Err(key_path.invalid(
                    "authorization header must be changed via the basic_auth or authorization parameter",
                ));
            }
            Some(_) => return Err(key_path.invalid("this header is reserved and cannot be set")),
            None => {}
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| key_path.invalid_value("header name", name))?;
        let header_value = HeaderValue::from_str(value).map_err(|_| {
            key_path.invalid("header value contains characters not allowed in HTTP")
        })?;
        out.append(header_name, header_value);
    }
    Ok(out)
}

fn parse_protobuf_message(
    path: &KeyPath,
    message: Option<&str>,
) -> Result<ProtobufMessage, ConfigError> {
    match message {
        None | Some("prometheus.WriteRequest") => Ok(ProtobufMessage::V1),
        Some("io.prometheus.write.v2.Request") => Ok(ProtobufMessage::V2),
        Some(other) => Err(path.key("protobuf_message").invalid_value(
            "protobuf_message (prometheus.WriteRequest or io.prometheus.write.v2.Request)",
            other,
        )),
    }
}

impl RemoteWriteConfig {
    fn refuse_unsupported(&self, path: &KeyPath) -> Result<(), ConfigError> {
        let refused: [(&Refusal, bool); 5] = [
            (&refused::AZUREAD, self.azuread.is_some()),
            (&refused::GOOGLE_IAM, self.google_iam.is_some()),
            (&refused::HTTP_HEADERS, self.http_headers.is_some()),
            (
                &refused::SEND_EXEMPLARS_FALSE,
                self.send_exemplars == Some(false),
            ),
            (
                &refused::SEND_NATIVE_HISTOGRAMS_FALSE,
                self.send_native_histograms == Some(false),
            ),
        ];
        match refused.iter().find(|(_, present)| *present) {
            Some((refusal, _)) => Err(path.refuse(refusal)),
            None => Ok(()),
        }
    }

    fn warnings(&self, path: &KeyPath) -> Vec<ConfigWarning> {
        let mut warnings = Vec::new();
        if self.metadata_config.is_some() {
            warnings.push(
                path.key("metadata_config").warning(
                    "the relay forwards the metadata it receives and sends none of its own",
                ),
            );
        }
        warnings
    }

    /// The one auth method of the stanza; `from_url`: the URL's user info, which counts as
    /// a method (Basic) like the keys.
    fn auth(
        &self,
        path: &KeyPath,
        env: &dyn Environment,
        from_url: Option<ClientAuth>,
    ) -> Result<Option<ClientAuth>, ConfigError> {
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(path
                .key("bearer_token_file")
                .invalid("at most one of bearer_token & bearer_token_file must be configured"));
        }
        let methods = [
            ("basic_auth", self.basic_auth.is_some()),
            ("authorization", self.authorization.is_some()),
            ("oauth2", self.oauth2.is_some()),
            ("sigv4", self.sigv4.is_some()),
            (
                if self.bearer_token.is_some() {
                    "bearer_token"
                } else {
                    "bearer_token_file"
                },
                bearer,
            ),
        ];
        let mut set = methods.iter().filter(|(_, present)| *present);
        let first = set.next();
        if let Some((second, _)) = set.next() {
            return Err(path.key(second).invalid(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread, google_iam, bearer_token and bearer_token_file may be configured",
            ));
        }
        if from_url.is_some() {
            if let Some((key, _)) = first {
                return Err(path.key(key).invalid(
                    "the url has user info (user:password@), which is sent as basic auth: remove it from the url or remove this key",
                ));
            }
            return Ok(from_url);
        }
        Ok(match first {
            None => None,
            Some(("basic_auth", _)) => self
                .basic_auth
                .as_ref()
                .map(|b| b.build(&path.key("basic_auth")))
                .transpose()?,
            Some(("authorization", _)) => self
                .authorization
                .as_ref()
                .map(|a| a.build(&path.key("authorization")))
                .transpose()?,
            Some(("oauth2", _)) => self
                .oauth2
                .as_ref()
                .map(|o| {
                    o.build(&path.key("oauth2"), self.remote_timeout.0, env)
                        .map(|s| ClientAuth::OAuth2(Box::new(s)))
                })
                .transpose()?,
            Some(("sigv4", _)) => self
                .sigv4
                .as_ref()
                .map(|o| {
                    o.build(&path.key("sigv4"), env)
                        .map(|s| ClientAuth::SigV4(Box::new(s)))
                })
                .transpose()?,
            Some(_) => {
                let credentials = match &self.bearer_token {
                    Some(token) => SecretSource::Inline(token.clone()),
                    None => secret(
                        path,
                        None,
                        "bearer_token_file",
                        self.bearer_token_file.as_ref(),
                    )?
                    .unwrap_or_else(|| SecretSource::Inline(String::new())),
                };
                Some(scheme_auth(
                    path,
                    "Bearer".to_owned(),
                    "bearer_token",
                    credentials,
                    "bearer_token_file",
                )?)
            }
        })
    }

    /// Validates the stanza. `raw` is the stanza as parsed from YAML, used to derive a name.
    pub fn build(
        &self,
        path: &KeyPath,
        raw: &serde_yaml::Value,
        env: &dyn Environment,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Destination, ConfigError> {
        self.refuse_unsupported(path)?;
        let (url, url_auth) = parse_url(path, self.url.as_deref())?;
        let (name, name_source) = match self.name.as_deref() {
            Some("") => return Err(path.key("name").invalid("name must not be empty")),
            Some(name) => (name.to_owned(), NameSource::Configured),
            None => (name::derive(raw), NameSource::Derived),
        };
        if name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
            return Err(path
                .key("name")
                .invalid_value("name usable as a file name", name));
        }
        if self.remote_timeout.0.is_zero() {
            return Err(path.key("remote_timeout").invalid("must be greater than 0"));
        }
        let custom = parse_headers(path, &self.headers)?;
        let protobuf_message = parse_protobuf_message(path, self.protobuf_message.as_deref())?;
        let queue = self.queue_config.build(&path.key("queue_config"))?;
        let auth = self.auth(path, env, url_auth)?;
        let fixed = match &auth {
            Some(ClientAuth::Fixed(value)) => Some(value.clone()),
            _ => None,
        };
        let headers = RequestHeaders::new(custom, fixed);
        let client = ClientSettings {
            timeout: self.remote_timeout.0,
            tls: self.tls_config.build(&path.key("tls_config"))?,
            proxy: ProxyKeys {
                proxy_url: self.proxy_url.as_deref(),
                no_proxy: self.no_proxy.as_deref(),
                proxy_from_environment: self.proxy_from_environment,
                proxy_connect_header: &self.proxy_connect_header,
            }
            .build(path, env)?,
            follow_redirects: self.follow_redirects,
            enable_http2: self.enable_http2,
            round_robin_dns: self.round_robin_dns,
        };
        let relabel = self
            .write_relabel_configs
            .iter()
            .enumerate()
            .map(|(i, rule)| rule.build(&path.key("write_relabel_configs").index(i)))
            .collect::<Result<Vec<_>, _>>()?;
        warnings.extend(self.warnings(path));
        Ok(Destination {
            name,
            name_source,
            url,
            remote_timeout: self.remote_timeout.0,
            headers,
            auth,
            client,
            protobuf_message,
            queue,
            relabel,
            start: self.start,
            forward_as_received: self.forward_as_received,
        })
    }
}
