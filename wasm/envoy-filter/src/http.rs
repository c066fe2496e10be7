//! The per-request HTTP context: moves headers and body into `prw_core::edge` and applies
//! the verdict. A body that passed every check then meets the `tenants` limits (the bucket
//! in shared data, [`crate::store`]) and, with `upstream_protocol: v1`, the conversion
//! ([`crate::bridge`]); a converted request's Written headers are set on the upstream's 2xx.
//!
//! Invariants: every host call's `Result` is handled (a failure is logged and the request
//! continues untouched); header values are read as bytes (`get_map_bytes`), because the
//! SDK's `String` variants `unwrap()` UTF-8 decoding of values a client controls; the headers
//! and body of an examined request are held (`Action::Pause`) until the body is decided, so
//! a rejected request never reaches the upstream. Holding headers while still receiving
//! the body needs Envoy's plugin option `allow_on_headers_stop_iteration: true` (without it
//! a headers-stage Pause stops body delivery too and the request times out).

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use log::{error, warn};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use prw_core::convert::V1Written;
use prw_core::edge::{
    self, BodyCheck, CheckedBody, EdgeConfig, Examination, HeadAction, HeadersDecision, Outcome,
    RequestHeaders, ResponseSource, Verdict, WRITTEN_HEADERS,
};

use crate::metrics::Metrics;
use crate::store::HostStore;

/// What every HTTP context of a VM shares.
#[derive(Debug)]
pub struct Shared {
    /// The checked configuration.
    pub config: EdgeConfig,
    /// The metric ids.
    pub metrics: Metrics,
}

/// Where one request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Request headers not seen yet: Envoy may answer before they reach this filter (the
    /// buffer filter in front holds them; a 408 request timeout can come first).
    Unseen,
    /// Not examined (not a POST to a write path, or a host call failed): hands off.
    Pass,
    /// Headers held, body being buffered.
    Examining(Examination),
    /// We answered locally; our own reply is not rewritten.
    Replied,
    /// Forwarded upstream; its response is checked against the status table (as is a local
    /// reply Envoy makes while `Examining`).
    Forwarded,
}

/// One HTTP stream.
#[derive(Debug)]
pub struct Filter {
    shared: Rc<Shared>,
    state: State,
    /// The tenant for `tenants` limits (from the request headers).
    tenant: Option<String>,
    /// What a converted request carried: reported in the Written headers on a 2xx.
    written: Option<V1Written>,
}

impl Filter {
    /// A context for a new stream.
    pub fn new(shared: Rc<Shared>) -> Filter {
        Filter {
            shared,
            state: State::Unseen,
            tenant: None,
            written: None,
        }
    }

    fn fail_open(&mut self, what: &str, status: proxy_wasm::types::Status) -> Action {
        error!("prw-edge: {what} failed ({status:?}); passing the request untouched");
        self.state = State::Pass;
        Action::Continue
    }

    /// Counts the verdict and carries it out.
    fn apply(&mut self, verdict: Verdict) -> Action {
        let metrics = &self.shared.metrics;
        metrics.outcome(verdict.outcome());
        if let Some(rule) = verdict.rule() {
            metrics.rule(rule);
        }
        match verdict {
            Verdict::Reject(rejection) => {
                let reply = rejection.reply;
                let headers: Vec<(&str, &str)> = reply
                    .headers
                    .iter()
                    .map(|(n, v)| (*n, v.as_str()))
                    .collect();
                let status = u32::from(reply.status);
                match hostcalls::send_http_response(status, headers, Some(reply.body.as_bytes())) {
                    Ok(()) => {
                        self.state = State::Replied;
                        Action::Pause
                    }
                    Err(status) => self.fail_open("send_http_response", status),
                }
            }
            Verdict::Forward {
                content_type,
                observed,
            } => {
                if let Some(rejection) = observed {
                    warn!(
                        "prw-edge observe: would answer {} ({}): {}",
                        rejection.reply.status,
                        rejection.rule,
                        rejection.reply.body.trim_end()
                    );
                }
                // The request headers are still held (headers stage, or body stage after a
                // headers Pause), so they can still change.
                if let Some(ct) = content_type {
                    set_request_content_type(ct);
                }
                self.state = State::Forwarded;
                Action::Continue
            }
        }
    }
}

