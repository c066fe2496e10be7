//! A recording HTTP forward proxy for tests: `CONNECT host:port` opens a tunnel (for https
//! destinations), any other request must be in absolute form (`POST http://host:port/path`)
//! and is forwarded, as origin form, over a fresh connection per request. Host names can be
//! mapped to local addresses ([`ForwardProxy::start_with_hosts`]), so a test can use names
//! that no resolver knows. Every request head is recorded.
//!
//! Invariants: listens on 127.0.0.1 (port picked by the OS), connects only to 127.0.0.1
//! addresses (a name must be mapped, an IP must be loopback, else 502), stops when dropped.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// `CONNECT`, `POST`, ...
    pub method: String,
    /// The request target as written (`host:port` for CONNECT, an absolute URL otherwise).
    pub target: String,
    /// Header lines (lower-case names).
    pub headers: Vec<(String, String)>,
}

impl ProxiedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Seen = Arc<Mutex<Vec<ProxiedRequest>>>;

fn lock(seen: &Seen) -> MutexGuard<'_, Vec<ProxiedRequest>> {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running proxy; dropping it stops it.
#[derive(Debug)]
pub struct ForwardProxy {
    addr: SocketAddr,
    seen: Seen,
    task: JoinHandle<()>,
}

impl ForwardProxy {
    /// Starts on 127.0.0.1 with no host names mapped.
    pub async fn start() -> io::Result<ForwardProxy> {
        ForwardProxy::start_with_hosts(BTreeMap::new()).await
    }

    /// Starts on 127.0.0.1; `hosts` maps names to the addresses they stand for.
    pub async fn start_with_hosts(hosts: BTreeMap<String, SocketAddr>) -> io::Result<ForwardProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen: Seen = Arc::default();
        let hosts = Arc::new(hosts);
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(client, Arc::clone(&seen), Arc::clone(&hosts)));
                }
            }
        });
        Ok(ForwardProxy { addr, seen, task })
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request head so far.
    pub fn seen(&self) -> Vec<ProxiedRequest> {
        lock(&self.seen).clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads up to the end of a request head; the bytes after it are returned too.
async fn read_head(stream: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no request head",
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn parse(head: &str) -> Option<ProxiedRequest> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(ProxiedRequest {
        method,
        target,
        headers,
    })
}

/// `host:port` -> a loopback address (mapped names, or loopback IPs).
fn upstream(authority: &str, hosts: &BTreeMap<String, SocketAddr>) -> Option<SocketAddr> {
    let (host, port) = authority.rsplit_once(':')?;
    if let Some(addr) = hosts.get(host) {
        return Some(*addr);
    }
    let addr: SocketAddr = format!("{host}:{port}").parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

async fn serve(
    mut client: TcpStream,
    seen: Seen,
    hosts: Arc<BTreeMap<String, SocketAddr>>,
) -> io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let Some(request) = parse(&head) else {
        return client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    };
    lock(&seen).push(request.clone());
    if request.method == "CONNECT" {
        let Some(addr) = upstream(&request.target, &hosts) else {
            return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        };
        let mut server = TcpStream::connect(addr).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        server.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    // Absolute form: http://authority/path -> origin form to the upstream.
    let Some(after_scheme) = request.target.strip_prefix("http://") else {
        return client
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(at) => after_scheme.split_at(at),
        None => (after_scheme, "/"),
    };
    let Some(addr) = upstream(authority, &hosts) else {
        return client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
    };
    let mut server = TcpStream::connect(addr).await?;
    let mut out = format!("{} {path} HTTP/1.1\r\n", request.method);
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "proxy-authorization" | "proxy-connection" | "connection"
        ) {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    // One request per connection, so every request of a keep-alive client is seen here.
    out.push_str("connection: close\r\n\r\n");
    server.write_all(out.as_bytes()).await?;
    server.write_all(&rest).await?;
    // One request per upstream connection: relay until either side closes.
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
