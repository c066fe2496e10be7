//! A real Envoy for tests: render `envoy/*.yaml` with test ports, start it, find its
//! addresses, read its stats, and kill it on drop.
//!
//! Invariants: Envoy always runs with `--use-dynamic-base-id` (several may run at once);
//! the listener and admin bind port 0 and the bound addresses are read back from Envoy
//! (`--admin-address-path`, then `/listeners`), so there is no port race; the process is
//! killed and reaped when the [`Envoy`] guard drops, also when a test fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prw_devkit::envoy_template::{self, Substitutions};

/// How long Envoy may take to become ready (V8 compiling the module included).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why Envoy could not be run or queried.
#[derive(Debug, thiserror::Error)]
pub enum EnvoyError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Envoy exited before it was ready.
    #[error("envoy exited ({status}) before it was ready; log:\n{log}")]
    Exited {
        /// Exit status.
        status: std::process::ExitStatus,
        /// Its log.
        log: String,
    },
    /// Envoy did not become ready in time.
    #[error("envoy not ready after {READY_TIMEOUT:?}; log:\n{log}")]
    NotReady {
        /// Its log.
        log: String,
    },
    /// An admin answer could not be read.
    #[error("unexpected admin answer from {path}: {detail}")]
    Admin {
        /// Admin path.
        path: String,
        /// What was wrong.
        detail: String,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> EnvoyError {
    move |source| EnvoyError::Io { what, source }
}

/// Values substituted into `envoy/edge.yaml` / `envoy/egress.yaml` / `envoy/cluster*.yaml`.
#[derive(Clone, Debug)]
pub struct EnvoyParams {
    /// Upstream (receiver) port; edge.yaml only.
    pub upstream_port: u16,
    /// The relays' ports, one endpoint line each in place of the template's 9211, 9212,
    /// 9213; cluster*.yaml only.
    pub relay_ports: Vec<u16>,
    /// The filter module.
    pub wasm: PathBuf,
    /// Plugin config JSON.
    pub plugin_config: String,
    /// HCM `request_timeout` (Envoy's 408), e.g. `"60s"`.
    pub request_timeout: String,
    /// Keep the prw filter in the chain (false: the same Envoy without it, for benchmarks).
    pub with_filter: bool,
}

impl EnvoyParams {
    /// Default config `{}` in front of `upstream_port`.
    pub fn new(upstream_port: u16, wasm: PathBuf) -> EnvoyParams {
        EnvoyParams {
            upstream_port,
            relay_ports: Vec::new(),
            wasm,
            plugin_config: "{}".to_string(),
            request_timeout: "60s".to_string(),
            with_filter: true,
        }
    }
}

/// Which shipped config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// `envoy/edge.yaml`.
    Edge,
    /// `envoy/egress.yaml`.
    Egress,
    /// `envoy/cluster.yaml` (three relays, failover).
    Cluster,
    /// `envoy/cluster-strict.yaml` (three relays, a stream never moves).
    ClusterStrict,
}

impl Template {
    /// The file.
    pub fn path(self) -> PathBuf {
        let name = match self {
            Template::Edge => "edge.yaml",
            Template::Egress => "egress.yaml",
            Template::Cluster => "cluster.yaml",
            Template::ClusterStrict => "cluster-strict.yaml",
        };
        crate::tools::workspace_root().join("envoy").join(name)
    }

    /// Reads the file and substitutes the documented strings: listener and admin ports
    /// become 0, the upstream port (edge.yaml) or the relay endpoints (cluster*.yaml: one
    /// line per relay port), wasm path, plugin config and request timeout those of
    /// `params`. Ports are substituted line by line by [`prw_devkit::envoy_template`] (shared
    /// with `cargo xtask`), at most one per line, so a test port can never be taken for a
    /// template one.
    pub fn render(self, params: &EnvoyParams) -> Result<String, EnvoyError> {
        let text =
            std::fs::read_to_string(self.path()).map_err(io("reading the envoy template"))?;
        let (listen, admin) = match self {
            Template::Edge | Template::Cluster | Template::ClusterStrict => {
                ("port_value: 9201", "port_value: 9901")
            }
            Template::Egress => ("port_value: 9203", "port_value: 9902"),
        };
        let cluster = matches!(self, Template::Cluster | Template::ClusterStrict);
        if cluster && params.relay_ports.is_empty() {
            return Err(EnvoyError::Admin {
                path: self.path().display().to_string(),
                detail: "a cluster template needs the relays' ports; the test gave none".into(),
            });
        }
        // One line: the template's header comment names `value: '{}'` too, and a JSON
        // line break (whitespace) would end that comment mid-config.
        let one_line = params.plugin_config.replace(['\n', '\r'], " ");
        let config = format!("value: '{}'", one_line.replace('\'', "''"));
        let text = if params.with_filter {
            text
        } else {
            without_filter(&text)
        };
        let wasm = params.wasm.to_string_lossy();
        let subs = Substitutions {
            ports: vec![
                (listen, 0),
                (admin, 0),
                ("port_value: 9202", params.upstream_port),
            ],
            relays: cluster.then_some(&params.relay_ports[..]),
            wasm: Some(&wasm),
        };
        Ok(envoy_template::render(&text, &subs)
            .text
            .replace("value: '{}'", &config)
            .replace(
                "request_timeout: 60s",
                &format!("request_timeout: {}", params.request_timeout),
            ))
    }
}

