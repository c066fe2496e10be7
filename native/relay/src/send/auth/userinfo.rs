//! The user info of a URL (`https://user:password@host/`): taken off the destination's and the
//! proxy's URL at load, where it becomes Basic credentials as Go's `net/http` sends it, and
//! redacted from every URL that is printed (Go's `URL.Redacted`: the password becomes
//! `xxxxx`).
//!
//! Invariant: [`split`] returns the URL without any user info, so a URL that went through it
//! can be logged, summarised and used as a metric label as is.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Credentials from a URL, `%XX`-decoded as Go's `url.Userinfo` holds them.
#[derive(Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (may be empty).
    pub username: String,
    /// The password; `None` when the URL had no `:` (Go sends an empty password then).
    pub password: Option<String>,
}

impl std::fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInfo")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

/// The byte range of the user info (without the `@`) in `url`, if it has one. A URL
/// without `scheme://` starts with its authority (a proxy given as `user:pw@host:3128`).
fn userinfo_range(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..)?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest.get(..authority_end)?.rfind('@')?;
    Some((start, start + at))
}

/// `url` without its user info, and the user info.
pub fn split(url: &str) -> (Cow<'_, str>, Option<UserInfo>) {
    let Some((start, end)) = userinfo_range(url) else {
        return (Cow::Borrowed(url), None);
    };
    let userinfo = url.get(start..end).unwrap_or_default();
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let stripped = format!(
        "{}{}",
        url.get(..start).unwrap_or_default(),
        url.get(end + 1..).unwrap_or_default()
    );
    (
        Cow::Owned(stripped),
        Some(UserInfo {
            username: decode(user),
            password: password.map(decode),
        }),
    )
}

/// `url` with its password replaced by `xxxxx` (Go's `URL.Redacted`), for messages.
pub fn redacted(url: &str) -> Cow<'_, str> {
    let Some((start, end)) = userinfo_range(url) else {
        return Cow::Borrowed(url);
    };
    let userinfo = url.get(start..end).unwrap_or_default();
    match userinfo.split_once(':') {
        None => Cow::Borrowed(url),
        Some((user, _)) => Cow::Owned(format!(
            "{}{user}:xxxxx{}",
            url.get(..start).unwrap_or_default(),
            url.get(end..).unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_takes_the_user_info_off_and_decodes_it() {
        let (url, info) = split("https://Aladdin:open%20sesame@host.test:8443/push?a=b@c");
        assert_eq!(url, "https://host.test:8443/push?a=b@c");
        let info = info.unwrap();
        assert_eq!(info.username, "Aladdin");
        assert_eq!(info.password.as_deref(), Some("open sesame"));
        let (url, info) = split("http://user@host/");
        assert_eq!(url, "http://host/");
        assert_eq!(info.unwrap().password, None);
        let (url, info) = split("http://host/path@x");
        assert_eq!(url, "http://host/path@x");
        assert!(info.is_none());
        // The last `@` of the authority ends the user info, as in Go.
        let (url, info) = split("http://a@b:c@host/");
        assert_eq!(url, "http://host/");
        assert_eq!(info.unwrap().username, "a@b");
    }

    #[test]
    fn redacted_hides_only_the_password() {
        assert_eq!(
            redacted("https://user:s3cret@host/p"),
            "https://user:xxxxx@host/p"
        );
        assert_eq!(redacted("https://user@host/p"), "https://user@host/p");
        assert_eq!(redacted("host:3128"), "host:3128");
        assert_eq!(redacted("u:pw@host:3128"), "u:xxxxx@host:3128");
        assert!(!format!("{:?}", split("http://u:s3cret@h/").1).contains("s3cret"));
    }
}
