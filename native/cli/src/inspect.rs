//! `prw inspect [FILE|-|URL]`: decode, validate and list a captured Remote Write request body.
//!
//! The input is a file, standard input, or a relay's capture URL
//! (`http://127.0.0.1:9202/api/v1/captures/17` or `https://...`, `--bearer-token-file` for a
//! relay with `listen.auth`, `--ca-file` for a relay whose TLS certificate is self-signed;
//! see [`fetch`]). A capture is read with the Content-Type it had, like the relay read it,
//! unless `--content-type` or `--proto` says otherwise.
//!
//! The body may be snappy block format (as sent over HTTP) or raw protobuf; v1 or v2.
//! Schema: `--proto` wins, else `--content-type` (negotiated like a receiver would), else
//! auto-detected from the top-level field numbers (v2 uses only 4/5, v1 uses 1/3).
//! Compression: snappy when the body decompresses, raw protobuf otherwise.
//!
//! Exit codes: 0 valid; 1 findings of severity error; 2 unreadable input, including a
//! capture that cannot be fetched (a one-line reason on stderr; with `--format json` the
//! report is still printed with `error` set); 64 usage (also an unreadable token or CA
//! file). Output is written without panicking on a closed pipe.

mod fetch;
mod text;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use prw_core::report::{Report, ReportOptions};
use prw_core::{Limits, Protocol};

use crate::exit;

/// Arguments of `prw inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A captured request body (snappy or raw protobuf), `-` for standard input, or a relay's
    /// capture URL (`http://127.0.0.1:9202/api/v1/captures/17`).
    #[arg(default_value = "-")]
    input: PathBuf,
    /// With a capture URL: a file holding the bearer token of the relay's `listen.auth`.
    #[arg(long, value_name = "FILE")]
    bearer_token_file: Option<PathBuf>,
    /// With an https capture URL: trust only the CA certificates (PEM) in FILE instead of the
    /// webpki roots (a relay whose `listen.tls` certificate is self-signed or private).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Read the body as this schema (skips auto-detection).
    #[arg(long, value_enum)]
    proto: Option<ProtoArg>,
    /// The request's Content-Type header; selects the schema like a receiver would.
    #[arg(long)]
    content_type: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// List at most N series (counts and findings stay whole).
    #[arg(long, value_name = "N")]
    max_series: Option<usize>,
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

/// Runs `prw inspect`.
pub fn run(args: &Args) -> ExitCode {
    let limits = Limits::default();
    let input = args.input.to_string_lossy();
    // A capture that could not be fetched has no receiver verdict to name.
    let mut fetch_failed = false;
    let (read, fetched_type) = if fetch::is_url(&input) {
        match fetch::fetch(
            &input,
            args.bearer_token_file.as_deref(),
            args.ca_file.as_deref(),
            limits.max_body_bytes,
        ) {
            Ok(fetched) => (Ok(fetched.body), fetched.content_type),
            Err(err) if err.is_usage() => {
                eprintln!("prw inspect: {err}");
                return ExitCode::from(exit::USAGE);
            }
            Err(err) => {
                fetch_failed = true;
                (Err(err.to_string()), None)
            }
        }
    } else {
        if args.bearer_token_file.is_some() || args.ca_file.is_some() {
            eprintln!("prw inspect: --bearer-token-file and --ca-file only apply to a capture URL");
            return ExitCode::from(exit::USAGE);
        }
        (read_input(&args.input, limits.max_body_bytes), None)
    };
    // A capture is read with its own Content-Type unless the command line names one.
    let content_type = args
        .content_type
        .as_deref()
        .or(fetched_type.as_deref().filter(|_| args.proto.is_none()));
    let report = match read {
        Ok(body) => prw_core::report::build(
            &body,
            &ReportOptions {
                content_type,
                protocol: args.proto.map(|p| match p {
                    ProtoArg::V1 => Protocol::V1,
                    ProtoArg::V2 => Protocol::V2,
                }),
                limits,
                max_series: args.max_series,
            },
        ),
        Err(reason) => unreadable(reason),
    };
    let rendered = match args.format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => json + "\n",
            Err(err) => {
                eprintln!("prw inspect: cannot serialize the report: {err}");
                return ExitCode::from(exit::INTERNAL);
            }
        },
        // Unreadable input: the one-line reason on stderr is the whole text output.
        Format::Text if report.error.is_some() => String::new(),
        Format::Text => text::render(&report),
    };
    // A closed pipe (`prw inspect x | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
    if let Some(error) = &report.error {
        if fetch_failed {
            eprintln!("prw inspect: {error}");
        } else {
            eprintln!(
                "prw inspect: {error} (a receiver answers {})",
                report.verdict.status
            );
        }
        return ExitCode::from(exit::UNREADABLE);
    }
    if report
        .findings
        .iter()
        .any(|f| f.severity == prw_core::validate::Severity::Error)
    {
        return ExitCode::from(exit::FINDINGS);
    }
    ExitCode::from(exit::OK)
}

/// Reads at most `max + 1` bytes, so a huge input is refused without being loaded.
fn read_input(path: &PathBuf, max: usize) -> Result<Vec<u8>, String> {
    let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::new();
    let res = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(cap).read_to_end(&mut body)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut body))
    };
    res.map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    Ok(body)
}

/// The report of an input that could not even be read.
fn unreadable(reason: String) -> Report {
    Report::unreadable(Protocol::V1, None, 400, reason)
}
