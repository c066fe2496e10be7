//! The workspace's one scriptable Remote Write test receiver (a hyper 1 HTTP/1.1 server).
//!
//! One server, four abilities that combine freely through [`ReceiverConfig`]:
//! - **null**: answers every request (204 by default) and counts it;
//! - **recording** (`record`): keeps every request's method, path, headers and body;
//! - **fault-injecting** (`script`): answers requests in order from a script of
//!   [`Answer`]s (any status with optional `Retry-After`, slow answers, connection resets),
//!   then the default answer;
//! - **decoding** (`decode`): decodes v1/v2 bodies with prw-core when it answers 2xx, counts
//!   unique (series, timestamp) pairs, duplicates and per-series out-of-order samples
//!   ([`DecodeStats`]); a body that does not decode gets 400 instead of the 2xx; a 2xx to a
//!   v2 body carries the three `X-Prometheus-Remote-Write-*-Written` headers (the samples it
//!   counted), as a Remote Write 2.0 receiver must, so senders keep sending 2.0.
//!
//! Use it from async tests ([`Receiver`]), from blocking tests ([`BlockingReceiver`]) or
//! from shell scripts and benchmarks (the `prw-test-receiver` binary). `GET /-/stats` returns
//! [`ReceiverStats`] as JSON; `GET /-/pairs` (decoding) the exact set of distinct (series,
//! timestamp) pairs seen, as `{"<label-set hash>": [timestamps...]}`; neither is counted or
//! recorded.
//!
//! Invariants: it listens on the address given (127.0.0.1:0 by default: the OS picks a free
//! port, read it with [`Receiver::addr`]); it stops when its handle is dropped or
//! [`Receiver::shutdown`] is called; it never panics on any request.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig};
//! let receiver = Receiver::start(
//!     ReceiverConfig::default().recording().with_script([Answer::status(503), Answer::retry_after(429, 2)]),
//! )
//! .await?;
//! let url = receiver.url("/api/v1/write");
//! // ... send requests to `url` ...
//! assert_eq!(receiver.requests(), 0);
//! receiver.shutdown().await;
//! # Ok(()) }
//! ```

mod decode;
mod script;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use decode::{BodyError, DecodeStats, Decoder};
pub use script::{Answer, ScriptError, parse_script};

/// What the receiver does; combine the builder methods.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// Keep every request (method, path, headers, body).
    pub record: bool,
    /// Decode and count bodies answered with 2xx.
    pub decode: bool,
    /// Answers for the first requests, in order.
    pub script: Vec<Answer>,
    /// The answer once the script is used up. Default: 204.
    pub default_answer: Answer,
    /// Serve HTTPS with this identity (HTTP/1.1 and HTTP/2 by ALPN) instead of plain HTTP/1.1.
    pub tls: Option<crate::tls::Identity>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            record: false,
            decode: false,
            script: Vec::new(),
            default_answer: Answer::status(204),
            tls: None,
        }
    }
}

impl ReceiverConfig {
    /// Also keep every request.
    pub fn recording(mut self) -> Self {
        self.record = true;
        self
    }

    /// Also decode and count bodies.
    pub fn decoding(mut self) -> Self {
        self.decode = true;
        self
    }

    /// Answer the first requests from `script`.
    pub fn with_script(mut self, script: impl IntoIterator<Item = Answer>) -> Self {
        self.script = script.into_iter().collect();
        self
    }

    /// The answer once the script is used up.
    pub fn with_default(mut self, answer: Answer) -> Self {
        self.default_answer = answer;
        self
    }

    /// Serve HTTPS with `identity` (ALPN `h2` and `http/1.1`).
    pub fn with_tls(mut self, identity: crate::tls::Identity) -> Self {
        self.tls = Some(identity);
        self
    }
}

/// One request as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers in arrival order (lower-case names; values lossily decoded as UTF-8).
    pub headers: Vec<(String, String)>,
    /// Body bytes, exactly as received.
    pub body: Bytes,
    /// The HTTP version (`HTTP/1.1`, `HTTP/2.0`).
    pub version: String,
}

