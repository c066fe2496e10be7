//! Which proxy (if any) a request goes through: `proxy_url`, `no_proxy`,
//! `proxy_from_environment`, `proxy_connect_header`, with the semantics Prometheus has
//! through Go's `net/http` and `golang.org/x/net/http/httpproxy`.
//!
//! Hand-written because the rules are Go's, not curl's (which hyper-util's matcher follows):
//! - `proxy_url` without `no_proxy`: every request goes through the proxy (Go's
//!   `http.ProxyURL`), loopback included.
//! - `proxy_url` with `no_proxy`, and `proxy_from_environment` (`HTTP_PROXY`, `HTTPS_PROXY`,
//!   `NO_PROXY` and their lower-case forms; `REQUEST_METHOD` set means CGI, where
//!   `HTTP_PROXY` is refused): Go's `httpproxy` rules. `localhost` and loopback IPs are never
//!   proxied; `no_proxy` is a comma-separated list of `*` (nothing is proxied), IP addresses
//!   or CIDR ranges, and domain names (`foo.com` matches it and its subdomains, `.foo.com`
//!   and `*.foo.com` only subdomains), each optionally with `:port`.
//! - http destinations are sent to the proxy in absolute form (with `Proxy-Authorization`
//!   from the proxy URL's user info); https destinations go through an HTTP `CONNECT`
//!   tunnel carrying `proxy_connect_header` and that `Proxy-Authorization`.
//!
//! Invariant: only `http://` proxies are produced (the config layer refuses other schemes
//! with the reason), so a [`Route::Proxy`] always names a plain TCP proxy.

use std::net::IpAddr;

use hyper::http::{HeaderMap, HeaderValue, Uri};
use ipnet::IpNet;

use super::auth::{authorization, userinfo};
use crate::environment::Environment;

/// One proxy server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyServer {
    /// `http://host:port` (user info removed).
    pub uri: Uri,
    /// `Proxy-Authorization: Basic ...` from the proxy URL's user info.
    pub authorization: Option<HeaderValue>,
}

/// A parsed `no_proxy` list (Go's `httpproxy` rules).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    ips: Vec<(IpAddr, Option<u16>)>,
    cidrs: Vec<IpNet>,
    /// `(".suffix", port, also_matches_the_bare_name)`.
    domains: Vec<(String, Option<u16>, bool)>,
}

/// The proxy settings of one client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxySettings {
    /// Direct connections.
    #[default]
    Direct,
    /// `proxy_url` without `no_proxy`: every request through one proxy.
    Always(Box<FixedProxy>),
    /// `proxy_url` with `no_proxy`, or `proxy_from_environment`: Go's `httpproxy` rules.
    Rules(Box<ProxyRules>),
}

/// `proxy_url` without `no_proxy` (Go's `http.ProxyURL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedProxy {
    /// The proxy.
    pub server: ProxyServer,
    /// `proxy_connect_header`.
    pub connect_headers: HeaderMap,
}

/// Go's `httpproxy` configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// Proxy for http destinations.
    pub http: Option<ProxyServer>,
    /// Proxy for https destinations.
    pub https: Option<ProxyServer>,
    /// Exceptions.
    pub no_proxy: NoProxy,
    /// CGI environment (`REQUEST_METHOD` set): `HTTP_PROXY` is not used.
    pub cgi: bool,
    /// `proxy_connect_header`.
    pub connect_headers: HeaderMap,
}

/// How one request reaches its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// Connect to the destination itself.
    Direct,
    /// Through this proxy.
    Proxy {
        /// The proxy.
        server: &'a ProxyServer,
        /// Headers for `CONNECT` (https destinations).
        connect_headers: &'a HeaderMap,
    },
}

/// Why a proxy URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Not a URL with a host (the URL shown with its password redacted).
    #[error("not a proxy URL with a host: {0:?}")]
    Invalid(String),
    /// A scheme other than `http`.
    #[error(
        "proxy scheme {0:?} is not supported (only http:// proxies; https:// and socks5:// proxies are not)"
    )]
    Scheme(String),
}

