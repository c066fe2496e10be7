//! The load generator: `dist/prw bench ... --format json`, and its summary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::error::BenchError;
use super::process::{Guard, show};

/// Payload shape of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Series per request.
    pub series: u32,
    /// Labels per series.
    pub labels: u32,
}

/// A Remote Write protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    /// Remote Write 1.0 (`prometheus.WriteRequest`).
    #[default]
    V1,
    /// Remote Write 2.0 (`io.prometheus.write.v2.Request`).
    V2,
}

impl Proto {
    /// `prw bench --proto` value.
    pub fn arg(self) -> &'static str {
        match self {
            Proto::V1 => "v1",
            Proto::V2 => "v2",
        }
    }

    /// As written in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Proto::V1 => "1.0",
            Proto::V2 => "2.0",
        }
    }
}

/// One `prw bench` invocation.
#[derive(Debug, Clone)]
pub struct Load {
    /// Target write URL.
    pub url: String,
    /// Payload shape.
    pub shape: Shape,
    /// Concurrent requests.
    pub concurrency: u32,
    /// Time bound.
    pub duration: Duration,
    /// Request bound.
    pub requests: Option<u64>,
    /// Target requests/s (`None`: as fast as possible).
    pub rate: Option<f64>,
    /// Distinct payloads.
    pub payloads: u64,
    /// The protocol sent.
    pub proto: Proto,
}

/// What `prw bench --format json` reported.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Requests acknowledged.
    pub requests_ok: u64,
    /// Samples acknowledged.
    pub samples_ok: u64,
    /// Samples per request.
    pub samples_per_request: u64,
    /// Acknowledged samples/s.
    pub samples_per_second: f64,
    /// Acknowledged requests/s.
    pub requests_per_second: f64,
    /// Latency p50, ms.
    pub p50_ms: f64,
    /// Latency p99, ms.
    pub p99_ms: f64,
    /// Requests whose connection failed after sending (answer unknown).
    pub in_flight: u64,
}

/// `prw bench --floor` results, samples/s on one core.
#[derive(Debug, Clone, Copy, Default)]
pub struct Floor {
    /// Snappy decompression alone.
    pub snappy: f64,
    /// Decompression + validation.
    pub validate: f64,
    /// Compressed bytes per request.
    pub compressed_bytes: u64,
}

impl Load {
    /// One request of 10 series to `url`: a probe that a server takes writes.
    pub fn probe(url: String) -> Load {
        Load {
            url,
            shape: Shape {
                series: 10,
                labels: 10,
            },
            concurrency: 1,
            duration: Duration::from_secs(5),
            requests: Some(1),
            rate: None,
            payloads: 1,
            proto: Proto::V1,
        }
    }

    fn command(&self, prw: &Path, quiet: bool) -> Command {
        let mut cmd = Command::new(prw);
        cmd.arg("bench")
            .args(["--url", &self.url])
            .args(["--series", &self.shape.series.to_string()])
            .args(["--labels", &self.shape.labels.to_string()])
            .args(["--samples", "1", "--proto", self.proto.arg()])
            .args(["--concurrency", &self.concurrency.to_string()])
            .args(["--duration", &format!("{}ms", self.duration.as_millis())])
            .args(["--payloads", &self.payloads.to_string()])
            .args(["--format", "json"]);
        if let Some(n) = self.requests {
            cmd.args(["--requests", &n.to_string()]);
        }
        if let Some(rate) = self.rate {
            cmd.args(["--rate", &format!("{rate:.2}")]);
        }
        if quiet {
            cmd.arg("--quiet");
        }
        cmd
    }

    /// Runs to the end.
    pub fn run(&self, prw: &Path) -> Result<LoadResult, BenchError> {
        self.run_with_args(prw, &[])
    }

