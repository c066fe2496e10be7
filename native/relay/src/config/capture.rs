//! `capture:` whether and how much the relay keeps of what it refused (requests answered 4xx
//! at ingest, batches a destination refused with a non-retryable 4xx), for the inspector
//! page and `GET /api/v1/captures`.
//!
//! Invariants: capture is on by default, with bounded memory; captured bodies hold label
//! values that may be sensitive, so when the listener is on a non-loopback address without
//! `listen.auth`, capture stays off unless `enabled: true` is written explicitly. The
//! decision and its reason are part of the validated value ([`Capture::decision`]) and of the
//! start-up summary.

use std::fmt;

use hyper::header::HeaderName;
use serde::Deserialize;

use super::byte_size::ByteSize;
use super::error::{ConfigError, KeyPath};
use super::listen::Listen;

/// Default number of kept captures of each kind.
pub const DEFAULT_MAX_PER_KIND: u64 = 100;
/// Default memory cap over both kinds: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Smallest cap accepted: 1 MiB (room for the metadata of every capture; bodies that do not
/// fit are kept without their bytes).
pub const MIN_MAX_BYTES: u64 = 1 << 20;

/// `capture` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// On or off. Default: on, unless the listener is on a non-loopback address without
    /// `listen.auth` (then only an explicit `true` turns it on).
    pub enabled: Option<bool>,
    /// Requests answered 4xx at ingest kept (the newest). Default: 100.
    pub max_rejected: Option<u64>,
    /// Batches a destination refused with a non-retryable 4xx kept (the newest). Default: 100.
    pub max_refused: Option<u64>,
    /// Memory cap over both kinds; the oldest captures go first. Default: 64MiB.
    pub max_bytes: Option<ByteSize>,
    /// Request headers never kept, besides `Authorization`, `Proxy-Authorization`, `Cookie`
    /// and `Set-Cookie` (always removed). Default: none.
    pub secret_headers: Vec<String>,
}

/// Why capture is on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureDecision {
    /// On by default (loopback listener, or `listen.auth` set).
    OnByDefault,
    /// `enabled: true`.
    OnExplicitly,
    /// `enabled: false`.
    OffExplicitly,
    /// Off because the listener is reachable from other machines without `listen.auth`.
    OffUnprotectedListener,
}

/// Why capture is off with the default on a listener reachable from other machines.
const UNPROTECTED: &str = "the listener is not on loopback and has no listen.auth: captured \
     bodies may hold sensitive label values; set capture.enabled: true to keep them anyway";

/// Validated capture settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// On or off, and why.
    pub decision: CaptureDecision,
    /// Requests answered 4xx at ingest kept.
    pub max_rejected: usize,
    /// Batches refused by a destination kept.
    pub max_refused: usize,
    /// Memory cap over both kinds, in bytes.
    pub max_bytes: usize,
    /// Headers removed besides the built-in credential headers (lower-case).
    pub secret_headers: Vec<HeaderName>,
}

impl Capture {
    /// Why capture is off (`None` when it is on).
    pub fn off_reason(&self) -> Option<&'static str> {
        match self.decision {
            CaptureDecision::OnByDefault | CaptureDecision::OnExplicitly => None,
            CaptureDecision::OffExplicitly => Some("capture.enabled: false"),
            CaptureDecision::OffUnprotectedListener => Some(UNPROTECTED),
        }
    }

    /// Whether captures are kept.
    pub fn enabled(&self) -> bool {
        matches!(
            self.decision,
            CaptureDecision::OnByDefault | CaptureDecision::OnExplicitly
        )
    }
}

fn count(path: &KeyPath, value: Option<u64>) -> Result<usize, ConfigError> {
    let value = value.unwrap_or(DEFAULT_MAX_PER_KIND);
    usize::try_from(value)
        .map_err(|_| path.invalid_value("count that fits in memory", value.to_string()))
}

impl CaptureConfig {
    /// Validates the section; `listen` decides the default.
    pub fn build(&self, path: &KeyPath, listen: &Listen) -> Result<Capture, ConfigError> {
        let max_rejected = count(&path.key("max_rejected"), self.max_rejected)?;
        let max_refused = count(&path.key("max_refused"), self.max_refused)?;
        let max_bytes = self.max_bytes.map_or(DEFAULT_MAX_BYTES, |b| b.0);
        if max_bytes < MIN_MAX_BYTES {
            return Err(path.key("max_bytes").invalid("must be at least 1MiB"));
        }
        let max_bytes = usize::try_from(max_bytes).map_err(|_| {
            path.key("max_bytes")
                .invalid_value("size that fits in memory", max_bytes.to_string())
        })?;
        let mut secret_headers = Vec::with_capacity(self.secret_headers.len());
        for (index, name) in self.secret_headers.iter().enumerate() {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                path.key("secret_headers")
                    .index(index)
                    .invalid_value("header name", name)
            })?;
            if !secret_headers.contains(&header) {
                secret_headers.push(header);
            }
        }
        let protected = listen.address.ip().is_loopback() || listen.auth.is_some();
        let decision = match (self.enabled, protected) {
            (Some(true), _) => CaptureDecision::OnExplicitly,
            (Some(false), _) => CaptureDecision::OffExplicitly,
            (None, true) => CaptureDecision::OnByDefault,
            (None, false) => CaptureDecision::OffUnprotectedListener,
        };
        Ok(Capture {
            decision,
            max_rejected,
            max_refused,
            max_bytes,
            secret_headers,
        })
    }
}

