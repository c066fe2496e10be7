//! Exit codes of `prw` (DESIGN.md): 0 success; 1 `inspect` found errors / `wal verify`
//! found damage; 2 input cannot be read; 64 usage or config error; 70 internal error.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// `inspect` found findings of severity error; `wal verify` found damage.
pub const FINDINGS: u8 = 1;
/// The input cannot be read (bad snappy, bad protobuf, over a limit).
pub const UNREADABLE: u8 = 2;
/// Usage or configuration error (clap's usage errors map here).
pub const USAGE: u8 = 64;
/// Internal error.
pub const INTERNAL: u8 = 70;

/// Prints a clap error and maps it: help and version exit 0, everything else 64.
pub fn usage(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    match err.kind() {
        clap::error::ErrorKind::DisplayHelp
        | clap::error::ErrorKind::DisplayVersion
        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => ExitCode::from(OK),
        _ => ExitCode::from(USAGE),
    }
}