impl Recorded {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Counts served by `GET /-/stats` and [`Receiver::stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReceiverStats {
    /// Requests received (every path except `/-/stats`).
    pub requests: u64,
    /// Requests whose body never completed (reset mid-body); not counted in `requests`.
    pub aborted: u64,
    /// Requests recorded (with `record`).
    pub recorded: u64,
    /// Decoding counts (with `decode`).
    pub decode: DecodeStats,
}

#[derive(Debug)]
struct State {
    config: ReceiverConfig,
    script: VecDeque<Answer>,
    requests: u64,
    aborted: u64,
    recorded: Vec<Recorded>,
    decoder: Decoder,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    // A panic elsewhere while holding the lock leaves consistent counters: keep serving.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running receiver. Dropping it stops the server.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    state: Shared,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// The service answered "reset": hyper closes the connection without a response.
#[derive(Debug, thiserror::Error)]
#[error("scripted connection reset")]
struct ScriptedReset;

impl Receiver {
    /// Starts on 127.0.0.1 with a port the OS picks.
    pub async fn start(config: ReceiverConfig) -> io::Result<Receiver> {
        Receiver::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr, config: ReceiverConfig) -> io::Result<Receiver> {
        let acceptor = config
            .tls
            .as_ref()
            .map(crate::tls::Identity::acceptor)
            .transpose()
            .map_err(io::Error::other)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            script: config.script.iter().cloned().collect(),
            config,
            requests: 0,
            aborted: 0,
            recorded: Vec::new(),
            decoder: Decoder::default(),
        }));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&state), stopped, acceptor));
        Ok(Receiver {
            addr,
            state,
            stop,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://` with TLS) followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if lock(&self.state).config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Complete requests received so far (`/-/stats` and aborted ones excluded).
    pub fn requests(&self) -> u64 {
        lock(&self.state).requests
    }

    /// Every recorded request (empty unless `record`).
    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.state).recorded.clone()
    }

    /// Decoding counts (zero unless `decode`).
    pub fn decode_stats(&self) -> DecodeStats {
        lock(&self.state).decoder.stats().clone()
    }

    /// All counts.
    pub fn stats(&self) -> ReceiverStats {
        stats_of(&lock(&self.state))
    }

    /// Appends answers to the script.
    pub fn push_answers(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.state).script.extend(answers);
    }

    /// Replaces the answer given once the script is used up (e.g. a receiver "paused" with
    /// 503 until the test lets it accept again).
    pub fn set_default_answer(&self, answer: Answer) {
        lock(&self.state).config.default_answer = answer;
    }

    /// Stops the server and waits for the accept loop to end (open connections are
    /// dropped).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn stats_of(state: &State) -> ReceiverStats {
    ReceiverStats {
        requests: state.requests,
        aborted: state.aborted,
        recorded: u64::try_from(state.recorded.len()).unwrap_or(u64::MAX),
        decode: state.decoder.stats().clone(),
    }
}

async fn serve(
    listener: TcpListener,
    state: Shared,
    mut stopped: watch::Receiver<bool>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle(req, Arc::clone(&state)));
                    match acceptor {
                        None => {
                            let _ = http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Some(acceptor) => {
                            // A client that refuses the certificate ends here.
                            let Ok(stream) = acceptor.accept(stream).await else { return };
                            let _ = hyper_util::server::conn::auto::Builder::new(
                                hyper_util::rt::TokioExecutor::new(),
                            )
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        }
                    }
                });
            }
        }
    }
    connections.abort_all();
}

