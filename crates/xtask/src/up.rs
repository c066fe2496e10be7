//! `cargo xtask up` (README command 1): set up what is missing, build `dist/`, and run the
//! edge + relay stack on DESIGN.md's ports until Ctrl-C.
//!
//! Default (demo): a receiver Prometheus (:9090, `--web.enable-remote-write-receiver`),
//! `prw relay` (:9202, WAL in `data/wal`) forwarding to it, Envoy with the prw filter (:9201,
//! admin :9901) in front of the relay, and a sender Prometheus (:9091) that scrapes itself,
//! the relay and Envoy and remote-writes through Envoy.
//!
//! `--config FILE`: the user's own relay configuration, with Envoy in front of it and no demo
//! Prometheus peers (Envoy forwards to 127.0.0.1:9202, so the file should listen there).
//!
//! Every process runs in its own process group with its log in `data/logs/`; on Ctrl-C (or
//! SIGTERM) xtask stops them in reverse order: sender, Envoy, relay (which persists its
//! cursors), receiver.

mod http;
mod process;
mod stack_config;
mod summary;

use crate::stage::{StageError, Stages};
use crate::{dist, setup, workspace};
use process::Managed;
use stack_config::{EDGE_ADDR, ENVOY_ADMIN_ADDR, RECEIVER_ADDR, RELAY_ADDR, SENDER_ADDR};
use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a process may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the summary line is refreshed.
const SUMMARY_EVERY: Duration = Duration::from_secs(2);

/// What `up` was asked to run.
#[derive(Debug, Default)]
struct Options {
    /// The user's relay config (no demo peers).
    config: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, StageError> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                let file = args.next().ok_or_else(|| usage("--config needs a FILE"))?;
                options.config = Some(PathBuf::from(file));
            }
            other => return Err(usage(&format!("unknown argument `{other}`"))),
        }
    }
    Ok(options)
}

fn usage(reason: &str) -> StageError {
    StageError::Missing {
        what: format!("a valid command line ({reason})"),
        hint: "usage: cargo xtask up [--config relay.yaml]",
    }
}

/// Runs the stack until Ctrl-C.
pub fn run(args: &[String]) -> Result<(), StageError> {
    let options = parse(args)?;
    let mut stages = Stages::default();
    let prepared = setup::run(&mut stages, setup::FOR_UP).and_then(|()| dist::build(&mut stages));
    stages.summary();
    let artifacts = prepared?;
    let prw = artifacts.prw.ok_or_else(|| missing("dist/prw"))?;
    artifacts
        .envoy_filter
        .ok_or_else(|| missing("dist/prw_envoy_filter.wasm"))?;

    let demo = options.config.is_none();
    let mut ports = vec![("Envoy edge", EDGE_ADDR), ("Envoy admin", ENVOY_ADMIN_ADDR)];
    if demo {
        ports.extend([
            ("relay", RELAY_ADDR),
            ("receiver Prometheus", RECEIVER_ADDR),
            ("sender Prometheus", SENDER_ADDR),
        ]);
    }
    check_ports_free(&ports)?;

    let data = workspace::path("data");
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

    // Started in dependency order; dropped (stopped) in reverse.
    let mut stack: Vec<Managed> = Vec::new();
    let relay_config = match &options.config {
        Some(file) => file.clone(),
        None => {
            let receiver = write(&stack_dir, "receiver.yml", &stack_config::receiver_yaml())?;
            let mut cmd = Command::new(prometheus_bin());
            cmd.arg(format!("--config.file={}", receiver.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    data.join("prometheus-receiver").display()
                ))
                .arg(format!("--web.listen-address={RECEIVER_ADDR}"))
                .arg("--web.enable-remote-write-receiver");
            start(
                &mut stack,
                "receiver Prometheus",
                &mut cmd,
                &logs,
                RECEIVER_ADDR,
                "/-/ready",
                &stop,
            )?;
            write(
                &stack_dir,
                "relay.yaml",
                &stack_config::relay_yaml(&data.join("wal")),
            )?
        }
    };
    let mut relay = Command::new(&prw);
    relay
        .arg("relay")
        .arg("--config")
        .arg(&relay_config)
        .current_dir(workspace::root());
    start(
        &mut stack,
        "prw relay",
        &mut relay,
        &logs,
        RELAY_ADDR,
        "/-/ready",
        &stop,
    )?;
    let mut envoy = Command::new(setup::envoy_bin());
    envoy
        .args([
            "-c",
            "envoy/edge.yaml",
            "--use-dynamic-base-id",
            "--log-level",
            "warn",
        ])
        .current_dir(workspace::root());
    start(
        &mut stack,
        "Envoy",
        &mut envoy,
        &logs,
        ENVOY_ADMIN_ADDR,
        "/ready",
        &stop,
    )?;
    if demo {
        let sender = write(&stack_dir, "sender.yml", &stack_config::sender_yaml())?;
        let mut cmd = Command::new(prometheus_bin());
        cmd.arg(format!("--config.file={}", sender.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.join("prometheus-sender").display()
            ))
            .arg(format!("--web.listen-address={SENDER_ADDR}"));
        start(
            &mut stack,
            "sender Prometheus",
            &mut cmd,
            &logs,
            SENDER_ADDR,
            "/-/ready",
            &stop,
        )?;
    }

    print_urls(demo, &logs);
    let result = watch(&mut stack, &stop);
    eprintln!("\nstopping the stack");
    while let Some(mut process) = stack.pop() {
        process.stop();
    }
    result
}

