//! Building the HTTP answer to a write request.
//!
//! Invariant: an answer to a request whose Content-Type names Remote Write 2.0 carries the
//! three `X-Prometheus-Remote-Write-*-Written` headers, whatever its status (the counts on
//! 2xx, 0 otherwise); an answer to a v1 request carries none.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use prw_core::Protocol;
use prw_core::classify::WrittenHeader;

use super::check::BodyFacts;
use super::rejection::Rejection;
use crate::handler::ResponseBody;

fn written_headers(response: &mut Response<ResponseBody>, facts: Option<&BodyFacts>) {
    for header in WrittenHeader::ALL {
        let count = facts.map_or(0, |f| match header {
            WrittenHeader::Samples => f.samples,
            WrittenHeader::Histograms => f.histograms,
            WrittenHeader::Exemplars => f.exemplars,
        });
        response.headers_mut().insert(
            HeaderName::from_static(lowercase_name(header)),
            HeaderValue::from(count),
        );
    }
}

/// `HeaderName::from_static` needs the lower-case spelling of the canonical names.
fn lowercase_name(header: WrittenHeader) -> &'static str {
    match header {
        WrittenHeader::Samples => "x-prometheus-remote-write-samples-written",
        WrittenHeader::Histograms => "x-prometheus-remote-write-histograms-written",
        WrittenHeader::Exemplars => "x-prometheus-remote-write-exemplars-written",
    }
}

/// 204 for a durable request.
pub fn acknowledged(claimed: Option<Protocol>, facts: &BodyFacts) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    if claimed == Some(Protocol::V2) {
        written_headers(&mut response, Some(facts));
    }
    response
}

/// The rejection's status, its reason as plain text, `Retry-After` on 503.
pub fn rejected(claimed: Option<Protocol>, rejection: &Rejection) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{rejection}\n"))));
    *response.status_mut() = rejection.status();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(secs) = rejection.retry_after() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if claimed == Some(Protocol::V2) {
        written_headers(&mut response, None);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_names_match_the_canonical_names() {
        for header in WrittenHeader::ALL {
            assert_eq!(lowercase_name(header), header.name().to_ascii_lowercase());
        }
    }
}
