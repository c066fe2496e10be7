//! From a validated `remote_write` stanza ([`config::Destination`]) to what the send side
//! runs: [`DestinationOptions`] and an [`HttpTransport`].
//!
//! Invariants: nothing here re-validates: the config layer already read the PEM files and
//! built the TLS client once, checked the credentials files, and parsed the proxy settings.
//! Inline credentials become static headers; credentials files are read here, once per
//! (re)start of the destination.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prw_core::Protocol;
use prw_core::classify::Backoff;

use crate::config::http_client::ClientAuth;
use crate::config::{self, ProtobufMessage};
use crate::queue::{BatchSettings, DestinationOptions, QueueSettings};
use crate::send::{Auth, HttpTransport, RetryPolicy, TlsError, Transport};

/// Why a destination's settings could not be turned into a running sender.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// A credentials file could not be read.
    #[error("destination {name}: reading credentials: {source}")]
    Secret {
        /// Destination.
        name: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS settings refused.
    #[error("destination {name}: {source}")]
    Tls {
        /// Destination.
        name: String,
        /// The error.
        source: TlsError,
    },
    /// Backoff bounds refused (the config layer validates them; kept for completeness).
    #[error("destination {name}: {source}")]
    Backoff {
        /// Destination.
        name: String,
        /// The error.
        source: prw_core::classify::BackoffError,
    },
}

/// The send-side options of `destination`.
pub fn destination_options(
    destination: &config::Destination,
) -> Result<DestinationOptions, OptionsError> {
    let name = destination.name.clone();
    let q = &destination.queue;
    let backoff =
        Backoff::new(q.min_backoff, q.max_backoff).map_err(|source| OptionsError::Backoff {
            name: name.clone(),
            source,
        })?;
    let queue = QueueSettings {
        capacity: q.capacity,
        min_shards: q.min_shards,
        max_shards: q.max_shards,
        batch: BatchSettings {
            max_samples_per_send: u64::try_from(q.max_samples_per_send).unwrap_or(u64::MAX),
            batch_send_deadline: q.batch_send_deadline,
        },
        retry: RetryPolicy {
            backoff,
            retry_on_http_429: q.retry_on_http_429,
            sample_age_limit: q.sample_age_limit,
        },
        dynamic_resharding: q.min_shards != q.max_shards,
    };
    let headers = destination
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let secret = |source: &config::secret::SecretSource| {
        source.read().map_err(|e| OptionsError::Secret {
            name: name.clone(),
            source: e,
        })
    };
    let auth = match &destination.auth {
        None => None,
        Some(ClientAuth::Basic { username, password }) => Some(Auth::Basic {
            username: secret(username)?,
            password: secret(password)?,
        }),
        Some(ClientAuth::Authorization {
            scheme,
            credentials,
        }) => Some(Auth::Authorization {
            scheme: scheme.clone(),
            credentials: secret(credentials)?,
        }),
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    Ok(DestinationOptions {
        name: name.clone(),
        url: destination.url.clone(),
        protocol: match destination.protobuf_message {
            ProtobufMessage::V1 => Protocol::V1,
            ProtobufMessage::V2 => Protocol::V2,
        },
        queue,
        headers,
        auth,
        jitter_seed: Some(seed ^ prw_core::hash::label_set_hash([("name", name.as_str())])),
        v2_encoder: None,
        decorator: None,
        observers: Vec::new(),
    })
}

/// The HTTP transport of `destination` (`remote_timeout`, `tls_config`, proxies,
/// `follow_redirects`, `enable_http2`), built from settings validated at load.
pub fn http_transport(
    destination: &config::Destination,
) -> Result<Arc<dyn Transport>, OptionsError> {
    let transport =
        HttpTransport::new(&destination.client).map_err(|source| OptionsError::Tls {
            name: destination.name.clone(),
            source,
        })?;
    Ok(Arc::new(transport))
}
