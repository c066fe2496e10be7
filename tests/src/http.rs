//! Blocking HTTP/1.1 requests for test harnesses (process APIs: Prometheus, VictoriaMetrics,
//! the relay's `/metrics`; over TLS for a relay with `listen.tls`): one request per connection, `Connection: close`, chunked bodies
//! decoded.
//!
//! Invariant: every call is bounded by a 30 s socket timeout; it never panics on what a
//! server answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Socket error (refused, reset, timeout).
    #[error("{addr}{path}: {source}")]
    Io {
        /// Server.
        addr: SocketAddr,
        /// Path.
        path: String,
        /// Error.
        source: std::io::Error,
    },
    /// The TLS client could not be set up (bad server name, empty trust store).
    #[error("{addr}{path}: TLS setup: {reason}")]
    Tls {
        /// Server.
        addr: SocketAddr,
        /// Path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Not an HTTP answer.
    #[error("{addr}{path}: malformed answer")]
    Malformed {
        /// Server.
        addr: SocketAddr,
        /// Path.
        path: String,
    },
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> Result<Answer, HttpError> {
    request(addr, "GET", path, &[], &[])
}

/// One request.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, HttpError> {
    exchange(&mut connect(addr, path)?, addr, method, path, headers, body)
}

/// One request over TLS to `server_name` at `addr`, trusting only `ca` (a relay whose
/// `listen.tls` serves `ca`'s certificate).
pub fn request_tls(
    addr: SocketAddr,
    server_name: &str,
    ca: &crate::tls::Identity,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, HttpError> {
    let tls = |reason: String| HttpError::Tls {
        addr,
        path: path.to_string(),
        reason,
    };
    let config = ca.client_config().map_err(|e| tls(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
        .map_err(|e| tls(e.to_string()))?;
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| tls(e.to_string()))?;
    let mut stream = rustls::StreamOwned::new(connection, connect(addr, path)?);
    exchange(&mut stream, addr, method, path, headers, body)
}

fn connect(addr: SocketAddr, path: &str) -> Result<TcpStream, HttpError> {
    let connected = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).and_then(|stream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map(|()| stream)
    });
    connected.map_err(|source| HttpError::Io {
        addr,
        path: path.to_string(),
        source,
    })
}

fn exchange(
    stream: &mut (impl Read + Write),
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, HttpError> {
    let io = |source| HttpError::Io {
        addr,
        path: path.to_string(),
        source,
    };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io)?;
    // A server may answer (413) and close before reading the whole body: then the write
    // fails, and the answer is still there to read.
    let written = stream.write_all(body);
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    if let Some(answer) = parse(&raw) {
        return Ok(answer);
    }
    written.map_err(io)?;
    read.map_err(io)?;
    parse(&raw).ok_or(HttpError::Malformed {
        addr,
        path: path.to_string(),
    })
}

/// `POST /api/v1/write` of a snappy v1 `body` with the Remote Write 1.0 headers plus `extra`.
pub fn post_v1(addr: SocketAddr, extra: &[(&str, &str)], body: &[u8]) -> Result<Answer, HttpError> {
    let mut headers = vec![
        ("Content-Type", prw_core::negotiate::CONTENT_TYPE_V1),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    headers.extend_from_slice(extra);
    request(addr, "POST", "/api/v1/write", &headers, body)
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(raw.get(..end)?);
    let rest = raw.get(end + 4..)?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(rest.get(..eol).unwrap_or_default());
        let size = size.split(';').next().unwrap_or("").trim().to_string();
        let Ok(size) = usize::from_str_radix(&size, 16) else {
            break;
        };
        let Some(chunk) = rest.get(eol + 2..eol + 2 + size) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.extend_from_slice(chunk);
        rest = rest.get(eol + 2 + size + 2..).unwrap_or_default();
    }
    out
}

/// The sum of every sample of metric `name` (any labels) in Prometheus text `text`; `None`
/// when no line has it ([`prw_devkit::prom_text::sum`], shared with `cargo xtask`).
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    prw_devkit::prom_text::sum(text, name)
}

/// Like [`metric_sum`], counting only lines whose label part (`{...}` or empty) passes `keep`.
pub fn metric_sum_where(text: &str, name: &str, keep: impl Fn(&str) -> bool) -> Option<f64> {
    prw_devkit::prom_text::sum_where(text, name, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_answer_is_decoded() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let answer = parse(raw).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, b"abcde");
    }

    #[test]
    fn metric_sums_add_every_label_set_and_filter_by_labels() {
        let text = "# HELP x\nx_total{status=\"204\"} 3\nx_total{status=\"400\"} 2\nx_total_other 9\ny 1\n";
        assert_eq!(metric_sum(text, "x_total"), Some(5.0));
        assert_eq!(
            metric_sum_where(text, "x_total", |l| l.contains("status=\"4")),
            Some(2.0)
        );
        assert_eq!(metric_sum(text, "y"), Some(1.0));
        assert_eq!(metric_sum(text, "z"), None);
    }
}
