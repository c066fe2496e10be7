//! From a validated `remote_write` stanza ([`config::Destination`]) to what the send side
//! runs: [`DestinationOptions`] and an [`HttpTransport`] ([`sender_parts`]).
//!
//! Invariants: nothing here re-validates: the config layer already built the request headers
//! (custom headers and the fixed `Authorization` of inline credentials) and the backoff,
//! read the PEM files and built the TLS client once, checked the credentials files, and
//! parsed the proxy settings; they are carried as they are. Credentials files, `oauth2` and
//! `sigv4` become the destination's request decorator (files read per request, tokens
//! cached, requests signed), also used for redirect hops by the transport.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prw_core::Protocol;

use crate::config::http_client::ClientAuth;
use crate::config::{self, ProtobufMessage};
use crate::queue::{BatchSettings, DestinationOptions, PROGRESS_SAVE_INTERVAL, QueueSettings};
use crate::send::auth::credentials_file::FileCredentials;
use crate::send::auth::oauth2::{OAuth2Decorator, RevokeOnUnauthorized};
use crate::send::auth::sigv4::SigV4Decorator;
use crate::send::{
    HopDecorator, HttpTransport, RequestDecorator, RetryPolicy, TlsError, Transport,
};

/// Why a destination's settings could not be turned into a running sender.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// TLS settings refused (the config layer built the same client at load, so only TLS
    /// material changed since can get here).
    #[error("destination {name}: {source}")]
    Tls {
        /// Destination.
        name: String,
        /// The error.
        source: TlsError,
    },
}

/// The send-side options of `destination` and its transport, sharing one request decorator
/// (the retry loop finishes the first hop with it, the transport redirect hops; for OAuth2
/// the transport revokes the token a 401 answered).
pub fn sender_parts(
    destination: &config::Destination,
) -> Result<(DestinationOptions, Arc<dyn Transport>), OptionsError> {
    let decorators = Decorators::new(destination)?;
    let transport = http_transport(destination, &decorators)?;
    Ok((
        destination_options(destination, decorators.request),
        transport,
    ))
}

/// The send-side options of `destination` (`decorator`: its request decorator).
fn destination_options(
    destination: &config::Destination,
    decorator: Option<Decorator>,
) -> DestinationOptions {
    let name = destination.name.clone();
    let q = &destination.queue;
    let queue = QueueSettings {
        capacity: q.capacity,
        min_shards: q.min_shards,
        max_shards: q.max_shards,
        batch: BatchSettings {
            max_samples_per_send: u64::try_from(q.max_samples_per_send).unwrap_or(u64::MAX),
            batch_send_deadline: q.batch_send_deadline,
        },
        retry: RetryPolicy {
            backoff: q.backoff,
            retry_on_http_429: q.retry_on_http_429,
            sample_age_limit: q.sample_age_limit,
        },
        dynamic_resharding: q.min_shards != q.max_shards,
        progress_save_interval: PROGRESS_SAVE_INTERVAL,
    };
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    DestinationOptions {
        name: name.clone(),
        url: destination.url.clone(),
        protocol: match destination.protobuf_message {
            ProtobufMessage::V1 => Protocol::V1,
            ProtobufMessage::V2 => Protocol::V2,
        },
        queue,
        headers: destination.headers.clone(),
        jitter_seed: Some(seed ^ prw_core::hash::label_set_hash([("name", name.as_str())])),
        v2_encoder: None,
        decorator,
        observers: Vec::new(),
    }
}

/// A destination's request decorator.
type Decorator = Arc<dyn RequestDecorator>;

/// The per-request auth of a destination, built once and shared by the retry loop (first
/// hop) and the transport (redirect hops, and the OAuth2 401 bookkeeping).
#[derive(Debug, Clone, Default)]
struct Decorators {
    /// Finishes every attempt (credentials files, `oauth2`, `sigv4`); `None` for none or
    /// inline credentials (already in the request headers).
    request: Option<Decorator>,
    oauth2: Option<Arc<OAuth2Decorator>>,
}

impl Decorators {
    /// The decorators of `destination`.
    fn new(destination: &config::Destination) -> Result<Self, OptionsError> {
        let tls = |source| OptionsError::Tls {
            name: destination.name.clone(),
            source,
        };
        Ok(match &destination.auth {
            None | Some(ClientAuth::Fixed(_)) => Decorators::default(),
            Some(ClientAuth::Basic { username, password }) => Decorators {
                request: Some(Arc::new(FileCredentials::Basic {
                    username: username.clone(),
                    password: password.clone(),
                })),
                oauth2: None,
            },
            Some(ClientAuth::Authorization {
                scheme,
                credentials,
            }) => Decorators {
                request: Some(Arc::new(FileCredentials::Scheme {
                    scheme: scheme.clone(),
                    credentials: credentials.clone(),
                })),
                oauth2: None,
            },
            Some(ClientAuth::OAuth2(settings)) => {
                let oauth2 =
                    Arc::new(OAuth2Decorator::new(settings.as_ref().clone()).map_err(tls)?);
                Decorators {
                    request: Some(Arc::clone(&oauth2) as Decorator),
                    oauth2: Some(oauth2),
                }
            }
            Some(ClientAuth::SigV4(settings)) => Decorators {
                request: Some(Arc::new(
                    SigV4Decorator::new(settings.as_ref().clone()).map_err(tls)?,
                )),
                oauth2: None,
            },
        })
    }
}

/// The HTTP transport of `destination` (`remote_timeout`, `tls_config`, proxies,
/// `follow_redirects`, `enable_http2`), built from settings validated at load; redirect hops
/// are finished by `decorators`, and for OAuth2 a 401 revokes the token the request carried.
fn http_transport(
    destination: &config::Destination,
    decorators: &Decorators,
) -> Result<Arc<dyn Transport>, OptionsError> {
    let mut transport =
        HttpTransport::new(&destination.client).map_err(|source| OptionsError::Tls {
            name: destination.name.clone(),
            source,
        })?;
    if let Some(decorator) = &decorators.request {
        transport = transport.with_hop_decorator(HopDecorator {
            decorator: Arc::clone(decorator),
            cross_site: matches!(destination.auth, Some(ClientAuth::SigV4(_))),
        });
    }
    Ok(match &decorators.oauth2 {
        Some(oauth2) => Arc::new(RevokeOnUnauthorized::new(
            Arc::new(transport),
            Arc::clone(oauth2),
        )),
        None => Arc::new(transport),
    })
}
