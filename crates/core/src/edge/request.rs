//! Request-side decisions before the body: which requests are examined, and what the
//! headers alone decide (415, 401/400 tenant, 400 invalid tenant id for `tenants` limits,
//! 413 on Content-Length).
//!
//! Invariant: only POSTs to a configured write path are examined; for everything else the
//! filter does nothing at all (its response is not touched either).

use alloc::format;

use super::reply::{LocalReply, Rejection, Verdict};
use super::tenants::is_valid_tenant_id;
use super::{EdgeConfig, EdgeRule, Mode};
use crate::Protocol;
use crate::negotiate::{NegotiateError, negotiate};

/// What to do with a request, from its method and path alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadAction {
    /// A POST to a write path: examine headers and body.
    Examine,
    /// Anything else: pass untouched, request and response.
    Pass,
}

/// Decides from `:method` and `:path` whether the request is examined.
pub fn decide_request_head(config: &EdgeConfig, method: &str, path: &str) -> HeadAction {
    if method == "POST" && config.is_write_path(path) {
        HeadAction::Examine
    } else {
        HeadAction::Pass
    }
}

/// The request headers the edge reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestHeaders<'a> {
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Content-Encoding`.
    pub content_encoding: Option<&'a str>,
    /// `Content-Length`.
    pub content_length: Option<&'a str>,
    /// The configured tenant header, if configured.
    pub tenant: Option<&'a str>,
    /// The header naming the tenant for `tenants` limits, if `tenants` is configured.
    pub limits_tenant: Option<&'a str>,
}

impl<'a> RequestHeaders<'a> {
    /// Picks the headers out of name/value pairs (names compared case-insensitively; the
    /// first occurrence wins).
    pub fn from_pairs<S: AsRef<str>>(pairs: &'a [(S, S)], config: &EdgeConfig) -> Self {
        let find = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_ref())
        };
        RequestHeaders {
            content_type: find("content-type"),
            content_encoding: find("content-encoding"),
            content_length: find("content-length"),
            tenant: config.tenant_header.as_deref().and_then(find),
            limits_tenant: config.tenants_header().and_then(find),
        }
    }
}

/// What the body check needs to know from the headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Examination {
    /// The schema the Content-Type selected.
    pub protocol: Protocol,
    /// Set when the Content-Type was lenient and must be passed on in this canonical form.
    pub content_type: Option<&'static str>,
}

/// The decision after the request headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadersDecision {
    /// Decided without the body (a rejection, or a forward in observe mode).
    Decided(Verdict),
    /// Buffer the body and call [`super::decide_body`].
    NeedBody(Examination),
}

/// In enforce mode a rejection; in observe mode a forward that records it.
pub fn settle(
    config: &EdgeConfig,
    rejection: Rejection,
    content_type: Option<&'static str>,
) -> Verdict {
    match config.mode {
        Mode::Enforce => Verdict::Reject(rejection),
        Mode::Observe => Verdict::Forward {
            content_type,
            observed: Some(rejection),
        },
    }
}

pub(crate) fn reject(
    rule: EdgeRule,
    status: u16,
    message: &str,
    protocol: Option<Protocol>,
) -> Rejection {
    let body = format!("prw-edge: {status} {}: {message}\n", rule.id());
    Rejection {
        rule: rule.id(),
        reply: LocalReply::new(status, body, protocol),
    }
}

/// The tenant for `tenants` limits: the header's value, `None` when missing or blank.
pub fn limits_tenant<'a>(headers: &RequestHeaders<'a>) -> Option<&'a str> {
    headers
        .limits_tenant
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Decides what the headers alone decide.
pub fn decide_headers(config: &EdgeConfig, headers: &RequestHeaders<'_>) -> HeadersDecision {
    let rejected = |rejection| HeadersDecision::Decided(settle(config, rejection, None));
    let negotiated = match negotiate(headers.content_type, headers.content_encoding) {
        Ok(n) => n,
        Err(err) => {
            // The schema is still known when only the encoding is wrong (Written headers).
            let protocol = negotiate(headers.content_type, None)
                .ok()
                .map(|n| n.protocol());
            let rule = match err {
                NegotiateError::Encoding => EdgeRule::ContentEncoding,
                _ => EdgeRule::ContentType,
            };
            return rejected(reject(rule, 415, &format!("{err}"), protocol));
        }
    };
    let protocol = negotiated.protocol();
    if !config.accepted_protocols.contains(&protocol) {
        let message = format!("Remote Write {protocol} is not accepted here");
        return rejected(reject(
            EdgeRule::ProtocolNotAccepted,
            415,
            &message,
            Some(protocol),
        ));
    }
    if let Some(name) = &config.tenant_header
        && headers.tenant.is_none_or(|v| v.trim().is_empty())
    {
        let message = format!("missing tenant header {name}");
        let status = config.missing_tenant_status;
        return rejected(reject(
            EdgeRule::TenantMissing,
            status,
            &message,
            Some(protocol),
        ));
    }
    if let Some(id) = limits_tenant(headers)
        && !is_valid_tenant_id(id)
    {
        let shown: alloc::string::String = id.chars().take(64).collect();
        let message = format!(
            "tenant {shown:?} is not a valid tenant id (1-150 bytes of A-Z a-z 0-9 ! - _ . * ' ( ))"
        );
        return rejected(reject(
            EdgeRule::TenantInvalid,
            400,
            &message,
            Some(protocol),
        ));
    }
    if let Some(length) = headers
        .content_length
        .and_then(|v| v.trim().parse::<u64>().ok())
        && length > config.limits.max_body_bytes as u64
    {
        let message = format!(
            "Content-Length {length} exceeds the limit of {} bytes",
            config.limits.max_body_bytes
        );
        return rejected(reject(EdgeRule::BodySize, 413, &message, Some(protocol)));
    }
    let content_type = (!negotiated.was_canonical()).then(|| negotiated.content_type());
    HeadersDecision::NeedBody(Examination {
        protocol,
        content_type,
    })
}
