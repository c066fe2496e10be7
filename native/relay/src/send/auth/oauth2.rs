//! `oauth2` (client credentials grant, RFC 6749 4.4) as a [`RequestDecorator`], with the
//! behaviour of Prometheus's `common/config` (built on `golang.org/x/oauth2`):
//!
//! - the token is fetched from `token_url` with `grant_type=client_credentials`, `scope`
//!   (the scopes joined by spaces) and `endpoint_params`; the client authenticates with HTTP
//!   Basic (`client_id`/`client_secret`, URL-encoded), and if the endpoint refuses that, once
//!   more with the credentials in the form body, remembering what worked (Go's
//!   `AuthStyleAutoDetect`);
//! - the token is cached and reused until 10 s before its `expires_in` (Go's
//!   `expiryDelta`); a token without `expires_in` is reused until a 401;
//! - `Authorization: <token_type> <access_token>` (`bearer` written `Bearer`, as Go does);
//! - `client_secret_file` is read for every token request, so a rotated secret is used
//!   without a reload;
//! - prw extension: a 401 from the destination revokes the token that request carried and
//!   asks the retry loop to resend the batch once at once ([`AfterAnswer::ResendNow`]) with a
//!   fresh token (Go's transport would send the next batch with the same token until it
//!   expires). The revocation is done by [`RevokeOnUnauthorized`], the transport wrapper that
//!   sees both the request's `Authorization` and the answer: it waits for the token lock
//!   (never skips), and drops the cached token only when it is the one the 401 answered, so a
//!   newer token another shard fetched meanwhile is kept and a stale one never survives;
//! - a token endpoint that is down or refuses is a [`DecorateError`]: the batch is retried
//!   with backoff, never dropped.
//!
//! Invariant: at most one token request is in flight per destination (the shards wait for
//! it and share the token).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use hyper::http::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::http::{HeaderMap, HeaderValue, Uri};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::authorization;
use super::secret::SecretSource;
use crate::send::decorate::{AfterAnswer, DecorateError, DecorateFuture, RequestDecorator};
use crate::send::http::{ClientSettings, HttpTransport};
use crate::send::tls::TlsError;
use crate::send::transport::{OutgoingRequest, Response, Transport, TransportFuture};

/// A token is renewed this long before it expires (`golang.org/x/oauth2`'s `expiryDelta`).
pub const EXPIRY_DELTA: Duration = Duration::from_secs(10);

/// The largest token endpoint answer read.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// Validated `oauth2` settings.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2Settings {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` or `client_secret_file`.
    pub client_secret: SecretSource,
    /// `scopes`.
    pub scopes: Vec<String>,
    /// `token_url`.
    pub token_url: Uri,
    /// `endpoint_params`: extra form fields of the token request.
    pub endpoint_params: BTreeMap<String, String>,
    /// The token endpoint's client (`tls_config`, proxy keys of the `oauth2` block).
    pub client: ClientSettings,
}

impl fmt::Debug for OAuth2Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scopes", &self.scopes)
            .field("token_url", &self.token_url)
            .field("endpoint_params", &self.endpoint_params.keys())
            .field("client", &self.client)
            .finish()
    }
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStyle {
    /// Not known yet: try the header, then the body.
    Unknown,
    /// HTTP Basic.
    Header,
    /// `client_id`/`client_secret` form fields.
    Params,
}

#[derive(Clone)]
struct Token {
    authorization: HeaderValue,
    /// `None`: no `expires_in` given.
    renew_at: Option<Instant>,
}

struct State {
    token: Option<Token>,
    style: AuthStyle,
}

/// Adds an OAuth2 bearer token to every request of one destination.
pub struct OAuth2Decorator {
    settings: OAuth2Settings,
    transport: HttpTransport,
    state: Mutex<State>,
}

impl fmt::Debug for OAuth2Decorator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Decorator")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A token endpoint answer that is not a token.
#[derive(Debug, thiserror::Error)]
#[error("token endpoint answered {status}: {body}")]
struct TokenRefused {
    status: u16,
    body: String,
}

