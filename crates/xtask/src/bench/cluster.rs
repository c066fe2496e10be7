//! `cargo xtask bench --relays N`: the same load against one relay and against N relays
//! behind Envoy with `envoy/cluster.yaml`, in one run on this machine, written into its own
//! section of `BENCHMARKS.md` (see [`super::cluster_report`]).
//!
//! Three rows, each with fresh processes and a fresh null receiver: one relay with the load
//! sent to it directly, one relay behind Envoy, N relays behind Envoy. The load is N
//! `prw bench` generators at once (2,000 series x 10 labels per request), each with its own
//! `X-Scope-OrgID`; the tenants are chosen by probing Envoy (one tiny write per candidate,
//! seeing which relay's `prw_ingest_requests_total` moves) so that behind N relays each
//! relay carries one generator. All rows use the same tenants and the same total
//! concurrency, so only the relays and Envoy change between them.
//!
//! Measured per row: acknowledged samples/s (sum over the generators), CPU seconds of the
//! relays (together) and of Envoy from the first request until the receiver has stopped
//! receiving (`/proc/<pid>/stat`), the worst generator's p99 latency.
//!
//! Invariants: everything listens on 127.0.0.1; every process is killed when its guard drops,
//! also on error; Envoy runs the shipped `envoy/cluster.yaml`, only its ports and relay list
//! rendered ([`crate::envoy_config`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster_report::{self, ClusterResults};
use super::cluster_row::{ENVOY_STATS, Front, Row, SHAPE};
use super::error::BenchError;
use super::generator::{Binaries, Load, Proto};
use super::process::{Guard, free_port, log_to, wait_listening};
use super::procfs;
use super::receiver::NullReceiver;
use super::relay::{Kind, Relay};
use super::report;
use super::scenario::fresh_dir;
use crate::envoy_config::{self, Listen};
use crate::setup::{self, Step};
use crate::stage::{StageError, Stages};
use crate::{dist, http, workspace};
use prw_devkit::{prom_text, routing};

/// Tenants tried before giving up on covering every relay.
const TENANT_CANDIDATES: usize = 200;
/// Receiver request count unchanged this long: the relays have delivered.
const DRAIN_QUIET: Duration = Duration::from_secs(2);
/// Longest wait for the relays to deliver after the load.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// `cargo xtask bench --relays N`: setup, build (unless `--no-build`), the three rows, the
/// section of `o.out`.
pub fn run(
    stages: &mut Stages,
    o: &super::Options,
    relays: usize,
    args: &[String],
) -> Result<PathBuf, BenchError> {
    setup::run(stages, setup::FOR_BENCH)?;
    setup::run(stages, &[Step::Envoy])?;
    let dist_dir = workspace::dist();
    let (bins, wasm) = if o.build {
        setup::run(stages, &[Step::WasmTargets, Step::BrowserTools])?;
        let bins = super::build(stages)?;
        let wasm = stages.time("dist: envoy filter", || {
            dist::envoy_filter::build(&dist_dir)
        })?;
        (bins, wasm)
    } else {
        let wasm = Some(dist_dir.join("prw_envoy_filter.wasm")).filter(|p| p.is_file());
        (super::existing()?, wasm)
    };
    let wasm = wasm.ok_or_else(|| StageError::Missing {
        what: "dist/prw_envoy_filter.wasm".into(),
        hint: "run `cargo xtask dist` or drop --no-build",
    })?;
    let work = fresh_dir(&workspace::path("target/xtask/bench/cluster"))?;
    let setup = Setup {
        bins: &bins,
        envoy: setup::envoy_bin(),
        wasm,
        work: work.clone(),
        concurrency: o.concurrency,
        load: o.load,
    };
    let name = format!("bench: 1 relay vs {relays} relays behind Envoy");
    let (tenants, rows) = stages.time(&name, || measure(&setup, relays))?;
    let results = ClusterResults {
        command: std::iter::once("cargo xtask bench".to_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        relays,
        tenants,
        concurrency: per_generator(o.concurrency, relays) * relays as u32,
        load_seconds: o.load.as_secs_f64(),
        machine: Some(super::machine::describe(&work)),
        rows,
    };
    report::write_marked_section(
        &o.out,
        (cluster_report::START, cluster_report::END),
        &results.render(),
    )?;
    Ok(o.out.clone())
}

/// Everything the rows need.
#[derive(Debug)]
pub struct Setup<'a> {
    /// prw, the test receiver.
    pub bins: &'a Binaries,
    /// Envoy 1.40.
    pub envoy: PathBuf,
    /// `dist/prw_envoy_filter.wasm`.
    pub wasm: PathBuf,
    /// Scratch directory (relay WALs, logs, rendered configs).
    pub work: PathBuf,
    /// Total concurrency over all generators.
    pub concurrency: u32,
    /// Load time per row.
    pub load: Duration,
}

