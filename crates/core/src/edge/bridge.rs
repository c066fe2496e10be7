//! The 2.0 -> 1.0 bridge (`upstream_protocol: v1`): a checked 2.0 body becomes a
//! snappy-compressed 1.0 body ([`crate::convert::v2_to_v1_bytes`]) sent with the 1.0
//! Content-Type and version header; what it carries is what the edge reports in the
//! `X-Prometheus-Remote-Write-*-Written` headers when the upstream answers 2xx.
//!
//! Invariants: only a 2.0 request that passed every check is converted (a 1.0 request, or
//! any request with `upstream_protocol: as_sent`, is `None`: sent as it came); what 1.0
//! cannot carry is counted in [`Bridged::transcoded`], never silently lost; a conversion
//! failure (impossible for a validated body) is a 400 `edge.convert`, never a panic.
//!
//! Size: the 1.0 form can be far bigger than the 2.0 one (2.0 sends each string once; one
//! long symbol reused by every label of 100,000 series is gigabytes of 1.0), so the
//! conversion is capped while it runs at `limits.max_decoded_bytes` (the largest decoded
//! body the edge accepts) and stops at the first series past it; nothing big is reserved up
//! front. That, or a snappy body over `limits.max_body_bytes` (Envoy answers its own bare
//! 413 when a replaced body exceeds the listener's buffer limit, which `max_body_bytes` is
//! documented to equal), is a 413 `edge.converted_size` naming the limit. Memory held at
//! once: the 2.0 body decoded, at most `max_decoded_bytes` of 1.0, and its snappy form.

use alloc::format;
use alloc::vec::Vec;

use super::body::CheckedBody;
use super::reply::Rejection;
use super::request::reject;
use super::{EdgeConfig, EdgeRule, UpstreamProtocol};
use crate::Protocol;
use crate::codec;
use crate::convert::{TranscodeError, Transcoded, v2_to_v1_bytes};
use crate::negotiate::CONTENT_TYPE_V1;

/// `X-Prometheus-Remote-Write-Version` of a converted request.
pub const V1_VERSION: &str = "0.1.0";

/// A converted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bridged {
    /// The 1.0 body, snappy-compressed.
    pub body: Vec<u8>,
    /// Its Content-Type.
    pub content_type: &'static str,
    /// Its `X-Prometheus-Remote-Write-Version`.
    pub version: &'static str,
    /// What it carries and what was dropped.
    pub transcoded: Transcoded,
}

