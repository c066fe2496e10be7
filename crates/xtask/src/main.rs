//! `cargo xtask up | test | bench | dist`.
//!
//! Every step prints how long it took; the first failing step stops the run with a
//! non-zero exit code. Setup steps are idempotent and install only what is missing.

mod stage;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <up|test|bench|dist>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(),
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
