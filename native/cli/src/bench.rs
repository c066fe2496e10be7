//! `prw bench`: a Remote Write load generator, and (`--floor`) the one-core limits on the
//! same payloads.
//!
//! ```text
//! prw bench --url http://127.0.0.1:9202/api/v1/write --series 2000 --labels 10 --samples 1 \
//!     --proto v1 --concurrency 8 --duration 10s [--rate 200] [--header 'X-Scope-OrgID: a'] [--format json]
//! prw bench --floor --series 2000 --labels 10
//! prw bench --wal-append /var/tmp --series 2000 --concurrency 8 --duration 5s
//! ```
//!
//! Payloads ([`payload`]) are generated and snappy-compressed before the clock starts; the
//! load ([`load`]) runs on a keep-alive hyper client; the summary ([`summary`]) gives
//! requests, acknowledged samples/s, p50/p99/max latency and errors by status.
//! Acknowledged samples are exact: 2xx answers times the samples of the payload each carried.
//! With `--payloads N --requests N` every request carries its own timestamps, so a receiver's
//! count of unique (series, timestamp) pairs can be compared with what was acknowledged.
//!
//! Exit codes: 0 every request acknowledged; 1 some requests failed (the summary says how);
//! 64 usage (bad flag, impossible shape, bad URL); 70 internal error.

mod floor;
mod load;
pub mod payload;
mod progress;
mod summary;
mod wal_append;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderName, HeaderValue};
use prw_core::Protocol;

use crate::exit;
use payload::{Payload, Shape};
use summary::{FloorSummary, LoadSummary, WalSummary, Workload};

/// Arguments of `prw bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remote Write URL to load (required unless `--floor` or `--wal-append`).
    #[arg(long, required_unless_present_any = ["floor", "wal_append"])]
    url: Option<String>,
    /// Series per request.
    #[arg(long, default_value_t = 2000)]
    series: usize,
    /// Labels per series, `__name__` included (2..=30).
    #[arg(long, default_value_t = 10)]
    labels: usize,
    /// Samples per series per request.
    #[arg(long, default_value_t = 1)]
    samples: usize,
    /// Wire schema.
    #[arg(long = "proto", value_enum, default_value_t = ProtoArg::V1)]
    proto: ProtoArg,
    /// Concurrent requests (keep-alive connections).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How long to send (e.g. `10s`, `500ms`, `2m`); default 10s, or 2s per floor.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many requests (whichever of duration and count comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Target rate in requests per second over all connections (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Distinct pre-generated payloads, cycled; each has its own timestamps.
    #[arg(long, default_value_t = 8)]
    payloads: usize,
    /// An extra header on every request, `NAME: VALUE` (repeatable), e.g.
    /// `--header 'X-Scope-OrgID: team-a'`.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Seed of label and sample values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First timestamp in ms since the epoch (default: now minus the payloads' time span).
    #[arg(long)]
    start_ms: Option<i64>,
    /// Measure snappy decompression and validation of the payloads on one core instead.
    #[arg(long, conflicts_with = "wal_append")]
    floor: bool,
    /// Measure durable appends of the payloads to a prw-wal in DIR/bench-wal instead
    /// (`--concurrency` appenders; the directory is removed afterwards).
    #[arg(long, value_name = "DIR")]
    wal_append: Option<std::path::PathBuf>,
    /// Write the number of every request answered 2xx (0-based, in issue order; request `k`
    /// carries payload `k % --payloads`) to FILE, one per line: with `--payloads N
    /// --requests N` it names exactly which timestamps were acknowledged.
    #[arg(long, value_name = "FILE")]
    acked_log: Option<std::path::PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// No progress line.
    #[arg(long, short)]
    quiet: bool,
}

/// `--proto` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProtoArg {
    V1,
    V2,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// `10s`, `250ms`, `2m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s, 500ms, 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a valid duration"))
}

/// `Name: value` as a header (the value trimmed).
fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let bad = || format!("--header `{text}`: expected `NAME: VALUE`");
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    Ok((name, value))
}