    /// [`Load::run`] with more `prw bench` arguments (e.g. `--header`).
    pub fn run_with_args(&self, prw: &Path, extra: &[String]) -> Result<LoadResult, BenchError> {
        let mut cmd = self.command(prw, true);
        cmd.args(extra);
        eprintln!("    $ {}", show(&cmd));
        let output = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|source| BenchError::Spawn {
                program: "prw bench".into(),
                source,
            })?;
        parse_load(output.status.code(), &output.stdout, &output.stderr)
    }

    /// Starts it and returns once the payloads are built and the clock runs.
    pub fn start(&self, prw: &Path) -> Result<Running, BenchError> {
        self.start_with_args(prw, &[])
    }

    /// [`Load::start`] with more `prw bench` arguments (e.g. `--header`).
    pub fn start_with_args(&self, prw: &Path, extra: &[String]) -> Result<Running, BenchError> {
        let mut cmd = self.command(prw, false);
        cmd.args(extra);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut guard = Guard::spawn("prw bench", &mut cmd)?;
        let stderr = guard.child_mut().and_then(|c| c.stderr.take());
        let (tx, rx) = mpsc::channel();
        let (all_tx, all_rx) = mpsc::channel();
        if let Some(stderr) = stderr {
            std::thread::spawn(move || {
                let mut text = String::new();
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("sending") {
                        let _ = tx.send(());
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
                let _ = all_tx.send(text);
            });
        }
        let started = rx.recv_timeout(Duration::from_secs(120)).is_ok();
        if !started {
            return Err(BenchError::NotListening {
                what: "prw bench (payload generation)".into(),
                seconds: 120,
            });
        }
        Ok(Running {
            guard,
            stderr: all_rx,
        })
    }
}

/// A generator started with [`Load::start`].
#[derive(Debug)]
pub struct Running {
    guard: Guard,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    /// Whether it is done.
    pub fn exited(&mut self) -> bool {
        self.guard.exited()
    }

    /// Waits for the end and parses the summary.
    pub fn finish(mut self) -> Result<LoadResult, BenchError> {
        let Some(child) = self.guard.child_mut() else {
            return Err(BenchError::Generator {
                code: None,
                stderr: String::new(),
            });
        };
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = std::io::Read::read_to_end(&mut out, &mut stdout);
        }
        let code = child.wait().ok().and_then(|s| s.code());
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        parse_load(code, &stdout, stderr.as_bytes())
    }
}

fn json(what: &str, stdout: &[u8]) -> Result<serde_json::Value, BenchError> {
    serde_json::from_slice(stdout).map_err(|e| BenchError::Json {
        what: what.into(),
        detail: e.to_string(),
    })
}

fn parse_load(code: Option<i32>, stdout: &[u8], stderr: &[u8]) -> Result<LoadResult, BenchError> {
    // 0: all acknowledged; 1: some failed (expected when a relay is killed).
    if !matches!(code, Some(0 | 1)) {
        return Err(BenchError::Generator {
            code,
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        });
    }
    let v = json("prw bench", stdout)?;
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    Ok(LoadResult {
        requests_ok: u(&v["requests_ok"]),
        samples_ok: u(&v["samples_ok"]),
        samples_per_request: u(&v["workload"]["samples_per_request"]),
        samples_per_second: f(&v["samples_per_second"]),
        requests_per_second: f(&v["requests_per_second"]),
        p50_ms: f(&v["latency_ms"]["p50"]),
        p99_ms: f(&v["latency_ms"]["p99"]),
        in_flight: u(&v["errors"]["in_flight"]),
    })
}

