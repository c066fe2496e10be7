//! Routing: one function from request to response. Auth is checked before any route but
//! `/-/healthy` and `/-/ready`; a known path with the wrong method gets 405 with `Allow`;
//! anything else 404. `/-/ready` is 200 only while the server's [`Readiness`] is on and the
//! pipeline is ready; once readiness is withdrawn every answer carries Envoy's
//! immediate-health-check-fail header.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::registry::Registry;

use super::captures::{self, Captures};
use super::metrics::{HttpMetrics, RequestLabels};
use super::readiness::Readiness;
use super::static_page::{self, StaticPage};
use crate::config::ListenAuth;
use crate::handler::{Ingest, Reload, ResponseBody};

/// Write paths (DESIGN.md).
pub const WRITE_PATHS: [&str; 2] = ["/api/v1/write", "/api/v1/push"];

/// What a request is routed with.
pub struct Routes {
    /// The pipeline.
    pub ingest: Arc<dyn Ingest>,
    /// The reload hook.
    pub reload: Arc<dyn Reload>,
    /// Listener auth, if configured.
    pub auth: Option<ListenAuth>,
    /// Everything `/metrics` serves.
    pub registry: Arc<Registry>,
    /// The server's metrics.
    pub metrics: HttpMetrics,
    /// The inspector page served under `/inspect/`, if the binary has one.
    pub inspector: Option<StaticPage>,
    /// Withdrawn at the start of a graceful shutdown.
    pub readiness: Readiness,
    /// What `/api/v1/captures` serves.
    pub captures: Captures,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn method_not_allowed(allow: &'static str) -> Response<ResponseBody> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

fn handler_label(path: &str) -> &'static str {
    match path {
        "/api/v1/write" => "/api/v1/write",
        "/api/v1/push" => "/api/v1/push",
        "/-/healthy" => "/-/healthy",
        "/-/ready" => "/-/ready",
        "/-/reload" => "/-/reload",
        "/metrics" => "/metrics",
        p if static_page::matches(p) => "/inspect",
        p if captures::matches(p) => "/api/v1/captures",
        _ => "other",
    }
}

impl Routes {
    /// Answers one request and counts it.
    pub async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let handler = handler_label(request.uri().path());
        let mut response = self.route(request).await;
        if let Some((name, value)) = self.readiness.response_header() {
            response.headers_mut().insert(name, value);
        }
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                handler: handler.to_owned(),
                code: response.status().as_u16(),
            })
            .inc();
        response
    }

    async fn route(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        let read_only = method == Method::GET || method == Method::HEAD;
        match path.as_str() {
            "/-/healthy" if read_only => return text(StatusCode::OK, "prw relay is healthy.\n"),
            "/-/healthy" => return method_not_allowed("GET, HEAD"),
            "/-/ready" if read_only => {
                return if !self.readiness.is_withdrawn() && self.ingest.ready() {
                    text(StatusCode::OK, "prw relay is ready.\n")
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "prw relay is not ready.\n")
                };
            }
            "/-/ready" => return method_not_allowed("GET, HEAD"),
            _ => {}
        }
        if let Some(auth) = &self.auth {
            if !auth.allows(request.headers()) {
                let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static(auth.challenge()));
                return response;
            }
        }
        match path.as_str() {
            p if WRITE_PATHS.contains(&p) => {
                if method == Method::POST {
                    self.ingest.ingest(request).await
                } else {
                    method_not_allowed("POST")
                }
            }
            "/metrics" if read_only => self.metrics_text(),
            "/metrics" => method_not_allowed("GET, HEAD"),
            "/-/reload" if method == Method::POST || method == Method::PUT => {
                match self.reload.reload().await {
                    Ok(()) => text(StatusCode::OK, "configuration reloaded\n"),
                    Err(err) => {
                        tracing::error!(error = %err, "reload failed; keeping the running configuration");
                        // Prometheus answers a failed reload with 500 and the reason.
                        text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("failed to reload config: {err}\n"),
                        )
                    }
                }
            }
            "/-/reload" => method_not_allowed("POST, PUT"),
            p if static_page::matches(p) => static_page::serve(self.inspector.as_ref(), &method, p),
            p if captures::matches(p) => captures::serve(&self.captures, &method, p),
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    fn metrics_text(&self) -> Response<ResponseBody> {
        let mut body = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut body, &self.registry) {
            tracing::error!(error = %err, "cannot encode metrics");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n");
        }
        let mut response = text(StatusCode::OK, body);
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        response
    }
}
