//! A real VictoriaMetrics single node (Debian `victoria-metrics`) as a Remote Write
//! receiver for tests: private data dir, loopback port, `-search.latencyOffset=0s` (fresh
//! samples are visible at once), pairs read back through `/api/v1/export`.
//!
//! Invariants: killed when the guard drops; a restart keeps the port and the data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child::{ChildError, ChildProcess, free_port};
use crate::http::{self, HttpError};
use crate::pairs::{Pairs, PairsError};
use crate::tools::{ToolError, find_tool};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `$VICTORIA_METRICS_BIN`, else `/usr/bin/victoria-metrics`. `Ok(None)` = skip.
pub fn bin() -> Result<Option<PathBuf>, ToolError> {
    find_tool(
        "victoria-metrics",
        "VICTORIA_METRICS_BIN",
        &["/usr/bin/victoria-metrics"],
    )
}

/// Why VictoriaMetrics could not be run or queried.
#[derive(Debug, thiserror::Error)]
pub enum VictoriaError {
    /// Scratch files.
    #[error("victoria-metrics scratch files: {0}")]
    Io(#[from] std::io::Error),
    /// Start or readiness.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// An API call.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An API answer.
    #[error("victoria-metrics answered {status}: {body}")]
    Status {
        /// Status.
        status: u16,
        /// Body (start).
        body: String,
    },
    /// An unreadable export.
    #[error(transparent)]
    Pairs(#[from] PairsError),
}

/// A running VictoriaMetrics.
#[derive(Debug)]
pub struct Victoria {
    process: ChildProcess,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Victoria {
    /// Starts `bin` on a free port and waits for `/health`.
    pub fn start(bin: &Path) -> Result<Victoria, VictoriaError> {
        let dir = tempfile::Builder::new()
            .prefix("prw-e2e-victoria-")
            .tempdir()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let args = vec![
            format!("-storageDataPath={}", dir.path().join("data").display()),
            format!("-httpListenAddr={addr}"),
            "-retentionPeriod=1d".to_string(),
            "-search.latencyOffset=0s".to_string(),
            "-search.disableCache".to_string(),
        ];
        let process = ChildProcess::new(
            "victoria-metrics",
            bin,
            args,
            dir.path().join("victoria.log"),
        );
        let mut victoria = Victoria {
            process,
            addr,
            _dir: dir,
        };
        victoria.launch()?;
        Ok(victoria)
    }

    fn launch(&mut self) -> Result<(), VictoriaError> {
        self.process.spawn()?;
        let addr = self.addr;
        self.process
            .wait_ready("GET /health = 200", READY_TIMEOUT, |_| {
                http::get(addr, "/health").ok().filter(|a| a.status == 200)
            })?;
        Ok(())
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        self.process.kill();
    }

    /// SIGTERM (VictoriaMetrics flushes and exits), up to 15 s.
    pub fn stop(&mut self) {
        let _ = self.process.terminate(Duration::from_secs(15));
    }

    /// Starts again on the same port and data.
    pub fn restart(&mut self) -> Result<(), VictoriaError> {
        self.launch()
    }

    /// The last lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        self.process.log_tail(n)
    }

    /// Every (series, timestamp) pair of `selector` with `from_ms < t <= to_ms`.
    pub fn pairs(&self, selector: &str, from_ms: i64, to_ms: i64) -> Result<Pairs, VictoriaError> {
        // export takes seconds; widen by one second each side, then cut exactly.
        let path = format!(
            "/api/v1/export?match%5B%5D={}&start={}&end={}",
            crate::url::encode(selector),
            from_ms.div_euclid(1000) - 1,
            to_ms.div_euclid(1000) + 1,
        );
        let answer = http::get(self.addr, &path)?;
        if answer.status != 200 {
            return Err(VictoriaError::Status {
                status: answer.status,
                body: answer.text().chars().take(500).collect(),
            });
        }
        Ok(Pairs::from_victoria_export(&answer.text())?.window(from_ms, to_ms))
    }
}
