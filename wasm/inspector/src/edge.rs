//! "What would the edge do with this payload": the Envoy filter's decision functions from
//! `prw_core::edge`, run on the payload in the page with a pasted filter config.
//!
//! The request goes through the same steps as in Envoy: method + path
//! ([`decide_request_head`]), headers ([`decide_headers`]), body ([`decide_body`]). A
//! missing `Content-Length` header is filled in with the body's length, as a sender sends
//! it. The result is a serializable [`EdgeSimulation`]; its JSON is what the page shows.

use prw_core::edge::{
    EdgeConfig, HeadAction, HeadersDecision, Rejection, RequestHeaders, Verdict, decide_body,
    decide_headers, decide_request_head, rule_stat_name,
};
use serde::{Deserialize, Serialize};

use crate::InspectorError;

/// The simulated request (JSON from the page).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeRequest {
    /// HTTP method. Default `POST`.
    pub method: String,
    /// Request path. Default: the config's first write path.
    pub path: Option<String>,
    /// Request headers as `[name, value]` pairs.
    pub headers: Vec<(String, String)>,
    /// "Now" in Unix ms, for `max_sample_age`. Default 0.
    pub now_ms: i64,
}

impl Default for EdgeRequest {
    fn default() -> Self {
        EdgeRequest {
            method: "POST".into(),
            path: None,
            headers: Vec::new(),
            now_ms: 0,
        }
    }
}

/// A local reply the edge would send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyReport {
    /// Status.
    pub status: u16,
    /// Body.
    pub body: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
}

/// What the edge would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EdgeSimulation {
    /// `pass` (not a write: untouched), `forward`, `reject`, or `observe` (observe mode:
    /// forwarded, but it would have been rejected).
    pub action: &'static str,
    /// The step that decided: `head`, `headers` or `body`.
    pub decided_by: &'static str,
    /// The status of the local reply (reject only).
    pub status: Option<u16>,
    /// The rule that fired (reject and observe).
    pub rule: Option<&'static str>,
    /// The local reply that is (reject) or would be (observe) sent.
    pub reply: Option<ReplyReport>,
    /// The canonical Content-Type the request is forwarded with, when it is rewritten.
    pub forwarded_content_type: Option<&'static str>,
    /// The counters the filter increments.
    pub stats: Vec<String>,
    /// The response status rewrites in force (`"local:408" -> 503`).
    pub status_rewrites: Vec<(String, u16)>,
    /// One human sentence.
    pub summary: String,
}

/// Parses and checks a filter config like the filter does; blank text means `{}`.
pub fn parse_config(json: &str) -> Result<EdgeConfig, InspectorError> {
    let config = if json.trim().is_empty() {
        EdgeConfig::default()
    } else {
        serde_json::from_str(json).map_err(InspectorError::EdgeConfigJson)?
    };
    config.check().map_err(InspectorError::EdgeConfig)?;
    Ok(config)
}

/// Parses the simulated request; blank text means a POST to the first write path.
pub fn parse_request(json: &str) -> Result<EdgeRequest, InspectorError> {
    if json.trim().is_empty() {
        return Ok(EdgeRequest::default());
    }
    serde_json::from_str(json).map_err(InspectorError::EdgeRequest)
}

fn reply(rejection: &Rejection) -> ReplyReport {
    ReplyReport {
        status: rejection.reply.status,
        body: rejection.reply.body.clone(),
        headers: rejection
            .reply
            .headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
    }
}