fn response(status: u16, headers: &[(String, String)], body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

async fn handle(
    request: Request<Incoming>,
    state: Shared,
) -> Result<Response<Full<Bytes>>, ScriptedReset> {
    if request.method() == hyper::Method::GET && request.uri().path() == "/-/stats" {
        let stats = stats_of(&lock(&state));
        let json = serde_json::to_string(&stats).unwrap_or_default();
        let headers = [("content-type".to_string(), "application/json".to_string())];
        return Ok(response(200, &headers, json));
    }
    if request.method() == hyper::Method::GET && request.uri().path() == "/-/pairs" {
        let pairs = lock(&state).decoder.pairs();
        let json = serde_json::to_string(&pairs).unwrap_or_default();
        let headers = [("content-type".to_string(), "application/json".to_string())];
        return Ok(response(200, &headers, json));
    }
    let (parts, body) = request.into_parts();
    // A body that fails mid-stream is recorded as what arrived before the failure.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut answer = {
        let mut state = lock(&state);
        state.requests += 1;
        if state.config.record {
            state.recorded.push(Recorded {
                method: parts.method.to_string(),
                path: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| parts.uri.to_string(), |p| p.to_string()),
                headers: headers.clone(),
                body: body.clone(),
                version: format!("{:?}", parts.version),
            });
        }
        let default = state.config.default_answer.clone();
        state.script.pop_front().unwrap_or(default)
    };
    loop {
        match answer {
            Answer::Reset => return Err(ScriptedReset),
            Answer::Slow { delay, then } => {
                tokio::time::sleep(delay).await;
                answer = *then;
            }
            Answer::Status {
                status,
                headers: extra,
                body: text,
            } => {
                let decode = lock(&state).config.decode;
                if decode && (200..300).contains(&status) {
                    let find = |name: &str| {
                        headers
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.as_str())
                    };
                    // Decoded outside the lock (concurrent requests decode in parallel),
                    // counted under it.
                    let decoded = prw_core::negotiate::negotiate(
                        find("content-type"),
                        find("content-encoding"),
                    )
                    .map_err(|e| e.to_string())
                    .and_then(|n| {
                        let parsed = Decoder::parse(&body, n.protocol());
                        let mut state = lock(&state);
                        match parsed {
                            Ok(parsed) => Ok((n.protocol(), state.decoder.count(parsed))),
                            Err(e) => {
                                state.decoder.count_error();
                                Err(e.to_string())
                            }
                        }
                    });
                    match decoded {
                        Err(message) => {
                            return Ok(response(400, &[], format!("test receiver: {message}\n")));
                        }
                        // A decoding receiver is a Remote Write 2.0 receiver: it says what it
                        // wrote (float samples; the payloads it counts carry nothing else).
                        Ok((prw_core::Protocol::V2, samples)) => {
                            let mut extra = extra;
                            for (name, value) in [
                                ("X-Prometheus-Remote-Write-Samples-Written", samples),
                                ("X-Prometheus-Remote-Write-Histograms-Written", 0),
                                ("X-Prometheus-Remote-Write-Exemplars-Written", 0),
                            ] {
                                if !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                                    extra.push((name.to_owned(), value.to_string()));
                                }
                            }
                            return Ok(response(status, &extra, text));
                        }
                        Ok(_) => {}
                    }
                }
                return Ok(response(status, &extra, text));
            }
        }
    }
}

/// A receiver for blocking code: owns a small tokio runtime that runs the server.
/// Dropping it stops the server, then the runtime.
#[derive(Debug)]
pub struct BlockingReceiver {
    // Declared before `runtime` so it is dropped (and stopped) first.
    receiver: Receiver,
    runtime: tokio::runtime::Runtime,
}

impl BlockingReceiver {
    /// Starts on 127.0.0.1 with a port the OS picks.
    pub fn start(config: ReceiverConfig) -> io::Result<BlockingReceiver> {
        BlockingReceiver::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config)
    }

    /// Starts on `addr`.
    pub fn start_on(addr: SocketAddr, config: ReceiverConfig) -> io::Result<BlockingReceiver> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("prw-test-receiver")
            .build()?;
        let receiver = runtime.block_on(Receiver::start_on(addr, config))?;
        Ok(BlockingReceiver { receiver, runtime })
    }

    /// The async handle (for [`Receiver::addr`], [`Receiver::url`], [`Receiver::requests`],
    /// [`Receiver::recorded`], [`Receiver::decode_stats`], [`Receiver::stats`],
    /// [`Receiver::push_answers`]).
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// See [`Receiver::addr`].
    pub fn addr(&self) -> SocketAddr {
        self.receiver.addr()
    }

    /// See [`Receiver::url`].
    pub fn url(&self, path: &str) -> String {
        self.receiver.url(path)
    }

    /// See [`Receiver::requests`].
    pub fn requests(&self) -> u64 {
        self.receiver.requests()
    }

    /// See [`Receiver::recorded`].
    pub fn recorded(&self) -> Vec<Recorded> {
        self.receiver.recorded()
    }

    /// See [`Receiver::stats`].
    pub fn stats(&self) -> ReceiverStats {
        self.receiver.stats()
    }

    /// See [`Receiver::set_default_answer`].
    pub fn set_default_answer(&self, answer: Answer) {
        self.receiver.set_default_answer(answer);
    }

    /// Stops the server and waits for it.
    pub fn shutdown(self) {
        let BlockingReceiver { receiver, runtime } = self;
        runtime.block_on(receiver.shutdown());
    }
}