/// Converts `checked` when the config asks for 1.0 upstream and the request is 2.0.
pub fn bridge_body(
    config: &EdgeConfig,
    checked: &CheckedBody,
) -> Option<Result<Bridged, Rejection>> {
    if config.upstream_protocol != UpstreamProtocol::V1 || checked.protocol != Protocol::V2 {
        return None;
    }
    let fail = |what: &str| {
        let message = format!("cannot convert to Remote Write 1.0: {what}");
        reject(EdgeRule::Convert, 400, &message, Some(Protocol::V2))
    };
    let too_large = |message: &str| {
        reject(
            EdgeRule::ConvertedSize,
            413,
            &format!("{message}; send smaller requests"),
            Some(Protocol::V2),
        )
    };
    let limit = config.limits.max_decoded_bytes;
    // Grows as it is written, never past the cap: nothing reserved up front.
    let mut decoded = Vec::new();
    let transcoded = match v2_to_v1_bytes(
        &checked.decoded,
        config.custom_bucket_histograms,
        limit,
        &mut decoded,
    ) {
        Ok(t) => t,
        Err(TranscodeError::TooLarge { series, .. }) => {
            let message = format!(
                "the request converted to Remote Write 1.0 is over {limit} bytes decoded (limits.max_decoded_bytes) at series {series}: 1.0 repeats every string 2.0 sends once"
            );
            return Some(Err(too_large(&message)));
        }
        Err(e @ TranscodeError::Alloc { .. }) => {
            return Some(Err(too_large(&format!("{e} in the filter"))));
        }
        Err(e) => return Some(Err(fail(&format!("{e}")))),
    };
    Some(match codec::compress(&decoded) {
        Ok(body) if body.len() > config.limits.max_body_bytes => {
            let message = format!(
                "the request converted to Remote Write 1.0 is {} bytes (compressed), over the limit of {} bytes (limits.max_body_bytes, Envoy's buffer limit)",
                body.len(),
                config.limits.max_body_bytes
            );
            Err(too_large(&message))
        }
        Ok(body) => Ok(Bridged {
            body,
            content_type: CONTENT_TYPE_V1,
            version: V1_VERSION,
            transcoded,
        }),
        Err(e) => Err(fail(&format!("{e}"))),
    })
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::edge::{BodyCheck, Examination, check_body};
    use crate::fixtures::{SYMBOLS, v2_bytes, v2_up};
    use crate::proto::v1;

    fn checked(config: &EdgeConfig, decoded: &[u8], protocol: Protocol) -> CheckedBody {
        let exam = Examination {
            protocol,
            content_type: None,
        };
        let body = codec::compress(decoded).unwrap();
        match check_body(config, &exam, &body, 0) {
            BodyCheck::Passed(c) => c,
            BodyCheck::Decided(v) => panic!("{v:?}"),
        }
    }

    fn v1_config() -> EdgeConfig {
        serde_json::from_str(r#"{"upstream_protocol": "v1"}"#).unwrap()
    }

    #[test]
    fn a_valid_v2_body_becomes_snappy_v1_with_the_1_0_headers() {
        let config = v1_config();
        let c = checked(&config, &v2_bytes(&SYMBOLS, vec![v2_up()]), Protocol::V2);
        let bridged = bridge_body(&config, &c).unwrap().unwrap();
        assert_eq!(
            (bridged.content_type, bridged.version),
            ("application/x-protobuf", "0.1.0")
        );
        let decoded = codec::decompress(&bridged.body, &crate::Limits::default()).unwrap();
        let v1 = v1::WriteRequest::decode(decoded.as_slice()).unwrap();
        assert_eq!(v1.timeseries[0].labels[0].value, "up");
        assert_eq!(bridged.transcoded.written.samples, 1);
    }

    #[test]
    fn v1_requests_and_as_sent_are_not_converted() {
        let v2 = v2_bytes(&SYMBOLS, vec![v2_up()]);
        let as_sent = EdgeConfig::default();
        assert_eq!(
            bridge_body(&as_sent, &checked(&as_sent, &v2, Protocol::V2)),
            None
        );
        let config = v1_config();
        let v1 = crate::fixtures::v1_bytes(vec![crate::fixtures::up()]);
        assert_eq!(
            bridge_body(&config, &checked(&config, &v1, Protocol::V1)),
            None
        );
    }

    #[test]
    fn a_converted_body_over_max_body_bytes_is_413_naming_both_sizes() {
        let mut config = v1_config();
        let symbols: Vec<alloc::string::String> = (0..200)
            .map(|i| alloc::format!("value-{i:04}-{}", "x".repeat(40)))
            .collect();
        let mut all = alloc::vec![""];
        all.push("__name__");
        all.extend(symbols.iter().map(alloc::string::String::as_str));
        let series = (0..200u32)
            .map(|i| crate::fixtures::v2_series(&[1, 2 + i], &[(1, 1.0)]))
            .collect();
        let decoded = v2_bytes(&all, series);
        let c = checked(&config, &decoded, Protocol::V2);
        let converted = bridge_body(&config, &c).unwrap().unwrap().body.len();
        config.limits.max_body_bytes = converted - 1;
        let err = bridge_body(&config, &c).unwrap().unwrap_err();
        assert_eq!((err.rule, err.reply.status), ("edge.converted_size", 413));
        assert!(
            err.reply
                .body
                .contains(&alloc::format!("{converted} bytes")),
            "{}",
            err.reply.body
        );
    }

    #[test]
    fn an_amplifying_body_is_413_at_the_decoded_cap_not_gigabytes_of_1_0() {
        // ~8 MB of 2.0 whose 1.0 form is ~5.8 GB (one 2,000-byte symbol as the value of 29
        // labels of 100,000 series): refused at limits.max_decoded_bytes (64 MiB).
        let config = v1_config();
        let body = crate::fixtures::amplifying_v2(100_000, 30, 2000);
        let c = checked(&config, &body, Protocol::V2);
        let err = bridge_body(&config, &c).unwrap().unwrap_err();
        assert_eq!((err.rule, err.reply.status), ("edge.converted_size", 413));
        let limit = alloc::format!("over {} bytes", config.limits.max_decoded_bytes);
        assert!(err.reply.body.contains(&limit), "{}", err.reply.body);
        assert!(err.reply.body.contains("limits.max_decoded_bytes"));
        let written = err.reply.headers.iter().filter(|(_, v)| v == "0").count();
        assert_eq!(written, 3, "{:?}", err.reply.headers);
    }

    #[test]
    fn a_body_that_cannot_be_converted_is_400_edge_convert() {
        // Not reachable through check_body (validation catches it); built by hand.
        let c = CheckedBody {
            protocol: Protocol::V2,
            decoded: v2_bytes(
                &[""],
                vec![crate::fixtures::v2_series(&[1, 2], &[(1, 1.0)])],
            ),
            counts: Default::default(),
        };
        let err = bridge_body(&v1_config(), &c).unwrap().unwrap_err();
        assert_eq!((err.rule, err.reply.status), ("edge.convert", 400));
        assert!(
            err.reply.body.contains("out of range"),
            "{}",
            err.reply.body
        );
    }
}
