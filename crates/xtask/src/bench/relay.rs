//! The relays under test, started the same way: listening on 127.0.0.1:PORT, forwarding to
//! the null receiver, their data (vmagent's `-remoteWrite.tmpDataPath`, prw's WAL) in a
//! directory under `target/xtask/bench/` so both persist on the same disk.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use super::error::BenchError;
use super::generator::{Binaries, Proto};
use super::process::{Guard, log_to, wait_listening};
use prw_devkit::prom_text;

/// prw's `prw_tail_hits_total`, `prw_tail_wal_reads_total` and
/// `prw_tail_wal_reads_shared_total` at the end of a row, summed over the destinations:
/// records taken from the in-memory tail, read back from the WAL, and taken from memory after
/// another destination read them from the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailReads {
    /// Records taken from memory.
    pub hits: u64,
    /// Records read back from the WAL (the destination was behind the tail).
    pub wal_reads: u64,
    /// Records taken from memory after another destination behind the tail read them from
    /// the WAL (`prw_tail_wal_reads_shared_total`).
    pub shared: u64,
}

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
    kind: Kind,
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
        Relay::start_to(
            kind,
            bins,
            port,
            data_dir,
            &[receiver_url.to_owned()],
            Proto::V1,
        )
    }

    /// Like [`Relay::start`], forwarding to every URL of `urls` in `forwarded` (prw: one
    /// destination each, from a configuration file next to the data; vmagent: one
    /// `-remoteWrite.url` each, Remote Write 1.0 only).
    pub fn start_to(
        kind: Kind,
        bins: &Binaries,
        port: u16,
        data_dir: &Path,
        urls: &[String],
        forwarded: Proto,
    ) -> Result<Relay, BenchError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = match kind {
            Kind::Vmagent => {
                let mut cmd = Command::new(&bins.vmagent);
                for url in urls {
                    cmd.arg(format!("-remoteWrite.url={url}"));
                }
                cmd.arg(format!("-remoteWrite.tmpDataPath={}", data_dir.display()))
                    .arg(format!("-httpListenAddr={addr}"))
                    .arg("-loggerLevel=ERROR");
                cmd
            }
            Kind::Prw => {
                let config = data_dir.with_extension("yaml");
                std::fs::write(&config, prw_config(urls, forwarded)).map_err(|source| {
                    BenchError::Io {
                        what: "write",
                        path: config.clone(),
                        source,
                    }
                })?;
                let mut cmd = Command::new(&bins.prw_relay);
                cmd.args(["relay", "--listen", &addr.to_string()])
                    .arg("--config")
                    .arg(&config)
                    .arg("--wal-dir")
                    .arg(data_dir);
                cmd
            }
        };
        log_to(&mut cmd, &data_dir.with_extension("log"))?;
        let mut guard = Guard::spawn(kind.name(), &mut cmd)?;
        wait_listening(&mut guard, addr, 15)?;
        Ok(Relay { addr, kind, guard })
    }

    /// prw: where its destinations took their records from (`/metrics`); `None` for vmagent
    /// or when the scrape fails.
    pub fn tail_reads(&self) -> Option<TailReads> {
        if self.kind != Kind::Prw {
            return None;
        }
        let (status, text) = crate::http::get(self.addr, "/metrics")?;
        if status != 200 {
            return None;
        }
        let count = |name: &str| prom_text::sum(&text, name).unwrap_or(0.0) as u64;
        Some(TailReads {
            hits: count("prw_tail_hits_total"),
            wal_reads: count("prw_tail_wal_reads_total"),
            shared: count("prw_tail_wal_reads_shared_total"),
        })
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

/// prw's configuration: one destination per URL, default settings but the protocol.
fn prw_config(urls: &[String], forwarded: Proto) -> String {
    let mut yaml = String::from("remote_write:\n");
    for (i, url) in urls.iter().enumerate() {
        yaml.push_str(&format!("  - name: d{i}\n    url: {url}\n"));
        if forwarded == Proto::V2 {
            yaml.push_str("    protobuf_message: io.prometheus.write.v2.Request\n");
        }
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prw_config_has_one_destination_per_url_in_the_protocol_asked() {
        let urls = ["http://a/w".to_owned(), "http://b/w".to_owned()];
        assert_eq!(
            prw_config(&urls, Proto::V2),
            "remote_write:\n  - name: d0\n    url: http://a/w\n    protobuf_message: io.prometheus.write.v2.Request\n  - name: d1\n    url: http://b/w\n    protobuf_message: io.prometheus.write.v2.Request\n"
        );
        assert!(!prw_config(&urls[..1], Proto::V1).contains("protobuf_message"));
    }
}
