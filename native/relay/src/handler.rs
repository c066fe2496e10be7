//! The seams between the HTTP server and the pipeline behind it: the server calls an
//! [`Ingest`] for write requests and a [`Reload`] for `POST /-/reload` and SIGHUP; the
//! pipeline (`ingest::WalIngest`, `delivery::DeliveryReload`) implements them.
//!
//! This module sits below both sides, so neither imports the other: the server knows only
//! these traits, the pipeline only these traits and types.
//!
//! Invariant: the server puts the peer's address into every write request's extensions as a
//! [`RemoteAddr`] before calling [`Ingest::ingest`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::config::ConfigError;

/// A boxed, sendable future (the traits stay object-safe without `async_trait`).
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

/// Re-reads the configuration and applies it.
pub trait Reload: Send + Sync + 'static {
    /// Reloads; an error leaves the running configuration in place.
    fn reload(&self) -> BoxFuture<Result<(), ConfigError>>;
}

/// The address of the peer that sent a request (TCP peer; behind a proxy, the proxy). Found
/// in the request's extensions: `request.extensions().get::<RemoteAddr>()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);
