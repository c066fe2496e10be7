//! Removing credentials from headers before a capture is kept.
//!
//! Invariant: no value of [`CREDENTIAL_HEADERS`] or of a configured secret header is ever
//! copied; only the names of removed headers are. What is kept is bounded: at most
//! [`MAX_HEADERS`] headers, each value cut to [`MAX_VALUE_BYTES`].

use hyper::HeaderMap;
use hyper::header::HeaderName;

/// Headers that carry credentials and are always removed (lower case): the standard ones,
/// and the API-key headers that metrics agents and their receivers commonly send.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    // Generic API keys and tokens (API gateways, many SaaS receivers).
    "x-api-key",
    "api-key",
    "x-api-token",
    "api-token",
    "x-auth-token",
    "x-access-token",
    // AWS STS session token (SigV4 with temporary credentials).
    "x-amz-security-token",
    // HashiCorp Vault.
    "x-vault-token",
    // Google API keys.
    "x-goog-api-key",
    // Datadog.
    "dd-api-key",
    "dd-application-key",
    // New Relic.
    "x-license-key",
    "x-insert-key",
    // Splunk Observability (SignalFx).
    "x-sf-token",
    // Honeycomb.
    "x-honeycomb-team",
    // Sumo Logic.
    "x-sumo-token",
];

/// Headers kept per capture.
pub const MAX_HEADERS: usize = 64;
/// Bytes kept of each header value.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Headers that are never kept: the credential headers and `secret`.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    secret: Vec<HeaderName>,
}

/// Headers as kept: `(name, value)` without credentials, and the names removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrubbed {
    /// Kept headers, lower-case names, values decoded lossily and cut.
    pub kept: Vec<(String, String)>,
    /// Names of the removed headers, each once.
    pub removed: Vec<String>,
}

impl Secrets {
    /// The credential headers plus the configured `secret` headers.
    pub fn new(secret: &[HeaderName]) -> Self {
        Secrets {
            secret: secret.to_vec(),
        }
    }

    /// Whether `name` must never be kept.
    pub fn is_secret(&self, name: &str) -> bool {
        CREDENTIAL_HEADERS
            .iter()
            .copied()
            .chain(self.secret.iter().map(HeaderName::as_str))
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// `headers` without credentials.
    pub fn scrub(&self, headers: &HeaderMap) -> Scrubbed {
        self.scrub_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
    }

    /// Like [`Secrets::scrub`], for name/value pairs.
    pub fn scrub_pairs<'a>(&self, headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> Scrubbed {
        let mut out = Scrubbed::default();
        for (name, value) in headers {
            if self.is_secret(name) {
                let name = name.to_ascii_lowercase();
                if !out.removed.contains(&name) {
                    out.removed.push(name);
                }
                continue;
            }
            if out.kept.len() < MAX_HEADERS {
                out.kept
                    .push((name.to_ascii_lowercase(), cut(value, MAX_VALUE_BYTES)));
            }
        }
        out.kept.shrink_to_fit();
        out
    }
}

/// At most `max` bytes of `bytes` as text (lossy), on a character boundary.
pub fn cut(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(text.get(..end).unwrap_or_default());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use hyper::header::{AUTHORIZATION, COOKIE, HeaderValue, PROXY_AUTHORIZATION, SET_COOKIE};

    use super::*;

    #[test]
    fn credentials_and_secret_headers_are_removed_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        headers.insert(PROXY_AUTHORIZATION, HeaderValue::from_static("Basic cHc="));
        headers.append(COOKIE, HeaderValue::from_static("session=abc"));
        headers.append(COOKIE, HeaderValue::from_static("other=def"));
        headers.insert(SET_COOKIE, HeaderValue::from_static("x=y"));
        headers.insert("x-my-key", HeaderValue::from_static("k3y"));
        headers.insert("x-scope-orgid", HeaderValue::from_static("tenant-a"));
        let secrets = Secrets::new(&[HeaderName::from_static("x-my-key")]);
        let scrubbed = secrets.scrub(&headers);
        assert_eq!(
            scrubbed.kept,
            [("x-scope-orgid".to_owned(), "tenant-a".to_owned())]
        );
        let mut removed = scrubbed.removed.clone();
        removed.sort();
        assert_eq!(
            removed,
            [
                "authorization",
                "cookie",
                "proxy-authorization",
                "set-cookie",
                "x-my-key"
            ]
        );
        let all = format!("{scrubbed:?}");
        for secret in ["s3cret", "cHc=", "abc", "def", "x=y", "k3y"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
    }

    #[test]
    fn common_api_key_headers_are_removed_without_configuration() {
        let mut headers = HeaderMap::new();
        for name in [
            "X-Api-Key",
            "X-Auth-Token",
            "X-Amz-Security-Token",
            "X-Vault-Token",
            "DD-API-KEY",
        ] {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("s3cret"),
            );
        }
        let scrubbed = Secrets::default().scrub(&headers);
        assert!(scrubbed.kept.is_empty(), "{:?}", scrubbed.kept);
        assert_eq!(scrubbed.removed.len(), 5);
        for name in CREDENTIAL_HEADERS {
            assert_eq!(*name, name.to_ascii_lowercase(), "lower case");
        }
    }

    #[test]
    fn values_are_cut_on_a_character_boundary() {
        assert_eq!(cut(b"abc", 3), "abc");
        assert_eq!(cut("aé".as_bytes(), 2), "a…");
        assert_eq!(cut(b"abcd", 2), "ab…");
    }

    #[test]
    fn at_most_max_headers_are_kept() {
        let names: Vec<String> = (0..MAX_HEADERS + 10).map(|i| format!("x-h{i}")).collect();
        let scrubbed =
            Secrets::default().scrub_pairs(names.iter().map(|n| (n.as_str(), &b"v"[..])));
        assert_eq!(scrubbed.kept.len(), MAX_HEADERS);
    }
}
