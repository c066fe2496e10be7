//! The headers of a request to a destination.
//!
//! Precedence, lowest first: forwarded headers of the record (the tenant), the destination's
//! configured `headers`, then the reserved headers this sender owns (`Content-Encoding`,
//! `Content-Type`, `User-Agent`, `X-Prometheus-Remote-Write-Version`, `Retry-Attempt`,
//! `Authorization` from the auth config). Neither forwarded nor custom headers can set a
//! reserved header: [`RESERVED`] is the one table, which the config layer refuses at load
//! (`headers`, `forward_headers`); here they are also ignored at send time so a record
//! stored by an older relay can never override them.

use base64::Engine;
use hyper::http::{HeaderMap, HeaderName, HeaderValue};
use prw_core::Protocol;

use crate::record::ForwardedHeader;

/// The `User-Agent` this sender announces.
pub const USER_AGENT: &str = concat!("prw/", env!("CARGO_PKG_VERSION"));

/// Why a header is reserved: who owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservedBy {
    /// Prometheus's `reservedHeaders` (`config/config.go`): set by the sender or the HTTP stack.
    Prometheus,
    /// `Authorization`: comes from `basic_auth`, `authorization`, `oauth2` or `sigv4`.
    Auth,
    /// Set by AWS SigV4 signing (Prometheus reserves them too).
    SigV4,
    /// Hop-by-hop framing that only the HTTP stack may write.
    Framing,
    /// Owned by the relay's retry loop (`Retry-Attempt`).
    Retry,
}

/// One reserved header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// Lower-case name.
    pub name: &'static str,
    /// Who owns it.
    pub by: ReservedBy,
}

const fn r(name: &'static str, by: ReservedBy) -> Reserved {
    Reserved { name, by }
}

/// THE table of headers no configured (`headers`) or forwarded (`forward_headers`) header
/// may set: the config refuses them at load, and the send side never lets a forwarded
/// header replace them. Prometheus's list, plus `authorization` (refused in `headers` with
/// its own message, as Prometheus does), hop-by-hop framing, and `retry-attempt`.
pub const RESERVED: &[Reserved] = &[
    r("host", ReservedBy::Prometheus),
    r("content-encoding", ReservedBy::Prometheus),
    r("content-length", ReservedBy::Prometheus),
    r("content-type", ReservedBy::Prometheus),
    r("user-agent", ReservedBy::Prometheus),
    r("connection", ReservedBy::Prometheus),
    r("keep-alive", ReservedBy::Prometheus),
    r("proxy-authenticate", ReservedBy::Prometheus),
    r("proxy-authorization", ReservedBy::Prometheus),
    r("www-authenticate", ReservedBy::Prometheus),
    r("accept-encoding", ReservedBy::Prometheus),
    r("x-prometheus-remote-write-version", ReservedBy::Prometheus),
    r("x-prometheus-remote-read-version", ReservedBy::Prometheus),
    r("x-amz-date", ReservedBy::SigV4),
    r("x-amz-security-token", ReservedBy::SigV4),
    r("x-amz-content-sha256", ReservedBy::SigV4),
    r("authorization", ReservedBy::Auth),
    r("transfer-encoding", ReservedBy::Framing),
    r("te", ReservedBy::Framing),
    r("trailer", ReservedBy::Framing),
    r("upgrade", ReservedBy::Framing),
    r("retry-attempt", ReservedBy::Retry),
];

/// The reserved entry for `name` (any case), if it is reserved.
pub fn reserved(name: &str) -> Option<Reserved> {
    RESERVED
        .iter()
        .copied()
        .find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Credentials of a destination (values already read from files by the config layer).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `basic_auth`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `authorization` (`type` defaults to `Bearer`).
    Authorization {
        /// The scheme, e.g. `Bearer`.
        scheme: String,
        /// The credentials.
        credentials: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<secret>")
                .finish(),
            Auth::Authorization { scheme, .. } => f
                .debug_struct("Authorization")
                .field("scheme", scheme)
                .field("credentials", &"<secret>")
                .finish(),
        }
    }
}

/// A configured header or credential that is not a valid HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Not a header name.
    #[error("header name {0:?} is not a valid HTTP header name")]
    BadName(String),
    /// Not a header value.
    #[error("value of header {0:?} is not a valid HTTP header value")]
    BadValue(String),
    /// A reserved header in the destination's `headers`.
    #[error("header {0:?} is reserved and cannot be configured")]
    Reserved(String),
}

/// The fixed part of a destination's request headers, built once.
#[derive(Debug, Clone)]
pub struct RequestHeaders {
    custom: HeaderMap,
    authorization: Option<HeaderValue>,
}

