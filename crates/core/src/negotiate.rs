//! Content-Type / Content-Encoding negotiation: which schema a request uses, or a 415.
//!
//! Content-Type alone selects the schema (the version header is informational). Lenient
//! where the reference is: an empty or missing Content-Type is v1, a missing (or empty)
//! Content-Encoding is snappy. The media type and the `proto` parameter name are
//! case-insensitive, spaces around `;` and `=` are tolerated, a quoted value is unquoted and
//! unknown parameters are ignored. The `proto` value itself is case-sensitive (a message
//! name). Because strict receivers read `; proto=...` (with a space) as v1, callers that
//! forward a request pass on [`Negotiated::content_type`] when
//! [`Negotiated::was_canonical`] is false.

use crate::Protocol;

/// Canonical v1 Content-Type.
pub const CONTENT_TYPE_V1: &str = "application/x-protobuf";
/// Canonical v2 Content-Type.
pub const CONTENT_TYPE_V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
/// The spec's explicit v1 form, also accepted verbatim by strict receivers.
const CONTENT_TYPE_V1_EXPLICIT: &str = "application/x-protobuf;proto=prometheus.WriteRequest";

/// The outcome of a successful negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    protocol: Protocol,
    was_canonical: bool,
}

impl Negotiated {
    /// The schema of the body.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The canonical Content-Type to pass on.
    pub fn content_type(&self) -> &'static str {
        self.protocol.content_type()
    }

    /// Whether the request's Content-Type was already one of the spec's exact forms (so a
    /// forwarder need not rewrite it).
    pub fn was_canonical(&self) -> bool {
        self.was_canonical
    }
}

/// Why a request's headers cannot be accepted. Every variant deserves 415.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiateError {
    /// The media type is not `application/x-protobuf`.
    #[error("unsupported Content-Type: media type is not application/x-protobuf")]
    MediaType,
    /// The `proto` parameter names neither Remote Write message.
    #[error(
        "unsupported Content-Type: proto= must be prometheus.WriteRequest or io.prometheus.write.v2.Request"
    )]
    Proto,
    /// A Content-Type parameter is not of the form `key=value`.
    #[error("malformed Content-Type parameter (expected key=value)")]
    MalformedParameter,
    /// The Content-Encoding is not `snappy`.
    #[error("unsupported Content-Encoding: only snappy is supported")]
    Encoding,
}

impl NegotiateError {
    /// The status a receiver answers: always 415 Unsupported Media Type.
    pub fn status(&self) -> u16 {
        415
    }
}

/// Decides the schema from the request's Content-Type and Content-Encoding headers.
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Negotiated, NegotiateError> {
    if let Some(encoding) = content_encoding {
        let encoding = encoding.trim();
        if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("snappy") {
            return Err(NegotiateError::Encoding);
        }
    }
    let raw = content_type.unwrap_or("");
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(Negotiated {
            protocol: Protocol::V1,
            was_canonical: false,
        });
    }
    let mut parts = trimmed.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(CONTENT_TYPE_V1) {
        return Err(NegotiateError::MediaType);
    }
    let mut protocol = Protocol::V1;
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (key, value) = param
            .split_once('=')
            .ok_or(NegotiateError::MalformedParameter)?;
        if !key.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        protocol = match value {
            "prometheus.WriteRequest" => Protocol::V1,
            "io.prometheus.write.v2.Request" => Protocol::V2,
            _ => return Err(NegotiateError::Proto),
        };
    }
    let was_canonical = match protocol {
        Protocol::V1 => raw == CONTENT_TYPE_V1 || raw == CONTENT_TYPE_V1_EXPLICIT,
        Protocol::V2 => raw == CONTENT_TYPE_V2,
    };
    Ok(Negotiated {
        protocol,
        was_canonical,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(ct: Option<&str>) -> Result<Protocol, NegotiateError> {
        negotiate(ct, Some("snappy")).map(|n| n.protocol())
    }

    #[test]
    fn exact_forms_are_canonical() {
        let v1 = negotiate(Some(CONTENT_TYPE_V1), None).unwrap();
        assert_eq!((v1.protocol(), v1.was_canonical()), (Protocol::V1, true));
        let v1x = negotiate(Some(CONTENT_TYPE_V1_EXPLICIT), None).unwrap();
        assert_eq!((v1x.protocol(), v1x.was_canonical()), (Protocol::V1, true));
        let v2 = negotiate(Some(CONTENT_TYPE_V2), None).unwrap();
        assert_eq!((v2.protocol(), v2.was_canonical()), (Protocol::V2, true));
        assert_eq!(v2.content_type(), CONTENT_TYPE_V2);
    }

    #[test]
    fn spaces_and_case_are_tolerated_but_not_canonical() {
        let n = negotiate(
            Some(" Application/X-Protobuf ; Proto = io.prometheus.write.v2.Request "),
            Some("SNAPPY"),
        )
        .unwrap();
        assert_eq!(n.protocol(), Protocol::V2);
        assert!(!n.was_canonical());
        assert_eq!(n.content_type(), CONTENT_TYPE_V2);
    }

    #[test]
    fn empty_or_missing_content_type_is_v1() {
        assert_eq!(proto(None), Ok(Protocol::V1));
        assert_eq!(proto(Some("")), Ok(Protocol::V1));
        assert!(!negotiate(None, None).unwrap().was_canonical());
    }

    #[test]
    fn missing_or_empty_encoding_is_snappy() {
        assert!(negotiate(Some(CONTENT_TYPE_V1), None).is_ok());
        assert!(negotiate(Some(CONTENT_TYPE_V1), Some("")).is_ok());
    }

    #[test]
    fn unknown_type_proto_encoding_and_bad_param_are_415() {
        assert_eq!(
            proto(Some("application/json")),
            Err(NegotiateError::MediaType)
        );
        assert_eq!(
            proto(Some("application/x-protobuf;proto=foo.Bar")),
            Err(NegotiateError::Proto)
        );
        assert_eq!(
            proto(Some("application/x-protobuf;proto")),
            Err(NegotiateError::MalformedParameter)
        );
        let err = negotiate(Some(CONTENT_TYPE_V1), Some("zstd")).unwrap_err();
        assert_eq!(err, NegotiateError::Encoding);
        assert_eq!(err.status(), 415);
    }

    #[test]
    fn quoted_proto_and_unknown_params_are_accepted() {
        assert_eq!(
            proto(Some(
                "application/x-protobuf; charset=x; proto=\"io.prometheus.write.v2.Request\""
            )),
            Ok(Protocol::V2)
        );
    }
}
