//! The inspector page embedded in the binary for `prw relay`'s `/inspect` route.
//!
//! With feature `embed-inspector` the files of the folder named by `PRW_INSPECTOR_DIST` at
//! compile time are compiled in (see `build.rs`); without it the table is empty,
//! [`inspector_asset`] always answers `None` and the route should answer with
//! [`NOT_EMBEDDED`]. Paths are relative to the page's folder: the route must serve the page
//! under a trailing slash (`/inspect/`, redirecting `/inspect` there), because the page
//! loads `app.js`, `style.css` and `pkg/...` relative to itself.

/// `(path relative to the inspector folder, contents)`, sorted by path.
#[cfg(feature = "embed-inspector")]
static ASSETS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/inspector_assets.rs"));
#[cfg(not(feature = "embed-inspector"))]
static ASSETS: &[(&str, &[u8])] = &[];

/// What `/inspect` answers (404, text/plain) when the page is not embedded.
pub const NOT_EMBEDDED: &str = "\
This prw was built without the inspector page.

Build it in: `cargo xtask dist` (dist/prw embeds dist/inspector/), or by hand:
  wasm/inspector/build.sh \"$PWD/dist/inspector\"
  PRW_INSPECTOR_DIST=\"$PWD/dist/inspector\" cargo build --release -p prw --features embed-inspector

The page also works without prw: serve dist/inspector/ with any static HTTP server.
";

/// The embedded file at `path` and its MIME type. `path` is relative to the page's folder,
/// with or without a leading `/`; `""` and `"/"` mean `index.html`; a query string or
/// fragment is ignored. `None` for anything not embedded (always, without the feature).
pub fn inspector_asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(name, bytes)| (*bytes, mime(name)))
}

/// Whether the page was compiled in.
pub fn inspector_embedded() -> bool {
    !ASSETS.is_empty()
}

fn mime(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_let_browsers_run_modules_and_stream_wasm() {
        assert_eq!(mime("pkg/prw_inspector_bg.wasm"), "application/wasm");
        assert_eq!(mime("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(mime("index.html"), "text/html; charset=utf-8");
        assert_eq!(mime("LICENSE"), "application/octet-stream");
    }

    #[cfg(not(feature = "embed-inspector"))]
    #[test]
    fn without_the_feature_nothing_is_served_and_the_help_says_how_to_build() {
        assert!(!inspector_embedded());
        assert_eq!(inspector_asset("/"), None);
        assert!(NOT_EMBEDDED.contains("--features embed-inspector"));
    }

    #[cfg(feature = "embed-inspector")]
    #[test]
    fn with_the_feature_the_page_and_its_wasm_are_served() {
        let (html, mime) = inspector_asset("/").unwrap();
        assert_eq!(mime, "text/html; charset=utf-8");
        assert!(std::str::from_utf8(html).unwrap().contains("prw inspector"));
        assert_eq!(
            inspector_asset("index.html?x=1").map(|(b, _)| b),
            Some(html)
        );
        let (wasm, mime) = inspector_asset("pkg/prw_inspector_bg.wasm").unwrap();
        assert_eq!((&wasm[..4], mime), (&b"\0asm"[..], "application/wasm"));
        assert_eq!(inspector_asset("../Cargo.toml"), None);
    }
}
