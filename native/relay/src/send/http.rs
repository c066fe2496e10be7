//! The real transport: a hyper 1 client (hyper-util connection pool) per destination,
//! HTTP/1.1 (and HTTP/2 over TLS when `enable_http2` and the server's ALPN agree), plain or
//! TLS ([`super::tls`]), direct or through a proxy ([`super::proxy`]), following redirects
//! like Prometheus's Go client ([`super::redirect`]).
//!
//! Invariants: each call is bounded by `remote_timeout` (connect, proxy tunnel, TLS, every
//! redirect hop, reading the answer head and body prefix); bodies beyond the kept prefix are
//! drained up to [`DRAIN_LIMIT`] so the connection can be reused, never buffered. Redirect
//! hops after the first are finished by the hop decorator (when set), since the retry
//! loop's decorator only saw the first URL.

mod connector;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::http::Method;
use hyper::http::header::PROXY_AUTHORIZATION;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use self::connector::Connector;
use super::decorate::RequestDecorator;
use super::proxy::{ProxySettings, Route};
use super::redirect::{self, Follow, MAX_REDIRECTS};
use super::tls::{self, TlsSettings};
use super::transport::{
    BODY_PREFIX_LIMIT, OutgoingRequest, Response, Transport, TransportError, TransportFuture,
};

pub use super::tls::TlsError;

/// Past this many body bytes the connection is abandoned instead of drained.
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// How a destination's client connects and follows redirects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `remote_timeout` (per attempt, redirects included). Zero means 30 s.
    pub timeout: Duration,
    /// `tls_config`.
    pub tls: TlsSettings,
    /// `proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`.
    pub proxy: ProxySettings,
    /// `follow_redirects`.
    pub follow_redirects: bool,
    /// `enable_http2` (HTTP/2 is negotiated by ALPN, so only over TLS).
    pub enable_http2: bool,
    /// `round_robin_dns`: each new connection starts with a different resolved address
    /// (Prometheus dials a random one) instead of the resolver's first.
    pub round_robin_dns: bool,
}

/// Finishes redirect hops (SigV4 signs each hop; tokens are not sent to another site).
#[derive(Debug, Clone)]
pub struct HopDecorator {
    /// The decorator.
    pub decorator: Arc<dyn RequestDecorator>,
    /// Also decorate hops that left the original site (SigV4: yes, as Prometheus's
    /// round tripper signs every request; bearer tokens: no).
    pub cross_site: bool,
}

/// A hyper client posting to one destination.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    proxy: Arc<ProxySettings>,
    follow_redirects: bool,
    hop_decorator: Option<HopDecorator>,
}

impl HttpTransport {
    /// A client for `settings`; fails only on TLS material rustls refuses.
    pub fn new(settings: &ClientSettings) -> Result<Self, TlsError> {
        let tls_config = tls::client_config(&settings.tls, settings.enable_http2)?;
        let proxy = Arc::new(settings.proxy.clone());
        let connector = Connector::new(
            tls_config,
            Arc::new(settings.tls.clone()),
            Arc::clone(&proxy),
            settings.round_robin_dns,
        );
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let timeout = if settings.timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            settings.timeout
        };
        Ok(HttpTransport {
            client,
            timeout,
            proxy,
            follow_redirects: settings.follow_redirects,
            hop_decorator: None,
        })
    }

    /// Finishes redirect hops with `hop` (the first hop is decorated by the retry loop).
    #[must_use]
    pub fn with_hop_decorator(mut self, hop: HopDecorator) -> Self {
        self.hop_decorator = Some(hop);
        self
    }

    /// POSTs `request` and keeps up to `body_limit` bytes of the final answer's body
    /// (token endpoints need whole bodies; remote write keeps 1 KiB). Bounded by the timeout.
    pub async fn post(
        &self,
        request: OutgoingRequest,
        body_limit: usize,
    ) -> Result<Response, TransportError> {
        tokio::time::timeout(self.timeout, self.follow(request, body_limit))
            .await
            .unwrap_or(Err(TransportError::Timeout(self.timeout)))
    }

    /// Sends `request`, then follows redirects as [`super::redirect`] says.
    async fn follow(
        &self,
        mut request: OutgoingRequest,
        body_limit: usize,
    ) -> Result<Response, TransportError> {
        let original_host = request.url.host().unwrap_or_default().to_owned();
        let mut method = Method::POST;
        let mut chain = vec![request.url.clone()];
        loop {
            let response = self.exchange(&method, &request, body_limit).await?;
            if !self.follow_redirects {
                return Ok(response);
            }
            let (Some(how), Some(location)) = (
                redirect::follow(response.status, &method),
                response.header("location"),
            ) else {
                return Ok(response);
            };
            let next = redirect::resolve(&request.url, location)
                .map_err(|e| TransportError::Io(Box::new(e)))?;
            chain.push(next.clone());
            if chain.len() > MAX_REDIRECTS {
                return Err(TransportError::Io(Box::new(redirect::too_many(&chain))));
            }
            tracing::debug!(status = response.status, from = %request.url, to = %next, "following a redirect");
            let headers =
                redirect::next_headers(&request.headers, &request.url, &next, &original_host, how);
            let cross_site = !redirect::same_site(next.host().unwrap_or_default(), &original_host);
            if how == Follow::AsGet {
                method = Method::GET;
                request.body = Bytes::new();
            }
            request.url = next;
            request.headers = headers;
            if let Some(hop) = &self.hop_decorator
                && (hop.cross_site || !cross_site)
            {
                hop.decorator
                    .decorate(&mut request)
                    .await
                    .map_err(|e| TransportError::Io(Box::new(e)))?;
            }
        }
    }

    /// One HTTP exchange, no redirects.
    async fn exchange(
        &self,
        method: &Method,
        request: &OutgoingRequest,
        body_limit: usize,
    ) -> Result<Response, TransportError> {
        let mut builder = hyper::Request::builder()
            .method(method.clone())
            .uri(request.url.clone());
        if let Some(headers) = builder.headers_mut() {
            headers.clone_from(&request.headers);
            if let Route::Proxy { server, .. } = self.proxy.route(&request.url)
                && request.url.scheme_str() != Some("https")
                && let Some(auth) = &server.authorization
            {
                headers.insert(PROXY_AUTHORIZATION, auth.clone());
            }
        }
        let http_request = builder
            .body(Full::new(request.body.clone()))
            .map_err(|e| TransportError::Io(Box::new(e)))?;
        let answer = self.client.request(http_request).await.map_err(|e| {
            if e.is_connect() {
                TransportError::Connect(Box::new(e))
            } else {
                TransportError::Io(Box::new(e))
            }
        })?;
        let (parts, body) = answer.into_parts();
        let body_prefix = read_prefix(body, body_limit).await?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body_prefix,
        })
    }
}

/// Keeps the first `limit` bytes, drains the rest up to [`DRAIN_LIMIT`] past them.
async fn read_prefix(mut body: Incoming, limit: usize) -> Result<Bytes, TransportError> {
    let mut prefix = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| TransportError::Io(Box::new(e)))?;
        if let Ok(data) = frame.into_data() {
            let room = limit.saturating_sub(prefix.len());
            prefix.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            seen = seen.saturating_add(data.len());
            if seen > limit.saturating_add(DRAIN_LIMIT) {
                break;
            }
        }
    }
    Ok(prefix.freeze())
}

impl Transport for HttpTransport {
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_> {
        Box::pin(self.post(request, BODY_PREFIX_LIMIT))
    }
}

#[cfg(test)]
mod tests;
