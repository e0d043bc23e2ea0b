//! `GET /`: the page, from the binary itself.
//!
//! The Trunk-built page (`frontend/dist`) is embedded at compile time, so one binary is all an
//! instructor copies to a classroom server. (`./lab run` builds the page before the binary. In
//! debug builds rust-embed reads the same folder from disk instead.) `--static-dir` serves a folder
//! instead, for working on the page.

use axum::http::{StatusCode, Uri, header};
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

/// A file of the page; any other path gets the page itself (its routes live after `#`).
pub async fn embedded(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let (path, file) = match Page::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        None => match Page::get("index.html") {
            Some(file) => ("index.html", file),
            None => return not_built().into_response(),
        },
    };
    // Trunk names assets by content hash, so they can be cached for good; the page itself not.
    let cache = if path == "index.html" { "no-cache" } else { "public, max-age=31536000, immutable" };
    ([(header::CONTENT_TYPE, content_type(path)), (header::CACHE_CONTROL, cache)], file.data).into_response()
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
