//! `oauth2` as written (Prometheus `common/config.OAuth2`) and its validation into
//! [`OAuth2Settings`]. The client credentials grant is supported; the JWT bearer grant
//! (`grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer` and its keys) and secret
//! references are refused with the reason.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::http_client::{TlsConfig, secret};
use super::proxy::ProxyKeys;
use super::refused;
use super::secret::SecretSource;
use crate::environment::Environment;
use crate::send::auth::oauth2::OAuth2Settings;
use crate::send::http::ClientSettings;

/// `oauth2` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OAuth2Config {
    /// Required.
    pub client_id: String,
    /// The client secret. Default: none.
    pub client_secret: Option<String>,
    /// File holding the client secret (read for every token request).
    pub client_secret_file: Option<PathBuf>,
    /// Refused (secret store reference).
    pub client_secret_ref: Option<String>,
    /// `client_credentials` (default); the JWT bearer grant is refused.
    pub grant_type: Option<String>,
    /// JWT bearer grant only: refused.
    pub client_certificate_key_id: Option<String>,
    /// JWT bearer grant only: refused.
    pub client_certificate_key: Option<String>,
    /// JWT bearer grant only: refused.
    pub client_certificate_key_file: Option<PathBuf>,
    /// JWT bearer grant only: refused.
    pub client_certificate_key_ref: Option<String>,
    /// JWT bearer grant only: refused.
    pub signature_algorithm: Option<String>,
    /// JWT bearer grant only: refused.
    pub iss: Option<String>,
    /// JWT bearer grant only: refused.
    pub audience: Option<String>,
    /// JWT bearer grant only: refused.
    pub claims: Option<serde_yaml::Value>,
    /// Scopes requested. Default: none.
    pub scopes: Vec<String>,
    /// Required: the token endpoint.
    pub token_url: String,
    /// Extra form fields of the token request.
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS of the token endpoint.
    pub tls_config: TlsConfig,
    /// Proxy of the token endpoint.
    pub proxy_url: Option<String>,
    /// Exceptions to `proxy_url`.
    pub no_proxy: Option<String>,
    /// Proxy from the environment.
    pub proxy_from_environment: bool,
    /// Headers for `CONNECT`.
    pub proxy_connect_header: BTreeMap<String, Vec<String>>,
}

impl OAuth2Config {
    /// Validates the block (`timeout`: the stanza's `remote_timeout`, also used for tokens).
    pub fn build(
        &self,
        path: &KeyPath,
        timeout: std::time::Duration,
        env: &dyn Environment,
    ) -> Result<OAuth2Settings, ConfigError> {
        match self.grant_type.as_deref() {
            None | Some("") | Some("client_credentials") => {}
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
                return Err(path.refuse(&refused::JWT_GRANT));
            }
            Some(other) => {
                return Err(path
                    .key("grant_type")
                    .invalid_value("grant type (client_credentials)", other));
            }
        }
        let jwt_keys = [
            (
                &refused::JWT_KEY_ID,
                self.client_certificate_key_id.is_some(),
            ),
            (&refused::JWT_KEY, self.client_certificate_key.is_some()),
            (
                &refused::JWT_KEY_FILE,
                self.client_certificate_key_file.is_some(),
            ),
            (
                &refused::JWT_KEY_REF,
                self.client_certificate_key_ref.is_some(),
            ),
            (
                &refused::JWT_SIGNATURE_ALGORITHM,
                self.signature_algorithm.is_some(),
            ),
            (&refused::JWT_ISS, self.iss.is_some()),
            (&refused::JWT_AUDIENCE, self.audience.is_some()),
            (&refused::JWT_CLAIMS, self.claims.is_some()),
            (
                &refused::CLIENT_SECRET_REF,
                self.client_secret_ref.is_some(),
            ),
        ];
        if let Some((refusal, _)) = jwt_keys.iter().find(|(_, set)| *set) {
            return Err(path.refuse(refusal));
        }
        if self.client_id.is_empty() {
            return Err(path
                .key("client_id")
                .invalid("oauth2 client_id must be configured"));
        }
        if self.token_url.is_empty() {
            return Err(path
                .key("token_url")
                .invalid("oauth2 token_url must be configured"));
        }
        let token_url = self
            .token_url
            .parse::<hyper::Uri>()
            .ok()
            .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
            .ok_or_else(|| {
                path.key("token_url")
                    .invalid_value("http(s) URL with a host", &self.token_url)
            })?;
        let client_secret = secret(
            path,
            self.client_secret.as_ref(),
            "client_secret_file",
            self.client_secret_file.as_ref(),
        )?
        .unwrap_or_else(|| SecretSource::Inline(String::new()));
        let client = ClientSettings {
            timeout,
            tls: self.tls_config.build(&path.key("tls_config"))?,
            proxy: ProxyKeys {
                proxy_url: self.proxy_url.as_deref(),
                no_proxy: self.no_proxy.as_deref(),
                proxy_from_environment: self.proxy_from_environment,
                proxy_connect_header: &self.proxy_connect_header,
            }
            .build(path, env)?,
            follow_redirects: true,
            enable_http2: true,
            round_robin_dns: false,
        };
        Ok(OAuth2Settings {
            client_id: self.client_id.clone(),
            client_secret,
            scopes: self.scopes.clone(),
            token_url,
            endpoint_params: self.endpoint_params.clone(),
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::MapEnvironment;

    fn build(yaml: &str) -> Result<OAuth2Settings, ConfigError> {
        serde_yaml::from_str::<OAuth2Config>(yaml).unwrap().build(
            &KeyPath::root().key("oauth2"),
            std::time::Duration::from_secs(30),
            &MapEnvironment::default(),
        )
    }

    #[test]
    fn client_credentials_are_read() {
        let s = build(
            "{client_id: id, client_secret: s, scopes: [a, b], token_url: 'http://127.0.0.1:1/token', endpoint_params: {audience: x}}",
        )
        .unwrap();
        assert_eq!(s.client_id, "id");
        assert_eq!(s.client_secret, SecretSource::Inline("s".into()));
        assert_eq!(s.scopes, ["a", "b"]);
        assert_eq!(s.endpoint_params["audience"], "x");
    }

    #[test]
    fn rules_name_the_key() {
        for (yaml, key, refused) in [
            ("{token_url: 'http://t/'}", "oauth2.client_id", false),
            ("{client_id: i}", "oauth2.token_url", false),
            (
                "{client_id: i, token_url: 'ftp://t/'}",
                "oauth2.token_url",
                false,
            ),
            (
                "{client_id: i, token_url: 'http://t/', client_secret: a, client_secret_file: /b}",
                "oauth2.client_secret_file",
                false,
            ),
            (
                "{client_id: i, token_url: 'http://t/', grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer'}",
                "oauth2.grant_type",
                true,
            ),
            (
                "{client_id: i, token_url: 'http://t/', audience: a}",
                "oauth2.audience",
                true,
            ),
            (
                "{client_id: i, token_url: 'http://t/', client_secret_ref: v}",
                "oauth2.client_secret_ref",
                true,
            ),
        ] {
            let e = build(yaml).unwrap_err();
            assert_eq!(e.path, key, "{yaml}: {e}");
            assert_eq!(
                matches!(e.kind, super::super::ConfigErrorKind::Refused(_)),
                refused,
                "{yaml}: {e}"
            );
        }
    }
}
