//! `follow_redirects` (Prometheus default `true`): what the transport does with a 3xx answer,
//! following Go's `net/http` client, which Prometheus uses:
//!
//! - 307 and 308: the same request (method, headers, body) goes to `Location`.
//! - 301, 302 and 303: Go turns the POST into a GET **without a body** and follows it; the
//!   final answer is classified as usual (usually a 405, so the batch is dropped; a 2xx
//!   would count as delivered although the receiver got no data, exactly as in Prometheus).
//! - Any other 3xx, or a 3xx without `Location`: the answer itself is the result (dropped).
//! - At most [`MAX_REDIRECTS`] requests per attempt (Go's limit: the 10th redirect answer is
//!   an error, `stopped after 10 redirects`),
//!   which, like any transport error, is counted (`prw_remote_requests_total{status=
//!   "transport_error"}`), logged with the chain (a loop is named as such) and retried with
//!   backoff, as Prometheus retries it.
//! - Each hop carries the previous hop's headers (`Referer` set as Go does, except from https
//!   to http); once a hop leaves the original host (not the host or one of its subdomains),
//!   `Authorization`, `WWW-Authenticate`, `Cookie` and `Cookie2` are removed, as in Go and
//!   Prometheus's `common/config`.
//!
//! The whole chain is bounded by the attempt's `remote_timeout`.

use hyper::http::{HeaderMap, Method, Uri};

/// Go's `http.Client` limit: at most this many requests in one chain.
pub const MAX_REDIRECTS: usize = 10;

/// Headers removed when a redirect leaves the original host.
const SENSITIVE: [&str; 4] = ["authorization", "www-authenticate", "cookie", "cookie2"];

/// What a 3xx answer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Same method and body (307, 308).
    Resend,
    /// GET without a body (301, 302, 303 after a POST).
    AsGet,
}

/// How to follow `status` after a request with `method` (`None`: not a redirect to follow).
pub fn follow(status: u16, method: &Method) -> Option<Follow> {
    match status {
        307 | 308 => Some(Follow::Resend),
        301..=303 if method == Method::GET || method == Method::HEAD => Some(Follow::Resend),
        301..=303 => Some(Follow::AsGet),
        _ => None,
    }
}

/// Why a redirect could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// `Location` is not a usable http(s) URL.
    #[error("redirect to an unusable Location {0:?}")]
    BadLocation(String),
    /// Too many redirects.
    #[error("stopped after {MAX_REDIRECTS} redirects{}: {}", if *.looped { " (a redirect loop)" } else { "" }, .chain.join(" -> "))]
    TooMany {
        /// Every URL visited, in order.
        chain: Vec<String>,
        /// Whether a URL was visited twice.
        looped: bool,
    },
}

/// The absolute URL `location` points to from `base` (RFC 3986 reference resolution).
pub fn resolve(base: &Uri, location: &str) -> Result<Uri, RedirectError> {
    let bad = || RedirectError::BadLocation(location.to_owned());
    let base = url::Url::parse(&base.to_string()).map_err(|_| bad())?;
    let next = base.join(location.trim()).map_err(|_| bad())?;
    if !matches!(next.scheme(), "http" | "https") || next.host_str().is_none() {
        return Err(bad());
    }
    next.as_str().parse().map_err(|_| bad())
}

/// Whether `host` is `original` or one of its subdomains (Go's `isDomainOrSubdomain`).
pub fn same_site(host: &str, original: &str) -> bool {
    let (host, original) = (host.to_ascii_lowercase(), original.to_ascii_lowercase());
    host == original
        || (host
            .strip_suffix(original.as_str())
            .is_some_and(|prefix| prefix.ends_with('.'))
            && host.parse::<std::net::IpAddr>().is_err()
            && !host.contains(':'))
}

/// The headers of the next hop, from the current hop's.
pub fn next_headers(
    current: &HeaderMap,
    from: &Uri,
    to: &Uri,
    original_host: &str,
    follow: Follow,
) -> HeaderMap {
    let mut headers = current.clone();
    // Set again from the new URL (by hyper, or by a signing hop decorator).
    headers.remove(hyper::http::header::HOST);
    if !same_site(to.host().unwrap_or_default(), original_host) {
        for name in SENSITIVE {
            headers.remove(name);
        }
    }
    if follow == Follow::AsGet {
        for name in ["content-length", "content-type", "content-encoding"] {
            headers.remove(name);
        }
    }
    let downgrade = from.scheme_str() == Some("https") && to.scheme_str() != Some("https");
    headers.remove(hyper::http::header::REFERER);
    if !downgrade {
        if let Ok(referer) = from.to_string().parse() {
            headers.insert(hyper::http::header::REFERER, referer);
        }
    }
    headers
}

/// A redirect chain that went on too long.
pub fn too_many(chain: &[Uri]) -> RedirectError {
    let chain: Vec<String> = chain.iter().map(ToString::to_string).collect();
    let looped = chain
        .iter()
        .enumerate()
        .any(|(i, url)| chain.iter().skip(i + 1).any(|later| later == url));
    RedirectError::TooMany { chain, looped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn follows_like_go() {
        assert_eq!(follow(307, &Method::POST), Some(Follow::Resend));
        assert_eq!(follow(308, &Method::POST), Some(Follow::Resend));
        for status in [301, 302, 303] {
            assert_eq!(follow(status, &Method::POST), Some(Follow::AsGet));
            assert_eq!(follow(status, &Method::GET), Some(Follow::Resend));
        }
        for status in [300, 304, 305, 306, 200, 404] {
            assert_eq!(follow(status, &Method::POST), None, "{status}");
        }
    }

    #[test]
    fn location_resolves_against_the_request_url() {
        let base = uri("http://a.test:9/api/v1/write");
        assert_eq!(
            resolve(&base, "/other").unwrap(),
            uri("http://a.test:9/other")
        );
        assert_eq!(
            resolve(&base, "push").unwrap(),
            uri("http://a.test:9/api/v1/push")
        );
        assert_eq!(
            resolve(&base, "https://b.test/x").unwrap(),
            uri("https://b.test/x")
        );
        assert!(resolve(&base, "ftp://b.test/").is_err());
    }

    #[test]
    fn credentials_stay_on_the_original_site_only() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer t".parse().unwrap());
        headers.insert("content-type", "application/x-protobuf".parse().unwrap());
        headers.insert("x-scope-orgid", "a".parse().unwrap());
        let from = uri("https://example.com/w");
        let sub = next_headers(
            &headers,
            &from,
            &uri("https://eu.example.com/w"),
            "example.com",
            Follow::Resend,
        );
        assert_eq!(sub["authorization"], "Bearer t");
        assert_eq!(sub["referer"], "https://example.com/w");
        let other = next_headers(
            &headers,
            &from,
            &uri("http://evil.test/w"),
            "example.com",
            Follow::AsGet,
        );
        assert!(other.get("authorization").is_none());
        assert!(other.get("content-type").is_none());
        assert!(
            other.get("referer").is_none(),
            "no referer on https -> http"
        );
        assert_eq!(other["x-scope-orgid"], "a");
        assert!(!same_site("127.0.0.10", "0.0.10"));
    }

    #[test]
    fn a_loop_is_named_in_the_error() {
        let chain = [uri("http://a/"), uri("http://b/"), uri("http://a/")];
        let err = too_many(&chain);
        assert!(
            err.to_string()
                .starts_with("stopped after 10 redirects (a redirect loop): http://a/ -> "),
            "{err}"
        );
        let err = too_many(&[uri("http://a/1"), uri("http://a/2")]);
        assert!(!err.to_string().contains("loop"), "{err}");
    }
}