impl ProxyServer {
    /// Parses a proxy URL as Go's `httpproxy` does: a value without a scheme is
    /// `http://<value>`. The user info becomes `Proxy-Authorization: Basic`; errors show the
    /// URL with its password redacted.
    pub fn parse(text: &str) -> Result<Self, ProxyError> {
        let text = text.trim();
        let invalid = || ProxyError::Invalid(userinfo::redacted(text).into_owned());
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let (without_userinfo, credentials) = userinfo::split(&with_scheme);
        let uri: Uri = without_userinfo.parse().map_err(|_| invalid())?;
        let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
        if scheme != "http" {
            return Err(ProxyError::Scheme(scheme));
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(invalid)?;
        let authorization = credentials
            .map(|c| authorization::basic(&c.username, c.password.as_deref().unwrap_or_default()))
            .transpose()
            .map_err(|_| invalid())?;
        let host_port = authority.as_str();
        let port = if host_port.rsplit_once(':').is_some_and(|(_, p)| {
            !p.is_empty() && !p.contains(']') && p.bytes().all(|b| b.is_ascii_digit())
        }) {
            host_port.to_owned()
        } else {
            format!("{host_port}:80")
        };
        let uri = format!("http://{port}").parse().map_err(|_| invalid())?;
        Ok(ProxyServer { uri, authorization })
    }
}

fn split_port(entry: &str) -> (&str, Option<u16>) {
    // `[::1]:80`, `host:80`, `1.2.3.4:80`; a bare IPv6 address has more than one colon.
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host, port);
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

impl NoProxy {
    /// Parses a `no_proxy` value (empty entries are skipped; `*` matches everything).
    pub fn parse(list: &str) -> Self {
        let mut out = NoProxy::default();
        for entry in list.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return NoProxy {
                    all: true,
                    ..NoProxy::default()
                };
            }
            if let Ok(net) = entry.parse::<IpNet>() {
                out.cidrs.push(net);
                continue;
            }
            let (host, port) = split_port(&entry);
            if host.is_empty() {
                continue;
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                out.ips.push((ip, port));
                continue;
            }
            // Go: `*.foo.com` is `.foo.com`.
            let host = if host.starts_with("*.") {
                host.get(1..).unwrap_or(host)
            } else {
                host
            };
            let (suffix, bare) = match host.strip_prefix('.') {
                Some(_) => (host.to_owned(), false),
                None => (format!(".{host}"), true),
            };
            out.domains.push((suffix, port, bare));
        }
        out
    }

    /// Whether `host:port` is excluded from proxying (Go's `useProxy` negated).
    fn excludes(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&host);
        if host == "localhost" {
            return true;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) || self.all {
            return true;
        }
        if let Some(ip) = ip {
            if self.cidrs.iter().any(|net| net.contains(&ip))
                || self
                    .ips
                    .iter()
                    .any(|(m, p)| *m == ip && p.is_none_or(|p| p == port))
            {
                return true;
            }
        }
        self.domains.iter().any(|(suffix, p, bare)| {
            (host.ends_with(suffix.as_str()) || (*bare && suffix.get(1..) == Some(host)))
                && p.is_none_or(|p| p == port)
        })
    }
}

fn first_set(env: &dyn Environment, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| env.var(n).filter(|v| !v.is_empty()))
}

impl ProxySettings {
    /// `proxy_url` (+ `no_proxy`).
    pub fn from_url(
        server: ProxyServer,
        no_proxy: Option<&str>,
        connect_headers: HeaderMap,
    ) -> Self {
        match no_proxy.filter(|n| !n.trim().is_empty()) {
            None => ProxySettings::Always(Box::new(FixedProxy {
                server,
                connect_headers,
            })),
            Some(list) => ProxySettings::Rules(Box::new(ProxyRules {
                http: Some(server.clone()),
                https: Some(server),
                no_proxy: NoProxy::parse(list),
                cgi: false,
                connect_headers,
            })),
        }
    }

    /// `proxy_from_environment: true`, read from `env` once (Go reads it once per process).
    pub fn from_environment(
        env: &dyn Environment,
        connect_headers: HeaderMap,
    ) -> Result<Self, ProxyError> {
        let parse = |names: &[&str]| {
            first_set(env, names)
                .map(|v| ProxyServer::parse(&v))
                .transpose()
        };
        Ok(ProxySettings::Rules(Box::new(ProxyRules {
            http: parse(&["HTTP_PROXY", "http_proxy"])?,
            https: parse(&["HTTPS_PROXY", "https_proxy"])?,
            no_proxy: NoProxy::parse(
                &first_set(env, &["NO_PROXY", "no_proxy"]).unwrap_or_default(),
            ),
            cgi: env.var("REQUEST_METHOD").is_some(),
            connect_headers,
        })))
    }

