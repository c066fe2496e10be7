//! A human summary of a validated configuration, printed at start. No secrets: destination
//! URLs carry no user info (the config took it off, `send::auth::userinfo`), and credentials
//! are never printed.

use std::fmt;

use super::byte_size::ByteSize;
use super::document::RelayConfig;
use super::duration;
use super::remote_write::Start;
use super::remote_write::{NameSource, ProtobufMessage};
use super::wal::{FullPolicy, Sync};

impl fmt::Display for RelayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = if self.listen.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let auth = match &self.listen.auth {
            None => "none",
            Some(super::listen::ListenAuth::BearerToken { .. }) => "bearer token",
            Some(super::listen::ListenAuth::BasicAuthUsers { .. }) => "basic auth",
        };
        writeln!(f, "listen: {tls}://{} (auth: {auth})", self.listen.address)?;
        let sync = match self.wal.sync {
            Sync::Always => "always".to_owned(),
            Sync::Interval(every) => format!("every {}", duration::format(every)),
        };
        writeln!(
            f,
            "wal: {} (segments {}, cap {}, when full: {}, fsync {sync})",
            self.wal.dir.display(),
            ByteSize(self.wal.segment_bytes),
            ByteSize(self.wal.max_bytes),
            match self.wal.full_policy {
                FullPolicy::Block => "block",
                FullPolicy::DropOldest => "drop_oldest",
            },
        )?;
        let headers: Vec<&str> = self.forward_headers.iter().map(|h| h.as_str()).collect();
        writeln!(f, "forward_headers: [{}]", headers.join(", "))?;
        writeln!(f, "destinations: {}", self.destinations.len())?;
        for d in &self.destinations {
            let message = match d.protobuf_message {
                ProtobufMessage::V1 => "v1",
                ProtobufMessage::V2 => "v2",
            };
            let derived = if d.name_source == NameSource::Derived {
                " (derived)"
            } else {
                ""
            };
            writeln!(
                f,
                "  - {}{derived}: {} {message}, shards {}..{}, {} samples/send, start {}",
                d.name,
                d.url,
                d.queue.min_shards,
                d.queue.max_shards,
                d.queue.max_samples_per_send,
                match d.start {
                    Start::Newest => "newest",
                    Start::Oldest => "oldest",
                },
            )?;
        }
        Ok(())
    }
}
