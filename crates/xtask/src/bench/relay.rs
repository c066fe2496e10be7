//! The relays under test, started the same way: listening on 127.0.0.1:PORT, forwarding to
//! the null receiver, their data (vmagent's `-remoteWrite.tmpDataPath`, prw's WAL) in a
//! directory under `target/xtask/bench/` so both persist on the same disk.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::error::BenchError;
use super::generator::Binaries;
use super::process::{Guard, wait_listening};

/// Which relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// VictoriaMetrics' vmagent (acknowledges before its data is on disk).
    Vmagent,
    /// `prw relay` with its default durable settings.
    Prw,
}

impl Kind {
    /// Its name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Vmagent => "vmagent",
            Kind::Prw => "prw relay",
        }
    }

    /// A short name for directories.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Vmagent => "vmagent",
            Kind::Prw => "prw",
        }
    }
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    /// Where it listens.
    pub addr: SocketAddr,
    guard: Guard,
}

impl Relay {
    /// Starts `kind` on `port` with its data in `data_dir` (kept across restarts) and its
    /// log in `data_dir/../<slug>.log`; waits until it accepts connections.
    pub fn start(
        kind: Kind,
        bins: &Binaries,
        port: u16,
        data_dir: &Path,
        receiver_url: &str,
    ) -> Result<Relay, BenchError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = match kind {
            Kind::Vmagent => {
                let mut cmd = Command::new(&bins.vmagent);
                cmd.arg(format!("-remoteWrite.url={receiver_url}"))
                    .arg(format!("-remoteWrite.tmpDataPath={}", data_dir.display()))
                    .arg(format!("-httpListenAddr={addr}"))
                    .arg("-loggerLevel=ERROR");
                cmd
            }
            Kind::Prw => {
                let mut cmd = Command::new(&bins.prw_relay);
                cmd.args(["relay", "--listen", &addr.to_string()])
                    .arg("--wal-dir")
                    .arg(data_dir)
                    .args(["--remote-write-url", receiver_url]);
                cmd
            }
        };
        let log_path = data_dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| BenchError::Io {
                what: "open",
                path: log_path.clone(),
                source,
            })?;
        let log2 = log.try_clone().map_err(|source| BenchError::Io {
            what: "open",
            path: log_path.clone(),
            source,
        })?;
        cmd.stdout(Stdio::from(log)).stderr(Stdio::from(log2));
        let mut guard = Guard::spawn(kind.name(), &mut cmd)?;
        wait_listening(&mut guard, addr, 15)?;
        Ok(Relay { addr, guard })
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.guard.kill();
    }
}
