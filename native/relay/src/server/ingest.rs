//! The placeholder [`Ingest`]: until a pipeline is plugged in, [`PipelineNotReady`] answers
//! every write with 503.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};

use crate::handler::{BoxFuture, Ingest, ResponseBody};

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
