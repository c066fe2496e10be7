//! `prw`: the one binary. Each subcommand lives in its own module with an `Args`
//! struct and a `run` function returning an [`exit::Code`].

mod bench;
mod exit;
mod inspect;
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
    /// Decode, validate and list a captured request body (snappy or raw protobuf, v1 or v2).
    Inspect(inspect::Args),
    /// Load a Remote Write endpoint with generated payloads, or measure the one-core floors.
    Bench(bench::Args),
    /// Inspect or verify a write-ahead log directory.
    Wal(wal::Args),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit::usage(&err),
    };
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Wal(args) => wal::run(args),
    }
}
