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
//! - prw extension: a 401 from the destination drops the cached token and asks the retry loop
//!   to resend the batch once at once ([`AfterAnswer::ResendNow`]) with a fresh token
//!   (Go's transport would send the next batch with the same token until it expires);
//! - a token endpoint that is down or refuses is a [`DecorateError`]: the batch is retried
//!   with backoff, never dropped.
//!
//! Invariant: at most one token request is in flight per destination (the shards wait for
//! it and share the token).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hyper::http::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::http::{HeaderMap, HeaderValue, Uri};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::secret::SecretSource;
use crate::send::decorate::{AfterAnswer, DecorateError, DecorateFuture, RequestDecorator};
use crate::send::http::{ClientSettings, HttpTransport};
use crate::send::tls::TlsError;
use crate::send::transport::{OutgoingRequest, Response};

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
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|_| FetchError::Failed(DecorateError::new("oauth2: bad client_id")))?;
            value.set_sensitive(true);
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
    let mut authorization = HeaderValue::from_str(&format!("{kind} {access}"))
        .map_err(|_| failed("the access token is not a valid header value"))?;
    authorization.set_sensitive(true);
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
        if status != 401 {
            return AfterAnswer::Proceed;
        }
        // Drop the token so the resend fetches a new one. Another shard may hold the lock
        // while fetching; its fresh token is then kept.
        if let Ok(mut state) = self.state.try_lock() {
            state.token = None;
        }
        AfterAnswer::ResendNow
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