impl RequestHeaders {
    /// Validates the destination's custom headers and credentials.
    pub fn new(custom: &[(String, String)], auth: Option<&Auth>) -> Result<Self, HeaderError> {
        let mut map = HeaderMap::new();
        for (name, value) in custom {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HeaderError::BadName(name.clone()))?;
            if is_reserved(header.as_str()) {
                return Err(HeaderError::Reserved(name.clone()));
            }
            let value =
                HeaderValue::from_str(value).map_err(|_| HeaderError::BadValue(name.clone()))?;
            map.append(header, value);
        }
        let authorization = match auth {
            None => None,
            Some(Auth::Basic { username, password }) => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                Some(secret_value(&format!("Basic {token}"))?)
            }
            Some(Auth::Authorization {
                scheme,
                credentials,
            }) => Some(secret_value(&format!("{scheme} {credentials}"))?),
        };
        Ok(RequestHeaders {
            custom: map,
            authorization,
        })
    }

    /// All headers of one attempt.
    pub fn build(
        &self,
        protocol: Protocol,
        retry_attempt: u32,
        forwarded: &[ForwardedHeader],
    ) -> HeaderMap {
        let mut map = HeaderMap::new();
        for header in forwarded {
            if is_reserved(header.name()) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name().as_bytes()),
                HeaderValue::from_str(header.value()),
            ) {
                map.insert(name, value);
            }
        }
        for name in self.custom.keys() {
            map.remove(name);
        }
        for (name, value) in &self.custom {
            map.append(name.clone(), value.clone());
        }
        let (content_type, version) = match protocol {
            Protocol::V1 => ("application/x-protobuf", "0.1.0"),
            Protocol::V2 => (
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                "2.0.0",
            ),
        };
        let fixed = [
            ("content-encoding", "snappy"),
            ("content-type", content_type),
            ("user-agent", USER_AGENT),
            ("x-prometheus-remote-write-version", version),
        ];
        for (name, value) in fixed {
            map.insert(name, HeaderValue::from_static(value));
        }
        if retry_attempt > 0 {
            map.insert("retry-attempt", HeaderValue::from(retry_attempt));
        }
        if let Some(auth) = &self.authorization {
            map.insert(hyper::http::header::AUTHORIZATION, auth.clone());
        }
        map
    }
}

fn is_reserved(name: &str) -> bool {
    reserved(name).is_some()
}

fn secret_value(text: &str) -> Result<HeaderValue, HeaderError> {
    let mut value = HeaderValue::from_str(text)
        .map_err(|_| HeaderError::BadValue("authorization".to_owned()))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(pairs: &[(&str, &str)]) -> Vec<ForwardedHeader> {
        pairs
            .iter()
            .map(|(n, v)| ForwardedHeader::new(n, v).unwrap())
            .collect()
    }

    #[test]
    fn v1_request_carries_the_reserved_headers() {
        let headers = RequestHeaders::new(&[], None).unwrap();
        let map = headers.build(Protocol::V1, 0, &[]);
        assert_eq!(map["content-encoding"], "snappy");
        assert_eq!(map["content-type"], "application/x-protobuf");
        assert_eq!(map["x-prometheus-remote-write-version"], "0.1.0");
        assert_eq!(map["user-agent"], USER_AGENT);
        assert!(map.get("retry-attempt").is_none());
    }

    #[test]
    fn v2_request_and_retry_attempt() {
        let headers = RequestHeaders::new(&[], None).unwrap();
        let map = headers.build(Protocol::V2, 3, &[]);
        assert_eq!(
            map["content-type"],
            "application/x-protobuf;proto=io.prometheus.write.v2.Request"
        );
        assert_eq!(map["x-prometheus-remote-write-version"], "2.0.0");
        assert_eq!(map["retry-attempt"], "3");
    }

    #[test]
    fn forwarded_headers_travel_but_never_override_reserved_ones() {
        let headers = RequestHeaders::new(
            &[],
            Some(&Auth::Authorization {
                scheme: "Bearer".into(),
                credentials: "tok".into(),
            }),
        )
        .unwrap();
        let map = headers.build(
            Protocol::V1,
            0,
            &forwarded(&[
                ("X-Scope-OrgID", "tenant-a"),
                ("Content-Type", "text/plain"),
                ("Authorization", "Bearer stolen"),
            ]),
        );
        assert_eq!(map["x-scope-orgid"], "tenant-a");
        assert_eq!(map["content-type"], "application/x-protobuf");
        assert_eq!(map["authorization"], "Bearer tok");
    }

    #[test]
    fn configured_header_wins_over_forwarded_one() {
        let headers =
            RequestHeaders::new(&[("X-Scope-OrgID".into(), "fixed".into())], None).unwrap();
        let map = headers.build(Protocol::V1, 0, &forwarded(&[("x-scope-orgid", "t")]));
        assert_eq!(map.get_all("x-scope-orgid").iter().count(), 1);
        assert_eq!(map["x-scope-orgid"], "fixed");
    }

    #[test]
    fn reserved_custom_header_is_refused() {
        let err = RequestHeaders::new(&[("User-Agent".into(), "x".into())], None).unwrap_err();
        assert_eq!(err, HeaderError::Reserved("User-Agent".into()));
    }

    #[test]
    fn basic_auth_is_base64_of_user_colon_password() {
        let headers = RequestHeaders::new(
            &[],
            Some(&Auth::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into(),
            }),
        )
        .unwrap();
        let map = headers.build(Protocol::V1, 0, &[]);
        assert_eq!(map["authorization"], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }
}
