//! `cargo xtask up` (README command 1): set up what is missing, build `dist/`, and run the
//! edge + relay stack on DESIGN.md's ports until Ctrl-C.
//!
//! Default (demo): a receiver Prometheus (:9090, `--web.enable-remote-write-receiver`),
//! `prw relay` (:9202, WAL in `data/wal`) forwarding to it, Envoy with the prw filter (:9201,
//! admin :9901, `envoy/edge.yaml`) in front of the relay, and a sender Prometheus (:9091)
//! that scrapes itself, the relay and Envoy and remote-writes through Envoy.
//!
//! `--relays N` (1 to 5): N relays on 9211.. (WAL `data/relay-K/wal` each) behind Envoy with
//! `envoy/cluster.yaml`; the sender spreads its series over several tenants, the receiver
//! has an out-of-order window; a relay that exits (killed, drained) is started again on its
//! WAL after [`RESTART_AFTER`], as a StatefulSet would.
//!
//! `--config FILE`: the user's own relay configuration (its listen address set by `up`; with
//! `--relays` also its WAL directory), with Envoy in front and no demo Prometheus peers.
//! `--no-build`: no setup, no build, `dist/` as it is. `--data DIR`: instead of `data/`.
//! `--port-offset N`: every port moved by N (a second stack beside the first; tests).
//!
//! Every process runs in its own process group with its log in `<data>/logs/`; on Ctrl-C (or
//! SIGTERM), and when `up` fails half-way, xtask stops them layer by layer in reverse order:
//! sender, Envoy, the relays together (each persists its cursors), receiver, all within one
//! deadline ([`STOP_DEADLINE`]: Ctrl-C stops everything within 20 s); a layer gets at most
//! [`LAYER_GRACE`] of it, and what has not exited by its time is killed.

mod ports;
mod process;
mod stack_config;
mod summary;

use crate::stage::{StageError, Stages};
use crate::{dist, envoy_config, http, setup, workspace};
use ports::MAX_RELAYS;
#[cfg(test)]
pub use ports::Ports;
#[cfg(not(test))]
use ports::Ports;
use process::Managed;
use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the summary is refreshed.
const SUMMARY_EVERY: Duration = Duration::from_secs(2);
/// A relay of `--relays N` that exited is started again this long after.
const RESTART_AFTER: Duration = Duration::from_secs(10);
/// A relay that exits by itself with an error sooner than this after its start is broken
/// (a bad config, a locked WAL): `up` stops. One killed by a signal is always restarted.
const MIN_RELAY_UPTIME: Duration = Duration::from_secs(5);
/// The whole stop, every layer together.
const STOP_DEADLINE: Duration = Duration::from_secs(18);
/// The most one layer may take of [`STOP_DEADLINE`], so later layers keep some of it.
const LAYER_GRACE: Duration = Duration::from_secs(8);
/// The relays' `--drain-timeout` (used twice: in-flight requests, then the destinations),
/// so that Ctrl-C stops the stack within 20 s even when the receiver is down.
const RELAY_DRAIN_TIMEOUT: &str = "3s";
/// Tenants the demo sender spreads its series over, per relay (enough that consistent
/// hashing puts some on every relay).
const TENANTS_PER_RELAY: u32 = 4;

const USAGE: &str = "usage: cargo xtask up [--relays N] [--config relay.yaml] [--no-build] [--data DIR] [--port-offset N]";

/// What `up` was asked to run.
#[derive(Debug, Default, PartialEq)]
struct Options {
    /// The user's relay config (no demo peers).
    config: Option<PathBuf>,
    /// `--relays N`: that many relays behind `envoy/cluster.yaml`.
    relays: Option<u16>,
    /// Skip setup and the `dist/` build.
    no_build: bool,
    /// Where data, logs and generated configs go (default `<root>/data`).
    data: Option<PathBuf>,
    /// Every port, moved by `--port-offset`.
    ports: Ports,
}

fn parse(args: &[String]) -> Result<Options, StageError> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--config" => options.config = Some(PathBuf::from(value("--config")?)),
            "--relays" => {
                let n = value("--relays")?;
                options.relays = Some(
                    n.parse()
                        .ok()
                        .filter(|n| (1..=MAX_RELAYS).contains(n))
                        .ok_or_else(|| {
                            usage(&format!("--relays {n}: a number from 1 to {MAX_RELAYS}"))
                        })?,
                );
            }
            "--no-build" => options.no_build = true,
            "--data" => options.data = Some(PathBuf::from(value("--data")?)),
            "--port-offset" => {
                let n = value("--port-offset")?;
                options.ports = n
                    .parse()
                    .ok()
                    .and_then(Ports::with_offset)
                    .ok_or_else(|| usage(&format!("--port-offset {n}: too large")))?;
            }
            other => return Err(usage(&format!("unknown argument `{other}`"))),
        }
    }
    Ok(options)
}