/// The three rows: N relays behind Envoy (choosing the tenants), then 1 relay behind Envoy
/// and 1 relay direct with those tenants.
pub fn measure(setup: &Setup, relays: usize) -> Result<(Vec<String>, Vec<Row>), BenchError> {
    let (tenants, many) = row(setup, relays, Front::Envoy, None)?;
    let (_, one) = row(setup, 1, Front::Envoy, Some(&tenants))?;
    let (_, direct) = row(setup, 1, Front::Direct, Some(&tenants))?;
    Ok((tenants, vec![direct, one, many]))
}

/// A running Envoy with the cluster config.
struct RunningEnvoy {
    guard: Guard,
    edge: SocketAddr,
    admin: SocketAddr,
}

fn start_envoy(
    setup: &Setup,
    relays: &[SocketAddr],
    name: &str,
) -> Result<RunningEnvoy, BenchError> {
    let template_path = workspace::path("envoy").join("cluster.yaml");
    let template = std::fs::read_to_string(&template_path).map_err(|source| BenchError::Io {
        what: "read",
        path: template_path.clone(),
        source,
    })?;
    let listen = Listen {
        edge: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
        admin: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
    };
    let yaml = envoy_config::render(&template, listen, relays, &setup.wasm).map_err(|err| {
        BenchError::Json {
            what: "envoy/cluster.yaml".into(),
            detail: err.to_string(),
        }
    })?;
    let config = setup.work.join(format!("{name}.yaml"));
    std::fs::write(&config, yaml).map_err(|source| BenchError::Io {
        what: "write",
        path: config.clone(),
        source,
    })?;
    let mut cmd = Command::new(&setup.envoy);
    cmd.arg("-c")
        .arg(&config)
        .args(["--use-dynamic-base-id", "--log-level", "warn"]);
    log_to(&mut cmd, &setup.work.join(format!("{name}.log")))?;
    let mut guard = Guard::spawn("envoy", &mut cmd)?;
    wait_listening(&mut guard, listen.edge, 30)?;
    // Listening is not enough: wait until the health checks let every relay in.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let healthy = http::get(listen.admin, "/stats/prometheus")
            .and_then(|(_, text)| prom_text::sum(&text, "envoy_cluster_membership_healthy"))
            .unwrap_or(0.0);
        if healthy as usize == relays.len() {
            break;
        }
        if Instant::now() > deadline {
            return Err(BenchError::NotListening {
                what: format!("envoy with {} healthy relays", relays.len()),
                seconds: 30,
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(RunningEnvoy {
        guard,
        edge: listen.edge,
        admin: listen.admin,
    })
}

/// Write requests each relay acknowledged so far (`None`: it did not answer).
fn requests(relays: &[Relay]) -> Vec<Option<f64>> {
    relays
        .iter()
        .map(|r| {
            http::get(r.addr, "/metrics")
                .and_then(|(_, text)| prom_text::sum(&text, "prw_ingest_requests_total"))
        })
        .collect()
}

/// One write with `tenant` through `edge`, answered 2xx; which relay took it.
fn route_of(setup: &Setup, edge: SocketAddr, relays: &[Relay], tenant: &str) -> Option<usize> {
    let before = requests(relays);
    let result = Load::probe(format!("http://{edge}/api/v1/write"))
        .run_with_args(&setup.bins.prw, &header(tenant))
        .ok()?;
    if result.requests_ok != 1 {
        return None;
    }
    routing::moved_one(&before, &requests(relays)).ok()
}

fn header(tenant: &str) -> Vec<String> {
    vec!["--header".into(), format!("X-Scope-OrgID: {tenant}")]
}

/// `tenant-K` candidates until each relay has one; element `k` lands on relay `k`.
fn choose_tenants(
    setup: &Setup,
    edge: SocketAddr,
    relays: &[Relay],
) -> Result<Vec<String>, BenchError> {
    let candidates = (0..TENANT_CANDIDATES).map(|k| format!("tenant-{k}"));
    let found = routing::one_per_relay(relays.len(), candidates, |tenant| {
        let relay = route_of(setup, edge, relays, tenant);
        if let Some(k) = relay {
            eprintln!("    {tenant} -> relay {k}");
        }
        Ok::<_, BenchError>(relay)
    })?;
    found.map_err(|tried| BenchError::Json {
        what: "tenant probing".into(),
        detail: format!("{tried} tenants did not cover all {} relays", relays.len()),
    })
}

/// Concurrent requests of each of `generators` generators sharing `total` (at least 1).
fn per_generator(total: u32, generators: usize) -> u32 {
    (total / generators.max(1) as u32).max(1)
}

/// Waits until the receiver's request count stops moving.
fn drain(receiver: &NullReceiver) -> Result<(), BenchError> {
    let start = Instant::now();
    let mut last = receiver.counts()?.requests;
    let mut changed = Instant::now();
    while changed.elapsed() < DRAIN_QUIET && start.elapsed() < DRAIN_LIMIT {
        std::thread::sleep(Duration::from_millis(250));
        let now = receiver.counts()?.requests;
        if now != last {
            last = now;
            changed = Instant::now();
        }
    }
    Ok(())
}

/// One row: `relays` relays behind `front`; picks the tenants when `tenants` is `None`.
fn row(
    setup: &Setup,
    relays: usize,
    front: Front,
    tenants: Option<&[String]>,
) -> Result<(Vec<String>, Row), BenchError> {
    let name = match front {
        Front::Direct => format!("cluster-direct-{relays}"),
        Front::Envoy => format!("cluster-envoy-{relays}"),
    };
    let receiver = NullReceiver::start(&setup.bins.receiver, false)?;
    let mut running = Vec::new();
    for k in 0..relays {
        // One directory per relay: its WAL, delivery progress and log together.
        let dir = fresh_dir(&setup.work.join(format!("{name}-relay-{k}")))?;
        running.push(Relay::start(
            Kind::Prw,
            setup.bins,
            free_port()?,
            &dir.join("wal"),
            &receiver.write_url(),
        )?);
    }
    let addrs: Vec<SocketAddr> = running.iter().map(|r| r.addr).collect();
    let envoy = match front {
        Front::Envoy => Some(start_envoy(setup, &addrs, &name)?),
        Front::Direct => None,
    };
    let url_addr = envoy
        .as_ref()
        .map_or(addrs.first().copied(), |e| Some(e.edge));
    let url_addr = url_addr.ok_or_else(|| BenchError::NotListening {
        what: "a relay".into(),
        seconds: 0,
    })?;
    let tenants = match (tenants, &envoy) {
        (Some(t), _) => t.to_vec(),
        (None, Some(e)) => choose_tenants(setup, e.edge, &running)?,
        (None, None) => vec!["tenant-0".into()],
    };
    let before = requests(&running);
    let relay_cpu =
        |rs: &[Relay]| -> Option<f64> { rs.iter().map(|r| procfs::cpu_seconds(r.pid())).sum() };
    let envoy_cpu = || {
        envoy
            .as_ref()
            .and_then(|e| procfs::cpu_seconds(e.guard.pid()))
    };
    let (relays_before, envoy_before) = (relay_cpu(&running), envoy_cpu());
    let per_generator = per_generator(setup.concurrency, tenants.len());
    let load = |tenant: &String| {
        Load {
            url: format!("http://{url_addr}/api/v1/write"),
            shape: SHAPE,
            concurrency: per_generator,
            duration: setup.load,
            requests: None,
            rate: None,
            payloads: 8,
            proto: Proto::V1,
        }
        .start_with_args(&setup.bins.prw, &header(tenant))
    };
    let generators = tenants.iter().map(load).collect::<Result<Vec<_>, _>>()?;
    let loads = generators
        .into_iter()
        .map(|g| g.finish())
        .collect::<Result<Vec<_>, _>>()?;
    drain(&receiver)?;
    let relay_cpu = relay_cpu(&running).zip(relays_before).map(|(a, b)| a - b);
    let envoy_cpu = envoy_cpu().zip(envoy_before).map(|(a, b)| a - b);
    let per_relay_requests = requests(&running)
        .iter()
        .zip(&before)
        .map(|(a, b)| a.unwrap_or(0.0) - b.unwrap_or(0.0))
        .collect();
    let envoy_stats = envoy
        .as_ref()
        .and_then(|e| http::get(e.admin, "/stats/prometheus"))
        .map(|(_, text)| {
            ENVOY_STATS
                .iter()
                .map(|n| prom_text::sum(&text, n).unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    drop(envoy);
    for relay in running {
        relay.kill();
    }
    Ok((
        tenants,
        Row {
            relays,
            front,
            loads,
            relay_cpu,
            envoy_cpu,
            per_relay_requests,
            envoy_stats,
        },
    ))
}
