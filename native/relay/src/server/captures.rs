//! `GET /api/v1/captures` (the listing, JSON, newest first) and `GET /api/v1/captures/{id}`
//! (one capture's body with the Content-Type and Content-Encoding it had).
//!
//! Invariants: both are read-only (GET and HEAD; anything else 405) and sit behind the
//! listener auth like every route but the health checks; an unknown, evicted or malformed id
//! is 404, and so is a capture kept without its body (the text says why); with capture off
//! both answer 404 with a text that starts `capture is off` (the page hides its panel).
//! A body is served as an attachment with `nosniff` and a sandboxing CSP: its Content-Type
//! came from whoever sent the request, so a browser must never render it as a page.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    ALLOW, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Response, StatusCode};

use crate::capture::{CaptureStore, listing_json};
use crate::handler::ResponseBody;

/// What the routes serve.
#[derive(Debug, Clone)]
pub enum Captures {
    /// The relay's store.
    On(Arc<CaptureStore>),
    /// Capture is off, for this reason (the start-up summary's).
    Off(String),
}

impl Default for Captures {
    fn default() -> Self {
        Captures::Off("this server keeps no captures".to_owned())
    }
}

/// The listing's path.
pub const LISTING: &str = "/api/v1/captures";

/// Whether `path` belongs to these routes.
pub fn matches(path: &str) -> bool {
    path == LISTING || path.starts_with("/api/v1/captures/")
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn no_store(response: &mut Response<ResponseBody>) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// Answers a request for `path` (which [`matches`]).
pub fn serve(captures: &Captures, method: &Method, path: &str) -> Response<ResponseBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let store = match captures {
        Captures::On(store) => store,
        Captures::Off(reason) => {
            return plain(StatusCode::NOT_FOUND, format!("capture is off: {reason}\n"));
        }
    };
    let mut response = match path.strip_prefix("/api/v1/captures/") {
        None => listing(store),
        Some(id) => body(store, id),
    };
    no_store(&mut response);
    response
}

fn listing(store: &CaptureStore) -> Response<ResponseBody> {
    match listing_json(&store.newest_first()) {
        Ok(json) => {
            let mut response = Response::new(Full::new(Bytes::from(json)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot encode the capture listing");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the capture listing\n",
            )
        }
    }
}

fn body(store: &CaptureStore, id: &str) -> Response<ResponseBody> {
    let Some((id, entry)) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| Some((id, store.get(id)?)))
    else {
        return plain(
            StatusCode::NOT_FOUND,
            "no such capture (unknown id, or evicted to make room for newer ones)\n",
        );
    };
    let Some(bytes) = entry.body.clone() else {
        let why = entry.body_missing.map_or("not kept", |m| m.as_str());
        return plain(
            StatusCode::NOT_FOUND,
            format!("capture {id} has no body: {why}\n"),
        );
    };
    let mut response = Response::new(Full::new(bytes));
    let headers = response.headers_mut();
    if let Some(value) = &entry.content_type {
        headers.insert(CONTENT_TYPE, value.clone());
    }
    if let Some(value) = &entry.content_encoding {
        headers.insert(CONTENT_ENCODING, value.clone());
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"capture-{id}.bin\""))
    {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use hyper::HeaderMap;
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::capture::RejectedRequest;
    use crate::clock::SystemClock;
    use crate::config::{Capture, CaptureDecision};

    fn store() -> Arc<CaptureStore> {
        let settings = Capture {
            decision: CaptureDecision::OnByDefault,
            max_rejected: 1,
            max_refused: 1,
            max_bytes: 1 << 20,
            secret_headers: Vec::new(),
        };
        Arc::new(CaptureStore::new(
            &settings,
            Vec::new(),
            Arc::new(SystemClock),
            &mut Registry::default(),
        ))
    }

    fn add(store: &CaptureStore, content_type: &'static str, body: Option<&[u8]>) -> u64 {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        store
            .add_rejected(&RejectedRequest {
                headers: &headers,
                remote: None,
                body,
                protocol: None,
                status: 400,
                reason: "bad_snappy",
                findings: &[],
                answer: "snappy: corrupt\n",
            })
            .unwrap()
    }

    async fn text(response: Response<ResponseBody>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&body).into_owned()
    }

    #[tokio::test]
    async fn the_listing_is_json_newest_first() {
        let store = store();
        let id = add(&store, "application/x-protobuf", Some(b"x"));
        let response = serve(&Captures::On(Arc::clone(&store)), &Method::GET, LISTING);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let listed: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(listed[0]["id"], id);
        assert_eq!(listed[0]["kind"], "rejected");
        assert_eq!(listed[0]["summary"], "bad_snappy: snappy: corrupt");
    }

    #[tokio::test]
    async fn a_body_is_served_with_its_headers_as_an_inert_attachment() {
        let store = store();
        let id = add(&store, "text/html", Some(b"<script>alert(1)</script>"));
        let response = serve(
            &Captures::On(Arc::clone(&store)),
            &Method::GET,
            &format!("{LISTING}/{id}"),
        );
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[CONTENT_TYPE], "text/html");
        assert_eq!(h[CONTENT_ENCODING], "snappy");
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(
            h[CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert!(
            h[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert_eq!(text(response).await, "<script>alert(1)</script>");
    }

    #[tokio::test]
    async fn unknown_evicted_malformed_and_bodiless_ids_are_404() {
        let store = store();
        let first = add(&store, "application/x-protobuf", Some(b"x"));
        let second = add(&store, "application/x-protobuf", None);
        for path in [
            format!("{LISTING}/{first}"),
            format!("{LISTING}/99"),
            format!("{LISTING}/abc"),
            format!("{LISTING}/"),
        ] {
            let response = serve(&Captures::On(Arc::clone(&store)), &Method::GET, &path);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let bodiless = serve(
            &Captures::On(Arc::clone(&store)),
            &Method::GET,
            &format!("{LISTING}/{second}"),
        );
        assert_eq!(bodiless.status(), StatusCode::NOT_FOUND);
        assert!(text(bodiless).await.contains("has no body"));
    }

    #[tokio::test]
    async fn off_and_wrong_methods() {
        let off = serve(
            &Captures::Off("capture.enabled: false".into()),
            &Method::GET,
            LISTING,
        );
        assert_eq!(off.status(), StatusCode::NOT_FOUND);
        assert!(
            text(off)
                .await
                .starts_with("capture is off: capture.enabled: false")
        );
        let store = store();
        let post = serve(&Captures::On(Arc::clone(&store)), &Method::POST, LISTING);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert!(matches("/api/v1/captures/3") && matches(LISTING));
        assert!(!matches("/api/v1/capturesx"));
    }
}
