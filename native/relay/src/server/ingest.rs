//! The seam between the HTTP server and the pipeline: write requests are handed to an
//! [`Ingest`], which answers them (negotiate, decode, validate, WAL append happen there).
//! Until the pipeline exists, [`PipelineNotReady`] answers every write with 503.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};

/// A boxed, sendable future (the trait stays object-safe without `async_trait`).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Response type of every route.
pub type ResponseBody = Full<Bytes>;

/// Receives `POST /api/v1/write` and `/api/v1/push` requests that passed listener auth.
pub trait Ingest: Send + Sync + 'static {
    /// Whether the pipeline accepts writes (drives `GET /-/ready`).
    fn ready(&self) -> bool;

    /// Answers one write request. The implementation enforces body limits itself.
    fn ingest(&self, request: Request<Incoming>) -> BoxFuture<Response<ResponseBody>>;
}

/// Seconds a sender should wait while the pipeline is not ready.
pub const NOT_READY_RETRY_AFTER_SECS: u32 = 5;

/// Placeholder pipeline: never ready; every write gets 503 + `Retry-After` so senders keep
/// their data and retry.
#[derive(Clone, Copy, Debug, Default)]
pub struct PipelineNotReady;

impl Ingest for PipelineNotReady {
    fn ready(&self) -> bool {
        false
    }

    fn ingest(&self, _request: Request<Incoming>) -> BoxFuture<Response<ResponseBody>> {
        Box::pin(async {
            let mut response =
                Response::new(Full::new(Bytes::from_static(b"pipeline not ready\n")));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
                .headers_mut()
                .insert(RETRY_AFTER, NOT_READY_RETRY_AFTER_SECS.into());
            response.headers_mut().insert(
                CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        })
    }
}
