//! `prw relay`: load and validate the configuration (file and/or flags), print a summary,
//! and serve HTTP until SIGTERM/SIGINT; SIGHUP and `POST /-/reload` re-read the file.
//! Writes are validated and appended to the WAL (`wal:` section, opened with recovery before
//! the listener binds; one cursor per destination) by `prw_relay::ingest::WalIngest` and
//! acknowledged once durable. `prw_relay::delivery::Delivery` reads the WAL for every
//! destination (one cursor each) and sends. SIGHUP and `POST /-/reload` re-read the file and
//! apply its `remote_write` list (add, remove, restart destinations).
//!
//! Shutdown on SIGTERM/SIGINT, in this order: `/-/ready` turns 503 while writes are still
//! acknowledged for `--shutdown-grace` (default 5 s; a second signal ends it at once), so a
//! load balancer that health-checks `/-/ready` moves senders away before any write is
//! refused; then new writes get 503 + Retry-After while in-flight ones finish (up to
//! `--drain-timeout`), every destination drains for up to `--drain-timeout` and commits its
//! cursor, and the WAL is synced.
//!
//! Capture (`capture:`, on by default): a `prw_relay::capture::CaptureStore` is fed by
//! ingest's rejection observer and every destination's attempt observer and served at
//! `GET /api/v1/captures`; the summary's `capture:` line says whether it is on and why.
//!
//! Exit codes: 0 after a graceful shutdown; 64 for a bad configuration or a listener that
//! cannot be set up (address in use, unreadable auth/TLS file) or a destination name the WAL
//! cannot use as a cursor, or a WAL directory another process has open (the message names
//! it and the holder's pid; nothing was touched); 70 for an internal error, including a WAL that cannot be opened
//! (I/O error, or damage under `recovery: strict`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use prw_relay::capture::{self, CaptureStore};
use prw_relay::capture_observers::{RefusalCapture, RejectionCapture};
use prw_relay::clock::SystemClock;
use prw_relay::config::{self, Overrides, RelayConfig, duration};
use prw_relay::delivery::{Delivery, DeliveryError, DeliveryReload, DeliverySettings};
use prw_relay::handler::Reload;
use prw_relay::ingest::{IngestOptions, WalIngest};
use prw_relay::server::{Captures, GraceEnd, Server, Signals, StaticPage};
use prw_relay::wal_setup;
use prw_wal::{RecoveryReport, WalError};

use crate::{exit, inspector_assets};

/// Arguments of `prw relay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// YAML configuration file (Prometheus `remote_write` stanzas plus listen/wal/limits).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen address, replacing `listen.address` (`127.0.0.1:0` binds a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// WAL directory, replacing `wal.dir`.
    #[arg(long, value_name = "DIR")]
    wal_dir: Option<PathBuf>,
    /// Adds a destination with default settings (repeatable).
    #[arg(long = "remote-write-url", value_name = "URL")]
    remote_write_urls: Vec<String>,
    /// How long in-flight requests may finish after SIGTERM/SIGINT (Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::parse)]
    drain_timeout: std::time::Duration,
    /// After SIGTERM/SIGINT, how long `/-/ready` answers 503 while writes are still accepted,
    /// before the drain starts (`0s`: none; a second signal ends it early).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration::parse)]
    shutdown_grace: std::time::Duration,
    /// Validate the configuration, print the summary and exit.
    #[arg(long)]
    check_config: bool,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PRW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests calling run twice) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs `prw relay`.
