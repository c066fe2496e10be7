//! The connections of one destination's client: direct or through a proxy (absolute form
//! for http, an HTTP `CONNECT` tunnel for https), then TLS for https.
//!
//! Invariants: the route of each connection comes from the destination's
//! [`ProxySettings`](crate::send::proxy::ProxySettings); a connection reports to hyper
//! whether it goes to a proxy (so http requests are written in absolute form) and whether
//! ALPN chose `h2` (so hyper speaks HTTP/2 on it).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyper::http::Uri;
use hyper::http::header::PROXY_AUTHORIZATION;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use crate::send::proxy::{ProxySettings, Route};
use crate::send::tls::{TlsSettings, server_name};
use crate::send::transport::BoxError;

/// Opens connections for one destination.
#[derive(Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector<Resolver>,
    tls: TlsConnector,
    settings: Arc<TlsSettings>,
    proxy: Arc<ProxySettings>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("tls", &self.settings)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub(crate) fn new(
        tls: Arc<rustls::ClientConfig>,
        settings: Arc<TlsSettings>,
        proxy: Arc<ProxySettings>,
        round_robin_dns: bool,
    ) -> Self {
        let mut tcp = HttpConnector::new_with_resolver(Resolver {
            gai: GaiResolver::new(),
            rotate: round_robin_dns,
        });
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        Connector {
            tcp,
            tls: TlsConnector::from(tls),
            settings,
            proxy,
        }
    }

    async fn connect(mut self, dst: Uri) -> Result<Conn, BoxError> {
        let https = dst.scheme_str() == Some("https");
        let proxy = Arc::clone(&self.proxy);
        match proxy.route(&dst) {
            Route::Direct => {
                let tcp = self.tcp.call(dst.clone()).await?;
                if https {
                    self.handshake(tcp.into_inner(), &dst).await
                } else {
                    Ok(Conn::plain(tcp, false))
                }
            }
            Route::Proxy {
                server,
                connect_headers,
            } if https => {
                let mut headers = connect_headers.clone();
                if let Some(auth) = &server.authorization {
                    headers.insert(PROXY_AUTHORIZATION, auth.clone());
                }
                let mut tunnel = Tunnel::new(server.uri.clone(), self.tcp.clone());
                if !headers.is_empty() {
                    tunnel = tunnel.with_headers(headers);
                }
                let tcp = tunnel
                    .call(dst.clone())
                    .await
                    .map_err(|e| io::Error::other(format!("proxy CONNECT failed: {e}")))?;
                self.handshake(tcp.into_inner(), &dst).await
            }
            Route::Proxy { server, .. } => {
                let tcp = self.tcp.call(server.uri.clone()).await?;
                Ok(Conn::plain(tcp, true))
            }
        }
    }

    async fn handshake(&self, tcp: TcpStream, dst: &Uri) -> Result<Conn, BoxError> {
        let name = server_name(&self.settings, dst.host().unwrap_or_default())?;
        let stream = self.tls.connect(name, tcp).await?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(Conn {
            io: Io::Tls(Box::new(TokioIo::new(stream))),
            proxied: false,
            h2,
        })
    }
}

/// The system resolver; with `round_robin_dns`, the address list is rotated by a varying
/// amount so successive connections start at different addresses.
#[derive(Clone)]
struct Resolver {
    gai: GaiResolver,
    rotate: bool,
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.gai.call(name);
        let rotate = self.rotate;
        Box::pin(async move {
            let mut addrs: Vec<SocketAddr> = lookup.await?.collect();
            if rotate {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                rotate_by(&mut addrs, NEXT.fetch_add(1, Ordering::Relaxed));
            }
            Ok(addrs.into_iter())
        })
    }
}

/// Starts the list at position `turn` (modulo its length).
fn rotate_by(addrs: &mut [SocketAddr], turn: usize) {
    if let Some(by) = turn.checked_rem(addrs.len()) {
        addrs.rotate_left(by);
    }
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        Box::pin(self.clone().connect(dst))
    }
}

enum Io {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

/// One connection: plain or TLS, to the destination or to a proxy.
pub(crate) struct Conn {
    io: Io,
    proxied: bool,
    h2: bool,
}

impl Conn {
    fn plain(tcp: TokioIo<TcpStream>, proxied: bool) -> Self {
        Conn {
            io: Io::Plain(tcp),
            proxied,
            h2: false,
        }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let connected = Connected::new().proxy(self.proxied);
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_starts_each_connection_at_the_next_address() {
        let addrs: Vec<SocketAddr> = (1..=3)
            .map(|i| SocketAddr::from(([127, 0, 0, i], 80)))
            .collect();
        let firsts: Vec<SocketAddr> = (0..4)
            .map(|turn| {
                let mut list = addrs.clone();
                rotate_by(&mut list, turn);
                list[0]
            })
            .collect();
        assert_eq!(firsts, [addrs[0], addrs[1], addrs[2], addrs[0]]);
        rotate_by(&mut [], 5);
    }
}