/// Runs `prw bench`.
pub fn run(args: &Args) -> ExitCode {
    let protocol = match args.proto {
        ProtoArg::V1 => Protocol::V1,
        ProtoArg::V2 => Protocol::V2,
    };
    let shape = Shape {
        series: args.series,
        labels: args.labels,
        samples: args.samples,
        protocol,
        seed: args.seed,
    };
    let count = args.payloads.max(1);
    let span = (count as i64).saturating_mul(args.samples as i64);
    let base = args
        .start_ms
        .unwrap_or_else(|| now_ms().saturating_sub(span));
    let payloads = match payload::generate(&shape, count, base) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("prw bench: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let workload = workload(&shape, &payloads);
    if args.floor {
        return floor(args, protocol, workload, &payloads);
    }
    if let Some(dir) = &args.wal_append {
        return wal(args, dir, workload, &payloads);
    }
    let Some(url) = args.url.as_deref() else {
        eprintln!("prw bench: --url is required");
        return ExitCode::from(exit::USAGE);
    };
    let uri = match url.parse::<hyper::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http")) => uri,
        _ => {
            eprintln!("prw bench: `{url}` is not an http:// URL");
            return ExitCode::from(exit::USAGE);
        }
    };
    if args.concurrency == 0 || args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        eprintln!("prw bench: --concurrency and --rate must be positive");
        return ExitCode::from(exit::USAGE);
    }
    let duration = match (args.duration, args.requests) {
        (None, None) => Some(Duration::from_secs(10)),
        (d, _) => d,
    };
    let headers = match args.headers.iter().map(|h| parse_header(h)).collect() {
        Ok(headers) => headers,
        Err(err) => {
            eprintln!("prw bench: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let plan = load::Plan {
        url: uri,
        protocol,
        concurrency: args.concurrency,
        duration,
        requests: args.requests,
        rate: args.rate,
        headers,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("prw bench: cannot start the runtime: {err}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    if !args.quiet {
        eprintln!(
            "prw bench: {} payloads ready ({} B snappy each), sending",
            workload.payloads, workload.compressed_bytes
        );
    }
    let live = Arc::new(load::Live::default());
    let outcome = runtime.block_on(async {
        let ticker = (!args.quiet).then(|| tokio::spawn(progress::tick(Arc::clone(&live))));
        let outcome = load::run(plan, Arc::new(payloads), live).await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        outcome
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(err) => {
            eprintln!("prw bench: cannot create the latency histogram: {err}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    if let Some(path) = &args.acked_log {
        let mut acked = outcome.acked.clone();
        acked.sort_unstable();
        let text: String = acked.iter().map(|k| format!("{k}\n")).collect();
        if let Err(err) = std::fs::write(path, text) {
            eprintln!("prw bench: cannot write {}: {err}", path.display());
            return ExitCode::from(exit::INTERNAL);
        }
    }
    let summary = LoadSummary::new(
        url.to_string(),
        workload,
        args.concurrency,
        args.rate,
        &outcome,
    );
    let failed = summary.failed();
    let printed = match args.format {
        Format::Text => print(&summary.text()),
        Format::Json => serde_json::to_string(&summary)
            .map_err(|e| e.to_string())
            .and_then(|j| print(&(j + "\n"))),
    };
    match printed {
        Err(err) => {
            eprintln!("prw bench: cannot print the summary: {err}");
            ExitCode::from(exit::INTERNAL)
        }
        Ok(()) if failed > 0 => ExitCode::from(exit::FINDINGS),
        Ok(()) => ExitCode::from(exit::OK),
    }
}

fn floor(args: &Args, protocol: Protocol, workload: Workload, payloads: &[Payload]) -> ExitCode {
    let time = args.duration.unwrap_or(Duration::from_secs(2));
    let measured = floor::snappy(payloads, time).and_then(|snappy_decompress| {
        Ok(FloorSummary {
            schema_version: 1,
            workload,
            snappy_decompress,
            decompress_and_validate: floor::validate_path(payloads, protocol, time)?,
        })
    });
    let summary = match measured {
        Ok(s) => s,
        Err(err) => {
            eprintln!("prw bench --floor: {err}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let printed = match args.format {
        Format::Text => print(&summary.text()),
        Format::Json => serde_json::to_string(&summary)
            .map_err(|e| e.to_string())
            .and_then(|j| print(&(j + "\n"))),
    };
    match printed {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("prw bench: cannot print the summary: {err}");
            ExitCode::from(exit::INTERNAL)
        }
    }
}

fn wal(args: &Args, dir: &std::path::Path, workload: Workload, payloads: &[Payload]) -> ExitCode {
    let time = args.duration.unwrap_or(Duration::from_secs(2));
    let wal_append = match wal_append::measure(dir, payloads, args.concurrency, time) {
        Ok(rate) => rate,
        Err(err) => {
            eprintln!("prw bench --wal-append: {err}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let summary = WalSummary {
        schema_version: 1,
        workload,
        wal_append,
    };
    let printed = match args.format {
        Format::Text => print(&summary.text()),
        Format::Json => serde_json::to_string(&summary)
            .map_err(|e| e.to_string())
            .and_then(|j| print(&(j + "\n"))),
    };
    match printed {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("prw bench: cannot print the summary: {err}");
            ExitCode::from(exit::INTERNAL)
        }
    }
}

fn workload(shape: &Shape, payloads: &[Payload]) -> Workload {
    let n = payloads.len().max(1) as u64;
    Workload {
        protocol: match shape.protocol {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
        },
        series_per_request: shape.series,
        labels_per_series: shape.labels,
        samples_per_series: shape.samples,
        samples_per_request: payloads.first().map_or(0, |p| p.samples),
        payloads: payloads.len(),
        compressed_bytes: payloads.iter().map(|p| p.body.len() as u64).sum::<u64>() / n,
        decoded_bytes: payloads.iter().map(|p| p.decoded_len as u64).sum::<u64>() / n,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes to stdout; a closed pipe is an error, not a panic.
fn print(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_usual_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = parse_header("X-Scope-OrgID:  team-a ").unwrap();
        assert_eq!(name.as_str(), "x-scope-orgid");
        assert_eq!(value, "team-a");
        assert!(parse_header("no colon").unwrap_err().contains("no colon"));
        assert!(parse_header("bad name: x").is_err());
    }
}
