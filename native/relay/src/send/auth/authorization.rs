//! Building `Authorization`-style header values (`Basic base64(user:password)`,
//! `<scheme> <credentials>`), the one place that encodes credentials into a header: for inline
//! credentials at load, credentials files per request, the URL's and the proxy URL's user
//! info, and the OAuth2 client's own Basic authentication.
//!
//! Invariant: every value returned is marked sensitive (`HeaderValue::set_sensitive`), so
//! `Debug` shows `Sensitive` and HTTP/2 never indexes it.

use base64::Engine;
use hyper::http::HeaderValue;

/// The credentials hold a character HTTP headers do not allow (a control character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the credentials contain characters not allowed in an HTTP header (control characters)")]
pub struct InvalidCredentials;

/// `Basic base64(username:password)`.
pub fn basic(username: &str, password: &str) -> Result<HeaderValue, InvalidCredentials> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    sensitive(&format!("Basic {token}"))
}

/// `<scheme> <credentials>`.
pub fn scheme(scheme: &str, credentials: &str) -> Result<HeaderValue, InvalidCredentials> {
    sensitive(&format!("{scheme} {credentials}"))
}

fn sensitive(text: &str) -> Result<HeaderValue, InvalidCredentials> {
    let mut value = HeaderValue::from_str(text).map_err(|_| InvalidCredentials)?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_base64_of_user_colon_password_and_sensitive() {
        let value = basic("Aladdin", "open sesame").unwrap();
        assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(scheme("Bearer", "a\nb"), Err(InvalidCredentials));
        assert_eq!(scheme("Bearer", "tok").unwrap(), "Bearer tok");
        // Basic encodes, so any text is fine there.
        assert!(basic("u\n", "p\r").is_ok());
    }
}
