//! The final report of `prw bench`: a text block for people, one JSON object
//! (`--format json`, `schema_version` 1) for the benchmark driver.

use std::collections::BTreeMap;

use serde::Serialize;

use super::load::Outcome;

/// What every report says about the payloads.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// `"v1"` or `"v2"`.
    pub protocol: &'static str,
    /// Series per request.
    pub series_per_request: usize,
    /// Labels per series, `__name__` included.
    pub labels_per_series: usize,
    /// Samples per series per request.
    pub samples_per_series: usize,
    /// Samples per request.
    pub samples_per_request: u64,
    /// Distinct pre-generated payloads (cycled).
    pub payloads: usize,
    /// Mean compressed body size in bytes.
    pub compressed_bytes: u64,
    /// Mean decoded (protobuf) size in bytes.
    pub decoded_bytes: u64,
}

/// Latencies of acknowledged requests, milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Failed requests.
#[derive(Clone, Debug, Serialize)]
pub struct Errors {
    /// Non-2xx answers by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Connection refused or not established (the request was not sent).
    pub connect: u64,
    /// Connection lost after the request was sent (answer unknown: in flight).
    pub in_flight: u64,
}

/// `prw bench` against a URL.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSummary {
    /// Format version of this object.
    pub schema_version: u32,
    /// Target.
    pub url: String,
    /// Payload shape.
    pub workload: Workload,
    /// Concurrent requests.
    pub concurrency: usize,
    /// Target rate in requests/s (`null`: as fast as possible).
    pub target_rate: Option<f64>,
    /// Seconds from the first request to the last answer.
    pub elapsed_seconds: f64,
    /// Requests sent or attempted.
    pub requests_sent: u64,
    /// Requests answered 2xx.
    pub requests_ok: u64,
    /// Samples in requests answered 2xx (acknowledged samples).
    pub samples_ok: u64,
    /// Acknowledged requests per second.
    pub requests_per_second: f64,
    /// Acknowledged samples per second.
    pub samples_per_second: f64,
    /// Latency of acknowledged requests.
    pub latency_ms: Latency,
    /// Failures.
    pub errors: Errors,
}

impl LoadSummary {
    /// Builds the summary of a finished run.
    pub fn new(
        url: String,
        workload: Workload,
        concurrency: usize,
        rate: Option<f64>,
        o: &Outcome,
    ) -> Self {
        let secs = o.elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        let empty = o.latency_us.is_empty();
        LoadSummary {
            schema_version: 1,
            url,
            workload,
            concurrency,
            target_rate: rate,
            elapsed_seconds: o.elapsed.as_secs_f64(),
            requests_sent: o.sent,
            requests_ok: o.ok,
            samples_ok: o.ok_samples,
            requests_per_second: o.ok as f64 / secs,
            samples_per_second: o.ok_samples as f64 / secs,
            latency_ms: Latency {
                p50: if empty {
                    0.0
                } else {
                    ms(o.latency_us.value_at_quantile(0.5))
                },
                p99: if empty {
                    0.0
                } else {
                    ms(o.latency_us.value_at_quantile(0.99))
                },
                max: if empty { 0.0 } else { ms(o.latency_us.max()) },
                mean: if empty {
                    0.0
                } else {
                    o.latency_us.mean() / 1000.0
                },
            },
            errors: Errors {
                by_status: o.statuses.clone(),
                connect: o.connect_errors,
                in_flight: o.in_flight_errors,
            },
        }
    }

    /// Requests that did not get a 2xx.
    pub fn failed(&self) -> u64 {
        self.errors.by_status.values().sum::<u64>() + self.errors.connect + self.errors.in_flight
    }