/// The start-up summary line after `capture: ` (no secrets).
impl fmt::Display for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limits = format!(
            "last {} rejected, last {} refused, at most {}; GET /api/v1/captures, /inspect/",
            self.max_rejected,
            self.max_refused,
            ByteSize(self.max_bytes as u64)
        );
        match self.decision {
            CaptureDecision::OnByDefault => write!(f, "on ({limits})"),
            CaptureDecision::OnExplicitly => write!(f, "on, enabled explicitly ({limits})"),
            CaptureDecision::OffExplicitly | CaptureDecision::OffUnprotectedListener => {
                write!(f, "off ({})", self.off_reason().unwrap_or_default())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::ListenAuth;

    fn listen(address: &str, auth: bool) -> Listen {
        Listen {
            address: address.parse().unwrap(),
            auth: auth.then(|| ListenAuth::BearerToken {
                file: PathBuf::from("/token"),
                token: "t".into(),
            }),
            tls: None,
        }
    }

    fn build(yaml: &str, listen: &Listen) -> Result<Capture, ConfigError> {
        let config: CaptureConfig = serde_yaml::from_str(yaml).unwrap();
        config.build(&KeyPath::root().key("capture"), listen)
    }

    #[test]
    fn on_by_default_on_loopback_with_the_default_bounds() {
        let capture = build("{}", &listen("127.0.0.1:9202", false)).unwrap();
        assert_eq!(capture.decision, CaptureDecision::OnByDefault);
        assert!(capture.enabled());
        assert_eq!(
            (capture.max_rejected, capture.max_refused, capture.max_bytes),
            (100, 100, 64 << 20)
        );
        assert!(build("{}", &listen("[::1]:9202", false)).unwrap().enabled());
    }

    #[test]
    fn off_on_a_public_address_without_auth_unless_enabled_explicitly() {
        let public = listen("0.0.0.0:9202", false);
        let off = build("{}", &public).unwrap();
        assert_eq!(off.decision, CaptureDecision::OffUnprotectedListener);
        assert!(!off.enabled());
        assert!(
            off.to_string()
                .starts_with("off (the listener is not on loopback")
        );
        let on = build("enabled: true", &public).unwrap();
        assert_eq!(on.decision, CaptureDecision::OnExplicitly);
        let with_auth = build("{}", &listen("0.0.0.0:9202", true)).unwrap();
        assert_eq!(with_auth.decision, CaptureDecision::OnByDefault);
    }

    #[test]
    fn enabled_false_turns_it_off_everywhere() {
        let off = build("enabled: false", &listen("127.0.0.1:9202", false)).unwrap();
        assert_eq!(off.decision, CaptureDecision::OffExplicitly);
        assert_eq!(off.to_string(), "off (capture.enabled: false)");
    }

    #[test]
    fn bounds_and_secret_headers_are_read_and_checked() {
        let capture = build(
            "max_rejected: 5\nmax_refused: 0\nmax_bytes: 2MiB\nsecret_headers: [X-Api-Key, x-api-key]",
            &listen("127.0.0.1:9202", false),
        )
        .unwrap();
        assert_eq!(
            (capture.max_rejected, capture.max_refused, capture.max_bytes),
            (5, 0, 2 << 20)
        );
        assert_eq!(
            capture.secret_headers,
            [HeaderName::from_static("x-api-key")]
        );
        assert_eq!(
            capture.to_string(),
            "on (last 5 rejected, last 0 refused, at most 2MiB; GET /api/v1/captures, /inspect/)"
        );
        let small = build("max_bytes: 64KiB", &listen("127.0.0.1:9202", false)).unwrap_err();
        assert_eq!(small.path, "capture.max_bytes");
        let bad = build(
            "secret_headers: ['bad header']",
            &listen("127.0.0.1:9202", false),
        )
        .unwrap_err();
        assert_eq!(bad.path, "capture.secret_headers[0]");
    }
}
