//! "What would the edge do with this payload": the Envoy filter's decision functions from
//! `prw_core::edge`, run on the payload in the page with a pasted filter config.
//!
//! The request goes through the same steps as in Envoy: method + path
//! ([`decide_request_head`]), headers ([`decide_headers`]), body ([`check_body`]), then the
//! filter's own [`decide_checked`]: with `upstream_protocol: v1` the 2.0 -> 1.0 conversion,
//! whose counts are in [`EdgeSimulation::converted`] and whose body [`simulate`] also
//! returns, then the `tenants` limits against a fresh [`MemoryStore`] (every bucket full:
//! what the first request of a tenant meets; the series and burst limits decide, the rate
//! cannot be simulated without traffic). A missing
//! `Content-Length` header is filled in with the body's length, as a sender sends it. The
//! result is a serializable [`EdgeSimulation`]; its JSON is what the page shows.

use prw_core::convert::{V1Dropped, V1Written};
use prw_core::edge::shared_bucket::MemoryStore;
use prw_core::edge::{
    BodyCheck, EdgeConfig, HeadAction, HeadersDecision, Outcome, Rejection, RequestHeaders,
    Verdict, check_body, decide_checked, decide_headers, decide_request_head, limits_tenant,
    rule_stat_name, tenant_stat_name,
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
    /// The `tenants` limits' tenant (id and stats label), when `tenants` is configured and
    /// the body was checked.
    pub tenant: Option<TenantReport>,
    /// The 1.0 request sent upstream instead (`upstream_protocol: v1`, a valid 2.0 body).
    pub converted: Option<ConvertedReport>,
    /// The converted body itself (snappy), for the page's download; not in the JSON.
    #[serde(skip)]
    pub converted_body: Option<Vec<u8>>,
    /// One human sentence.
    pub summary: String,
}

/// The tenant a request is limited as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantReport {
    /// Its id (`anonymous` without the header).
    pub id: String,
    /// Its stats label (its override's name, or `other`).
    pub stats_label: String,
}

