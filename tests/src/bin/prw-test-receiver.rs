//! `prw-test-receiver`: the scriptable test receiver as a process, for shell scripts and
//! benchmarks.
//!
//! ```text
//! prw-test-receiver --listen 127.0.0.1:0 --decode --script 500,429:retry-after=1 --default 204
//! ```
//! Prints `listening on ADDR` on stdout once bound; `GET http://ADDR/-/stats` returns the
//! counts as JSON; stops on SIGINT/SIGTERM and prints the final stats JSON.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig, parse_script};

/// A scriptable Remote Write receiver for tests and benchmarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0: the OS picks; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Keep every request in memory (counted in the stats as `recorded`).
    #[arg(long)]
    record: bool,
    /// Decode bodies and count unique (series, timestamp) pairs.
    #[arg(long)]
    decode: bool,
    /// Answers for the first requests, comma separated: 500, 429:retry-after=3,
    /// slow:2s:204, slow:500ms:reset, reset.
    #[arg(long, default_value = "")]
    script: String,
    /// Answer once the script is used up.
    #[arg(long = "default", default_value = "204")]
    default_answer: String,
}

async fn run(args: Args) -> Result<(), String> {
    let script = parse_script(&args.script).map_err(|e| e.to_string())?;
    let default_answer: Answer = args
        .default_answer
        .parse()
        .map_err(|e: prw_e2e::receiver::ScriptError| e.to_string())?;
    let mut config = ReceiverConfig::default()
        .with_script(script)
        .with_default(default_answer);
    config.record = args.record;
    config.decode = args.decode;
    let receiver = Receiver::start_on(args.listen, config)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("listening on {}", receiver.addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let stats = serde_json::to_string(&receiver.stats()).unwrap_or_default();
    println!("{stats}");
    receiver.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("prw-test-receiver: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("prw-test-receiver: {message}");
            ExitCode::from(64)
        }
    }
}