/// Runs the edge's request-side decisions on `body`.
pub fn simulate(config: &EdgeConfig, request: &EdgeRequest, body: &[u8]) -> EdgeSimulation {
    let default_path = config.write_paths.first().map_or("/", String::as_str);
    let path = request.path.as_deref().unwrap_or(default_path);
    let status_rewrites = config
        .effective_rewrites()
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    if decide_request_head(config, &request.method, path) == HeadAction::Pass {
        return EdgeSimulation {
            action: "pass",
            decided_by: "head",
            status: None,
            rule: None,
            reply: None,
            forwarded_content_type: None,
            stats: vec![prw_core::edge::Outcome::Passed.stat_name().to_owned()],
            status_rewrites,
            summary: format!(
                "{} {path} is not a POST to a write path ({}): passed untouched",
                request.method,
                config.write_paths.join(", ")
            ),
        };
    }
    let mut pairs = request.headers.clone();
    if !pairs
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        pairs.push(("content-length".into(), body.len().to_string()));
    }
    let headers = RequestHeaders::from_pairs(&pairs, config);
    let (verdict, decided_by) = match decide_headers(config, &headers) {
        HeadersDecision::Decided(verdict) => (verdict, "headers"),
        HeadersDecision::NeedBody(exam) => {
            (decide_body(config, &exam, body, request.now_ms), "body")
        }
    };
    let mut stats = vec![verdict.outcome().stat_name().to_owned()];
    stats.extend(verdict.rule().map(rule_stat_name));
    let rule = verdict.rule();
    match &verdict {
        Verdict::Reject(rejection) => EdgeSimulation {
            action: "reject",
            decided_by,
            status: Some(rejection.reply.status),
            rule,
            reply: Some(reply(rejection)),
            forwarded_content_type: None,
            stats,
            status_rewrites,
            summary: format!(
                "rejected at the edge with {} ({}); the backend never sees it",
                rejection.reply.status, rejection.rule
            ),
        },
        Verdict::Forward {
            content_type,
            observed,
        } => EdgeSimulation {
            action: if observed.is_some() {
                "observe"
            } else {
                "forward"
            },
            decided_by,
            status: None,
            rule,
            reply: observed.as_ref().map(reply),
            forwarded_content_type: *content_type,
            stats,
            status_rewrites,
            summary: match observed {
                Some(r) => format!(
                    "observe mode: forwarded, but enforce mode would answer {} ({})",
                    r.reply.status, r.rule
                ),
                None => String::from("forwarded to the backend"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_payloads as payloads;

    fn run(config: &str, request: &str, body: &[u8]) -> EdgeSimulation {
        simulate(
            &parse_config(config).unwrap(),
            &parse_request(request).unwrap(),
            body,
        )
    }

    #[test]
    fn a_valid_body_is_forwarded_and_counted_as_accepted() {
        let body = payloads::snappy(&payloads::v1_valid());
        let sim = run(
            "{}",
            r#"{"headers":[["Content-Encoding","snappy"]]}"#,
            &body,
        );
        assert_eq!(
            (sim.action, sim.decided_by, sim.status),
            ("forward", "body", None)
        );
        assert_eq!(sim.stats, ["prw_edge_accepted_total"]);
    }

    #[test]
    fn an_invalid_body_is_rejected_with_400_naming_the_rule() {
        let body = payloads::snappy(&payloads::v1_unsorted());
        let sim = run("", "", &body);
        assert_eq!(
            (sim.action, sim.status, sim.rule),
            ("reject", Some(400), Some("labels.unsorted"))
        );
        assert!(sim.reply.unwrap().body.contains("labels.unsorted"));
        assert_eq!(sim.stats[1], "prw_edge_rule_labels_unsorted_total");
    }

    #[test]
    fn observe_mode_forwards_what_it_would_reject() {
        let body = payloads::snappy(&payloads::v1_unsorted());
        let sim = run(r#"{"mode":"observe"}"#, "", &body);
        assert_eq!((sim.action, sim.status), ("observe", None));
        assert_eq!(sim.reply.unwrap().status, 400);
    }

    #[test]
    fn headers_alone_decide_a_415_and_a_missing_tenant() {
        let body = payloads::snappy(&payloads::v1_valid());
        let sim = run(
            "{}",
            r#"{"headers":[["Content-Type","text/plain"]]}"#,
            &body,
        );
        assert_eq!((sim.decided_by, sim.status), ("headers", Some(415)));
        let sim = run(r#"{"tenant_header":"X-Scope-OrgID"}"#, "", &body);
        assert_eq!((sim.decided_by, sim.status), ("headers", Some(401)));
    }

    #[test]
    fn other_paths_pass_untouched() {
        let sim = run("{}", r#"{"method":"GET","path":"/metrics"}"#, b"");
        assert_eq!((sim.action, sim.decided_by), ("pass", "head"));
    }

    #[test]
    fn bad_config_names_the_field() {
        let err = parse_config(r#"{"write_paths":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("write_paths"), "{err}");
        let err = parse_config(r#"{"moed":"observe"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("moed"), "{err}");
    }
}