fn usage(reason: &str) -> StageError {
    StageError::Missing {
        what: format!("a valid command line ({reason})"),
        hint: USAGE,
    }
}

/// A relay of the stack and where it listens.
struct Relay {
    label: String,
    addr: SocketAddr,
    process: Managed,
    restart_at: Option<Instant>,
}

/// The processes started so far, by layer; stopped (also when dropped, e.g. after a failed
/// start) in reverse order of their start within one deadline.
#[derive(Default)]
struct Stack {
    receiver: Option<Managed>,
    relays: Vec<Relay>,
    envoy: Option<Managed>,
    sender: Option<Managed>,
}

impl Stack {
    /// Sender, Envoy, relays, receiver; all within [`STOP_DEADLINE`], each layer within
    /// [`LAYER_GRACE`] of it.
    fn stop(&mut self) {
        let deadline = Instant::now() + STOP_DEADLINE;
        let layer = || deadline.min(Instant::now() + LAYER_GRACE);
        stop_together(self.sender.iter_mut(), layer());
        stop_together(self.envoy.iter_mut(), layer());
        stop_relays(&mut self.relays, layer());
        stop_together(self.receiver.iter_mut(), layer());
        self.sender = None;
        self.envoy = None;
        self.relays.clear();
        self.receiver = None;
    }

    fn is_empty(&self) -> bool {
        self.sender.is_none()
            && self.envoy.is_none()
            && self.relays.is_empty()
            && self.receiver.is_none()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.is_empty() {
            eprintln!("\nstopping what was started");
            self.stop();
        }
    }
}

/// Runs the stack until Ctrl-C.
pub fn run(args: &[String]) -> Result<(), StageError> {
    let options = parse(args)?;
    let (prw, wasm) = artifacts(options.no_build)?;
    let ports = options.ports;
    let demo = options.config.is_none();
    let cluster = options.relays.is_some();
    let relay_addrs: Vec<SocketAddr> = match options.relays {
        None => vec![ports.relay()],
        Some(n) => (1..=n).map(|k| ports.cluster_relay(k)).collect(),
    };
    let mut wanted = vec![("Envoy edge", ports.edge()), ("Envoy admin", ports.admin())];
    wanted.extend(relay_addrs.iter().map(|addr| ("relay", *addr)));
    if demo {
        wanted.extend([
            ("receiver Prometheus", ports.receiver()),
            ("sender Prometheus", ports.sender()),
        ]);
    }
    check_ports_free(&wanted)?;

    let data = options
        .data
        .clone()
        .unwrap_or_else(|| workspace::path("data"));
    let data = std::path::absolute(&data).map_err(|source| io("resolve", &data, source))?;
    let stack_dir = data.join("stack");
    let logs = data.join("logs");
    for dir in [&stack_dir, &logs] {
        std::fs::create_dir_all(dir).map_err(|source| io("create", dir, source))?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|source| io("install signal handler", &data, source))?;
    }

    // Started in dependency order; stopped layer by layer in reverse (also on an error).
    let mut stack = Stack::default();
    if demo {
        let window = cluster.then_some(stack_config::OUT_OF_ORDER_WINDOW);
        let file = write(
            &stack_dir,
            "receiver.yml",
            &stack_config::receiver_yaml(window),
        )?;
        let mut cmd = Command::new(prometheus_bin());
        cmd.arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.join("prometheus-receiver").display()
            ))
            .arg(format!("--web.listen-address={}", ports.receiver()))
            .arg("--web.enable-remote-write-receiver");
        let name = "receiver Prometheus";
        stack.receiver = Some(start(
            name,
            &cmd,
            &logs,
            ports.receiver(),
            "/-/ready",
            &stop,
        )?);
    }
    for (k, addr) in relay_addrs.iter().enumerate() {
        let (label, wal) = if cluster {
            let label = format!("prw relay {}", k + 1);
            (label, data.join(format!("relay-{}", k + 1)).join("wal"))
        } else {
            ("prw relay".to_owned(), data.join("wal"))
        };
        let config = match &options.config {
            Some(file) => file.clone(),
            None => {
                let yaml = stack_config::relay_yaml(*addr, &wal, ports.receiver());
                let name = format!("{}.yaml", label.replace(' ', "-"));
                write(&stack_dir, &name, &yaml)?
            }
        };
        let mut cmd = Command::new(&prw);
        cmd.args(["relay", "--config"])
            .arg(&config)
            .args(["--listen", &addr.to_string()])
            .args(["--drain-timeout", RELAY_DRAIN_TIMEOUT])
            .current_dir(workspace::root());
        if cluster && options.config.is_some() {
            cmd.arg("--wal-dir").arg(&wal);
        }
        let process = start(&label, &cmd, &logs, *addr, "/-/ready", &stop)?;
        stack.relays.push(Relay {
            label,
            addr: *addr,
            process,
            restart_at: None,
        });
    }
    let template = if cluster { "cluster.yaml" } else { "edge.yaml" };
    let template_path = workspace::path("envoy").join(template);
    let text = std::fs::read_to_string(&template_path)
        .map_err(|source| io("read", &template_path, source))?;
    let listen = envoy_config::Listen {
        edge: ports.edge(),
        admin: ports.admin(),
    };
    let yaml = envoy_config::render(&text, listen, &relay_addrs, &wasm).map_err(|err| {
        StageError::Missing {
            what: format!("a usable envoy/{template} ({err})"),
            hint: "keep the template strings listed at the top of the file",
        }
    })?;
    let envoy_yaml = write(&stack_dir, "envoy.yaml", &yaml)?;
    let mut cmd = Command::new(setup::envoy_bin());
    cmd.arg("-c")
        .arg(&envoy_yaml)
        .args(["--use-dynamic-base-id", "--log-level", "warn"])
        .current_dir(workspace::root());
    stack.envoy = Some(start("Envoy", &cmd, &logs, ports.admin(), "/ready", &stop)?);
    if demo {
        let tenants = if cluster {
            TENANTS_PER_RELAY * relay_addrs.len() as u32
        } else {
            0
        };
        let yaml = stack_config::sender_yaml(ports, &relay_addrs, tenants);
        let file = write(&stack_dir, "sender.yml", &yaml)?;
        let mut cmd = Command::new(prometheus_bin());
        cmd.arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.join("prometheus-sender").display()
            ))
            .arg(format!("--web.listen-address={}", ports.sender()));
        stack.sender = Some(start(
            "sender Prometheus",
            &cmd,
            &logs,
            ports.sender(),
            "/-/ready",
            &stop,
        )?);
    }

    print_urls(demo, ports, &stack.relays, &logs);
    let result = watch(&mut stack, ports, cluster, &stop);
    eprintln!("\nstopping the stack");
    let stopping = Instant::now();
    stack.stop();
    eprintln!("stopped in {:.1} s", stopping.elapsed().as_secs_f64());
    result
}

