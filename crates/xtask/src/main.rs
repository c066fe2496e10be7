//! `cargo xtask up | test | bench | dist | soak`.
//!
//! Every step prints how long it took; the first failing step stops the run with a
//! non-zero exit code. Setup steps are idempotent and install only what is missing.
//! Exit codes: 0 success, 1 a stage failed, 64 usage

mod bench;
mod dist;
mod envoy_config;
mod http;
mod probe;
mod setup;
mod soak;
mod stage;
mod test;
mod up;
mod workspace;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <up|test|bench|dist|soak>

  test   everything CI runs: setup, fmt, clippy, no_std proof, dist, tests (README command 2)
  dist   build every artifact into dist/: prw, prw_envoy_filter.wasm, inspector/
  up     set up, build dist/ and run the edge + relay stack (README command 1)
         [--relays N: N relays behind envoy/cluster.yaml] [--config relay.yaml: your relay
         config, Envoy in front, no demo peers] [--no-build] [--data DIR] [--port-offset N]
  bench  prw relay vs vmagent and the limits, into BENCHMARKS.md (see docs/bench.md)
         [--relays N: 1 relay vs N relays behind Envoy instead (docs/scale-out.md)]
  soak   prw relay killed 100 times under load, 0 acknowledged samples lost (see docs/wal.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(),
        Some("dist") => dist::run(),
        Some("up") => up::run(&args[1..]),
        Some("bench") => return bench::main(&args[1..]),
        Some("soak") => return soak::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