pub fn run(args: Args) -> ExitCode {
    init_tracing();
    let overrides = Overrides {
        listen: args.listen.clone(),
        wal_dir: args.wal_dir.clone(),
        remote_write_urls: args.remote_write_urls.clone(),
    };
    let loaded = match config::load(args.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("prw relay: bad configuration: {err}");
            return ExitCode::from(exit::USAGE);
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!(%warning, "configuration key ignored");
    }
    print!("{}", loaded.config);
    println!("capture: {}", loaded.config.capture);
    if args.check_config {
        return ExitCode::from(exit::OK);
    }
    let wal = match wal_setup::open(&loaded.config.wal, &loaded.config.destinations) {
        Ok((wal, report)) => {
            log_recovery(&report, &loaded.config.wal.dir);
            wal
        }
        Err(err) => {
            eprintln!(
                "prw relay: cannot open the WAL in {}: {err}",
                loaded.config.wal.dir.display()
            );
            return ExitCode::from(match err {
                WalError::InvalidConfig { .. }
                | WalError::InvalidConsumerName(_)
                | WalError::Locked { .. } => exit::USAGE,
                _ => exit::INTERNAL,
            });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("prw relay: cannot start the async runtime: {err}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    runtime.block_on(async move {
        let mut signals = match Signals::install() {
            Ok(signals) => signals,
            Err(err) => {
                eprintln!("prw relay: cannot install signal handlers: {err}");
                return ExitCode::from(exit::INTERNAL);
            }
        };
        let mut registry = Registry::default();
        let store = capture_store(&loaded.config, &mut registry);
        let mut options =
            IngestOptions::new(loaded.config.limits, loaded.config.forward_headers.clone());
        options.tail_max_bytes = loaded.config.tail.max_bytes;
        options.max_record_bytes = loaded.config.wal.max_record_bytes;
        options.rejection_observer = store
            .as_ref()
            .map(|s| Arc::new(RejectionCapture(Arc::clone(s))) as _);
        let ingest = WalIngest::with_options(Arc::clone(&wal), options, &mut registry);
        let mut settings = DeliverySettings::for_wal_dir(&loaded.config.wal.dir);
        settings.limits = loaded.config.limits;
        settings.newest_received_ms = ingest.newest_received();
        settings.tail = Some(ingest.tail());
        settings.attempt_observers = store
            .iter()
            .map(|s| Arc::new(RefusalCapture(Arc::clone(s))) as _)
            .collect();
        let captures = match store {
            Some(store) => Captures::On(store),
            None => Captures::Off(
                loaded
                    .config
                    .capture
                    .off_reason()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        };
        let delivery = match Delivery::start(
            Arc::clone(&wal),
            &loaded.config.destinations,
            settings,
            &mut registry,
        ) {
            Ok(delivery) => delivery,
            Err(err) => {
                eprintln!("prw relay: cannot start delivery: {err}");
                // The configuration was validated at load; what is left from it (a file
                // changed since) is still a configuration error.
                return ExitCode::from(match err {
                    DeliveryError::Options(_) | DeliveryError::Destination(_) => exit::USAGE,
                    _ => exit::INTERNAL,
                });
            }
        };
        let delivery = Arc::new(tokio::sync::Mutex::new(Some(delivery)));
        let reload = Arc::new(DeliveryReload {
            path: args.config.clone(),
            overrides,
            delivery: Arc::clone(&delivery),
            grace: args.drain_timeout,
        });
        let server = match Server::bind(
            &loaded.config.listen,
            Arc::new(ingest.clone()),
            reload.clone(),
            registry,
        )
        .await
        {
            Ok(server) => server
                .with_drain_timeout(args.drain_timeout)
                .with_captures(captures)
                .with_inspector(StaticPage {
                    lookup: inspector_assets::inspector_asset,
                    missing_help: inspector_assets::NOT_EMBEDDED,
                }),
            Err(err) => {
                eprintln!("prw relay: cannot set up the listener: {err}");
                return ExitCode::from(exit::USAGE);
            }
        };
        let readiness = server.readiness();
        let grace = args.shutdown_grace;
        let reload: Arc<dyn Reload> = reload;
        let drained = server
            .run(async move {
                let signal = signals.until_terminated(&reload).await;
                readiness.withdraw();
                tracing::info!(
                    ?signal,
                    ?grace,
                    "shutdown requested: /-/ready answers 503, writes are still accepted for the grace period"
                );
                if let GraceEnd::CutShort(again) = signals.grace_period(grace, &reload).await {
                    tracing::info!(signal = ?again, "second signal: grace period cut short");
                }
                tracing::info!("grace period over: new writes get 503");
                ingest.begin_shutdown();
            })
            .await;
        let running = delivery.lock().await.take();
        if let Some(running) = running {
            for stopped in running.shutdown(args.drain_timeout).await {
                tracing::info!(
                    destination = %stopped.name,
                    drained = stopped.drained,
                    committed = ?stopped.committed,
                    "destination shut down"
                );
            }
        }
        match tokio::task::spawn_blocking(move || wal.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "final WAL sync failed"),
            Err(err) => tracing::error!(error = %err, "final WAL sync did not run"),
        }
        tracing::info!(?drained, "stopped");
        ExitCode::from(exit::OK)
    })
}

/// The capture store when `capture:` is on (its metrics registered), else `None` (and
/// `prw_capture_enabled 0`).
fn capture_store(config: &RelayConfig, registry: &mut Registry) -> Option<Arc<CaptureStore>> {
    if !config.capture.enabled() {
        capture::register_disabled(registry);
        return None;
    }
    Some(Arc::new(CaptureStore::new(
        &config.capture,
        config.forward_headers.clone(),
        Arc::new(SystemClock),
        registry,
    )))
}

/// Logs what WAL recovery found: one info line when clean, a warning per repair otherwise.
fn log_recovery(report: &RecoveryReport, dir: &std::path::Path) {
    tracing::info!(
        dir = %dir.display(),
        segments = report.segments,
        records = report.records,
        "WAL opened"
    );
    if report.torn_tail_bytes > 0 {
        tracing::warn!(
            bytes = report.torn_tail_bytes,
            "WAL recovery cut a torn tail (a partial last write; never acknowledged)"
        );
    }
    for q in &report.quarantined {
        tracing::warn!(
            source = %q.source.display(),
            offset = q.offset,
            bytes = q.bytes,
            moved_to = %q.moved_to.display(),
            reason = ?q.reason,
            "WAL recovery quarantined damaged data"
        );
    }
    for name in &report.cursors_reset {
        tracing::warn!(consumer = %name, "WAL cursor unreadable: reset to the oldest record");
    }
    for name in &report.cursors_clamped {
        tracing::warn!(consumer = %name, "WAL cursor outside the log: moved to its nearest end");
    }
}
