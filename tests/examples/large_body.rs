//! Writes a large, realistic v1 request body (node-exporter-like series, four samples each)
//! for measuring the inspector page: `cargo run --release -p prw-e2e --example large_body --
//! SERIES OUT_FILE`, then `node tests/browser/measure.mjs URL OUT_FILE`.

use prost::Message;
use prw_core::proto::v1;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(out)) = (
        args.first().and_then(|n| n.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: large_body SERIES OUT_FILE");
        return ExitCode::from(64);
    };
    let label = |name: &str, value: String| v1::Label {
        name: name.into(),
        value,
    };
    let modes = ["idle", "user", "system", "iowait"];
    let timeseries = (0..n)
        .map(|k| v1::TimeSeries {
            labels: vec![
                label("__name__", format!("node_cpu_seconds_total_{}", k % 50)),
                label("cpu", format!("{}", k % 64)),
                label("instance", format!("host-{}.example.internal:9100", k / 64)),
                label("job", "node-exporter".into()),
                label("mode", modes[k % modes.len()].into()),
                label("region", "eu-west-1".into()),
            ],
            samples: (0..4)
                .map(|i| v1::Sample {
                    value: (k + i) as f64,
                    timestamp: 1_767_225_600_000 + i as i64 * 15_000,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let decoded = v1::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
    .encode_to_vec();
    let body = match prw_core::codec::compress(&decoded) {
        Ok(body) => body,
        Err(err) => {
            eprintln!("large_body: {err}");
            return ExitCode::from(70);
        }
    };
    if let Err(err) = std::fs::write(out, &body) {
        eprintln!("large_body: cannot write {out}: {err}");
        return ExitCode::from(70);
    }
    eprintln!(
        "{n} series: {} bytes decoded, {} bytes snappy",
        decoded.len(),
        body.len()
    );
    ExitCode::SUCCESS
}
