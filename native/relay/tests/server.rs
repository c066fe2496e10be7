//! The HTTP server over real sockets on 127.0.0.1:0: routes, listener auth, TLS, reload and
//! graceful shutdown. Each test stops the server it started.

// Helpers outside `#[test]` fns are test code too; clippy.toml only exempts test fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ALLOW, AUTHORIZATION, HOST, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use prw_relay::config::{self, ConfigError, Listen, ListenAuth, ListenTls, Overrides};
use prw_relay::handler::{BoxFuture, Ingest, Reload, RemoteAddr, ResponseBody};
use prw_relay::server::{Drained, PipelineNotReady, Server};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

// === test doubles ===

/// Ready pipeline that answers 204, counts calls and keeps the peer address of each.
#[derive(Default)]
struct Counting {
    calls: AtomicUsize,
    peers: std::sync::Mutex<Vec<Option<RemoteAddr>>>,
}

impl Ingest for Counting {
    fn ready(&self) -> bool {
        true
    }
    fn ingest(&self, request: Request<Incoming>) -> BoxFuture<Response<ResponseBody>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.peers
            .lock()
            .unwrap()
            .push(request.extensions().get::<RemoteAddr>().copied());
        Box::pin(async {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        })
    }
}

/// Pipeline whose requests signal `entered` and then wait for `release`.
#[derive(Default)]
struct Held {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl Ingest for Held {
    fn ready(&self) -> bool {
        true
    }
    fn ingest(&self, _request: Request<Incoming>) -> BoxFuture<Response<ResponseBody>> {
        let (entered, release) = (Arc::clone(&self.entered), Arc::clone(&self.release));
        Box::pin(async move {
            entered.notify_one();
            release.notified().await;
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        })
    }
}

#[derive(Default)]
struct CountingReload {
    calls: AtomicUsize,
    fail: bool,
}

impl Reload for CountingReload {
    fn reload(&self) -> BoxFuture<Result<(), ConfigError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = if self.fail {
            config::parse("wal: {segment_bytes: 1}", &Overrides::default()).map(|_| ())
        } else {
            Ok(())
        };
        Box::pin(async move { result })
    }
}

// === harness ===

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Drained>,
}

impl Running {
    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    async fn join(mut self) -> Drained {
        (&mut self.task).await.unwrap()
    }

