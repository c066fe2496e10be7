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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn relay_config(dir: &std::path::Path) -> crate::config::RelayConfig {
        let yaml = format!(
            "wal: {{dir: {}, segment_bytes: 1MiB, max_bytes: 4MiB, sync: interval}}\n\
             remote_write:\n  - {{url: http://a/, name: old, start: oldest}}\n  - {{url: http://b/, name: new}}\n",
            dir.display()
        );
        crate::config::parse(&yaml, &Overrides::default())
            .unwrap()
            .config
    }

    #[test]
    fn wal_settings_come_from_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = relay_config(dir.path());
        let wal = wal_config(&config.wal);
        assert_eq!(wal.segment_bytes, 1 << 20);
        assert_eq!(wal.max_bytes, 4 << 20);
        assert_eq!(wal.full, FullPolicy::Block);
        assert_eq!(wal.recovery, RecoveryMode::TolerateTail);
        assert_eq!(
            wal.sync,
            SyncPolicy::Interval(std::time::Duration::from_secs(1))
        );
    }

    #[test]
    fn each_destination_gets_a_cursor_starting_where_configured() {
        let dir = tempfile::tempdir().unwrap();
        let config = relay_config(&dir.path().join("wal"));
        {
            let (wal, _) = Wal::open(&config.wal.dir, wal_config(&config.wal)).unwrap();
            wal.append(b"before the destinations existed").unwrap();
            wal.sync().unwrap();
        }
        let (wal, report) = open(&config.wal, &config.destinations).unwrap();
        assert_eq!(report.records, 1);
        assert_eq!(wal.consumers(), vec!["new".to_owned(), "old".to_owned()]);
        assert!(wal.reader("old").unwrap().try_next().unwrap().is_some());
        assert!(wal.reader("new").unwrap().try_next().unwrap().is_none());
    }
}
