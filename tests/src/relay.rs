//! `prw relay` as a real process for tests: started from a YAML config in a private
//! directory (WAL under it), bound address read from its log, killed with SIGKILL or stopped
//! with SIGTERM, restarted on the same address and the same WAL.
//!
//! Invariants: the binary is `$PRW_BIN` (what `cargo xtask test` sets to `dist/prw`), else
//! `target/debug/prw` or `dist/prw` of the workspace (build it with `cargo build -p prw`);
//! the process is killed when the [`Relay`] drops; a restart reuses the first bound address,
//! so senders and Envoy clusters pointing at it need no change.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child::{ChildError, ChildProcess};
use crate::tools::{ToolError, find_tool, workspace_root};

/// How long the relay may take to open its WAL and bind.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the relay could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Writing its files failed.
    #[error("relay scratch files: {0}")]
    Io(#[from] std::io::Error),
    /// The process failed to start or get ready.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// A metrics scrape failed.
    #[error("relay /metrics: {0}")]
    Http(#[from] crate::http::HttpError),
}

/// Finds `prw`: `$PRW_BIN`, else `target/debug/prw`, else `dist/prw`. `Ok(None)` = skip.
pub fn bin() -> Result<Option<PathBuf>, ToolError> {
    let root = workspace_root();
    let debug = root.join("target/debug/prw").to_string_lossy().into_owned();
    let dist = root.join("dist/prw").to_string_lossy().into_owned();
    find_tool("prw (cargo build -p prw)", "PRW_BIN", &[&debug, &dist])
}

/// How [`Relay::start_with`] starts the relay (all optional).
#[derive(Debug, Clone, Default)]
pub struct RelayOptions {
    /// Where `wal/` (and so `delivery/`) live; default: the relay's private temp dir.
    pub data: Option<PathBuf>,
    /// `--shutdown-grace`; default: the relay's own (5 s).
    pub shutdown_grace: Option<Duration>,
    /// Extra environment variables of the relay process.
    pub env: Vec<(String, String)>,
    /// The identity the config's `listen.tls` serves (for the name `localhost`): readiness
    /// is then probed over TLS trusting it.
    pub tls: Option<crate::tls::Identity>,
}

/// A running `prw relay`.
#[derive(Debug)]
pub struct Relay {
    // Dropped (killed) before the directory is removed.
    process: ChildProcess,
    addr: SocketAddr,
    config: PathBuf,
    shutdown_grace: Option<Duration>,
    tls: Option<crate::tls::Identity>,
    dir: tempfile::TempDir,
    /// Where `wal/` (and so `delivery/`) live when not under `dir` (e.g. a small filesystem).
    data: Option<PathBuf>,
}

impl Relay {
    /// Writes `config_yaml` (its `remote_write`, `limits`, ... sections; listen address and
    /// WAL dir are given as flags) and starts the relay on a free port.
    pub fn start(bin: &Path, config_yaml: &str) -> Result<Relay, RelayError> {
        Relay::start_with(bin, config_yaml, RelayOptions::default())
    }

    /// Like [`Relay::start`], with the WAL in `data/wal` (progress files in `data/delivery`).
    pub fn start_in(bin: &Path, config_yaml: &str, data: &Path) -> Result<Relay, RelayError> {
        let options = RelayOptions {
            data: Some(data.to_path_buf()),
            ..RelayOptions::default()
        };
        Relay::start_with(bin, config_yaml, options)
    }

    /// [`Relay::start`] with `--shutdown-grace` (how long `/-/ready` answers 503 while writes
    /// are still accepted after SIGTERM; the relay's default is 5 s).
    pub fn start_with_shutdown_grace(
        bin: &Path,
        config_yaml: &str,
        grace: Duration,
    ) -> Result<Relay, RelayError> {
        let options = RelayOptions {
            shutdown_grace: Some(grace),
            ..RelayOptions::default()
        };
        Relay::start_with(bin, config_yaml, options)
    }

    /// [`Relay::start`] with extra environment variables for the relay process.
    pub fn start_with_env(
        bin: &Path,
        config_yaml: &str,
        env: &[(&str, &str)],
    ) -> Result<Relay, RelayError> {
        let options = RelayOptions {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..RelayOptions::default()
        };
        Relay::start_with(bin, config_yaml, options)
    }

    /// [`Relay::start`] with every option.
    pub fn start_with(
        bin: &Path,
        config_yaml: &str,
        options: RelayOptions,
    ) -> Result<Relay, RelayError> {
        let dir = tempfile::Builder::new()
            .prefix("prw-e2e-relay-")
            .tempdir()?;
        let config = dir.path().join("relay.yaml");
        std::fs::write(&config, config_yaml)?;
        let mut process =
            ChildProcess::new("prw relay", bin, Vec::new(), dir.path().join("relay.log"));
        process.set_env(options.env);
        let mut relay = Relay {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            config,
            shutdown_grace: options.shutdown_grace,
            tls: options.tls,
            dir,
            data: options.data,
        };
        relay.launch()?;
        Ok(relay)
    }

    fn launch_args(&self) -> Vec<String> {
        let mut args = vec![
            "relay".to_string(),
            "--config".to_string(),
            self.config.to_string_lossy().into_owned(),
            "--listen".to_string(),
            self.addr.to_string(),
            "--wal-dir".to_string(),
            self.wal_dir().to_string_lossy().into_owned(),
            "--drain-timeout".to_string(),
            "5s".to_string(),
        ];
        if let Some(grace) = self.shutdown_grace {
            args.push("--shutdown-grace".to_string());
            args.push(format!("{}ms", grace.as_millis()));
        }
        args
    }

    fn launch(&mut self) -> Result<(), RelayError> {
        let args = self.launch_args();
        self.process.set_args(args);
        let log_start = self.process.log().len();
        self.process.spawn()?;
        let addr =
            self.process
                .wait_ready("`listening on ADDR` in its log", READY_TIMEOUT, |p| {
                    listening_address(p.log().get(log_start..).unwrap_or(""))
                })?;
        self.addr = addr;
        let tls = self.tls.clone();
        self.process
            .wait_ready("GET /-/ready = 200", READY_TIMEOUT, |_| {
                match &tls {
                    None => crate::http::get(addr, "/-/ready"),
                    Some(ca) => {
                        crate::http::request_tls(addr, "localhost", ca, "GET", "/-/ready", &[], &[])
                    }
                }
                .ok()
                .filter(|a| a.status == 200)
            })?;
        Ok(())
    }

    /// The bound address (the same across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Its WAL directory.
    pub fn wal_dir(&self) -> PathBuf {
        self.data.as_deref().unwrap_or(self.dir.path()).join("wal")
    }

    /// The arguments it runs with (to start a second relay on the same directory).
    pub fn args(&self) -> Vec<String> {
        self.launch_args()
    }

    /// The process id while it runs (to read its memory use).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        self.process.kill();
    }

    /// Starts it again (after [`Relay::kill9`] or [`Relay::terminate`]) on the same address
    /// and WAL.
    pub fn restart(&mut self) -> Result<(), RelayError> {
        self.launch()
    }

    /// SIGTERM; its exit code when it exited within `grace`.
    pub fn terminate(&mut self, grace: Duration) -> Option<i32> {
        self.process.terminate(grace)
    }

    /// `GET /metrics` as text.
    pub fn metrics(&self) -> Result<String, RelayError> {
        Ok(crate::http::get(self.addr, "/metrics")?.text())
    }

    /// The sum of a metric over its label sets (0 when absent).
    pub fn metric(&self, name: &str) -> Result<f64, RelayError> {
        Ok(crate::http::metric_sum(&self.metrics()?, name).unwrap_or(0.0))
    }

    /// The log so far (every run).
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The last lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        self.process.log_tail(n)
    }
}

