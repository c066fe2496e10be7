//! The per-request HTTP context: moves headers and body into `prw_core::edge` and applies
//! the verdict. A body that passed every check goes to `edge::decide_checked`: with
//! `upstream_protocol: v1` the conversion first, then the `tenants` limits (the bucket in
//! shared data, [`crate::store`]); a converted body is sent by [`crate::bridge`], and its
//! Written headers are set on the upstream's 2xx.
//!
//! Invariants: every host call goes through [`crate::host`] and its `Result` is handled (a
//! failure is logged and the request continues untouched; no host answer can panic);
//! header values are read as bytes, never unwrapped as UTF-8 (a client controls them); the headers
//! and body of an examined request are held (`Action::Pause`) until the body is decided, so
//! a rejected request never reaches the upstream. Holding headers while still receiving
//! the body needs Envoy's plugin option `allow_on_headers_stop_iteration: true` (without it
//! a headers-stage Pause stops body delivery too and the request times out).

use std::rc::Rc;

use log::{error, warn};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};
use prw_core::convert::V1Written;
use prw_core::edge::{
    self, BodyCheck, CheckedBody, EdgeConfig, Examination, HeadAction, HeadersDecision, Outcome,
    RequestHeaders, ResponseSource, Verdict, WRITTEN_HEADERS,
};

use crate::host::{self, HostError};
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

    fn fail_open(&mut self, what: &str, error: HostError) -> Action {
        error!("prw-edge: {what} failed ({error}); passing the request untouched");
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
                match host::send_http_response(status, &headers, reply.body.as_bytes()) {
                    Ok(()) => {
                        self.state = State::Replied;
                        Action::Pause
                    }
                    Err(e) => self.fail_open("send_http_response", e),
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
    /// A body that passed every check: the bridge, then the tenant limits
    /// (`edge::decide_checked`), then the verdict; a converted body replaces the buffered one.
    fn forward_checked(
        &mut self,
        exam: &Examination,
        checked: &CheckedBody,
        body_size: usize,
        now: i64,
    ) -> Action {
        let shared = Rc::clone(&self.shared);
        let (config, metrics) = (&shared.config, &shared.metrics);
        let tenant = self.tenant.clone();
        let decision = edge::decide_checked(
            config,
            exam,
            checked,
            tenant.as_deref(),
            &mut HostStore,
            now,
        );
        if let Some(t) = &decision.tenant {
            metrics.tenant(t.outcome, t.tenant.stats_label);
            if t.overflow {
                metrics.outcome(Outcome::TenantOverflow);
            }
            if let Some(error) = &t.host_error {
                warn!("prw-edge: tenant limits for {:?}: {error}", t.tenant.id);
            }
        }
        let mut verdict = decision.verdict;
        if let Some(bridged) = &decision.bridged {
            match crate::bridge::send_converted(bridged, body_size) {
                Ok(()) => {
                    metrics.outcome(Outcome::Converted);
                    metrics.dropped(&bridged.transcoded.dropped);
                    self.written = Some(bridged.transcoded.written);
                }
                Err(error) => {
                    error!(
                        "prw-edge: cannot send the converted request ({error}); passing it as sent"
                    );
                    // As sent: its Content-Type canonicalised, as for any other request.
                    if let Verdict::Forward { content_type, .. } = &mut verdict {
                        *content_type = exam.content_type;
                    }
                }
            }
        }
        self.apply(verdict)
    }

    fn unseen_was_write(&self) -> bool {
        let property = |name: &str| match host::get_property(&["request", name]) {
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
    let set = host::set_map_value(
        MapType::HttpRequestHeaders,
        "content-type",
        content_type.as_bytes(),
    );
    if let Err(e) = set {
        warn!("prw-edge: cannot canonicalise Content-Type: {e}");
    }
}

/// The Written headers of what a converted request carried (over any the upstream sent).
fn set_written_headers(written: &V1Written) {
    let values = [written.samples, written.histograms, written.exemplars];
    for (name, value) in WRITTEN_HEADERS.iter().zip(values) {
        let value = value.to_string();
        if let Err(e) = host::set_map_value(MapType::HttpResponseHeaders, name, value.as_bytes()) {
            warn!("prw-edge: cannot set {name}: {e}");
        }
    }
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Envoy's clock in Unix ms. Read only when something needs it (`max_sample_age`, the
/// `tenants` buckets). If the host cannot answer (it always can: Envoy's implementation only
/// writes the value) the error is logged and 0 is used: `max_sample_age` then lets every
/// sample through and the buckets do not refill, both logged rather than a trapped VM.
fn now_ms() -> i64 {
    match host::current_time_ns() {
        Ok(ns) => i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX),
        Err(e) => {
            warn!("prw-edge: cannot read Envoy's clock ({e}); using 0");
            0
        }
    }
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let pairs = match host::get_map(MapType::HttpRequestHeaders) {
            Ok(pairs) => pairs,
            Err(e) => return self.fail_open("reading request headers", e),
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
        let body = match host::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
            Ok(body) => body.unwrap_or_default(),
            Err(e) => return self.fail_open("reading the request body", e),
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
        let read = |name: &str| host::get_map_value(MapType::HttpResponseHeaders, name);
        let status = match read(":status") {
            Ok(Some(v)) => text(&v).and_then(|s| s.parse::<u16>().ok()),
            Ok(None) => None,
            Err(e) => {
                warn!("prw-edge: cannot read the response status: {e}");
                None
            }
        };
        let Some(status) = status else {
            return Action::Continue;
        };
        let has_retry_after = matches!(read("retry-after"), Ok(Some(_)));
        // `response.code_details` is "via_upstream" for upstream answers; anything else
        // (request_timeout, upstream_reset...) is Envoy's own reply.
        let source = match host::get_property(&["response", "code_details"]) {
            Ok(Some(details)) if details != b"via_upstream" => ResponseSource::Local,
            _ => ResponseSource::Upstream,
        };
        let decision = edge::decide_response(&self.shared.config, status, source, has_retry_after);
        let metrics = &self.shared.metrics;
        if let Some(new_status) = decision.status {
            let new_status = new_status.to_string();
            let from = status.to_string();
            let set = |name: &str, value: &str| {
                host::set_map_value(MapType::HttpResponseHeaders, name, value.as_bytes())
            };
            match set(":status", &new_status) {
                Ok(()) => {
                    metrics.outcome(Outcome::StatusRewritten);
                    let _ = set("x-prw-edge-rewritten-from", &from);
                }
                Err(e) => warn!("prw-edge: cannot rewrite the status: {e}"),
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
            match host::set_map_value(
                MapType::HttpResponseHeaders,
                "retry-after",
                value.as_bytes(),
            ) {
                Ok(()) => metrics.outcome(Outcome::RetryAfterAdded),
                Err(e) => warn!("prw-edge: cannot add Retry-After: {e}"),
            }
        }
        Action::Continue
    }
}
