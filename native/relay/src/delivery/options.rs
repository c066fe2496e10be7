//! From a validated `remote_write` stanza ([`config::Destination`]) to what the send side
//! runs: [`DestinationOptions`] and an [`HttpTransport`].
//!
//! Invariants: nothing here re-validates: the config layer already read the PEM files and
//! built the TLS client once, checked the credentials files, and parsed the proxy settings.
//! Inline credentials become static headers; credentials files, `oauth2` and `sigv4` become
//! the destination's request decorator (files read per request, tokens cached, requests
//! signed), also used for redirect hops by the transport.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prw_core::Protocol;
use prw_core::classify::Backoff;

use crate::config::http_client::ClientAuth;
use crate::config::secret::SecretSource;
use crate::config::{self, ProtobufMessage};
use crate::queue::{BatchSettings, DestinationOptions, QueueSettings};
use crate::send::auth::credentials_file::FileCredentials;
use crate::send::auth::oauth2::OAuth2Decorator;
use crate::send::auth::sigv4::SigV4Decorator;
use crate::send::{
    Auth, HopDecorator, HttpTransport, RequestDecorator, RetryPolicy, TlsError, Transport,
};

/// Why a destination's settings could not be turned into a running sender.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
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
    let (auth, decorator) = auth(destination)?;
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
        decorator,
        observers: Vec::new(),
    })
}

/// The HTTP transport of `destination` (`remote_timeout`, `tls_config`, proxies,
/// `follow_redirects`, `enable_http2`), built from settings validated at load.
pub fn http_transport(
    destination: &config::Destination,
) -> Result<Arc<dyn Transport>, OptionsError> {
    let mut transport =
        HttpTransport::new(&destination.client).map_err(|source| OptionsError::Tls {
            name: destination.name.clone(),
            source,
        })?;
    // Redirect hops are finished by their own decorator instance (the retry loop's one is
    // not reachable from here); for OAuth2 that costs one more token request per restart.
    if let (_, Some(decorator)) = auth(destination)? {
        transport = transport.with_hop_decorator(HopDecorator {
            decorator,
            cross_site: matches!(destination.auth, Some(ClientAuth::SigV4(_))),
        });
    }
    Ok(Arc::new(transport))
}

/// A destination's request decorator.
type Decorator = Arc<dyn RequestDecorator>;

/// The static credentials (inline `basic_auth`/`authorization`) or the request decorator
/// (credentials files, `oauth2`, `sigv4`) of `destination`.
fn auth(
    destination: &config::Destination,
) -> Result<(Option<Auth>, Option<Decorator>), OptionsError> {
    let tls = |source| OptionsError::Tls {
        name: destination.name.clone(),
        source,
    };
    Ok(match &destination.auth {
        None => (None, None),
        Some(ClientAuth::Basic {
            username: SecretSource::Inline(username),
            password: SecretSource::Inline(password),
        }) => (
            Some(Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            None,
        ),
        Some(ClientAuth::Basic { username, password }) => (
            None,
            Some(Arc::new(FileCredentials::Basic {
                username: username.clone(),
                password: password.clone(),
            })),
        ),
        Some(ClientAuth::Authorization {
            scheme,
            credentials: SecretSource::Inline(credentials),
        }) => (
            Some(Auth::Authorization {
                scheme: scheme.clone(),
                credentials: credentials.clone(),
            }),
            None,
        ),
        Some(ClientAuth::Authorization {
            scheme,
            credentials,
        }) => (
            None,
            Some(Arc::new(FileCredentials::Scheme {
                scheme: scheme.clone(),
                credentials: credentials.clone(),
            })),
        ),
        Some(ClientAuth::OAuth2(settings)) => (
            None,
            Some(Arc::new(
                OAuth2Decorator::new(settings.as_ref().clone()).map_err(tls)?,
            )),
        ),
        Some(ClientAuth::SigV4(settings)) => (
            None,
            Some(Arc::new(
                SigV4Decorator::new(settings.as_ref().clone()).map_err(tls)?,
            )),
        ),
    })
}
