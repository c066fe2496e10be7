//! A real Prometheus 2.42 for tests: a sender (scrapes one target every second and
//! remote-writes to a URL) or a receiver (`--web.enable-remote-write-receiver`, without or
//! with an out-of-order window), with a generated config, a private data dir and a free
//! port; the (series, timestamp) pairs it holds are read back through its query API.
//!
//! Debian's Prometheus 2.42 (`2.42.0+ds`) ignores `remote_write.headers` (checked: no
//! configured header reaches the wire), so a sender here cannot set a tenant header.
//!
//! Invariants: the process is killed when the guard drops; a restart keeps the port and the
//! data dir (a receiver that was down comes back with what it had).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child::{ChildError, ChildProcess, free_port};
use crate::http::{self, HttpError};
use crate::pairs::{Pairs, PairsError};
use crate::tools::{ToolError, find_tool};

/// How long Prometheus may take to be ready (TSDB/WAL replay included).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `$PROMETHEUS_BIN`, else `/usr/bin/prometheus`. `Ok(None)` = skip.
pub fn bin() -> Result<Option<PathBuf>, ToolError> {
    find_tool("prometheus", "PROMETHEUS_BIN", &["/usr/bin/prometheus"])
}

/// Why Prometheus could not be run or queried.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// Scratch files.
    #[error("prometheus scratch files: {0}")]
    Io(#[from] std::io::Error),
    /// Start or readiness.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// An API call.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An API answer.
    #[error("prometheus answered {status}: {body}")]
    Status {
        /// Status.
        status: u16,
        /// Body (start).
        body: String,
    },
    /// An unreadable query answer.
    #[error(transparent)]
    Pairs(#[from] PairsError),
}

/// What the instance does.
#[derive(Clone, Debug)]
pub enum Role {
    /// Scrapes `target` (job `job`) every second and remote-writes everything to `url`.
    Sender {
        /// Scrape target.
        target: SocketAddr,
        /// Job name.
        job: String,
        /// Remote Write URL.
        url: String,
    },
    /// Accepts Remote Write at `/api/v1/write`; scrapes nothing.
    Receiver,
    /// A [`Role::Receiver`] that also accepts samples up to `window` (a Prometheus duration)
    /// older than the newest of their series (`storage.tsdb.out_of_order_time_window`).
    OutOfOrderReceiver {
        /// The window, e.g. `"10m"`.
        window: String,
    },
}

impl Role {
    fn config(&self) -> String {
        match self {
            Role::Receiver => "global:\n  scrape_interval: 1m\n".to_string(),
            Role::OutOfOrderReceiver { window } => format!(
                "global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: {window}\n"
            ),
            Role::Sender { target, job, url } => format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n\
                 remote_write:\n  - url: {url}\n    name: edge\n    remote_timeout: 5s\n    queue_config:\n      \
                 capacity: 10000\n      max_samples_per_send: 2000\n      batch_send_deadline: 1s\n      \
                 min_backoff: 100ms\n      max_backoff: 1s\n"
            ),
        }
    }
}

/// A running Prometheus.
#[derive(Debug)]
pub struct Prometheus {
    process: ChildProcess,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `bin` in `role` on a free port and waits for `/-/ready`.
    pub fn start(bin: &Path, role: &Role) -> Result<Prometheus, PrometheusError> {
        Prometheus::start_with_flags(bin, role, &[])
    }