/// The converted request (`upstream_protocol: v1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvertedReport {
    /// Its Content-Type.
    pub content_type: &'static str,
    /// Its `X-Prometheus-Remote-Write-Version`.
    pub version: &'static str,
    /// Its snappy-compressed size (the download).
    pub body_bytes: usize,
    /// What it carries: the Written headers the sender gets on the upstream's 2xx.
    pub written: V1Written,
    /// What 1.0 could not carry (counted by the filter's `prw_edge_convert_dropped_*`).
    pub dropped: V1Dropped,
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
            stats: vec![Outcome::Passed.stat_name().to_owned()],
            status_rewrites,
            tenant: None,
            converted: None,
            converted_body: None,
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
    let mut tenant = None;
    let mut converted = None;
    let (verdict, decided_by) = match decide_headers(config, &headers) {
        HeadersDecision::Decided(verdict) => (verdict, "headers"),
        HeadersDecision::NeedBody(exam) => match check_body(config, &exam, body, request.now_ms) {
            BodyCheck::Decided(verdict) => (verdict, "body"),
            BodyCheck::Passed(checked) => {
                let decision = decide_checked(
                    config,
                    &exam,
                    &checked,
                    limits_tenant(&headers),
                    &mut MemoryStore::default(),
                    request.now_ms,
                );
                tenant = decision.tenant.map(|t| {
                    (
                        t.tenant.id.to_owned(),
                        t.tenant.stats_label.to_owned(),
                        t.outcome,
                    )
                });
                converted = decision.bridged;
                (decision.verdict, "body")
            }
        },
    };
    let mut stats = vec![verdict.outcome().stat_name().to_owned()];
    stats.extend(verdict.rule().map(rule_stat_name));
    if let Some((_, label, outcome)) = &tenant {
        stats.push(tenant_stat_name(*outcome, label));
    }
    if converted.is_some() {
        stats.push(Outcome::Converted.stat_name().to_owned());
    }
    let tenant = tenant.map(|(id, stats_label, _)| TenantReport { id, stats_label });
    let converted_body = converted.as_ref().map(|b| b.body.clone());
    let converted = converted.map(|b| ConvertedReport {
        content_type: b.content_type,
        version: b.version,
        body_bytes: b.body.len(),
        written: b.transcoded.written,
        dropped: b.transcoded.dropped,
    });
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
            tenant,
            converted: None,
            converted_body: None,
            summary: format!(
                "rejected at the edge with {} ({}); the backend never sees it",
                rejection.reply.status, rejection.rule
            ),
        },
        Verdict::Forward {
            content_type,
            observed,
        } => {
            let summary = match (observed, &converted) {
                (Some(r), _) => format!(
                    "observe mode: forwarded, but enforce mode would answer {} ({})",
                    r.reply.status, r.rule
                ),
                (None, Some(c)) => format!(
                    "forwarded to the backend as Remote Write 1.0 ({} bytes): {} samples, {} histograms, {} exemplars",
                    c.body_bytes, c.written.samples, c.written.histograms, c.written.exemplars
                ),
                (None, None) => String::from("forwarded to the backend"),
            };
            EdgeSimulation {
                action: if observed.is_some() {
                    "observe"
                } else {
                    "forward"
                },
                decided_by,
                status: None,
                rule,
                reply: observed.as_ref().map(reply),
                forwarded_content_type: converted
                    .as_ref()
                    .map(|c| c.content_type)
                    .or(*content_type),
                stats,
                status_rewrites,
                tenant,
                converted,
                converted_body,
                summary,
            }
        }
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

    const V2_HEADERS: &str = r#"{"headers":[["Content-Type","application/x-protobuf;proto=io.prometheus.write.v2.Request"]]}"#;

    fn v2_valid() -> (prw_core::proto::v2::Request, Vec<u8>) {
        use prost::Message;
        let v2 = prw_core::convert::v1_to_v2(&payloads::v1_valid());
        let body = prw_core::codec::compress(&v2.encode_to_vec()).unwrap();
        (v2, body)
    }

    #[test]
    fn upstream_protocol_v1_shows_the_converted_request_and_its_body() {
        use prost::Message;
        let (v2, body) = v2_valid();
        let sim = run(r#"{"upstream_protocol":"v1"}"#, V2_HEADERS, &body);
        assert_eq!(sim.action, "forward");
        assert_eq!(
            sim.forwarded_content_type,
            Some(prw_core::negotiate::CONTENT_TYPE_V1)
        );
        let converted = sim.converted.clone().unwrap();
        let expected = prw_core::convert::v2_to_v1(&v2).unwrap();
        let samples: usize = expected.timeseries.iter().map(|t| t.samples.len()).sum();
        let histograms: usize = expected.timeseries.iter().map(|t| t.histograms.len()).sum();
        assert_eq!(converted.written.samples, samples as u64);
        assert_eq!(converted.written.histograms, histograms as u64);
        assert!(sim.stats.contains(&"prw_edge_converted_total".to_string()));
        // The download is the 1.0 body, snappy-compressed; the JSON only names its size.
        let download = sim.converted_body.clone().unwrap();
        assert_eq!(download.len(), converted.body_bytes);
        let decoded = prw_core::codec::decompress(&download, &Default::default()).unwrap();
        let v1 = prw_core::proto::v1::WriteRequest::decode(decoded.as_slice()).unwrap();
        assert_eq!(v1.encode_to_vec(), expected.encode_to_vec());
        let json = serde_json::to_string(&sim).unwrap();
        assert!(json.contains(r#""body_bytes""#) && !json.contains("converted_body"));
        // As sent: nothing converted.
        let sim = run("{}", V2_HEADERS, &body);
        assert_eq!((sim.converted, sim.converted_body), (None, None));
    }

    #[test]
    fn tenant_limits_are_simulated_against_a_full_bucket() {
        let (_, body) = v2_valid();
        let config = r#"{"tenants": {"overrides": {"t1":
            {"ingestion_rate": 1, "ingestion_burst_size": 1}}}}"#;
        let headers = r#"{"headers":[["Content-Type","application/x-protobuf;proto=io.prometheus.write.v2.Request"],["X-Scope-OrgID","t1"]]}"#;
        let sim = run(config, headers, &body);
        assert_eq!(
            (sim.action, sim.status, sim.rule),
            ("reject", Some(400), Some("edge.ingestion_burst_size"))
        );
        let tenant = sim.tenant.unwrap();
        assert_eq!(
            (tenant.id.as_str(), tenant.stats_label.as_str()),
            ("t1", "t1")
        );
        assert!(
            sim.stats
                .contains(&"prw_edge_tenant_burst_exceeded_total.tenant.t1".to_string())
        );
        // Another tenant has no limits here.
        let sim = run(config, V2_HEADERS, &body);
        assert_eq!(sim.action, "forward");
        assert_eq!(sim.tenant.unwrap().stats_label, "other");
    }

    #[test]
    fn a_conversion_the_bridge_refuses_is_decided_before_the_tenant_limits() {
        use prost::Message;
        use prw_core::proto::v1;
        // Three series sharing one long label value: 2.0 sends it once, 1.0 three times.
        let long = "v".repeat(200);
        let series = |name: &str| v1::TimeSeries {
            labels: vec![
                v1::Label {
                    name: "__name__".into(),
                    value: name.into(),
                },
                v1::Label {
                    name: "job".into(),
                    value: long.clone(),
                },
            ],
            samples: vec![v1::Sample {
                value: 1.0,
                timestamp: 1,
            }],
            ..Default::default()
        };
        let request = v1::WriteRequest {
            timeseries: vec![series("a"), series("b"), series("c")],
            metadata: vec![],
        };
        let v2 = prw_core::convert::v1_to_v2(&request).encode_to_vec();
        assert!(request.encode_to_vec().len() > v2.len());
        let body = prw_core::codec::compress(&v2).unwrap();
        // The 2.0 body fits max_decoded_bytes exactly, its 1.0 form does not. The tenant's
        // burst of 1 would refuse the request too (3 samples), but the bridge decides first
        // and no tenant is charged.
        let config = format!(
            r#"{{"upstream_protocol": "v1", "limits": {{"max_decoded_bytes": {}}},
            "tenants": {{"default": {{"ingestion_rate": 1, "ingestion_burst_size": 1}}}}}}"#,
            v2.len()
        );
        let sim = run(&config, V2_HEADERS, &body);
        assert_eq!(
            (sim.action, sim.status, sim.rule),
            ("reject", Some(413), Some("edge.converted_size"))
        );
        assert_eq!((sim.tenant, sim.converted), (None, None));
        assert!(
            !sim.stats.iter().any(|s| s.contains("tenant")),
            "{:?}",
            sim.stats
        );
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