    async fn stop(mut self) -> Drained {
        self.signal_stop();
        self.join().await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn listen(auth: Option<ListenAuth>, tls: Option<ListenTls>) -> Listen {
    Listen {
        address: "127.0.0.1:0".parse().unwrap(),
        auth,
        tls,
    }
}

async fn start(listen: Listen, ingest: Arc<dyn Ingest>, reload: Arc<dyn Reload>) -> Running {
    let server = Server::bind(&listen, ingest, reload, Registry::default())
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(
    addr: std::net::SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
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
        .send_request(
            request
                .body(Full::new(Bytes::from_static(b"payload")))
                .unwrap(),
        )
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

// === routes ===

#[tokio::test]
async fn placeholder_pipeline_answers_writes_with_503_and_retry_after() {
    let server = start(
        listen(None, None),
        Arc::new(PipelineNotReady),
        Arc::new(CountingReload::default()),
    )
    .await;
    for path in ["/api/v1/write", "/api/v1/push"] {
        let answer = send(server.addr, Method::POST, path, &[]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(answer.headers[RETRY_AFTER], "5");
        assert_eq!(answer.body, "pipeline not ready\n");
    }
    let ready = send(server.addr, Method::GET, "/-/ready", &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.stop().await, Drained::All);
}

#[tokio::test]
async fn write_paths_are_dispatched_to_the_pipeline() {
    let ingest = Arc::new(Counting::default());
    let server = start(
        listen(None, None),
        ingest.clone(),
        Arc::new(CountingReload::default()),
    )
    .await;
    assert_eq!(
        send(server.addr, Method::POST, "/api/v1/write", &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(server.addr, Method::POST, "/api/v1/push", &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ingest.calls.load(Ordering::SeqCst), 2);
    // The server hands the peer's address over in the request extensions.
    for peer in ingest.peers.lock().unwrap().iter() {
        let RemoteAddr(peer) = peer.expect("RemoteAddr in the extensions");
        assert!(peer.ip().is_loopback());
        assert_ne!(peer.port(), 0);
        assert_ne!(peer, server.addr);
    }
    server.stop().await;
}

#[tokio::test]
async fn health_and_readiness_follow_the_pipeline() {
    let server = start(
        listen(None, None),
        Arc::new(Counting::default()),
        Arc::new(CountingReload::default()),
    )
    .await;
    assert_eq!(
        send(server.addr, Method::GET, "/-/healthy", &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(server.addr, Method::GET, "/-/ready", &[]).await.status,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow_and_unknown_path_is_404() {
    let ingest = Arc::new(Counting::default());
    let server = start(
        listen(None, None),
        ingest.clone(),
        Arc::new(CountingReload::default()),
    )
    .await;
    let answer = send(server.addr, Method::GET, "/api/v1/write", &[]).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[ALLOW], "POST");
    assert_eq!(
        send(server.addr, Method::PUT, "/api/v1/push", &[])
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(server.addr, Method::GET, "/-/reload", &[])
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(server.addr, Method::POST, "/api/v2/write", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(server.addr, Method::GET, "/", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ingest.calls.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test]
async fn metrics_are_served_in_text_format_and_count_requests() {
    let server = start(
        listen(None, None),
        Arc::new(PipelineNotReady),
        Arc::new(CountingReload::default()),
    )
    .await;
    send(server.addr, Method::POST, "/api/v1/write", &[]).await;
    let answer = send(server.addr, Method::GET, "/metrics", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .body
            .contains(r#"prw_relay_http_requests_total{handler="/api/v1/write",code="503"} 1"#),
        "{}",
        answer.body
    );
    assert!(answer.body.ends_with("# EOF\n"));
    server.stop().await;
}

#[tokio::test]
async fn reload_endpoint_runs_the_hook_and_reports_failure_as_500() {
    let reload = Arc::new(CountingReload::default());
    let server = start(
        listen(None, None),
        Arc::new(PipelineNotReady),
        reload.clone(),
    )
    .await;
    assert_eq!(
        send(server.addr, Method::POST, "/-/reload", &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(server.addr, Method::PUT, "/-/reload", &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(reload.calls.load(Ordering::SeqCst), 2);
    server.stop().await;

    let failing = Arc::new(CountingReload {
        fail: true,
        ..CountingReload::default()
    });
    let server = start(listen(None, None), Arc::new(PipelineNotReady), failing).await;
    let answer = send(server.addr, Method::POST, "/-/reload", &[]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("wal.segment_bytes"), "{}", answer.body);
    server.stop().await;
}

// === listener auth ===

#[tokio::test]
async fn bearer_auth_protects_everything_but_health_and_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let ingest = Arc::new(Counting::default());
    let server = start(
        listen(Some(ListenAuth::bearer_token_file(&token).unwrap()), None),
        ingest.clone(),
        Arc::new(CountingReload::default()),
    )
    .await;
    for path in ["/api/v1/write", "/metrics", "/-/reload"] {
        let method = if path == "/metrics" {
            Method::GET
        } else {
            Method::POST
        };
        let answer = send(server.addr, method.clone(), path, &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.headers[WWW_AUTHENTICATE], "Bearer realm=\"prw\"");
        let wrong = send(
            server.addr,
            method,
            path,
            &[("authorization", "Bearer nope")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let ok = send(
        server.addr,
        Method::POST,
        "/api/v1/write",
        &[(AUTHORIZATION.as_str(), "Bearer s3cret")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(ingest.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        send(server.addr, Method::GET, "/-/healthy", &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(server.addr, Method::GET, "/-/ready", &[]).await.status,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test]
async fn basic_auth_users_file_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "alice:pw\n").unwrap();
    let server = start(
        listen(
            Some(ListenAuth::basic_auth_users_file(&users).unwrap()),
            None,
        ),
        Arc::new(Counting::default()),
        Arc::new(CountingReload::default()),
    )
    .await;
    let denied = send(server.addr, Method::POST, "/api/v1/write", &[]).await;
    assert_eq!(denied.headers[WWW_AUTHENTICATE], "Basic realm=\"prw\"");
    // "alice:pw" in base64.
    let ok = send(
        server.addr,
        Method::POST,
        "/api/v1/write",
        &[("authorization", "Basic YWxpY2U6cHc=")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    server.stop().await;
}

// === TLS ===

#[tokio::test]
async fn tls_listener_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.key_pair.serialize_pem()).unwrap();
    let server = start(
        listen(
            None,
            Some(ListenTls::from_files(&cert_file, &key_file).unwrap()),
        ),
        Arc::new(Counting::default()),
        Arc::new(CountingReload::default()),
    )
    .await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = Request::get("/-/healthy")
        .header(HOST, "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(
        sender.send_request(request).await.unwrap().status(),
        StatusCode::OK
    );

    let plain = send_plain_expecting_failure(server.addr).await;
    assert!(
        plain,
        "a plain HTTP request must not be answered by the TLS listener"
    );
    server.stop().await;
}

/// True when a plain-text request gets no HTTP answer.
async fn send_plain_expecting_failure(addr: std::net::SocketAddr) -> bool {
    let stream = TcpStream::connect(addr).await.unwrap();
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    else {
        return true;
    };
    tokio::spawn(conn);
    let request = Request::get("/-/healthy")
        .header(HOST, "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    sender.send_request(request).await.is_err()
}

// === graceful shutdown ===

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_in_flight_requests() {
    let ingest = Arc::new(Held::default());
    let mut server = start(
        listen(None, None),
        ingest.clone(),
        Arc::new(CountingReload::default()),
    )
    .await;
    let addr = server.addr;
    let in_flight = tokio::spawn(send(addr, Method::POST, "/api/v1/write", &[]));
    ingest.entered.notified().await;

    server.signal_stop();
    // The listener closes: new connections are refused once the accept loop has ended.
    let refused = loop {
        match TcpStream::connect(addr).await {
            Err(_) => break true,
            Ok(_) => tokio::task::yield_now().await,
        }
    };
    assert!(refused);
    ingest.release.notify_one();
    assert_eq!(in_flight.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(server.join().await, Drained::All);
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_up_on_requests_past_the_drain_deadline() {
    let ingest = Arc::new(Held::default());
    let listen = listen(None, None);
    let server = Server::bind(
        &listen,
        ingest.clone(),
        Arc::new(CountingReload::default()),
        Registry::default(),
    )
    .await
    .unwrap()
    .with_drain_timeout(std::time::Duration::from_secs(5));
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let _in_flight = tokio::spawn(send(addr, Method::POST, "/api/v1/write", &[]));
    ingest.entered.notified().await;
    stop.send(()).unwrap();
    assert_eq!(task.await.unwrap(), Drained::DeadlinePassed);
}

#[tokio::test(start_paused = true)]
async fn connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(
        listen(None, None),
        Arc::new(PipelineNotReady),
        Arc::new(CountingReload::default()),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // Ends only when the server closes the connection (after its 30 s header read timeout);
    // the virtual-time bound turns a missing timeout into a failure instead of a hang.
    tokio::time::timeout(
        std::time::Duration::from_secs(300),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server kept a connection with unfinished headers open")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    server.stop().await;
}