    /// [`Prometheus::start`] with extra command-line flags, such as
    /// `--enable-feature=native-histograms,exemplar-storage`.
    pub fn start_with_flags(
        bin: &Path,
        role: &Role,
        flags: &[&str],
    ) -> Result<Prometheus, PrometheusError> {
        let dir = tempfile::Builder::new()
            .prefix("prw-e2e-prometheus-")
            .tempdir()?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, role.config())?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut args = vec![
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address={addr}"),
            "--storage.tsdb.retention.time=1d".to_string(),
            "--log.level=info".to_string(),
        ];
        if !matches!(role, Role::Sender { .. }) {
            args.push("--web.enable-remote-write-receiver".to_string());
        }
        args.extend(flags.iter().map(|f| f.to_string()));
        let name = match role {
            Role::Receiver | Role::OutOfOrderReceiver { .. } => "prometheus (receiver)",
            Role::Sender { .. } => "prometheus (sender)",
        };
        let process = ChildProcess::new(name, bin, args, dir.path().join("prometheus.log"));
        let mut prometheus = Prometheus { process, addr, dir };
        prometheus.launch()?;
        Ok(prometheus)
    }

    fn launch(&mut self) -> Result<(), PrometheusError> {
        self.process.spawn()?;
        let addr = self.addr;
        self.process
            .wait_ready("GET /-/ready = 200", READY_TIMEOUT, |_| {
                http::get(addr, "/-/ready").ok().filter(|a| a.status == 200)
            })?;
        Ok(())
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/api/v1/write` (receivers).
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        self.process.kill();
    }

    /// SIGTERM (graceful: the TSDB is closed cleanly), up to 15 s.
    pub fn stop(&mut self) {
        let _ = self.process.terminate(Duration::from_secs(15));
    }

    /// Starts again on the same port and data dir.
    pub fn restart(&mut self) -> Result<(), PrometheusError> {
        self.launch()
    }

    /// Its data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The last lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        self.process.log_tail(n)
    }

    /// `GET path` on its HTTP API (e.g. `/api/v1/query?...`): the body of a 200 answer.
    pub fn api(&self, path: &str) -> Result<String, PrometheusError> {
        api_at(self.addr, path)
    }

    /// Every (series, timestamp) pair of `selector` with `from_ms < t <= to_ms` (a range
    /// selector evaluated at `to_ms`: raw samples, no lookback or step alignment).
    pub fn pairs(
        &self,
        selector: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Pairs, PrometheusError> {
        pairs_at(self.addr, selector, from_ms, to_ms)
    }

    /// Polls [`Prometheus::pairs`] until every pair of `expected` is there (or `timeout`
    /// passes: the error names how many are missing, with examples); returns what it holds.
    pub fn wait_for_pairs(
        &self,
        selector: &str,
        (from_ms, to_ms): (i64, i64),
        expected: &Pairs,
        timeout: Duration,
    ) -> Result<Pairs, String> {
        crate::wait::until("every expected pair in Prometheus", timeout, || {
            let seen = self
                .pairs(selector, from_ms, to_ms)
                .map_err(|e| e.to_string())?;
            let (missing, examples) = seen.missing_from(expected);
            if missing == 0 {
                Ok(seen)
            } else {
                Err(format!("{missing} missing, e.g. {examples:?}"))
            }
        })
    }

    /// Its own `/metrics`.
    pub fn metrics(&self) -> Result<String, PrometheusError> {
        self.api("/metrics")
    }

    /// The sum of a metric of its own over every label set (0 when absent).
    pub fn metric(&self, name: &str) -> Result<f64, PrometheusError> {
        Ok(http::metric_sum(&self.metrics()?, name).unwrap_or(0.0))
    }
}

/// `GET path` on the HTTP API of the Prometheus at `addr` (one this crate did not start, e.g.
/// `cargo xtask up`'s): the body of a 200 answer.
pub fn api_at(addr: SocketAddr, path: &str) -> Result<String, PrometheusError> {
    let answer = http::get(addr, path)?;
    if answer.status != 200 {
        return Err(PrometheusError::Status {
            status: answer.status,
            body: answer.text().chars().take(500).collect(),
        });
    }
    Ok(answer.text())
}

/// [`Prometheus::pairs`] of the Prometheus at `addr`.
pub fn pairs_at(
    addr: SocketAddr,
    selector: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Pairs, PrometheusError> {
    let range = (to_ms - from_ms).max(1);
    let query = format!("{selector}[{range}ms]");
    let time = format!("{}.{:03}", to_ms.div_euclid(1000), to_ms.rem_euclid(1000));
    let path = format!(
        "/api/v1/query?query={}&time={time}",
        crate::url::encode(&query)
    );
    Ok(Pairs::from_prometheus_matrix(&api_at(addr, &path)?)?)
}