impl Filter {
    /// A body that passed every check: the tenant limits, then the bridge, then forward.
    fn forward_checked(
        &mut self,
        exam: &Examination,
        checked: &CheckedBody,
        body_size: usize,
        now: i64,
    ) -> Action {
        let shared = Rc::clone(&self.shared);
        let (config, metrics) = (&shared.config, &shared.metrics);
        let mut verdict = Verdict::Forward {
            content_type: exam.content_type,
            observed: None,
        };
        if let Some(tenants) = &config.tenants {
            let tenant = tenants.resolve(self.tenant.as_deref());
            let result = edge::shared_bucket::admit_shared(
                &mut HostStore,
                tenants,
                &tenant,
                &checked.counts,
                checked.protocol,
                now,
            );
            metrics.tenant(result.admission.outcome, tenant.stats_label);
            if result.overflow {
                metrics.outcome(Outcome::TenantOverflow);
            }
            if let Some(error) = &result.host_error {
                warn!("prw-edge: tenant limits for {:?}: {error}", tenant.id);
            }
            match edge::admission_verdict(config, &result.admission, exam.content_type) {
                Some(reject @ Verdict::Reject(_)) => return self.apply(reject),
                Some(observed) => verdict = observed,
                None => {}
            }
        }
        match edge::bridge_body(config, checked) {
            None => {}
            Some(Ok(bridged)) => match crate::bridge::send_converted(&bridged, body_size) {
                Ok(()) => {
                    metrics.outcome(Outcome::Converted);
                    metrics.dropped(&bridged.transcoded.dropped);
                    self.written = Some(bridged.transcoded.written);
                    // The Content-Type is the 1.0 one now; no canonicalisation on top.
                    if let Verdict::Forward { content_type, .. } = &mut verdict {
                        *content_type = None;
                    }
                }
                Err(error) => {
                    error!(
                        "prw-edge: cannot send the converted request ({error}); passing it as sent"
                    );
                }
            },
            Some(Err(rejection)) => {
                return self.apply(edge::settle(config, rejection, exam.content_type));
            }
        }
        self.apply(verdict)
    }

    fn unseen_was_write(&self) -> bool {
        let property = |name: &str| match hostcalls::get_property(vec!["request", name]) {
            Ok(Some(bytes)) => String::from_utf8(bytes).ok(),
            _ => None,
        };
        match (property("method"), property("path")) {
            (Some(method), Some(path)) => {
                edge::decide_request_head(&self.shared.config, &method, &path)
                    == HeadAction::Examine
            }
            _ => false,
        }
    }
}

fn set_request_content_type(content_type: &str) {
    if let Err(status) = hostcalls::set_map_value(
        MapType::HttpRequestHeaders,
        "content-type",
        Some(content_type),
    ) {
        warn!("prw-edge: cannot canonicalise Content-Type: {status:?}");
    }
}

