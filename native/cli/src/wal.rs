//! `prw wal`: look at a WAL directory without opening (and so without repairing) it.
//! `inspect` prints segments, cursors and lag; `verify` checks every CRC and exits 1 on damage.

mod inspect;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

/// Arguments of `prw wal`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: WalCommand,
}

#[derive(Debug, Subcommand)]
enum WalCommand {
    /// Print segments (sizes, record ranges), cursors and lag per consumer, first/last record.
    Inspect {
        /// The WAL directory.
        dir: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every record's CRC32C; exit 1 naming file and offset of any damage, 0 if clean.
    Verify {
        /// The WAL directory.
        dir: PathBuf,
    },
}

/// Runs `prw wal ...`.
pub fn run(args: Args) -> ExitCode {
    match args.command {
        WalCommand::Inspect { dir, json } => inspect::run(&dir, json),
        WalCommand::Verify { dir } => verify::run(&dir),
    }
}

/// Exit code for an error of `prw_wal::inspect`: 2 when the directory cannot be read, 70 for
/// anything else (inspect reports damage as findings, not errors).
fn error_code(err: &prw_wal::WalError) -> ExitCode {
    match err {
        prw_wal::WalError::Io { .. } => ExitCode::from(crate::exit::UNREADABLE),
        _ => ExitCode::from(crate::exit::INTERNAL),
    }
}
