//! A TCP forwarder that stands in for a sender on another host: it listens on a free
//! loopback port and relays every connection to `upstream`, connecting *from* a chosen
//! loopback source address (127.0.0.K: Linux routes all of 127.0.0.0/8 to `lo`). Envoy's
//! `connection_properties: {source_ip: true}` hash then sees one address per sender, as it
//! would for senders on separate machines or pods.
//!
//! Why it exists: Debian's Prometheus 2.42 (`2.42.0+ds`) drops `remote_write.headers`, so
//! its senders cannot set `X-Scope-OrgID` and would all hash alike from 127.0.0.1.
//!
//! It doubles as a gate in front of a receiver ([`Forwarder::set_open`]): while closed it
//! drops its connections and every new one, as a receiver that went away would (a sender sees
//! connection errors and retries), so a test can make one relay of several hold a backlog.
//!
//! Invariants: bytes are copied unchanged in both directions; one upstream connection per
//! downstream connection; nothing passes while closed; everything stops (listener closed,
//! connections dropped) when the [`Forwarder`] drops. The std library cannot bind a socket before connecting, hence tokio's
//! `TcpSocket` on a runtime thread of its own.

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch};

/// A running forwarder.
#[derive(Debug)]
pub struct Forwarder {
    addr: SocketAddr,
    source: IpAddr,
    open: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on 127.0.0.1 (free port) and forwards to `upstream` from `source`.
    pub fn start(upstream: SocketAddr, source: IpAddr) -> std::io::Result<Forwarder> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (open, is_open) = watch::channel(true);
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                tokio::select! {
                    _ = stopped => {}
                    () = accept_loop(listener, upstream, source, is_open) => {}
                }
            });
            // Dropping the runtime here cancels every connection task.
        });
        Ok(Forwarder {
            addr,
            source,
            open,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where senders connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The source address upstream sees.
    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Closed: every connection is dropped now and every new one at once. Open (the
    /// start state): connections are forwarded again.
    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    source: IpAddr,
    is_open: watch::Receiver<bool>,
) {
    while let Ok((downstream, _)) = listener.accept().await {
        if !*is_open.borrow() {
            drop(downstream);
            continue;
        }
        let mut is_open = is_open.clone();
        tokio::spawn(async move {
            if let Ok(upstream) = connect_from(source, upstream).await {
                let (mut down, mut up) = (downstream, upstream);
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                    _ = is_open.wait_for(|open| !*open) => {}
                }
            }
        });
    }
}

async fn connect_from(source: IpAddr, upstream: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(upstream).await
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn bytes_pass_unchanged_and_upstream_sees_the_chosen_source() {
        let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let forwarder =
            Forwarder::start(upstream.local_addr().unwrap(), "127.0.0.7".parse().unwrap()).unwrap();
        let mut client = std::net::TcpStream::connect(forwarder.addr()).unwrap();
        client.write_all(b"ping").unwrap();
        let (mut accepted, peer) = upstream.accept().unwrap();
        assert_eq!(peer.ip(), forwarder.source());
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        accepted.write_all(b"pong").unwrap();
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
        let listening = forwarder.addr();
        drop(forwarder);
        assert!(std::net::TcpStream::connect(listening).is_err());
    }

    #[test]
    fn a_closed_forwarder_drops_its_connections_until_opened_again() {
        let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let forwarder =
            Forwarder::start(upstream.local_addr().unwrap(), "127.0.0.1".parse().unwrap()).unwrap();
        let mut client = std::net::TcpStream::connect(forwarder.addr()).unwrap();
        client.write_all(b"ping").unwrap();
        let (mut accepted, _) = upstream.accept().unwrap();
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).unwrap();
        forwarder.set_open(false);
        // The open connection is cut: the client reads the end of the stream.
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        assert_eq!(client.read(&mut got).unwrap_or(0), 0);
        // A new one is dropped without reaching upstream.
        let mut refused = std::net::TcpStream::connect(forwarder.addr()).unwrap();
        refused
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _ = refused.write_all(b"ping");
        assert_eq!(refused.read(&mut got).unwrap_or(0), 0);
        forwarder.set_open(true);
        let mut again = std::net::TcpStream::connect(forwarder.addr()).unwrap();
        again.write_all(b"pong").unwrap();
        let (mut accepted, _) = upstream.accept().unwrap();
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
    }
}
