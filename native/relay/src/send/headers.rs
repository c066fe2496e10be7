//! The headers of a request to a destination.
//!
//! Precedence, lowest first: forwarded headers of the record (the tenant), the destination's
//! configured `headers`, then the reserved headers this sender owns (`Content-Encoding`,
//! `Content-Type`, `User-Agent`, `X-Prometheus-Remote-Write-Version`, `Retry-Attempt`,
//! `Authorization` from the auth config). Neither forwarded nor custom headers can set a
//! reserved header: [`RESERVED`] is the one table, which the config layer refuses at load
//! (`headers`, `forward_headers`); here they are also ignored at send time so a record
//! stored by an older relay can never override them.

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

/// The fixed part of a destination's request headers, built once by the config layer
/// (`config::remote_write`): the custom `headers` (no reserved header among them: the config
/// refuses those at load) and the `Authorization` of inline credentials (sensitive). Nothing
/// here validates again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    custom: HeaderMap,
    authorization: Option<HeaderValue>,
}

impl RequestHeaders {
    /// `custom` headers (validated, none reserved) and the fixed `Authorization` value
    /// (marked sensitive here, whatever the caller did).
    pub fn new(custom: HeaderMap, authorization: Option<HeaderValue>) -> Self {
        let authorization = authorization.map(|mut value| {
            value.set_sensitive(true);
            value
        });
        RequestHeaders {
            custom,
            authorization,
        }
    }

    /// The custom headers.
    pub fn custom(&self) -> &HeaderMap {
        &self.custom
    }

    /// Whether a fixed `Authorization` is sent.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(pairs: &[(&str, &str)]) -> Vec<ForwardedHeader> {
        pairs
            .iter()
            .map(|(n, v)| ForwardedHeader::new(n, v).unwrap())
            .collect()
    }

    fn headers(
        custom: &[(&'static str, &'static str)],
        auth: Option<&'static str>,
    ) -> RequestHeaders {
        let mut map = HeaderMap::new();
        for (name, value) in custom {
            map.append(*name, HeaderValue::from_static(value));
        }
        RequestHeaders::new(map, auth.map(HeaderValue::from_static))
    }

    #[test]
    fn v1_request_carries_the_reserved_headers() {
        let map = RequestHeaders::default().build(Protocol::V1, 0, &[]);
        assert_eq!(map["content-encoding"], "snappy");
        assert_eq!(map["content-type"], "application/x-protobuf");
        assert_eq!(map["x-prometheus-remote-write-version"], "0.1.0");
        assert_eq!(map["user-agent"], USER_AGENT);
        assert!(map.get("retry-attempt").is_none());
    }

    #[test]
    fn v2_request_and_retry_attempt() {
        let map = RequestHeaders::default().build(Protocol::V2, 3, &[]);
        assert_eq!(
            map["content-type"],
            "application/x-protobuf;proto=io.prometheus.write.v2.Request"
        );
        assert_eq!(map["x-prometheus-remote-write-version"], "2.0.0");
        assert_eq!(map["retry-attempt"], "3");
    }

    #[test]
    fn forwarded_headers_travel_but_never_override_reserved_ones() {
        let map = headers(&[], Some("Bearer tok")).build(
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
        assert!(map["authorization"].is_sensitive());
    }

    #[test]
    fn configured_header_wins_over_forwarded_one() {
        let map = headers(&[("x-scope-orgid", "fixed")], None).build(
            Protocol::V1,
            0,
            &forwarded(&[("x-scope-orgid", "t")]),
        );
        assert_eq!(map.get_all("x-scope-orgid").iter().count(), 1);
        assert_eq!(map["x-scope-orgid"], "fixed");
    }
}
