//! `prw-edge-bench`: requests/s and latency of Envoy with the prw edge filter against the
//! same Envoy without it, in front of the null test receiver, for several payload sizes.
//!
//! ```text
//! PRW_ENVOY_FILTER_WASM=dist/prw_envoy_filter.wasm prw-edge-bench --requests 2000 --concurrency 4
//! PRW_ENVOY_FILTER_WASM=dist/prw_envoy_filter.wasm prw-edge-bench --protocol v2 --variants
//! ```
//! Each worker keeps one HTTP/1.1 connection and sends its share of the requests back to
//! back; latency is measured per request at the client. Prints a Markdown table. With
//! `--variants`, three filtered Envoys run side by side against the same baseline in the
//! same run: the filter as it is (`{}`), with `upstream_protocol: v1` (the 2.0 -> 1.0
//! bridge; use `--protocol v2`) and with `tenants` limits that never limit (the shared
//! bucket's cost). This is a benchmark, not a test: nothing is asserted, numbers depend on
//! the machine.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use prw_e2e::envoy::{Envoy, EnvoyParams, Template};
use prw_e2e::payload::{series_of_size, v1, v1_raw, v2};
use prw_e2e::receiver::{Receiver, ReceiverConfig};
use prw_e2e::tools;

/// Envoy with vs without the edge filter.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Requests per measurement.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Decoded payload sizes in bytes (of the v1 form), comma separated.
    #[arg(long, default_value = "10240,102400,1048576", value_delimiter = ',')]
    sizes: Vec<usize>,
    /// The payloads' Remote Write version: v1 or v2.
    #[arg(long, default_value = "v1")]
    protocol: String,
    /// Also measure the filter with `upstream_protocol: v1` and with `tenants` limits.
    #[arg(long)]
    variants: bool,
}

/// The filter configs measured with `--variants` (name, plugin config).
const VARIANTS: [(&str, &str); 3] = [
    ("filter", "{}"),
    ("+ upstream_protocol v1", r#"{"upstream_protocol": "v1"}"#),
    (
        "+ tenants limits",
        r#"{"tenants": {"default": {"ingestion_rate": 1000000000, "ingestion_burst_size": 1000000000000}}}"#,
    ),
];

/// One measurement.
#[derive(Debug)]
struct Measured {
    rps: f64,
    p50: Duration,
    p99: Duration,
    non_2xx: usize,
}

async fn worker(
    addr: std::net::SocketAddr,
    body: Bytes,
    n: usize,
    v2: bool,
) -> Result<(Vec<Duration>, usize), String> {
    let (content_type, version) = if v2 {
        (prw_core::negotiate::CONTENT_TYPE_V2, "2.0.0")
    } else {
        (prw_core::negotiate::CONTENT_TYPE_V1, "0.1.0")
    };
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let mut latencies = Vec::with_capacity(n);
    let mut non_2xx = 0;
    for _ in 0..n {
        let request = Request::post("/api/v1/write")
            .header("host", "bench")
            .header("content-type", content_type)
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", version)
            .header("x-scope-orgid", "bench")
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())?;
        sender
            .ready()
            .await
            .map_err(|e| format!("connection closed: {e}"))?;
        let start = Instant::now();
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        latencies.push(start.elapsed());
        if !status.is_success() {
            non_2xx += 1;
        }
    }
    driver.abort();
    Ok((latencies, non_2xx))
}

async fn measure(
    addr: std::net::SocketAddr,
    body: &Bytes,
    args: &Args,
) -> Result<Measured, String> {
    let (requests, concurrency, v2) = (args.requests, args.concurrency, args.protocol == "v2");
    // Warm-up: connections, V8 tiering, receiver.
    worker(addr, body.clone(), 50, v2).await?;
    let per_worker = requests.div_ceil(concurrency.max(1));
    let start = Instant::now();
    let handles: Vec<_> = (0..concurrency.max(1))
        .map(|_| tokio::spawn(worker(addr, body.clone(), per_worker, v2)))
        .collect();
    let mut all = Vec::with_capacity(requests);
    let mut non_2xx = 0;
    for handle in handles {
        let (latencies, bad) = handle.await.map_err(|e| e.to_string())??;
        all.extend(latencies);
        non_2xx += bad;
    }
    let elapsed = start.elapsed();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Measured {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
        non_2xx,
    })
}

async fn run(args: Args) -> Result<(), String> {
    let bin = tools::envoy()
        .map_err(|e| e.to_string())?
        .ok_or("envoy not found (set ENVOY_BIN)")?;
    let wasm = tools::filter_wasm().map_err(|e| e.to_string())?;
    let receiver = Receiver::start(ReceiverConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    let start_envoy = |config: Option<&str>| -> Result<Envoy, String> {
        let mut params = EnvoyParams::new(receiver.addr().port(), wasm.clone());
        params.with_filter = config.is_some();
        params.plugin_config = config.unwrap_or("{}").to_string();
        let yaml = Template::Edge.render(&params).map_err(|e| e.to_string())?;
        Envoy::start(&bin, &yaml).map_err(|e| e.to_string())
    };
    if !matches!(args.protocol.as_str(), "v1" | "v2") {
        return Err(format!("--protocol {}: expected v1 or v2", args.protocol));
    }
    let without = start_envoy(None)?;
    let variants = if args.variants {
        &VARIANTS[..]
    } else {
        &VARIANTS[..1]
    };
    let filtered = variants
        .iter()
        .map(|(name, config)| Ok((*name, start_envoy(Some(config))?)))
        .collect::<Result<Vec<_>, String>>()?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut header =
        String::from("| decoded size (v1) | compressed | Envoy req/s | Envoy p50 / p99 |");
    let mut rule = String::from("|---|---|---|---|");
    for (name, _) in &filtered {
        header.push_str(&format!(
            " {name} req/s | {name} p50 / p99 | added p50 / p99 |"
        ));
        rule.push_str("---|---|---|");
    }
    println!("{header} non-2xx |\n{rule}---|");
    for size in &args.sizes {
        let series = series_of_size(*size, 1_700_000_000_000);
        let decoded = v1_raw(&series).len();
        let body = Bytes::from(if args.protocol == "v2" {
            v2(&series)
        } else {
            v1(&series)
        });
        let base = measure(without.listener(), &body, &args).await?;
        let mut row = format!(
            "| {decoded} B | {} B | {:.0} | {:.2} / {:.2} ms |",
            body.len(),
            base.rps,
            ms(base.p50),
            ms(base.p99)
        );
        let mut non_2xx = base.non_2xx;
        for (_, envoy) in &filtered {
            let m = measure(envoy.listener(), &body, &args).await?;
            non_2xx += m.non_2xx;
            row.push_str(&format!(
                " {:.0} | {:.2} / {:.2} ms | {:+.2} / {:+.2} ms |",
                m.rps,
                ms(m.p50),
                ms(m.p99),
                ms(m.p50) - ms(base.p50),
                ms(m.p99) - ms(base.p99)
            ));
        }
        println!("{row} {non_2xx} |");
    }
    drop(filtered);
    drop(without);
    receiver.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("prw-edge-bench: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("prw-edge-bench: {message}");
            ExitCode::from(70)
        }
    }
}