/// `dist/prw` and `dist/prw_envoy_filter.wasm`: built (after setup) unless `no_build`.
fn artifacts(no_build: bool) -> Result<(PathBuf, PathBuf), StageError> {
    let dist_dir = workspace::dist();
    let (prw, wasm) = if no_build {
        (
            Some(dist_dir.join("prw")).filter(|p| p.is_file()),
            Some(dist_dir.join("prw_envoy_filter.wasm")).filter(|p| p.is_file()),
        )
    } else {
        let mut stages = Stages::default();
        let prepared =
            setup::run(&mut stages, setup::FOR_UP).and_then(|()| dist::build(&mut stages));
        stages.summary();
        let artifacts = prepared?;
        (artifacts.prw, artifacts.envoy_filter)
    };
    let prw = prw.ok_or_else(|| missing("dist/prw"))?;
    let wasm = wasm.ok_or_else(|| missing("dist/prw_envoy_filter.wasm"))?;
    Ok((prw, wasm))
}

fn missing(what: &str) -> StageError {
    StageError::Missing {
        what: what.to_owned(),
        hint: "cargo xtask dist builds it (or drop --no-build)",
    }
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> StageError {
    StageError::Io {
        what: op,
        path: path.to_path_buf(),
        source,
    }
}

fn prometheus_bin() -> PathBuf {
    std::env::var_os("PROMETHEUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, StageError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| io("write", &path, source))?;
    Ok(path)
}

/// Refuses to start when another process holds one of the stack's ports.
fn check_ports_free(ports: &[(&str, SocketAddr)]) -> Result<(), StageError> {
    for (what, addr) in ports {
        if TcpListener::bind(addr).is_err() {
            return Err(StageError::Missing {
                what: format!("a free port {addr} for the {what}"),
                hint: "another process listens there (an earlier `cargo xtask up`?); stop it first",
            });
        }
    }
    Ok(())
}

/// Starts `cmd` and waits until `GET ready_path` on `addr` answers 200.
fn start(
    name: &str,
    cmd: &Command,
    logs: &Path,
    addr: SocketAddr,
    ready_path: &str,
    stop: &AtomicBool,
) -> Result<Managed, StageError> {
    let log = logs.join(format!("{}.log", name.replace(' ', "-").to_lowercase()));
    eprintln!("==> starting {name} (log {})", log.display());
    let mut process = Managed::start(name, cmd, &log).map_err(|err| StageError::Missing {
        what: err.to_string(),
        hint: "see the setup steps above",
    })?;
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        if matches!(http::get(addr, ready_path), Some((200, _))) {
            eprintln!("<== {name} ready on {addr} (pid {})", process.pid());
            return Ok(process);
        }
        if let Some(status) = process.exited() {
            return Err(StageError::Missing {
                what: format!(
                    "{name} running (it exited: {status}; see {})",
                    log.display()
                ),
                hint: "read its log",
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(StageError::Missing {
        what: format!("{name} ready on http://{addr}{ready_path} within {READY_TIMEOUT:?}"),
        hint: "read its log in the logs directory",
    })
}

/// SIGTERM to each, then waits for all until `deadline` (SIGKILL after it): they stop in
/// parallel.
fn stop_together<'a>(processes: impl Iterator<Item = &'a mut Managed>, deadline: Instant) {
    let mut processes: Vec<&mut Managed> = processes.collect();
    for process in processes.iter_mut() {
        process.request_stop();
    }
    for process in processes {
        process.wait_stopped_until(deadline);
    }
}

/// The relays stop after Envoy, so their shutdown grace (`/-/ready` 503 while writes are
/// still taken, for load balancers) serves no one: a second SIGTERM ends it. Sent a moment
/// after the first so the two are not merged into one.
fn stop_relays(relays: &mut [Relay], deadline: Instant) {
    if relays.is_empty() {
        return;
    }
    for relay in relays.iter_mut() {
        relay.process.request_stop();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop_together(relays.iter_mut().map(|r| &mut r.process), deadline);
}

fn print_urls(demo: bool, ports: Ports, relays: &[Relay], logs: &Path) {
    eprintln!("\nthe stack is up (Ctrl-C stops it):");
    if demo {
        eprintln!(
            "  receiver Prometheus UI   http://{}/graph",
            ports.receiver()
        );
        eprintln!("  sender Prometheus UI     http://{}/graph", ports.sender());
    }
    for relay in relays {
        eprintln!(
            "  {:<24} http://{}/metrics  (pid {})",
            format!("{} metrics", relay.label),
            relay.addr,
            relay.process.pid()
        );
    }
    if let Some(first) = relays.first() {
        eprintln!("  payload inspector        http://{}/inspect/", first.addr);
    }
    eprintln!(
        "  Envoy stats              http://{}/stats/prometheus",
        ports.admin()
    );
    eprintln!(
        "  write endpoint (edge)    http://{}/api/v1/write",
        ports.edge()
    );
    if relays.len() > 1 {
        eprintln!(
            "  a relay that exits (kill -9 PID, or kill PID to drain it) is started again on its WAL after {RESTART_AFTER:?}"
        );
    }
    eprintln!("  logs                     {}\n", logs.display());
}

/// Prints the summary until a signal arrives or a process other than a cluster relay dies;
/// restarts cluster relays that exited.
fn watch(
    stack: &mut Stack,
    ports: Ports,
    cluster: bool,
    stop: &AtomicBool,
) -> Result<(), StageError> {
    let Stack {
        receiver,
        relays,
        envoy,
        sender,
    } = stack;
    let mut others: Vec<&mut Managed> = [sender.as_mut(), envoy.as_mut(), receiver.as_mut()]
        .into_iter()
        .flatten()
        .collect();
    let terminal = std::io::stderr().is_terminal();
    let mut last_print = Instant::now() - Duration::from_secs(60);
    let mut printed_lines = 0;
    while !stop.load(Ordering::Relaxed) {
        for process in others.iter_mut() {
            if let Some(status) = process.exited() {
                return Err(died(process, &status));
            }
        }
        for relay in relays.iter_mut() {
            if !cluster {
                if let Some(status) = relay.process.exited() {
                    return Err(died(&relay.process, &status));
                }
                continue;
            }
            supervise(relay)?;
        }
        let envoy_stats = http::get(ports.admin(), "/stats/prometheus").map(|(_, b)| b);
        let lines = if cluster {
            let mut lines: Vec<String> = relays
                .iter()
                .map(|r| {
                    let label = format!("{} ({})", r.label, r.addr);
                    match r.restart_at {
                        Some(at) => format!(
                            "{label}: down, restarting in {:.0} s",
                            at.saturating_duration_since(Instant::now()).as_secs_f64()
                        ),
                        None => {
                            let metrics = http::get(r.addr, "/metrics").map(|(_, b)| b);
                            summary::Summary::relay_line(&label, metrics.as_deref())
                        }
                    }
                })
                .collect();
            lines.push(summary::EdgeSummary::read(envoy_stats.as_deref()).line());
            lines
        } else {
            let metrics = relays
                .first()
                .and_then(|r| http::get(r.addr, "/metrics"))
                .map(|(_, b)| b);
            vec![summary::Summary::read(metrics.as_deref(), envoy_stats.as_deref()).line()]
        };
        if terminal {
            // Rewrite the block printed last time in place.
            if printed_lines > 1 {
                eprint!("\x1b[{}A", printed_lines - 1);
            }
            let text: Vec<String> = lines.iter().map(|l| format!("\r\x1b[2K{l}")).collect();
            eprint!("{}", text.join("\n"));
            printed_lines = lines.len();
        } else if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!("{}", lines.join("\n"));
            last_print = Instant::now();
        }
        std::thread::sleep(SUMMARY_EVERY);
    }
    Ok(())
}

/// Whether a relay that exited `uptime` after its start is broken rather than stopped: it
/// exited by itself with an error code that soon. Killed by a signal (`kill -9`), or
/// drained (`kill`: exit 0), it is not, however soon after a restart.
fn broken(status: ExitStatus, uptime: Duration) -> bool {
    status.code().is_some_and(|code| code != 0) && uptime < MIN_RELAY_UPTIME
}

/// A cluster relay that exited is started again [`RESTART_AFTER`] later; one that failed
/// right after its start ([`broken`]) is an error.
fn supervise(relay: &mut Relay) -> Result<(), StageError> {
    match relay.restart_at {
        None => {
            if let Some(status) = relay.process.exit_status() {
                if broken(status, relay.process.uptime()) {
                    return Err(died(&relay.process, &status.to_string()));
                }
                eprintln!(
                    "\n{} exited ({status}); starting it again on its WAL in {RESTART_AFTER:?}",
                    relay.label
                );
                relay.restart_at = Some(Instant::now() + RESTART_AFTER);
            }
        }
        Some(at) if Instant::now() >= at => {
            relay.process.restart().map_err(|err| StageError::Missing {
                what: err.to_string(),
                hint: "read its log",
            })?;
            eprintln!(
                "\n{} started again (pid {})",
                relay.label,
                relay.process.pid()
            );
            relay.restart_at = None;
        }
        Some(_) => {}
    }
    Ok(())
}

fn died(process: &Managed, status: &str) -> StageError {
    StageError::Missing {
        what: format!(
            "{} running (it exited: {status}; see {})",
            process.name(),
            process.log().display()
        ),
        hint: "read its log",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_are_parsed() {
        let o = parse(&args(&[
            "--relays",
            "3",
            "--no-build",
            "--data",
            "/tmp/d",
            "--port-offset",
            "100",
        ]))
        .unwrap();
        assert_eq!(o.relays, Some(3));
        assert!(o.no_build);
        assert_eq!(o.data, Some(PathBuf::from("/tmp/d")));
        assert_eq!(o.ports.edge().port(), 9301);
        assert_eq!(parse(&[]).unwrap(), Options::default());
    }

    #[test]
    fn only_a_relay_failing_by_itself_right_after_its_start_is_broken() {
        use std::os::unix::process::ExitStatusExt;
        let exited = |code: i32| ExitStatus::from_raw(code << 8);
        let killed = |signal: i32| ExitStatus::from_raw(signal);
        let soon = Duration::from_secs(1);
        let later = Duration::from_secs(60);
        assert!(broken(exited(64), soon), "a config error");
        assert!(!broken(exited(64), later), "a late failure is restarted");
        assert!(!broken(killed(9), soon), "kill -9 right after a restart");
        assert!(!broken(exited(0), soon), "drained with kill");
        assert_eq!(killed(9).signal(), Some(9));
    }

    #[test]
    fn relay_counts_outside_one_to_five_are_refused() {
        for bad in ["0", "6", "many"] {
            let err = parse(&args(&["--relays", bad])).unwrap_err().to_string();
            assert!(err.contains(&format!("--relays {bad}")), "{err}");
        }
        assert!(
            parse(&args(&["--relays"]))
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
        assert!(parse(&args(&["--port-offset", "70000"])).is_err());
    }
}
