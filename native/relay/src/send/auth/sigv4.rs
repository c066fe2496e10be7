//! `sigv4` (Amazon Managed Service for Prometheus and other AWS endpoints) as a
//! [`RequestDecorator`]: every request is signed with AWS Signature Version 4 (the
//! `aws-sigv4` crate) for service `aps` (or `service_name`), over its final headers and the
//! SHA-256 of its final body, as Prometheus's `sigv4` round tripper does.
//!
//! - Credentials and region are resolved at load ([`super::aws_credentials`]).
//! - `role_arn`: the relay calls STS `AssumeRole` (signed with those credentials; `external_id`
//!   passed on) and signs with the temporary credentials, renewed 5 minutes before the
//!   15 minutes they are asked for run out (the Go SDK's default duration). The STS endpoint
//!   is `https://sts.<region>.amazonaws.com` (`sts-fips` with `use_fips_sts_endpoint`),
//!   overridden by `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` as in the AWS SDKs. STS down
//!   or refusing is a [`DecorateError`]: retried with backoff, never a drop.
//! - `Host` is set from the URL before signing (so the signed host is the one sent), and the
//!   request's `User-Agent` is not signed (`aws-sigv4`'s default exclusions).
//! - Every redirect hop is signed again for its own URL (the transport's hop decorator).

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use hyper::http::header::{CONTENT_TYPE, HOST};
use hyper::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::aws_credentials::AwsCredentials;
use crate::send::decorate::{DecorateError, DecorateFuture, RequestDecorator};
use crate::send::http::{ClientSettings, HttpTransport};
use crate::send::tls::TlsError;
use crate::send::transport::OutgoingRequest;

/// How long assumed-role credentials are asked for (the Go SDK's `stscreds` default).
pub const ASSUMED_ROLE_DURATION: Duration = Duration::from_secs(15 * 60);
/// Assumed-role credentials are renewed this long before they expire.
pub const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// `sigv4` with `role_arn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRole {
    /// `role_arn`.
    pub role_arn: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// The STS endpoint (default or overridden).
    pub sts_endpoint: Uri,
    /// The STS client (default TLS, proxy from the environment, like the SDK's).
    pub client: ClientSettings,
}

/// Validated `sigv4` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV4Settings {
    /// Region signed for.
    pub region: String,
    /// Service signed for (`aps` by default).
    pub service: String,
    /// The resolved base credentials.
    pub credentials: AwsCredentials,
    /// `role_arn` (and `external_id`), when set.
    pub assume_role: Option<AssumeRole>,
}

/// The STS endpoint for `region`, as the AWS SDK picks it.
pub fn sts_endpoint(
    region: &str,
    fips: bool,
    env: &dyn crate::environment::Environment,
) -> Option<Uri> {
    let configured = ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| env.var(name).filter(|v| !v.is_empty()));
    let text = configured.unwrap_or_else(|| {
        let host = if fips { "sts-fips" } else { "sts" };
        format!("https://{host}.{region}.amazonaws.com/")
    });
    text.parse().ok().filter(|u: &Uri| u.host().is_some())
}

struct Cached {
    credentials: AwsCredentials,
    renew_at: Instant,
}

/// Signs every request of one destination.
pub struct SigV4Decorator {
    settings: SigV4Settings,
    sts: Option<HttpTransport>,
    assumed: Mutex<Option<Cached>>,
}

impl fmt::Debug for SigV4Decorator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4Decorator")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn signing_error(what: &str, err: impl Into<crate::send::transport::BoxError>) -> DecorateError {
    DecorateError::with_source(format!("sigv4: {what}"), err)
}

/// Signs `request` (method `method`) with `credentials`, replacing any earlier signature.
fn sign_request(
    request: &mut OutgoingRequest,
    method: &str,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), DecorateError> {
    for stale in [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ] {
        request.headers.remove(stale);
    }
    let authority = request
        .url
        .authority()
        .ok_or_else(|| DecorateError::new("sigv4: the URL has no host"))?;
    let host =
        HeaderValue::from_str(authority.as_str()).map_err(|e| signing_error("bad host", e))?;
    request.headers.insert(HOST, host);
    let identity = Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        credentials.session_token.clone(),
        None,
        "prw-relay",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing_error("signing parameters", e))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let url = request.url.to_string();
    let signable = SignableRequest::new(
        method,
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| signing_error("request not signable", e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| signing_error("signing failed", e))?
        .into_parts();
    let (signed, _query) = instructions.into_parts();
    for header in signed {
        let name = HeaderName::from_bytes(header.name().as_bytes())
            .map_err(|e| signing_error("signed header name", e))?;
        let mut value =
            HeaderValue::from_str(header.value()).map_err(|e| signing_error("signed header", e))?;
        value.set_sensitive(header.sensitive());
        request.headers.insert(name, value);
    }
    Ok(())
}

impl SigV4Decorator {
    /// A decorator for `settings` (the STS client is built once; fails only on TLS).
    pub fn new(settings: SigV4Settings) -> Result<Self, TlsError> {
        let sts = settings
            .assume_role
            .as_ref()
            .map(|role| HttpTransport::new(&role.client))
            .transpose()?;
        Ok(SigV4Decorator {
            settings,
            sts,
            assumed: Mutex::new(None),
        })
    }