/// A relay config forwarding to each `(name, url)` with the queue settings the e2e suites
/// use: 5 s timeout, batches of up to 2,000 samples sent within 1 s, backoff 100 ms..1 s.
pub fn forwarding_config(destinations: &[(&str, &str)]) -> String {
    let mut yaml = "remote_write:\n".to_string();
    for (name, url) in destinations {
        yaml.push_str(&format!(
            "  - name: {name}\n    url: {url}\n    remote_timeout: 5s\n    queue_config:\n      \
             max_samples_per_send: 2000\n      batch_send_deadline: 1s\n      \
             min_backoff: 100ms\n      max_backoff: 1s\n"
        ));
    }
    yaml
}

/// The address of the last `listening on ADDR` line in `log`.
pub fn listening_address(log: &str) -> Option<SocketAddr> {
    log.lines().rev().find_map(|line| {
        let (_, rest) = line.split_once("listening on ")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_listening_line_gives_the_address() {
        let log = "2026 INFO prw_relay::server: listening on 127.0.0.1:1 address=127.0.0.1:1\n\
                   2026 INFO prw_relay::server: listening on 127.0.0.1:2 address=127.0.0.1:2 scheme=http\n";
        assert_eq!(listening_address(log), "127.0.0.1:2".parse().ok());
        assert_eq!(listening_address("nothing here"), None);
    }
}
