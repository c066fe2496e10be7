//! A minimal HTTP/1.1 client for tests: one request per connection, full response read.
//!
//! Invariant: it sends exactly the headers given (plus `host` and `content-length`), so
//! tests control what a sender sends; the connection is closed after the response.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response as the sender saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Headers (lower-case names; values lossily decoded).
    pub headers: Vec<(String, String)>,
    /// Body, lossily decoded.
    pub body: String,
}

impl Reply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request failed before a response was read.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting failed.
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    /// HTTP failed (including a reset connection).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built.
    #[error("request: {0}")]
    Build(#[from] hyper::http::Error),
}

/// Sends one request to `addr` and reads the whole response.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Reply, ClientError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.into_body().collect().await?.to_bytes();
    driver.abort();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// POSTs a Remote Write body with the standard v1 or v2 headers plus `extra`.
pub async fn post_write(
    addr: SocketAddr,
    v2: bool,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> Result<Reply, ClientError> {
    let content_type = if v2 {
        prw_core::negotiate::CONTENT_TYPE_V2
    } else {
        prw_core::negotiate::CONTENT_TYPE_V1
    };
    let version = if v2 { "2.0.0" } else { "0.1.0" };
    let mut headers = vec![
        ("content-type", content_type),
        ("content-encoding", "snappy"),
        ("x-prometheus-remote-write-version", version),
        ("user-agent", "prw-e2e"),
    ];
    headers.extend_from_slice(extra);
    send(addr, "POST", "/api/v1/write", &headers, body).await
}
