//! `prw relay` serving the embedded inspector at `/inspect/`, for the browser test: started
//! on 127.0.0.1:0 with a throw-away WAL directory, its bound address read from its log line
//! `listening on ADDR`, killed (and its directory removed) on drop.
// Test support: clippy.toml allows unwrap in #[test] fns only.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running relay; dropping it kills it.
pub struct RelayPage {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl RelayPage {
    /// Starts `prw relay`; `None` (relay stopped) when its `/inspect/` does not answer 200,
    /// i.e. the binary was built without the embedded page.
    pub fn start(prw: &Path) -> Option<RelayPage> {
        let dir = std::env::temp_dir().join(format!("prw-inspector-relay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(prw)
            .args(["relay", "--listen", "127.0.0.1:0", "--wal-dir"])
            .arg(dir.join("wal"))
            .env("PRW_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining the log so the relay never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .split("listening on ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).ok();
        let relay = RelayPage {
            child,
            addr: addr.unwrap_or(([127, 0, 0, 1], 0).into()),
            dir,
        };
        (addr.is_some() && relay.page_status() == Some(200)).then_some(relay)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn page_status(&self) -> Option<u16> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!(
            "GET /inspect/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).ok()?;
        std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
    }
}

impl Drop for RelayPage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
