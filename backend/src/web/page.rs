//! `GET /`: the page, from the binary itself.
//!
//! The Trunk-built page (`frontend/dist`) is embedded at compile time, so one binary is all an
//! instructor copies to a classroom server. (`./lab run` builds the page before the binary. In
//! debug builds rust-embed reads the same folder from disk instead.) `--static-dir` serves a folder
//! instead, for working on the page.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Page;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Whether the page was built into this binary.
pub fn is_embedded() -> bool {
    Page::get("index.html").is_some()
}

/// Whether an `Accept-Encoding` header accepts `coding` (a listed coding whose `q` is not 0).
fn accepts(header: &str, coding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        parts.next().is_some_and(|c| c.eq_ignore_ascii_case(coding))
            && parts.all(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_none_or(|q| q > 0.0))
    })
}

/// Which file a path asks for: a file of the page, the instructor's page for anything under
/// `/instructor`, the sandbox's for anything under `/sandbox`, and the learners' page for any
/// other path (its routes live after `#`).
fn file_for(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    let under = |dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
    if !path.is_empty() && !path.ends_with('/') && Page::get(path).is_some() {
        path
    } else if under("instructor") {
        "instructor/index.html"
    } else if under("sandbox") {
        "sandbox/index.html"
    } else {
        "index.html"
    }
}

/// A file of the page. Each file was built with a brotli and a gzip twin (`frontend/compress.mjs`),
/// and a browser gets the smallest one it accepts.
pub async fn embedded(uri: Uri, headers: HeaderMap) -> Response {
    let path = file_for(uri.path());
    let accepted = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let twin = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(accepted, coding))
        .find_map(|(coding, ext)| Page::get(&format!("{path}{ext}")).map(|f| (Some(coding), f)));
    let Some((encoding, file)) = twin.or_else(|| Page::get(path).map(|f| (None, f))) else {
        return not_built().into_response();
    };
    // Trunk names assets by content hash, so they can be cached for good; pages (the app's, the
    // glossary) not.
    let cache = if path.ends_with(".html") { "no-cache" } else { "public, max-age=31536000, immutable" };
    let mut response =
        ([(header::CONTENT_TYPE, content_type(path)), (header::CACHE_CONTROL, cache)], file.data).into_response();
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(coding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

pub fn not_built() -> (StatusCode, Html<&'static str>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><title>Pool Lab</title><h1>Pool Lab</h1><p>The page has not been built. \
              Start the lab with <code>./lab run</code>, which builds it, or point \
              <code>--static-dir</code> at a Trunk build.</p>",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=1.0, br;q=0.5", "br"));
        assert!(!accepts("gzip, br;q=0", "br"));
        assert!(accepts("GZIP", "gzip"));
        assert!(!accepts("", "gzip") && !accepts("identity", "br"));
    }
}