    /// How a request to `dst` travels.
    pub fn route(&self, dst: &Uri) -> Route<'_> {
        match self {
            ProxySettings::Direct => Route::Direct,
            ProxySettings::Always(fixed) => Route::Proxy {
                server: &fixed.server,
                connect_headers: &fixed.connect_headers,
            },
            ProxySettings::Rules(rules) => {
                let ProxyRules {
                    http,
                    https,
                    no_proxy,
                    cgi,
                    connect_headers,
                } = rules.as_ref();
                let https_dst = dst.scheme_str() == Some("https");
                let server = if https_dst {
                    https.as_ref()
                } else if *cgi {
                    None
                } else {
                    http.as_ref()
                };
                let Some(server) = server else {
                    return Route::Direct;
                };
                let host = dst.host().unwrap_or_default();
                let port = dst.port_u16().unwrap_or(if https_dst { 443 } else { 80 });
                if no_proxy.excludes(host, port) {
                    Route::Direct
                } else {
                    Route::Proxy {
                        server,
                        connect_headers,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::MapEnvironment;

    fn server(text: &str) -> ProxyServer {
        ProxyServer::parse(text).unwrap()
    }

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    fn proxied(settings: &ProxySettings, dst: &str) -> bool {
        matches!(settings.route(&uri(dst)), Route::Proxy { .. })
    }

    #[test]
    fn proxy_url_parses_like_go_and_takes_credentials_from_user_info() {
        let plain = server("proxy.test:3128");
        assert_eq!(plain.uri, uri("http://proxy.test:3128"));
        assert_eq!(plain.authorization, None);
        assert_eq!(server("http://proxy.test").uri, uri("http://proxy.test:80"));
        let with_auth = server("http://Aladdin:open%20sesame@proxy.test:8080/");
        assert_eq!(with_auth.uri, uri("http://proxy.test:8080"));
        assert_eq!(
            with_auth.authorization.unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(
            ProxyServer::parse("socks5://p:1080"),
            Err(ProxyError::Scheme("socks5".into()))
        );
        assert!(ProxyServer::parse("http://").is_err());
    }

    #[test]
    fn errors_never_show_the_proxy_password() {
        for bad in [
            "http://user:s3cret@",
            "http://user:s3cret@host:port/",
            "user:s3cret@ho st",
        ] {
            let err = ProxyServer::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{bad}: {err}");
            assert!(err.contains("user:xxxxx@"), "{bad}: {err}");
        }
    }

    #[test]
    fn proxy_url_alone_proxies_everything_even_loopback() {
        let s = ProxySettings::from_url(server("p:1"), None, HeaderMap::new());
        assert!(proxied(&s, "http://127.0.0.1:9/"));
        assert!(proxied(&s, "https://localhost/"));
    }

    #[test]
    fn no_proxy_follows_go_httpproxy_rules() {
        let s = ProxySettings::from_url(
            server("p:1"),
            Some("foo.com, .y.com, *.z.com, 10.0.0.0/8, 192.168.1.1, bar.com:8080, [::2]:443"),
            HeaderMap::new(),
        );
        // Loopback and localhost are never proxied once rules apply.
        assert!(!proxied(&s, "http://127.0.0.1:9/"));
        assert!(!proxied(&s, "http://localhost:9/"));
        assert!(!proxied(&s, "http://[::1]:9/"));
        // A name matches itself and its subdomains; a leading dot or *. only subdomains.
        assert!(!proxied(&s, "http://foo.com/"));
        assert!(!proxied(&s, "http://a.foo.com/"));
        assert!(proxied(&s, "http://afoo.com/"));
        assert!(proxied(&s, "http://y.com/"));
        assert!(!proxied(&s, "http://x.y.com/"));
        assert!(proxied(&s, "http://z.com/"));
        assert!(!proxied(&s, "http://w.z.com/"));
        // IPs, CIDR ranges, ports.
        assert!(!proxied(&s, "http://10.1.2.3/"));
        assert!(!proxied(&s, "http://192.168.1.1/"));
        assert!(proxied(&s, "http://192.168.1.2/"));
        assert!(!proxied(&s, "http://bar.com:8080/"));
        assert!(proxied(&s, "http://bar.com/"));
        assert!(!proxied(&s, "https://[::2]/"));
        assert!(proxied(&s, "http://[::2]/"));
        let all = ProxySettings::from_url(server("p:1"), Some("*"), HeaderMap::new());
        assert!(!proxied(&all, "http://anything.test/"));
    }

    #[test]
    fn environment_picks_the_proxy_by_scheme_and_honours_no_proxy_and_cgi() {
        let env = MapEnvironment::from_pairs([
            ("HTTP_PROXY", "http://hp:1"),
            ("https_proxy", "sp:2"),
            ("no_proxy", "skip.test"),
        ]);
        let s = ProxySettings::from_environment(&env, HeaderMap::new()).unwrap();
        match s.route(&uri("http://a.test/")) {
            Route::Proxy { server, .. } => assert_eq!(server.uri, uri("http://hp:1")),
            Route::Direct => panic!("http not proxied"),
        }
        match s.route(&uri("https://a.test/")) {
            Route::Proxy { server, .. } => assert_eq!(server.uri, uri("http://sp:2")),
            Route::Direct => panic!("https not proxied"),
        }
        assert!(!proxied(&s, "https://skip.test/"));
        let cgi =
            MapEnvironment::from_pairs([("HTTP_PROXY", "http://hp:1"), ("REQUEST_METHOD", "GET")]);
        let s = ProxySettings::from_environment(&cgi, HeaderMap::new()).unwrap();
        assert!(!proxied(&s, "http://a.test/"));
        let none =
            ProxySettings::from_environment(&MapEnvironment::default(), HeaderMap::new()).unwrap();
        assert!(!proxied(&none, "http://a.test/"));
    }
}