impl OAuth2Decorator {
    /// A decorator for `settings` (its client built once; fails only on TLS material).
    pub fn new(settings: OAuth2Settings) -> Result<Self, TlsError> {
        let transport = HttpTransport::new(&settings.client)?;
        Ok(OAuth2Decorator {
            settings,
            transport,
            state: Mutex::new(State {
                token: None,
                style: AuthStyle::Unknown,
            }),
        })
    }

    /// The `Authorization` value to send now, fetching a token when needed.
    async fn authorization(&self) -> Result<HeaderValue, DecorateError> {
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && token.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.authorization.clone());
        }
        state.token = None;
        let secret = self.settings.client_secret.read().map_err(|e| {
            DecorateError::with_source("oauth2: reading client_secret_file failed", e)
        })?;
        let styles: &[AuthStyle] = match state.style {
            AuthStyle::Unknown => &[AuthStyle::Header, AuthStyle::Params],
            AuthStyle::Header => &[AuthStyle::Header],
            AuthStyle::Params => &[AuthStyle::Params],
        };
        let mut last_error = None;
        for &style in styles {
            match self.fetch(style, &secret).await {
                Ok(token) => {
                    state.style = style;
                    state.token = Some(token.clone());
                    return Ok(token.authorization);
                }
                // Go retries with the other style only when the endpoint refused the first.
                Err(FetchError::Refused(refused)) => last_error = Some(refused),
                Err(FetchError::Failed(error)) => return Err(error),
            }
        }
        Err(DecorateError::with_source(
            format!(
                "oauth2: cannot fetch a token from {}",
                self.settings.token_url
            ),
            last_error.map_or_else(
                || "no authentication style left".to_owned(),
                |e| e.to_string(),
            ),
        ))
    }

    /// The token request's form body.
    fn form(&self, style: AuthStyle, secret: &str) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if !self.settings.scopes.is_empty() {
            form.append_pair("scope", &self.settings.scopes.join(" "));
        }
        for (name, value) in &self.settings.endpoint_params {
            form.append_pair(name, value);
        }
        if style == AuthStyle::Params {
            form.append_pair("client_id", &self.settings.client_id);
            if !secret.is_empty() {
                form.append_pair("client_secret", secret);
            }
        }
        form.finish()
    }

    async fn fetch(&self, style: AuthStyle, secret: &str) -> Result<Token, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            hyper::http::header::USER_AGENT,
            HeaderValue::from_static(crate::send::headers::USER_AGENT),
        );
        if style != AuthStyle::Params {
            let escape = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            let user: String = escape(&self.settings.client_id);
            let password: String = escape(secret);
            let value = authorization::basic(&user, &password)
                .map_err(|_| FetchError::Failed(DecorateError::new("oauth2: bad client_id")))?;
            headers.insert(AUTHORIZATION, value);
        }
        let request = OutgoingRequest {
            url: self.settings.token_url.clone(),
            headers,
            body: Bytes::from(self.form(style, secret)),
        };
        let answer = self
            .transport
            .post(request, TOKEN_BODY_LIMIT)
            .await
            .map_err(|e| {
                FetchError::Failed(DecorateError::with_source(
                    format!(
                        "oauth2: token endpoint {} unreachable",
                        self.settings.token_url
                    ),
                    e,
                ))
            })?;
        parse_token(&answer, Instant::now())
    }
}

enum FetchError {
    /// The endpoint answered, but not with a token (another auth style may work).
    Refused(TokenRefused),
    /// No answer, or an unusable one.
    Failed(DecorateError),
}

