//! A relay receive path on 127.0.0.1:0 over a WAL in a temporary directory, with the WAL's
//! fsync behind a [`Gate`] the test can hold or fail. Dropping a [`Relay`] releases the gate
//! and stops the server, also when a test fails.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HOST;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use prw_core::Limits;
use prw_relay::clock::Clock;
use prw_relay::config::Listen;
use prw_relay::ingest::WalIngest;
use prw_relay::server::{Drained, Server, ValidateFile};
use prw_wal::{StartAt, SyncHook, Wal, WalConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What the test clock always says.
pub const FIXED_NOW_MS: i64 = 1_767_225_600_123;

/// Consumer the harness reads records back with.
const READER: &str = "test";

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now_unix_ms(&self) -> i64 {
        FIXED_NOW_MS
    }
}

/// Limits with a 4 KiB body cap.
pub fn small_limits() -> Limits {
    Limits {
        max_body_bytes: 4096,
        ..Limits::default()
    }
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/core/testdata")
        .join(name)
}

/// A fixture body from `crates/core/testdata`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(testdata(name)).unwrap()
}

/// The content headers of a fixture's `.headers` file (not Host, Content-Length, User-Agent).
pub fn fixture_headers(name: &str) -> Vec<(&'static str, &'static str)> {
    let text = std::fs::read_to_string(testdata(name)).unwrap();
    text.lines()
        .filter_map(|line| line.split_once(": "))
        .filter(|(name, _)| {
            !["host", "content-length", "user-agent"].contains(&name.to_ascii_lowercase().as_str())
        })
        .map(|(n, v)| {
            let n: &'static str = Box::leak(n.to_owned().into_boxed_str());
            let v: &'static str = Box::leak(v.to_owned().into_boxed_str());
            (n, v)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GateMode {
    Pass,
    Hold,
    Fail,
}

/// The WAL's fsync fault hook: pass, hold (block until released) or fail.
#[derive(Debug)]
pub struct Gate {
    mode: Mutex<GateMode>,
    changed: Condvar,
    entered_tx: mpsc::UnboundedSender<()>,
    entered_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<()>>,
}

impl Gate {
    fn new() -> Self {
        let (entered_tx, entered_rx) = mpsc::unbounded_channel();
        Self {
            mode: Mutex::new(GateMode::Pass),
            changed: Condvar::new(),
            entered_tx,
            entered_rx: tokio::sync::Mutex::new(entered_rx),
        }
    }

    fn set(&self, mode: GateMode) {
        *self.mode.lock().unwrap() = mode;
        self.changed.notify_all();
    }

    /// Every fsync from now on blocks until [`Gate::pass`] or [`Gate::fail`].
    pub fn hold(&self) {
        self.set(GateMode::Hold);
    }

    /// Lets fsyncs through (also the held one).
    pub fn pass(&self) {
        self.set(GateMode::Pass);
    }

    /// Every fsync from now on fails.
    pub fn fail(&self) {
        self.set(GateMode::Fail);
    }

    /// Waits until an fsync is being held.
    pub async fn entered(&self) {
        self.entered_rx.lock().await.recv().await.unwrap();
    }
}

impl SyncHook for Gate {
    fn before_sync(&self) -> std::io::Result<()> {
        let mut mode = self.mode.lock().unwrap();
        if *mode == GateMode::Hold {
            let _ = self.entered_tx.send(());
            while *mode == GateMode::Hold {
                mode = self.changed.wait(mode).unwrap();
            }
        }
        match *mode {
            GateMode::Fail => Err(std::io::Error::other("injected fsync failure")),
            _ => Ok(()),
        }
    }
}

/// How to start the relay.
#[derive(Debug, Default)]
pub struct Options {
    /// Request limits (default: prw-core's).
    pub limits: Limits,
    /// WAL disk cap (segments become 4 KiB when set).
    pub wal_max_bytes: Option<u64>,
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends requests to a relay.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    addr: std::net::SocketAddr,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "127.0.0.1");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// `POST /api/v1/write`.
    pub async fn post(&self, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        self.send(Method::POST, "/api/v1/write", headers, body)
            .await
    }
}

/// A running relay receive path.
pub struct Relay {
    client: Client,
    /// The WAL behind it.
    pub wal: Arc<Wal>,
    /// The pipeline.
    pub ingest: WalIngest,
    /// The fsync hook.
    pub gate: Arc<Gate>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Drained>,
    _dir: tempfile::TempDir,
}

impl Relay {
    /// Opens a WAL in a new temporary directory and serves on 127.0.0.1:0.
    pub async fn start(options: Options) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::new());
        let mut config = WalConfig::default();
        if let Some(max) = options.wal_max_bytes {
            config.max_bytes = max;
            config.segment_bytes = 4096;
        }
        config.sync_hook = Some(Arc::clone(&gate) as Arc<dyn SyncHook>);
        let (wal, _report) = Wal::open(dir.path().join("wal"), config).unwrap();
        wal.add_consumer(READER, StartAt::Oldest).unwrap();
        let wal = Arc::new(wal);
        let mut registry = Registry::default();
        let ingest = WalIngest::with_clock(
            Arc::clone(&wal),
            options.limits,
            vec![hyper::header::HeaderName::from_static("x-scope-orgid")],
            &mut registry,
            Arc::new(FixedClock),
        );
        let listen = Listen {
            address: "127.0.0.1:0".parse().unwrap(),
            auth: None,
            tls: None,
        };
        let reload = Arc::new(ValidateFile {
            path: None,
            overrides: Default::default(),
        });
        let server = Server::bind(&listen, Arc::new(ingest.clone()), reload, registry)
            .await
            .unwrap();
        let client = Client {
            addr: server.local_addr(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Relay {
            client,
            wal,
            ingest,
            gate,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// A client for concurrent requests.
    pub fn client(&self) -> Client {
        self.client
    }

    /// `POST /api/v1/write`.
    pub async fn post(&self, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        self.client.post(headers, body).await
    }

    /// `GET /metrics` body.
    pub async fn metrics(&self) -> String {
        self.client
            .send(Method::GET, "/metrics", &[], Vec::new())
            .await
            .body
    }

    /// Posts `count` copies of `chunk` with chunked transfer encoding (no Content-Length),
    /// stopping early if the relay answers; returns the status code.
    pub async fn post_chunked(&self, content_type: &str, chunk: &[u8], count: usize) -> u16 {
        let mut stream = TcpStream::connect(self.client.addr).await.unwrap();
        let head = format!(
            "POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..count {
            let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
            frame.extend_from_slice(chunk);
            frame.extend_from_slice(b"\r\n");
            if stream.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut answer = vec![0u8; 12];
        stream.read_exact(&mut answer).await.unwrap();
        let line = String::from_utf8(answer).unwrap();
        line.trim_start_matches("HTTP/1.1 ").trim().parse().unwrap()
    }

    /// Every durable record in the WAL, oldest first.
    pub fn records(&self) -> Vec<Vec<u8>> {
        let mut reader = self.wal.reader(READER).unwrap();
        let mut out = Vec::new();
        while let Some(record) = reader.try_next().unwrap() {
            out.push(record.data);
        }
        out
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.gate.pass();
        self.task.abort();
    }
}