/// The config with the wasm filter's entry removed from `http_filters`.
fn without_filter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.lines() {
        if line
            .trim_start()
            .starts_with("- name: envoy.filters.http.wasm")
        {
            skipping = true;
        } else if skipping && line.trim_start().starts_with("- name: ") {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A private scratch directory, removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, EnvoyError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("prw-e2e-envoy-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io("creating a scratch dir"))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `envoy --mode validate` on a rendered config: Ok(log) when valid, else the log.
pub fn validate(bin: &Path, yaml: &str) -> Result<Result<String, String>, EnvoyError> {
    let scratch = Scratch::new()?;
    let config = scratch.0.join("envoy.yaml");
    std::fs::write(&config, yaml).map_err(io("writing the envoy config"))?;
    let output = Command::new(bin)
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(&config)
        .arg("--use-dynamic-base-id")
        .output()
        .map_err(io("running envoy --mode validate"))?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(if output.status.success() {
        Ok(log)
    } else {
        Err(log)
    })
}

/// A running Envoy; killed on drop.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    admin: SocketAddr,
    listener: SocketAddr,
    log_path: PathBuf,
    // Dropped after the child is killed (field order).
    _scratch: Scratch,
}

impl Envoy {
    /// Starts Envoy with `yaml` (one worker thread) and waits until it is ready and its
    /// listener is bound.
    pub fn start(bin: &Path, yaml: &str) -> Result<Envoy, EnvoyError> {
        Envoy::start_with_concurrency(bin, yaml, 1)
    }

    /// [`Envoy::start`] with `concurrency` worker threads (`--concurrency`).
    pub fn start_with_concurrency(
        bin: &Path,
        yaml: &str,
        concurrency: u32,
    ) -> Result<Envoy, EnvoyError> {
        let scratch = Scratch::new()?;
        let config = scratch.0.join("envoy.yaml");
        let admin_path = scratch.0.join("admin-address");
        let log_path = scratch.0.join("envoy.log");
        std::fs::write(&config, yaml).map_err(io("writing the envoy config"))?;
        let log = std::fs::File::create(&log_path).map_err(io("creating the envoy log"))?;
        let log_err = log.try_clone().map_err(io("cloning the log handle"))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&config)
            .args(["--use-dynamic-base-id", "--concurrency"])
            .arg(concurrency.to_string())
            .args(["--log-level", "info"])
            .arg("--admin-address-path")
            .arg(&admin_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io("starting envoy"))?;
        let mut envoy = Envoy {
            child,
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path,
            _scratch: scratch,
        };
        envoy.wait_ready(&admin_path)?;
        Ok(envoy)
    }

    fn wait_ready(&mut self, admin_path: &Path) -> Result<(), EnvoyError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(io("polling envoy"))? {
                return Err(EnvoyError::Exited {
                    status,
                    log: self.log(),
                });
            }
            if Instant::now() > deadline {
                return Err(EnvoyError::NotReady {
                    log: self.log_tail(),
                });
            }
            if let Some(addr) = std::fs::read_to_string(admin_path)
                .ok()
                .and_then(|s| s.trim().parse::<SocketAddr>().ok())
            {
                self.admin = addr;
                if self
                    .admin_get("/ready")
                    .is_ok_and(|(status, body)| status == 200 && body.trim() == "LIVE")
                {
                    self.listener = self.find_listener()?;
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find_listener(&self) -> Result<SocketAddr, EnvoyError> {
        let path = "/listeners?format=json";
        let (_, body) = self.admin_get(path)?;
        let admin_err = |detail: String| EnvoyError::Admin {
            path: path.to_string(),
            detail,
        };
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| admin_err(e.to_string()))?;
        let socket = &json["listener_statuses"][0]["local_address"]["socket_address"];
        let address = socket["address"].as_str().unwrap_or("");
        let port = socket["port_value"].as_u64().unwrap_or(0);
        format!("{address}:{port}")
            .parse()
            .map_err(|_| admin_err(body.clone()))
    }

    /// The filter's listener.
    pub fn listener(&self) -> SocketAddr {
        self.listener
    }

    /// The admin interface.
    pub fn admin(&self) -> SocketAddr {
        self.admin
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last lines of the log (for error messages), without the extension registry dump.
    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("server.cc:467]"))
            .collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `GET path` on the admin interface: (status, body).
    pub fn admin_get(&self, path: &str) -> Result<(u16, String), EnvoyError> {
        let mut stream = TcpStream::connect(self.admin).map_err(io("connecting to envoy admin"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io("admin timeout"))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
        )
        .map_err(io("admin request"))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(io("admin response"))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let admin_err = |detail: &str| EnvoyError::Admin {
            path: path.to_string(),
            detail: detail.to_string(),
        };
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| admin_err("no header end"))?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| admin_err("no status"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        Ok((status, body))
    }

    /// `/stats/prometheus`.
    pub fn stats_prometheus(&self) -> Result<String, EnvoyError> {
        Ok(self.admin_get("/stats/prometheus")?.1)
    }

    /// The value of a counter (a line `name{} N` or `name N`) in `/stats/prometheus`.
    pub fn counter(&self, name: &str) -> Result<Option<u64>, EnvoyError> {
        Ok(counter_in(&self.stats_prometheus()?, name))
    }
}

/// Decodes an HTTP/1.1 chunked body (stops at the last chunk or at anything malformed).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        let (chunk, after) = after.split_at(size);
        out.push_str(chunk);
        rest = after.strip_prefix("\r\n").unwrap_or(after);
    }
    out
}