/// `prw bench --floor` on the shape's payloads.
pub fn floor(prw: &Path, shape: Shape, seconds: f64) -> Result<Floor, BenchError> {
    let mut cmd = Command::new(prw);
    cmd.args(["bench", "--floor", "--proto", "v1", "--format", "json"])
        .args([
            "--series",
            &shape.series.to_string(),
            "--labels",
            &shape.labels.to_string(),
        ])
        .args(["--duration", &format!("{}ms", (seconds * 1000.0) as u64)]);
    eprintln!("    $ {}", show(&cmd));
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BenchError::Spawn {
            program: "prw bench --floor".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(BenchError::Generator {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let v = json("prw bench --floor", &output.stdout)?;
    Ok(Floor {
        snappy: v["snappy_decompress"]["samples_per_second"]
            .as_f64()
            .unwrap_or(0.0),
        validate: v["decompress_and_validate"]["samples_per_second"]
            .as_f64()
            .unwrap_or(0.0),
        compressed_bytes: v["workload"]["compressed_bytes"].as_u64().unwrap_or(0),
    })
}

/// `prw bench --wal-append` results.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalAppend {
    /// Concurrent appenders.
    pub appenders: u64,
    /// Durable records per second.
    pub records_per_second: f64,
    /// Samples in those records per second.
    pub samples_per_second: f64,
    /// Compressed megabytes per second.
    pub mb_per_second: f64,
}

/// `prw bench --wal-append DIR` on the shape's payloads.
pub fn wal_append(
    prw: &Path,
    shape: Shape,
    dir: &Path,
    appenders: u32,
    seconds: f64,
) -> Result<WalAppend, BenchError> {
    let mut cmd = Command::new(prw);
    cmd.args(["bench", "--proto", "v1", "--format", "json", "--wal-append"])
        .arg(dir)
        .args([
            "--series",
            &shape.series.to_string(),
            "--labels",
            &shape.labels.to_string(),
        ])
        .args(["--concurrency", &appenders.to_string()])
        .args(["--duration", &format!("{}ms", (seconds * 1000.0) as u64)]);
    eprintln!("    $ {}", show(&cmd));
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BenchError::Spawn {
            program: "prw bench --wal-append".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(BenchError::Generator {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let v = json("prw bench --wal-append", &output.stdout)?;
    let w = &v["wal_append"];
    if w.is_null() {
        return Err(BenchError::Json {
            what: "prw bench --wal-append".into(),
            detail: "no `wal_append` object".into(),
        });
    }
    Ok(WalAppend {
        appenders: w["appenders"].as_u64().unwrap_or(0),
        records_per_second: w["records_per_second"].as_f64().unwrap_or(0.0),
        samples_per_second: w["samples_per_second"].as_f64().unwrap_or(0.0),
        mb_per_second: w["mb_per_second"].as_f64().unwrap_or(0.0),
    })
}

/// Where the release binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `dist/prw`: the load generator and the floors.
    pub prw: PathBuf,
    /// The `prw` whose `relay` is measured: `$PRW_RELAY_BIN`, else `dist/prw`.
    pub prw_relay: PathBuf,
    /// `target/release/prw-test-receiver`.
    pub receiver: PathBuf,
    /// `vmagent`.
    pub vmagent: PathBuf,
    /// `victoria-metrics` (single node), the real receiver of some rows.
    pub victoria: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_of_prw_bench_is_read() {
        let json = br#"{"requests_ok":10,"samples_ok":5000,"workload":{"samples_per_request":500},
            "samples_per_second":2500.0,"requests_per_second":5.0,"latency_ms":{"p50":1.5,"p99":9.0},
            "errors":{"by_status":{"503":2,"400":1},"connect":4,"in_flight":3}}"#;
        let r = parse_load(Some(1), json, b"").unwrap();
        assert_eq!(
            (r.requests_ok, r.samples_ok, r.samples_per_request),
            (10, 5000, 500)
        );
        assert_eq!(r.in_flight, 3);
        assert_eq!(r.p99_ms, 9.0);
    }

    #[test]
    fn usage_exit_of_prw_bench_is_an_error_with_its_stderr() {
        let err = parse_load(Some(64), b"", b"bad flag").unwrap_err();
        assert!(
            matches!(err, BenchError::Generator { code: Some(64), ref stderr } if stderr == "bad flag")
        );
    }
}
