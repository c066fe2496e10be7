//! Benchmark of the receive path end to end: hyper client -> `prw relay` listener ->
//! negotiate/decode/validate -> WAL append (group commit) -> 204, over loopback, with the
//! real Prometheus 2.42 capture as the payload. Prints requests/s, samples/s and latency
//! percentiles for `sync: always` and `sync: interval`.
//!
//! ```sh
//! cargo bench -p prw-relay --bench ingest
//! PRW_BENCH_REQUESTS=20000 PRW_BENCH_CONCURRENCY=64 cargo bench -p prw-relay --bench ingest
//! ```
//! The WAL lives in a temporary directory (`TMPDIR` picks the disk).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use prw_core::Limits;
use prw_relay::config::Listen;
use prw_relay::ingest::WalIngest;
use prw_relay::server::{Server, ValidateFile};
use prw_wal::{StartAt, SyncPolicy, Wal, WalConfig};
use tokio::net::TcpStream;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(
    label: &str,
    sync: SyncPolicy,
    body: Bytes,
    samples: u64,
    requests: usize,
    concurrency: usize,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = WalConfig::default();
    config.sync = sync;
    let (wal, _) = Wal::open(dir.path(), config).unwrap();
    wal.add_consumer("bench", StartAt::Oldest).unwrap();
    let wal = Arc::new(wal);
    let mut registry = Registry::default();
    let ingest = WalIngest::new(
        Arc::clone(&wal),
        Limits::default(),
        Vec::new(),
        &mut registry,
    );
    let listen = Listen {
        address: "127.0.0.1:0".parse().unwrap(),
        auth: None,
        tls: None,
    };
    let reload = Arc::new(ValidateFile {
        path: None,
        overrides: Default::default(),
    });
    let server = Server::bind(&listen, Arc::new(ingest), reload, registry)
        .await
        .unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    let per_worker = requests / concurrency;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let body = body.clone();
        workers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let request = Request::post("/api/v1/write")
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/x-protobuf")
                    .header("content-encoding", "snappy")
                    .body(Full::new(body.clone()))
                    .unwrap();
                let t = Instant::now();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), 204);
                response.into_body().collect().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let done = latencies.len();
    let pct = |p: f64| latencies[((done as f64 * p) as usize).min(done - 1)];
    println!(
        "{label}: {done} requests x {samples} samples, concurrency {concurrency}: {:.0} req/s, {:.0} samples/s, p50 {:.2} ms, p99 {:.2} ms, WAL {} bytes",
        done as f64 / elapsed,
        done as f64 * samples as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        wal.stats().bytes_on_disk,
    );
    let _ = stop.send(());
    task.await.unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let requests = env_usize("PRW_BENCH_REQUESTS", if quick { 64 } else { 4000 });
    let concurrency = env_usize("PRW_BENCH_CONCURRENCY", 32)
        .max(1)
        .min(requests.max(1));
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/core/testdata/prometheus-2.42/samples.bin"
    ))
    .unwrap();
    let samples = prw_relay::ingest::check_body(&body, prw_core::Protocol::V1, &Limits::default())
        .unwrap()
        .samples;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = Bytes::from(body);
    runtime.block_on(async {
        run(
            "sync=always",
            SyncPolicy::Always,
            body.clone(),
            u64::from(samples),
            requests,
            concurrency,
        )
        .await;
        run(
            "sync=interval(1s)",
            SyncPolicy::Interval(Duration::from_secs(1)),
            body,
            u64::from(samples),
            requests,
            concurrency,
        )
        .await;
    });
}