/// The Written headers of what a converted request carried (over any the upstream sent).
fn set_written_headers(written: &V1Written) {
    let values = [written.samples, written.histograms, written.exemplars];
    for (name, value) in WRITTEN_HEADERS.iter().zip(values) {
        let value = value.to_string();
        if let Err(status) =
            hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(&value))
        {
            warn!("prw-edge: cannot set {name}: {status:?}");
        }
    }
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Envoy's clock in Unix ms (0 if unreadable). Only called with `max_sample_age` set: the
/// SDK panics if the host answers this call with an unexpected status (a host-contract
/// violation Envoy never commits), so it stays off the path of every other request.
fn now_ms() -> i64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let pairs = match hostcalls::get_map_bytes(MapType::HttpRequestHeaders) {
            Ok(pairs) => pairs,
            Err(status) => return self.fail_open("reading request headers", status),
        };
        let find = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| text(v))
        };
        let config = &self.shared.config;
        let action = edge::decide_request_head(
            config,
            find(":method").unwrap_or(""),
            find(":path").unwrap_or(""),
        );
        if action == HeadAction::Pass {
            self.shared.metrics.outcome(Outcome::Passed);
            self.state = State::Pass;
            return Action::Continue;
        }
        // Non-UTF-8 values read as absent; negotiation then decides on what remains.
        let text_pairs: Vec<(&str, &str)> = pairs
            .iter()
            .filter_map(|(n, v)| text(v).map(|v| (n.as_str(), v)))
            .collect();
        let headers = RequestHeaders::from_pairs(&text_pairs, config);
        self.tenant = edge::limits_tenant(&headers).map(str::to_string);
        match edge::decide_headers(config, &headers) {
            HeadersDecision::Decided(verdict) => self.apply(verdict),
            HeadersDecision::NeedBody(exam) if end_of_stream => {
                // No body: nothing to date, so no clock call.
                let verdict = edge::decide_body(config, &exam, &[], 0);
                self.apply(verdict)
            }
            HeadersDecision::NeedBody(exam) => {
                // Hold the headers until the body is decided. This needs the plugin option
                // `allow_on_headers_stop_iteration: true` (envoy/edge.yaml): without it the
                // host turns this Pause into "stop everything" and no body ever arrives.
                self.state = State::Examining(exam);
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let State::Examining(exam) = self.state else {
            return Action::Continue;
        };
        if !end_of_stream {
            // Buffer (StopIterationAndBuffer); Envoy bounds it by the buffer limit (413).
            return Action::Pause;
        }
        let body = match hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
            Ok(body) => body.unwrap_or_default(),
            Err(status) => return self.fail_open("reading the request body", status),
        };
        self.shared.metrics.body_size(body.len());
        let config = &self.shared.config;
        let now = if config.max_sample_age.is_some() || config.tenants.is_some() {
            now_ms()
        } else {
            0
        };
        match edge::check_body(config, &exam, &body, now) {
            BodyCheck::Decided(verdict) => self.apply(verdict),
            BodyCheck::Passed(checked) => self.forward_checked(&exam, &checked, body_size, now),
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Forwarded: the upstream's (or Envoy's) answer. Examining: Envoy answered itself
        // while the body was still arriving (408 request timeout, 413 buffer limit).
        // Unseen: Envoy answered before the request reached this filter (a filter in front
        // of it replied or held it): decide from the request's method and path properties
        // whether it was a write.
        let examined = match self.state {
            State::Forwarded | State::Examining(_) => true,
            State::Unseen => self.unseen_was_write(),
            State::Pass | State::Replied => false,
        };
        if !examined {
            return Action::Continue;
        }
        let read = |name: &str| hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, name);
        let status = match read(":status") {
            Ok(Some(v)) => text(&v).and_then(|s| s.parse::<u16>().ok()),
            Ok(None) => None,
            Err(status) => {
                warn!("prw-edge: cannot read the response status: {status:?}");
                None
            }
        };
        let Some(status) = status else {
            return Action::Continue;
        };
        let has_retry_after = matches!(read("retry-after"), Ok(Some(_)));
        // `response.code_details` is "via_upstream" for upstream answers; anything else
        // (request_timeout, upstream_reset...) is Envoy's own reply.
        let source = match hostcalls::get_property(vec!["response", "code_details"]) {
            Ok(Some(details)) if details != b"via_upstream" => ResponseSource::Local,
            _ => ResponseSource::Upstream,
        };
        let decision = edge::decide_response(&self.shared.config, status, source, has_retry_after);
        let metrics = &self.shared.metrics;
        if let Some(new_status) = decision.status {
            let new_status = new_status.to_string();
            let from = status.to_string();
            let set = |name: &str, value: &str| {
                hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(value))
            };
            match set(":status", &new_status) {
                Ok(()) => {
                    metrics.outcome(Outcome::StatusRewritten);
                    let _ = set("x-prw-edge-rewritten-from", &from);
                }
                Err(status) => warn!("prw-edge: cannot rewrite the status: {status:?}"),
            }
        }
        if let Some(written) = self.written
            && source == ResponseSource::Upstream
            && (200..300).contains(&status)
        {
            set_written_headers(&written);
        }
        if let Some(seconds) = decision.retry_after {
            let value = seconds.to_string();
            match hostcalls::set_map_value(
                MapType::HttpResponseHeaders,
                "retry-after",
                Some(&value),
            ) {
                Ok(()) => metrics.outcome(Outcome::RetryAfterAdded),
                Err(status) => warn!("prw-edge: cannot add Retry-After: {status:?}"),
            }
        }
        Action::Continue
    }
}