/// A token from a token endpoint's answer, renewed [`EXPIRY_DELTA`] before it expires.
fn parse_token(answer: &Response, now: Instant) -> Result<Token, FetchError> {
    let body = String::from_utf8_lossy(&answer.body_prefix).into_owned();
    if !(200..300).contains(&answer.status) {
        return Err(FetchError::Refused(TokenRefused {
            status: answer.status,
            body,
        }));
    }
    let failed = |what: &str| FetchError::Failed(DecorateError::new(format!("oauth2: {what}")));
    let json: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| failed("the token endpoint's answer is not JSON"))?;
    let access = json
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| failed("server response missing access_token"))?;
    let kind = json
        .get("token_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let kind = match kind.to_ascii_lowercase().as_str() {
        "" | "bearer" => "Bearer".to_owned(),
        "mac" => "MAC".to_owned(),
        "basic" => "Basic".to_owned(),
        _ => kind.to_owned(),
    };
    let expires_in = match json.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|secs| *secs > 0);
    let authorization = authorization::scheme(&kind, access)
        .map_err(|_| failed("the access token is not a valid header value"))?;
    Ok(Token {
        authorization,
        renew_at: expires_in
            .map(|secs| now + Duration::from_secs(secs).saturating_sub(EXPIRY_DELTA)),
    })
}

impl RequestDecorator for OAuth2Decorator {
    fn decorate<'a>(&'a self, request: &'a mut OutgoingRequest) -> DecorateFuture<'a> {
        Box::pin(async move {
            let value = self.authorization().await?;
            request.headers.insert(AUTHORIZATION, value);
            Ok(())
        })
    }

    fn after_answer(&self, status: u16) -> AfterAnswer {
        // The token was revoked by [`RevokeOnUnauthorized`] before the answer got here.
        if status == 401 {
            AfterAnswer::ResendNow
        } else {
            AfterAnswer::Proceed
        }
    }
}

impl OAuth2Decorator {
    /// A 401 answered a request that carried `sent`: drop the cached token if it is that one.
    /// Waits for the lock (a shard reading or fetching the token holds it briefly); a token
    /// fetched since is kept.
    pub async fn revoke(&self, sent: &HeaderValue) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|token| token.authorization == sent)
        {
            state.token = None;
        }
    }
}

/// The transport of an OAuth2 destination: on a 401, revokes the token the request carried
/// (see the module docs) before the answer goes back to the retry loop.
#[derive(Debug)]
pub struct RevokeOnUnauthorized {
    inner: Arc<dyn Transport>,
    oauth2: Arc<OAuth2Decorator>,
}

impl RevokeOnUnauthorized {
    /// Wraps `inner`; `oauth2` is the destination's decorator (the retry loop's).
    pub fn new(inner: Arc<dyn Transport>, oauth2: Arc<OAuth2Decorator>) -> Self {
        RevokeOnUnauthorized { inner, oauth2 }
    }
}