    /// The credentials to sign with now.
    async fn credentials(&self) -> Result<AwsCredentials, DecorateError> {
        let (Some(role), Some(sts)) = (&self.settings.assume_role, &self.sts) else {
            return Ok(self.settings.credentials.clone());
        };
        let mut cached = self.assumed.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.credentials.clone());
        }
        let credentials = self.assume_role(role, sts).await?;
        *cached = Some(Cached {
            credentials: credentials.clone(),
            renew_at: Instant::now() + ASSUMED_ROLE_DURATION.saturating_sub(RENEW_BEFORE),
        });
        Ok(credentials)
    }

    async fn assume_role(
        &self,
        role: &AssumeRole,
        sts: &HttpTransport,
    ) -> Result<AwsCredentials, DecorateError> {
        let session = format!(
            "prw-relay-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", "AssumeRole")
                .append_pair("Version", "2011-06-15")
                .append_pair("RoleArn", &role.role_arn)
                .append_pair("RoleSessionName", &session)
                .append_pair(
                    "DurationSeconds",
                    &ASSUMED_ROLE_DURATION.as_secs().to_string(),
                );
            if let Some(external_id) = &role.external_id {
                form.append_pair("ExternalId", external_id);
            }
            form.finish()
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let mut request = OutgoingRequest {
            url: role.sts_endpoint.clone(),
            headers,
            body: Bytes::from(form),
        };
        sign_request(
            &mut request,
            "POST",
            &self.settings.credentials,
            &self.settings.region,
            "sts",
            SystemTime::now(),
        )?;
        let answer = sts
            .post(request, 64 * 1024)
            .await
            .map_err(|e| signing_error("STS AssumeRole unreachable", e))?;
        let body = String::from_utf8_lossy(&answer.body_prefix);
        if !(200..300).contains(&answer.status) {
            return Err(DecorateError::new(format!(
                "sigv4: STS AssumeRole for {} answered {}: {}",
                role.role_arn, answer.status, body
            )));
        }
        parse_assume_role(&body).ok_or_else(|| {
            DecorateError::new("sigv4: the STS AssumeRole answer holds no credentials")
        })
    }
}

/// The text of the first `<tag>...</tag>` in `xml`, with XML's predefined entities decoded.
fn element<'a>(xml: &'a str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let rest: &'a str = xml.get(start..)?;
    let text = rest.get(..rest.find(&close)?)?;
    Some(
        text.trim()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The credentials of an STS `AssumeRoleResponse` (hand-read: three elements of a fixed,
/// documented answer do not justify an XML parser dependency).
fn parse_assume_role(xml: &str) -> Option<AwsCredentials> {
    let credentials = element(xml, "Credentials")?;
    Some(AwsCredentials {
        access_key_id: element(&credentials, "AccessKeyId")?,
        secret_access_key: element(&credentials, "SecretAccessKey")?,
        session_token: element(&credentials, "SessionToken"),
    })
}

impl RequestDecorator for SigV4Decorator {
    fn decorate<'a>(&'a self, request: &'a mut OutgoingRequest) -> DecorateFuture<'a> {
        Box::pin(async move {
            let credentials = self.credentials().await?;
            // A redirect that became a GET has no body: sign what is sent.
            let method = if request.body.is_empty() && !request.headers.contains_key(CONTENT_TYPE) {
                "GET"
            } else {
                "POST"
            };
            sign_request(
                request,
                method,
                &credentials,
                &self.settings.region,
                &self.settings.service,
                SystemTime::now(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// AWS's published SigV4 test suite, case `post-x-www-form-urlencoded`: the signature
    /// below is AWS's, not computed by this code.
    #[test]
    fn matches_the_aws_test_suite() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let mut request = OutgoingRequest {
            url: "https://example.amazonaws.com/".parse().unwrap(),
            headers,
            body: Bytes::from_static(b"Param1=value1"),
        };
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
        sign_request(
            &mut request,
            "POST",
            &credentials(),
            "us-east-1",
            "service",
            time,
        )
        .unwrap();
        assert_eq!(
            request.headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
        assert_eq!(request.headers["x-amz-date"], "20150830T123600Z");
    }

    #[test]
    fn a_session_token_is_sent_and_signed_and_old_signatures_replaced() {
        let mut request = OutgoingRequest {
            url: "http://127.0.0.1:9090/api/v1/write".parse().unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"x"),
        };
        request
            .headers
            .insert("authorization", HeaderValue::from_static("stale"));
        let mut creds = credentials();
        creds.session_token = Some("TOKEN".into());
        sign_request(
            &mut request,
            "POST",
            &creds,
            "us-east-1",
            "aps",
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(request.headers["x-amz-security-token"], "TOKEN");
        assert_eq!(request.headers["host"], "127.0.0.1:9090");
        let auth = request.headers["authorization"].to_str().unwrap();
        assert!(auth.contains("/us-east-1/aps/aws4_request"), "{auth}");
        assert!(auth.contains("x-amz-security-token"), "{auth}");
    }

    #[test]
    fn reads_the_assume_role_answer() {
        let xml = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s/e+c</SecretAccessKey><SessionToken>t&amp;k</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        let c = parse_assume_role(xml).unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.secret_access_key, "s/e+c");
        assert_eq!(c.session_token.as_deref(), Some("t&k"));
        assert_eq!(parse_assume_role("<Error/>"), None);
    }

    #[test]
    fn sts_endpoint_is_regional_and_overridable() {
        use crate::environment::MapEnvironment;
        let none = MapEnvironment::default();
        assert_eq!(
            sts_endpoint("eu-west-1", false, &none).unwrap(),
            "https://sts.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            sts_endpoint("eu-west-1", true, &none).unwrap(),
            "https://sts-fips.eu-west-1.amazonaws.com/"
        );
        let local = MapEnvironment::from_pairs([("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1/")]);
        assert_eq!(
            sts_endpoint("eu-west-1", false, &local).unwrap(),
            "http://127.0.0.1:1/"
        );
    }
}