    /// The human-readable block.
    pub fn text(&self) -> String {
        let w = &self.workload;
        let mut out = format!(
            "prw bench -> {}\n  workload     {} x {} series x {} labels x {} samples = {} samples/request, {} B snappy ({} B decoded), {} distinct payloads\n  load         concurrency {}, {}\n  elapsed      {:.2} s\n  requests     {} sent, {} acknowledged ({:.0}/s)\n  samples      {} acknowledged ({}/s)\n  latency      p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n",
            self.url,
            w.protocol,
            w.series_per_request,
            w.labels_per_series,
            w.samples_per_series,
            w.samples_per_request,
            w.compressed_bytes,
            w.decoded_bytes,
            w.payloads,
            self.concurrency,
            self.target_rate
                .map_or("as fast as possible".to_string(), |r| format!(
                    "target {r} requests/s"
                )),
            self.elapsed_seconds,
            self.requests_sent,
            self.requests_ok,
            self.requests_per_second,
            self.samples_ok,
            human(self.samples_per_second),
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.latency_ms.max,
        );
        if self.failed() == 0 {
            out.push_str("  errors       none\n");
        } else {
            let mut parts: Vec<String> = self
                .errors
                .by_status
                .iter()
                .map(|(s, n)| format!("{n} x {s}"))
                .collect();
            if self.errors.connect > 0 {
                parts.push(format!("{} x connect", self.errors.connect));
            }
            if self.errors.in_flight > 0 {
                parts.push(format!(
                    "{} x connection lost in flight",
                    self.errors.in_flight
                ));
            }
            out.push_str(&format!("  errors       {}\n", parts.join(", ")));
        }
        out
    }
}

/// One measured floor.
#[derive(Clone, Debug, Serialize)]
pub struct FloorRate {
    /// Bodies processed.
    pub iterations: u64,
    /// Seconds measured.
    pub seconds: f64,
    /// Samples per second on one core.
    pub samples_per_second: f64,
    /// Decoded megabytes (10^6) per second.
    pub decoded_mb_per_second: f64,
}

/// `prw bench --floor`: what one core does with the same payloads, without the network.
#[derive(Clone, Debug, Serialize)]
pub struct FloorSummary {
    /// Format version of this object.
    pub schema_version: u32,
    /// Payload shape.
    pub workload: Workload,
    /// Snappy block decompression into a reused buffer.
    pub snappy_decompress: FloorRate,
    /// Decompression plus prw-core validation (verdict mode) on borrowed views.
    pub decompress_and_validate: FloorRate,
}

impl FloorSummary {
    /// The human-readable block.
    pub fn text(&self) -> String {
        let w = &self.workload;
        let line = |name: &str, r: &FloorRate| {
            format!(
                "  {name:<26} {}/s samples, {:.0} MB/s decoded ({} bodies in {:.2} s)\n",
                human(r.samples_per_second),
                r.decoded_mb_per_second,
                r.iterations,
                r.seconds
            )
        };
        format!(
            "prw bench --floor (one core)\n  workload     {} x {} series x {} labels x {} samples, {} B snappy ({} B decoded)\n{}{}",
            w.protocol,
            w.series_per_request,
            w.labels_per_series,
            w.samples_per_series,
            w.compressed_bytes,
            w.decoded_bytes,
            line("snappy decompress", &self.snappy_decompress),
            line("decompress + validate", &self.decompress_and_validate),
        )
    }
}

/// `12.3 M`, `456.7 k`, `89`.
pub fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// `prw bench --wal-append DIR`: durable appends of the payloads to prw-wal.
#[derive(Clone, Debug, Serialize)]
pub struct WalRate {
    /// Threads appending concurrently (sharing fsyncs: group commit).
    pub appenders: usize,
    /// Records made durable.
    pub records: u64,
    /// Seconds measured.
    pub seconds: f64,
    /// Durable records per second.
    pub records_per_second: f64,
    /// Samples in those records per second.
    pub samples_per_second: f64,
    /// Record megabytes (10^6, compressed bodies) per second.
    pub mb_per_second: f64,
}

/// The JSON/text report of `--wal-append`.
#[derive(Clone, Debug, Serialize)]
pub struct WalSummary {
    /// Format version of this object.
    pub schema_version: u32,
    /// Payload shape.
    pub workload: Workload,
    /// The measurement.
    pub wal_append: WalRate,
}

impl WalSummary {
    /// The human-readable block.
    pub fn text(&self) -> String {
        let w = &self.workload;
        let r = &self.wal_append;
        format!(
            "prw bench --wal-append (prw-wal, fsync before return, {} appenders)\n  workload     {} x {} series, {} B snappy per record\n  appends      {} records in {:.2} s: {:.0} records/s, {}/s samples, {:.1} MB/s\n",
            r.appenders,
            w.protocol,
            w.series_per_request,
            w.compressed_bytes,
            r.records,
            r.seconds,
            r.records_per_second,
            human(r.samples_per_second),
            r.mb_per_second
        )
    }
}