fn missing(what: &str) -> StageError {
    StageError::Missing {
        what: what.to_owned(),
        hint: "cargo xtask dist should have built it",
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
fn check_ports_free(ports: &[(&str, &str)]) -> Result<(), StageError> {
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

fn start(
    stack: &mut Vec<Managed>,
    name: &'static str,
    cmd: &mut Command,
    logs: &Path,
    addr: &str,
    ready_path: &str,
    stop: &AtomicBool,
) -> Result<(), StageError> {
    let log = logs.join(format!("{}.log", name.replace(' ', "-").to_lowercase()));
    eprintln!("==> starting {name} (log {})", log.display());
    let process = Managed::start(name, cmd, &log).map_err(|err| StageError::Missing {
        what: err.to_string(),
        hint: "see the setup steps above",
    })?;
    stack.push(process);
    let addr: SocketAddr = addr.parse().map_err(|_| missing(addr))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        if matches!(http::get(addr, ready_path), Some((200, _))) {
            eprintln!("<== {name} ready on {addr}");
            return Ok(());
        }
        if let Some(process) = stack.last_mut() {
            if let Some(status) = process.exited() {
                return Err(StageError::Missing {
                    what: format!(
                        "{name} running (it exited: {status}; see {})",
                        process.log().display()
                    ),
                    hint: "read its log",
                });
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(StageError::Missing {
        what: format!("{name} ready on http://{addr}{ready_path} within {READY_TIMEOUT:?}"),
        hint: "read its log in data/logs/",
    })
}

fn print_urls(demo: bool, logs: &Path) {
    eprintln!("\nthe stack is up (Ctrl-C stops it):");
    if demo {
        eprintln!("  receiver Prometheus UI   http://{RECEIVER_ADDR}/graph");
        eprintln!("  sender Prometheus UI     http://{SENDER_ADDR}/graph");
    }
    eprintln!("  relay metrics            http://{RELAY_ADDR}/metrics");
    eprintln!("  payload inspector        http://{RELAY_ADDR}/inspect/");
    eprintln!("  Envoy stats              http://{ENVOY_ADMIN_ADDR}/stats/prometheus");
    eprintln!("  write endpoint (edge)    http://{EDGE_ADDR}/api/v1/write");
    eprintln!("  logs                     {}\n", logs.display());
}

/// Prints the summary line until a signal arrives or a process dies.
fn watch(stack: &mut [Managed], stop: &AtomicBool) -> Result<(), StageError> {
    let terminal = std::io::stderr().is_terminal();
    let relay: Option<SocketAddr> = RELAY_ADDR.parse().ok();
    let admin: Option<SocketAddr> = ENVOY_ADMIN_ADDR.parse().ok();
    let mut last_print = Instant::now() - Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) {
        for process in stack.iter_mut() {
            if let Some(status) = process.exited() {
                return Err(StageError::Missing {
                    what: format!(
                        "{} running (it exited: {status}; see {})",
                        process.name(),
                        process.log().display()
                    ),
                    hint: "read its log",
                });
            }
        }
        let relay_metrics = relay.and_then(|a| http::get(a, "/metrics")).map(|(_, b)| b);
        let envoy_stats = admin
            .and_then(|a| http::get(a, "/stats/prometheus"))
            .map(|(_, b)| b);
        let line = summary::Summary::read(relay_metrics.as_deref(), envoy_stats.as_deref()).line();
        if terminal {
            eprint!("\r{line}    ");
        } else if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!("{line}");
            last_print = Instant::now();
        }
        std::thread::sleep(SUMMARY_EVERY);
    }
    Ok(())
}