impl Transport for RevokeOnUnauthorized {
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let sent = request.headers.get(AUTHORIZATION).cloned();
            let answer = self.inner.send(request).await;
            if let (Ok(response), Some(sent)) = (&answer, &sent)
                && response.status == 401
            {
                self.oauth2.revoke(sent).await;
            }
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body_prefix: Bytes::from(body.to_owned()),
        }
    }

    fn token(body: &str, now: Instant) -> Token {
        match parse_token(&answer(200, body), now) {
            Ok(token) => token,
            Err(_) => panic!("not a token: {body}"),
        }
    }

    #[test]
    fn token_type_and_expiry_follow_go() {
        let now = Instant::now();
        let t = token(
            r#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#,
            now,
        );
        assert_eq!(t.authorization, "Bearer abc");
        assert_eq!(t.renew_at, Some(now + Duration::from_secs(3590)));
        let t = token(r#"{"access_token":"abc","expires_in":"60"}"#, now);
        assert_eq!(t.renew_at, Some(now + Duration::from_secs(50)));
        let t = token(r#"{"access_token":"abc","token_type":"MAC"}"#, now);
        assert_eq!(t.authorization, "MAC abc");
        assert_eq!(t.renew_at, None);
    }

    #[test]
    fn refusals_and_bad_answers_are_errors() {
        let now = Instant::now();
        assert!(matches!(
            parse_token(&answer(401, "no"), now),
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            parse_token(&answer(200, "{}"), now),
            Err(FetchError::Failed(_))
        ));
        assert!(matches!(
            parse_token(&answer(200, "<html>"), now),
            Err(FetchError::Failed(_))
        ));
    }

    fn decorator() -> Arc<OAuth2Decorator> {
        Arc::new(
            OAuth2Decorator::new(OAuth2Settings {
                client_id: "id".into(),
                client_secret: SecretSource::Inline("s".into()),
                scopes: vec![],
                token_url: "http://127.0.0.1:1/token".parse().unwrap(),
                endpoint_params: BTreeMap::new(),
                client: ClientSettings::default(),
            })
            .unwrap(),
        )
    }

    async fn cache(decorator: &OAuth2Decorator, value: &'static str) {
        decorator.state.lock().await.token = Some(Token {
            authorization: HeaderValue::from_static(value),
            renew_at: None,
        });
    }

    async fn cached(decorator: &OAuth2Decorator) -> Option<HeaderValue> {
        decorator
            .state
            .lock()
            .await
            .token
            .as_ref()
            .map(|t| t.authorization.clone())
    }

    #[tokio::test]
    async fn a_401_revokes_its_token_even_while_another_shard_holds_the_lock() {
        let d = decorator();
        cache(&d, "Bearer t1").await;
        // Another shard is reading the cached token (the old code's try_lock failed here
        // and kept the stale token).
        let held = d.state.lock().await;
        let revoking = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.revoke(&HeaderValue::from_static("Bearer t1")).await }
        });
        tokio::task::yield_now().await;
        assert!(!revoking.is_finished(), "revoke must wait for the lock");
        drop(held);
        revoking.await.unwrap();
        assert_eq!(cached(&d).await, None);
    }

    #[tokio::test]
    async fn a_401_for_an_older_token_keeps_the_newer_one() {
        let d = decorator();
        cache(&d, "Bearer t2").await;
        d.revoke(&HeaderValue::from_static("Bearer t1")).await;
        assert_eq!(cached(&d).await.unwrap(), "Bearer t2");
    }

    /// Answers every request with one status.
    #[derive(Debug)]
    struct Answers(u16);

    impl Transport for Answers {
        fn send(&self, _request: OutgoingRequest) -> TransportFuture<'_> {
            let status = self.0;
            Box::pin(async move { Ok(answer(status, "")) })
        }
    }

    #[tokio::test]
    async fn the_transport_revokes_the_token_a_401_answered_and_only_then() {
        let d = decorator();
        let request = |token: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(token));
            OutgoingRequest {
                url: "http://receiver.test/".parse().unwrap(),
                headers,
                body: Bytes::new(),
            }
        };
        cache(&d, "Bearer t1").await;
        let ok = RevokeOnUnauthorized::new(Arc::new(Answers(500)), Arc::clone(&d));
        assert_eq!(ok.send(request("Bearer t1")).await.unwrap().status, 500);
        assert_eq!(cached(&d).await.unwrap(), "Bearer t1");
        let refused = RevokeOnUnauthorized::new(Arc::new(Answers(401)), Arc::clone(&d));
        assert_eq!(
            refused.send(request("Bearer t1")).await.unwrap().status,
            401
        );
        assert_eq!(cached(&d).await, None);
        assert_eq!(d.after_answer(401), AfterAnswer::ResendNow);
        assert_eq!(d.after_answer(503), AfterAnswer::Proceed);
    }

    #[test]
    fn debug_hides_the_secret_and_params() {
        let settings = OAuth2Settings {
            client_id: "id".into(),
            client_secret: SecretSource::Inline("hunter2".into()),
            scopes: vec![],
            token_url: "http://t/".parse().unwrap(),
            endpoint_params: BTreeMap::from([("audience".into(), "secret-ish".into())]),
            client: ClientSettings::default(),
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("secret-ish"),
            "{shown}"
        );
    }
}
