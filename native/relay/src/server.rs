//! The relay's HTTP server (hyper 1, tokio, optional rustls TLS).
//!
//! Routes: `GET /-/healthy`, `GET /-/ready`, `GET /metrics`, `POST /-/reload`,
//! `GET /api/v1/captures[/{id}]` (what the relay refused, `server/captures.rs`), and the write
//! paths `POST /api/v1/write` and `/api/v1/push`, which are handed to an [`Ingest`] with the
//! peer's address in the request extensions ([`RemoteAddr`]). The [`Ingest`] and [`Reload`]
//! traits live in [`crate::handler`], below both the server and the pipeline.
//! [`Server::bind`] binds first (so port 0 resolves to a real port, logged as
//! `listening on ADDR`), [`Server::run`] serves until the shutdown future completes, then
//! stops accepting, lets in-flight requests finish for up to the drain deadline, and returns.
//! [`Server::readiness`] hands out the switch that turns `/-/ready` to 503 before that (the
//! shutdown grace period, while writes are still served: see [`Readiness`]).

mod auth;
mod captures;
mod error;
mod ingest;
mod metrics;
mod readiness;
mod reload;
mod routes;
mod signals;
mod static_page;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use captures::Captures;
pub use error::ServeError;
pub use ingest::{NOT_READY_RETRY_AFTER_SECS, PipelineNotReady};
pub use metrics::HttpMetrics;
pub use readiness::{IMMEDIATE_HEALTH_CHECK_FAIL, Readiness};
pub use reload::ValidateFile;
pub use routes::WRITE_PATHS;
pub use signals::{GraceEnd, Signals, Termination};
pub use static_page::{AssetLookup, StaticPage};

use crate::config::Listen;
use crate::handler::{Ingest, Reload, RemoteAddr};
use routes::Routes;

/// Default time in-flight requests get to finish after shutdown starts.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time a client may take to send request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed accept.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// Longest TLS handshake before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a [`Server::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight request finished.
    All,
    /// The drain deadline passed with connections still open; they were dropped.
    DeadlinePassed,
}

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    routes: Arc<Routes>,
    drain_timeout: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Uses the auth and TLS read at load, registers the server's metrics into `registry` (which the
    /// pipeline has filled already) and binds `listen.address`.
    pub async fn bind(
        listen: &Listen,
        ingest: Arc<dyn Ingest>,
        reload: Arc<dyn Reload>,
        mut registry: Registry,
    ) -> Result<Self, ServeError> {
        let auth = listen.auth.clone();
        let tls = listen.tls.as_ref().map(tls::acceptor);
        let metrics = HttpMetrics::register(&mut registry);
        let listener =
            TcpListener::bind(listen.address)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: listen.address,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: listen.address,
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(address = %local_addr, %scheme, "listening on {local_addr}");
        Ok(Self {
            listener,
            local_addr,
            tls,
            routes: Arc::new(Routes {
                ingest,
                reload,
                auth,
                registry: Arc::new(registry),
                metrics,
                inspector: None,
                readiness: Readiness::default(),
                captures: Captures::default(),
            }),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The switch that turns `/-/ready` to 503 (writes are still served); withdraw it at the
    /// start of a graceful shutdown, a grace period before `run`'s shutdown future completes.
    pub fn readiness(&self) -> Readiness {
        self.routes.readiness.clone()
    }

    /// Serves `page` under `/inspect/` (the `prw` binary passes the embedded inspector).
    pub fn with_inspector(mut self, page: StaticPage) -> Self {
        // Routes are shared only once serving starts; before that this is the only handle.
        if let Some(routes) = Arc::get_mut(&mut self.routes) {
            routes.inspector = Some(page);
        }
        self
    }

    /// Serves `captures` at `/api/v1/captures` (without this call: 404, capture off).
    pub fn with_captures(mut self, captures: Captures) -> Self {
        // As in `with_inspector`: before serving starts this is the only handle.
        if let Some(routes) = Arc::get_mut(&mut self.routes) {
            routes.captures = captures;
        }
        self
    }

    /// Sets how long in-flight requests may run after shutdown starts.
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Serves until `shutdown` completes, then drains.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Drained {
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // With a timer, hyper closes HTTP/1 connections whose request headers take longer
        // than HEADER_READ_TIMEOUT (slow-loris); HTTP/2 keep-alive pings use it too.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Accept errors (EMFILE, aborted handshakes) are per connection: keep
                    // going, after a pause so running out of descriptors does not spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let routes = Arc::clone(&self.routes);
            let service = service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(RemoteAddr(peer));
                let routes = Arc::clone(&routes);
                async move { Ok::<_, std::convert::Infallible>(routes.handle(request).await) }
            });
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                let result = match tls {
                    None => {
                        let conn = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .into_owned();
                        watcher.watch(conn).await
                    }
                    Some(acceptor) => {
                        let stream = match tokio::time::timeout(
                            TLS_HANDSHAKE_TIMEOUT,
                            acceptor.accept(stream),
                        )
                        .await
                        {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(err)) => {
                                tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                        let conn = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .into_owned();
                        watcher.watch(conn).await
                    }
                };
                if let Err(err) = result {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
            });
        }
        drop(self.listener);
        tracing::info!(timeout = ?self.drain_timeout, "shutting down: draining in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => {
                tracing::info!("all connections drained");
                Drained::All
            }
            () = tokio::time::sleep(self.drain_timeout) => {
                tracing::warn!("drain deadline passed; dropping open connections");
                Drained::DeadlinePassed
            }
        }
    }
}
