//! Listener authentication: a bearer token or basic-auth users, both read from files at
//! start. Every route except `/-/healthy` and `/-/ready` requires it when configured;
//! failures get 401 with `WWW-Authenticate`. Comparisons take the same time whatever the
//! input, so timing does not reveal how much of a secret matched.

use std::path::Path;

use base64::Engine as _;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use super::error::ServeError;
use crate::config::ListenAuth;

/// Loaded listener credentials.
#[derive(Clone)]
pub enum ListenerAuth {
    /// Expected bearer token.
    Bearer(String),
    /// `(user, password)` pairs.
    Basic(Vec<(String, String)>),
}

impl std::fmt::Debug for ListenerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(<secret>)"),
            Self::Basic(users) => write!(f, "Basic({} users)", users.len()),
        }
    }
}

fn read(path: &Path) -> Result<String, ServeError> {
    std::fs::read_to_string(path).map_err(|source| ServeError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

/// Compares without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

impl ListenerAuth {
    /// Reads the configured file.
    pub fn load(auth: &ListenAuth) -> Result<Self, ServeError> {
        match auth {
            ListenAuth::BearerTokenFile(path) => {
                let token = read(path)?.trim().to_owned();
                if token.is_empty() {
                    return Err(ServeError::AuthFile {
                        path: path.clone(),
                        reason: "the bearer token file is empty",
                    });
                }
                Ok(Self::Bearer(token))
            }
            ListenAuth::BasicAuthUsersFile(path) => {
                let mut users = Vec::new();
                for line in read(path)?.lines() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let Some((user, password)) = line.split_once(':') else {
                        return Err(ServeError::AuthFile {
                            path: path.clone(),
                            reason: "each line must be user:password",
                        });
                    };
                    users.push((user.to_owned(), password.to_owned()));
                }
                if users.is_empty() {
                    return Err(ServeError::AuthFile {
                        path: path.clone(),
                        reason: "the users file lists no user",
                    });
                }
                Ok(Self::Basic(users))
            }
        }
    }

    /// The `WWW-Authenticate` challenge for a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            Self::Bearer(_) => "Bearer realm=\"prw\"",
            Self::Basic(_) => "Basic realm=\"prw\"",
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
            Self::Bearer(token) => {
                scheme.eq_ignore_ascii_case("bearer")
                    && same(credentials.as_bytes(), token.as_bytes())
            }
            Self::Basic(users) => {
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
        let auth = ListenerAuth::Bearer("s3cret".into());
        assert!(auth.allows(&headers("Bearer s3cret")));
        assert!(auth.allows(&headers("bearer s3cret")));
        assert!(!auth.allows(&headers("Bearer s3cre")));
        assert!(!auth.allows(&headers("Bearer s3cretX")));
        assert!(!auth.allows(&headers("Basic s3cret")));
        assert!(!auth.allows(&HeaderMap::new()));
    }

    #[test]
    fn basic_checks_user_and_password() {
        let auth = ListenerAuth::Basic(vec![("alice".into(), "pw".into())]);
        let ok = base64::engine::general_purpose::STANDARD.encode("alice:pw");
        let bad = base64::engine::general_purpose::STANDARD.encode("alice:px");
        assert!(auth.allows(&headers(&format!("Basic {ok}"))));
        assert!(!auth.allows(&headers(&format!("Basic {bad}"))));
        assert!(!auth.allows(&headers("Basic !!!")));
    }

    #[test]
    fn users_file_is_parsed_and_empty_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# comment\n\nalice:pw\nbob:a:b\n").unwrap();
        let ListenerAuth::Basic(users) =
            ListenerAuth::load(&ListenAuth::BasicAuthUsersFile(path.clone())).unwrap()
        else {
            panic!("expected basic");
        };
        assert_eq!(
            users,
            vec![("alice".into(), "pw".into()), ("bob".into(), "a:b".into())]
        );
        std::fs::write(&path, "# nobody\n").unwrap();
        assert!(matches!(
            ListenerAuth::load(&ListenAuth::BasicAuthUsersFile(path)),
            Err(ServeError::AuthFile { .. })
        ));
    }
}
