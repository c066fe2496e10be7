//! The `/inspect/` route: a static page (the browser payload inspector) whose files the
//! caller supplies. The relay crate does not embed the page itself: the `prw` binary does
//! (feature `embed-inspector`) and hands a lookup function in, so this crate stays free of
//! build-time assets.
//!
//! `/inspect` redirects to `/inspect/` because the page loads its files by relative URLs.
//! Without an embedded page every path answers 404 with the caller's help text, which says
//! how to build it in.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::{Method, Response, StatusCode};

use crate::handler::ResponseBody;

/// The page's mount point.
pub const PREFIX: &str = "/inspect";

/// Looks a file up by its path relative to the page (`""` = `index.html`): its bytes and MIME
/// type.
pub type AssetLookup = fn(&str) -> Option<(&'static [u8], &'static str)>;

/// A static page served under `/inspect/`.
#[derive(Clone, Copy)]
pub struct StaticPage {
    /// Finds a file.
    pub lookup: AssetLookup,
    /// Answered (404) when the page itself (`index.html`) is not there.
    pub missing_help: &'static str,
}

impl std::fmt::Debug for StaticPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticPage").finish_non_exhaustive()
    }
}

/// Whether `path` belongs to this route.
pub fn matches(path: &str) -> bool {
    path == PREFIX || path.starts_with("/inspect/")
}

/// Answers a request for `path` (which [`matches`]).
pub fn serve(page: Option<&StaticPage>, method: &Method, path: &str) -> Response<ResponseBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if path == PREFIX {
        let mut response = plain(StatusCode::PERMANENT_REDIRECT, "");
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/inspect/"));
        return response;
    }
    let relative = path.strip_prefix("/inspect/").unwrap_or_default();
    let Some(page) = page.filter(|page| (page.lookup)("").is_some()) else {
        let help = page.map_or("this server has no inspector page\n", |p| p.missing_help);
        return plain(StatusCode::NOT_FOUND, help);
    };
    match (page.lookup)(relative) {
        Some((bytes, mime)) => {
            let mut response = Response::new(Full::new(Bytes::from_static(bytes)));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(path: &str) -> Option<(&'static [u8], &'static str)> {
        match path {
            "" | "index.html" => Some((b"<html>page</html>", "text/html; charset=utf-8")),
            "app.js" => Some((b"console.log(1)", "text/javascript; charset=utf-8")),
            _ => None,
        }
    }

    fn empty(_: &str) -> Option<(&'static [u8], &'static str)> {
        None
    }

    const PAGE: StaticPage = StaticPage {
        lookup,
        missing_help: "build it\n",
    };

    #[test]
    fn bare_prefix_redirects_to_the_folder() {
        let response = serve(Some(&PAGE), &Method::GET, "/inspect");
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[LOCATION], "/inspect/");
    }

    #[test]
    fn files_are_served_with_their_type() {
        let response = serve(Some(&PAGE), &Method::GET, "/inspect/app.js");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let index = serve(Some(&PAGE), &Method::GET, "/inspect/");
        assert_eq!(index.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    }

    #[test]
    fn unknown_file_is_404() {
        let response = serve(Some(&PAGE), &Method::GET, "/inspect/nope.js");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn missing_page_answers_the_build_help() {
        let page = StaticPage {
            lookup: empty,
            missing_help: "build it\n",
        };
        let response = serve(Some(&page), &Method::GET, "/inspect/");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = serve(None, &Method::GET, "/inspect/");
        assert_eq!(body.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn writes_are_not_allowed() {
        let response = serve(Some(&PAGE), &Method::POST, "/inspect/");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn only_the_prefix_and_its_folder_match() {
        assert!(matches("/inspect"));
        assert!(matches("/inspect/pkg/x.wasm"));
        assert!(!matches("/inspector"));
    }
}