/// Reads counter `name` out of Prometheus text.
pub fn counter_in(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let rest = rest.strip_prefix("{}").unwrap_or(rest);
        if !rest.starts_with(' ') {
            return None;
        }
        rest.trim().parse::<f64>().ok().map(|v| v as u64)
    })
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Non-comment, non-empty lines, trimmed.
    fn settings(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_strict_cluster_differs_from_the_failover_one_only_where_documented() {
        let cluster = std::fs::read_to_string(Template::Cluster.path()).unwrap();
        let strict = std::fs::read_to_string(Template::ClusterStrict.path()).unwrap();
        let (cluster, strict) = (settings(&cluster), settings(&strict));
        // What cluster-strict.yaml's header lists: the retry policy, outlier detection and
        // the retry circuit breaker removed, the panic threshold 0 -> 100.
        let removed_blocks = ["retry_policy:", "outlier_detection:", "circuit_breakers:"];
        let mut expected = Vec::new();
        let mut skipping_under: Option<usize> = None;
        let raw = std::fs::read_to_string(Template::Cluster.path()).unwrap();
        for line in raw.lines() {
            let indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(block) = skipping_under {
                if indent > block {
                    continue;
                }
                skipping_under = None;
            }
            if removed_blocks.contains(&trimmed) {
                skipping_under = Some(indent);
                continue;
            }
            expected.push(trimmed.replace(
                "healthy_panic_threshold: { value: 0 }",
                "healthy_panic_threshold: { value: 100 }",
            ));
        }
        assert_eq!(strict, expected);
        assert_ne!(strict, cluster);
    }

    #[test]
    fn cluster_ports_are_substituted_line_by_line() {
        let params = EnvoyParams {
            relay_ports: vec![9212, 9213, 40000],
            ..EnvoyParams::new(1, PathBuf::from("/f.wasm"))
        };
        let yaml = Template::Cluster.render(&params).unwrap();
        let endpoints: Vec<&str> = yaml.lines().filter(|l| l.contains("- endpoint:")).collect();
        assert_eq!(endpoints.len(), 3);
        for (line, port) in endpoints.iter().zip(["9212", "9213", "40000"]) {
            assert!(line.contains(&format!("port_value: {port} ")), "{line}");
        }
        let missing = EnvoyParams::new(1, PathBuf::from("/f.wasm"));
        assert!(Template::ClusterStrict.render(&missing).is_err());
    }
}
