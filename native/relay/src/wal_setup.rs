//! Opening the relay's WAL from the validated `wal:` section, and registering one WAL
//! consumer (cursor) per destination so retention keeps every record a destination has not
//! delivered yet.
//!
//! Invariant: a destination's cursor is named after the destination (its `name`, explicit or
//! derived), so a restart or reload finds the same cursor; `add_consumer` keeps an existing
//! cursor where it is, `start` (`newest`/`oldest`) only applies to a new one.

use std::sync::Arc;

use prw_wal::{
    FullPolicy, RecoveryMode, RecoveryReport, StartAt, SyncPolicy, Wal, WalConfig, WalError,
};

use crate::config::{self, Destination, Start};

/// The prw-wal configuration for the relay's `wal:` section.
pub fn wal_config(wal: &config::Wal) -> WalConfig {
    let mut out = WalConfig::default();
    out.segment_bytes = wal.segment_bytes;
    out.max_bytes = wal.max_bytes;
    out.max_record_bytes = wal.max_record_bytes;
    out.full = match wal.full_policy {
        config::FullPolicy::Block => FullPolicy::Block,
        config::FullPolicy::DropOldest => FullPolicy::DropOldest,
    };
    out.recovery = match wal.recovery {
        config::Recovery::TolerateTail => RecoveryMode::TolerateTail,
        config::Recovery::Strict => RecoveryMode::Strict,
    };
    out.sync = match wal.sync {
        config::Sync::Always => SyncPolicy::Always,
        config::Sync::Interval(every) => SyncPolicy::Interval(every),
    };
    out
}

/// Where a destination's new cursor starts.
pub fn start_at(start: Start) -> StartAt {
    match start {
        Start::Newest => StartAt::Newest,
        Start::Oldest => StartAt::Oldest,
    }
}

/// Opens the WAL (running recovery) and adds a consumer per destination.
pub fn open(
    wal: &config::Wal,
    destinations: &[Destination],
) -> Result<(Arc<Wal>, RecoveryReport), WalError> {
    let (log, report) = Wal::open(&wal.dir, wal_config(wal))?;
    for destination in destinations {
        log.add_consumer(&destination.name, start_at(destination.start))?;
    }
    Ok((Arc::new(log), report))
}
