//! prw-wal: a segmented, crash-safe append-only log of opaque records.
