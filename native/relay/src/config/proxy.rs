//! The proxy keys of a `remote_write` stanza and of its `oauth2` block (Prometheus's inline
//! `ProxyConfig`): `proxy_url`, `no_proxy`, `proxy_from_environment`,
//! `proxy_connect_header`, validated with Prometheus's rules into
//! `ProxySettings` (`crate::send::proxy`). `proxy_from_environment` reads the
//! environment once, at load.

use std::collections::BTreeMap;

use hyper::header::{HeaderMap, HeaderName, HeaderValue};

use super::error::{ConfigError, KeyPath};
use super::refused;
use crate::environment::Environment;
use crate::send::proxy::{ProxyError, ProxyServer, ProxySettings};

/// The proxy keys as written (they sit inline in their parent block).
#[derive(Debug, Clone, Copy)]
pub struct ProxyKeys<'a> {
    /// `proxy_url`.
    pub proxy_url: Option<&'a str>,
    /// `no_proxy`.
    pub no_proxy: Option<&'a str>,
    /// `proxy_from_environment`.
    pub proxy_from_environment: bool,
    /// `proxy_connect_header`: header name -> values (Prometheus: a list of secrets).
    pub proxy_connect_header: &'a BTreeMap<String, Vec<String>>,
}

impl ProxyKeys<'_> {
    /// Validates the keys under `path` (their parent block).
    pub fn build(
        &self,
        path: &KeyPath,
        env: &dyn Environment,
    ) -> Result<ProxySettings, ConfigError> {
        let url = self.proxy_url.filter(|u| !u.is_empty());
        let no_proxy = self.no_proxy.filter(|n| !n.is_empty());
        if !self.proxy_connect_header.is_empty() && url.is_none() && !self.proxy_from_environment {
            return Err(path.key("proxy_connect_header").invalid(
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured",
            ));
        }
        if self.proxy_from_environment && url.is_some() {
            return Err(path.key("proxy_url").invalid(
                "if proxy_from_environment is configured, proxy_url must not be configured",
            ));
        }
        if self.proxy_from_environment && no_proxy.is_some() {
            return Err(path.key("no_proxy").invalid(
                "if proxy_from_environment is configured, no_proxy must not be configured",
            ));
        }
        if url.is_none() && no_proxy.is_some() {
            return Err(path
                .key("no_proxy")
                .invalid("if no_proxy is configured, proxy_url must also be configured"));
        }
        let connect_headers = self.connect_headers(path)?;
        if self.proxy_from_environment {
            return from_environment(&path.key("proxy_from_environment"), env, connect_headers);
        }
        match url {
            None => Ok(ProxySettings::Direct),
            Some(url) => {
                let server = ProxyServer::parse(url).map_err(|e| match e {
                    ProxyError::Scheme(scheme) if scheme == "https" => {
                        path.refuse(&refused::PROXY_HTTPS)
                    }
                    ProxyError::Scheme(_) => path.refuse(&refused::PROXY_SCHEME),
                    // The text shows the URL with its password redacted.
                    ProxyError::Invalid(_) => path
                        .key("proxy_url")
                        .invalid_value("http:// proxy URL", e.to_string()),
                })?;
                Ok(ProxySettings::from_url(server, no_proxy, connect_headers))
            }
        }
    }

    fn connect_headers(&self, path: &KeyPath) -> Result<HeaderMap, ConfigError> {
        let mut headers = HeaderMap::new();
        for (name, values) in self.proxy_connect_header {
            let key = path.key("proxy_connect_header").key(name);
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| key.invalid_value("header name", name))?;
            for value in values {
                let mut value = HeaderValue::from_str(value).map_err(|_| {
                    key.invalid("header value contains characters not allowed in HTTP")
                })?;
                value.set_sensitive(true);
                headers.append(header.clone(), value);
            }
        }
        Ok(headers)
    }
}

/// The proxies of `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` in `env`, or the error at `path`
/// (the key that asked for them): `proxy_from_environment`, or `sigv4.role_arn` for the STS
/// client, which uses the environment's proxies as the AWS SDK does.
pub fn from_environment(
    path: &KeyPath,
    env: &dyn Environment,
    connect_headers: HeaderMap,
) -> Result<ProxySettings, ConfigError> {
    ProxySettings::from_environment(env, connect_headers)
        .map_err(|e| path.invalid_value("proxy from HTTP_PROXY/HTTPS_PROXY", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::MapEnvironment;

    fn build(
        url: Option<&str>,
        no_proxy: Option<&str>,
        from_env: bool,
        headers: &[(&str, &str)],
        env: &MapEnvironment,
    ) -> Result<ProxySettings, ConfigError> {
        let map: BTreeMap<String, Vec<String>> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
            .collect();
        ProxyKeys {
            proxy_url: url,
            no_proxy,
            proxy_from_environment: from_env,
            proxy_connect_header: &map,
        }
        .build(&KeyPath::root().key("rw"), env)
    }

    #[test]
    fn prometheus_rules_name_the_key() {
        let env = MapEnvironment::default();
        let e = build(None, None, false, &[("X", "y")], &env).unwrap_err();
        assert_eq!(e.path, "rw.proxy_connect_header");
        let e = build(Some("http://p:1"), None, true, &[], &env).unwrap_err();
        assert_eq!(e.path, "rw.proxy_url");
        let e = build(None, Some("a"), true, &[], &env).unwrap_err();
        assert_eq!(e.path, "rw.no_proxy");
        let e = build(None, Some("a"), false, &[], &env).unwrap_err();
        assert_eq!(e.path, "rw.no_proxy");
        let e = build(Some("socks5://p:1"), None, false, &[], &env).unwrap_err();
        assert_eq!(e.path, "rw.proxy_url");
        assert!(e.to_string().contains("socks5"), "{e}");
        let e = build(Some("https://p:1"), None, false, &[], &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("rw.proxy_url: refused: {}", refused::PROXY_HTTPS.reason)
        );
        let e = build(Some("http://u:s3cret@"), None, false, &[], &env).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let bad_env = MapEnvironment::from_pairs([("HTTPS_PROXY", "http://u:s3cret@")]);
        let e = build(None, None, true, &[], &bad_env).unwrap_err();
        assert_eq!(e.path, "rw.proxy_from_environment");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }

    #[test]
    fn builds_each_form() {
        let env = MapEnvironment::from_pairs([("HTTPS_PROXY", "http://envproxy:3128")]);
        assert_eq!(
            build(None, None, false, &[], &env).unwrap(),
            ProxySettings::Direct
        );
        assert!(matches!(
            build(Some("http://p:1"), None, false, &[("X-A", "b")], &env).unwrap(),
            ProxySettings::Always(fixed) if fixed.connect_headers["x-a"] == "b"
        ));
        assert!(matches!(
            build(Some("http://p:1"), Some("x.test"), false, &[], &env).unwrap(),
            ProxySettings::Rules(_)
        ));
        match build(None, None, true, &[], &env).unwrap() {
            ProxySettings::Rules(rules) => {
                assert_eq!(rules.https.unwrap().uri, "http://envproxy:3128");
                assert_eq!(rules.http, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
