//! `basic_auth` with `username_file`/`password_file`, and `authorization` (or
//! `bearer_token_file`) with `credentials_file`: the files are read for every request, as
//! Prometheus's round trippers do, so a rotated secret is used at once. A file that cannot be
//! read is a [`DecorateError`] (retried with backoff, never a drop).

use hyper::http::HeaderValue;
use hyper::http::header::AUTHORIZATION;

use super::authorization;
use super::secret::SecretSource;
use crate::send::decorate::{DecorateError, DecorateFuture, RequestDecorator};
use crate::send::transport::OutgoingRequest;

/// Which `Authorization` to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCredentials {
    /// `Basic base64(username:password)`.
    Basic {
        /// User name.
        username: SecretSource,
        /// Password.
        password: SecretSource,
    },
    /// `<scheme> <credentials>`.
    Scheme {
        /// `Bearer` by default.
        scheme: String,
        /// The credentials.
        credentials: SecretSource,
    },
}

async fn read(source: &SecretSource) -> Result<String, DecorateError> {
    match source {
        SecretSource::Inline(value) => Ok(value.clone()),
        SecretSource::File(path) => tokio::fs::read_to_string(path)
            .await
            .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| {
                DecorateError::with_source(format!("reading {} failed", path.display()), e)
            }),
    }
}

impl FileCredentials {
    /// The `Authorization` value now.
    pub async fn authorization(&self) -> Result<HeaderValue, DecorateError> {
        match self {
            FileCredentials::Basic { username, password } => {
                authorization::basic(&read(username).await?, &read(password).await?)
            }
            FileCredentials::Scheme {
                scheme,
                credentials,
            } => authorization::scheme(scheme, &read(credentials).await?),
        }
        .map_err(|_| DecorateError::new("credentials file content is not a valid header value"))
    }
}

impl RequestDecorator for FileCredentials {
    fn decorate<'a>(&'a self, request: &'a mut OutgoingRequest) -> DecorateFuture<'a> {
        Box::pin(async move {
            let value = self.authorization().await?;
            request.headers.insert(AUTHORIZATION, value);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_is_read_for_every_request() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "one\n").unwrap();
        let auth = FileCredentials::Scheme {
            scheme: "Bearer".into(),
            credentials: SecretSource::File(file.clone()),
        };
        assert_eq!(auth.authorization().await.unwrap(), "Bearer one");
        std::fs::write(&file, "two").unwrap();
        assert_eq!(auth.authorization().await.unwrap(), "Bearer two");
        std::fs::remove_file(&file).unwrap();
        assert!(auth.authorization().await.is_err());
        let basic = FileCredentials::Basic {
            username: SecretSource::Inline("Aladdin".into()),
            password: SecretSource::Inline("open sesame".into()),
        };
        assert_eq!(
            basic.authorization().await.unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
