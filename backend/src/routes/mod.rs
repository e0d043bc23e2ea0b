//! HTTP routes, one file per idea; [`app`] puts them together.
//!
//! A function builds the `Router` so tests can drive it without a socket, and `main` only binds.

mod class;
mod demo;
mod health;
mod lessons;
mod metrics;
mod runs;
mod sweeps;
mod ws;

use std::path::Path;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Largest request body accepted (a run spec is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole HTTP surface of the lab (see DESIGN.md for the contract).
pub fn app(state: AppState, static_dir: &Path) -> Router {
    let api = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/demo/naive", get(demo::naive))
        .route("/demo/pooled", get(demo::pooled))
        .route("/api/lessons", get(lessons::list))
        .route("/api/class", get(class::get))
        .route("/api/class/lock", post(class::lock))
        .route("/api/class/follow", post(class::follow))
        .route("/api/runs", post(runs::create).get(runs::list))
        .route("/api/runs/{id}", get(runs::get))
        .route("/api/runs/{id}/requests.csv", get(runs::requests_csv))
        .route("/api/sweeps", post(sweeps::create))
        .route("/api/sweeps/{id}", get(sweeps::get))
        .route("/ws", get(ws::upgrade))
        .route("/metrics", get(metrics::prometheus))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    let page = if static_dir.join("index.html").is_file() {
        let index = static_dir.join("index.html");
        Router::new().fallback_service(ServeDir::new(static_dir).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(dir = %static_dir.display(), "the page is not built; `./lab run` builds it");
        Router::new().fallback(page_not_built)
    };
    api.merge(page).layer(TraceLayer::new_for_http())
}

async fn page_not_built() -> (StatusCode, Html<&'static str>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><title>Pool Lab</title><h1>Pool Lab</h1><p>The page has not been built. \
              Start the lab with <code>./lab run</code>, which builds it, or point \
              <code>--static-dir</code> at a Trunk build.</p>",
        ),
    )
}
