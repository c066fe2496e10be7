//! prw-relay: receive Remote Write, persist it in the WAL, fan it out to N destinations.

pub mod record;
