//! `prw`: the one binary. Each subcommand lives in its own module with an `Args`
//! struct and a `run` function returning an [`exit::Code`].

mod exit;
// Served by the relay's /inspect route.
mod inspect;
#[allow(dead_code, reason = "used once the relay serves /inspect")]
mod inspector_assets;
mod relay;
mod wal;

use clap::{Parser, Subcommand};

/// Prometheus Remote Write toolkit.
#[derive(Debug, Parser)]
#[command(name = "prw", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect or verify a write-ahead log directory.
    Wal(wal::Args),
    /// Receive Remote Write, persist it, forward it to every destination.
    Relay(relay::Args),
    /// Decode, validate and list a captured request body (snappy or raw protobuf, v1 or v2).
    Inspect(inspect::Args),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit::usage(&err),
    };
    match cli.command {
        Command::Wal(args) => wal::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Inspect(args) => inspect::run(&args),
    }
}
