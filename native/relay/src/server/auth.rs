//! Listener authentication: checks a request against the bearer token or the basic-auth
//! users that the configuration read at load ([`ListenAuth`]). Every route except
//! `/-/healthy` and `/-/ready` requires it when configured; failures get 401 with
//! `WWW-Authenticate`. Comparisons take the same time whatever the input, so timing does not
//! reveal how much of a secret matched.

use base64::Engine as _;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use crate::config::ListenAuth;

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

impl ListenAuth {
    /// The `WWW-Authenticate` challenge for a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            Self::BearerToken { .. } => "Bearer realm=\"prw\"",
            Self::BasicAuthUsers { .. } => "Basic realm=\"prw\"",
        }
    }

    /// Whether the request's `Authorization` header is accepted.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return false;
        };
        let credentials = credentials.trim();
        match self {
            Self::BearerToken { token, .. } => {
                scheme.eq_ignore_ascii_case("bearer")
                    && same(credentials.as_bytes(), token.as_bytes())
            }
            Self::BasicAuthUsers { users, .. } => {
                if !scheme.eq_ignore_ascii_case("basic") {
                    return false;
                }
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials)
                else {
                    return false;
                };
                let Some((user, password)) = std::str::from_utf8(&decoded)
                    .ok()
                    .and_then(|text| text.split_once(':'))
                else {
                    return false;
                };
                users.iter().fold(false, |found, (u, p)| {
                    let matched = same(u.as_bytes(), user.as_bytes())
                        & same(p.as_bytes(), password.as_bytes());
                    found | matched
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_accepts_only_the_token() {
        let auth = ListenAuth::BearerToken {
            file: "/t".into(),
            token: "s3cret".into(),
        };
        assert!(auth.allows(&headers("Bearer s3cret")));
        assert!(auth.allows(&headers("bearer s3cret")));
        assert!(!auth.allows(&headers("Bearer s3cre")));
        assert!(!auth.allows(&headers("Bearer s3cretX")));
        assert!(!auth.allows(&headers("Basic s3cret")));
        assert!(!auth.allows(&HeaderMap::new()));
    }

    #[test]
    fn basic_checks_user_and_password() {
        let auth = ListenAuth::BasicAuthUsers {
            file: "/u".into(),
            users: vec![("alice".into(), "pw".into())],
        };
        let ok = base64::engine::general_purpose::STANDARD.encode("alice:pw");
        let bad = base64::engine::general_purpose::STANDARD.encode("alice:px");
        assert!(auth.allows(&headers(&format!("Basic {ok}"))));
        assert!(!auth.allows(&headers(&format!("Basic {bad}"))));
        assert!(!auth.allows(&headers("Basic !!!")));
    }
}
