//! The web surface: HTTP routes, one file per idea (`your_pool`: pasted pool settings read into a
//! run spec), and [`app`], which puts them together; the
//! state every handler shares ([`state`]), errors turned into responses in one place ([`error`]),
//! and the Prometheus text ([`prom`]); where a request came from ([`client`]: behind a trusted
//! reverse proxy, the client it forwards).
//!
//! A function builds the `Router` so tests can drive it without a socket, and `main` only binds.

pub mod client;
pub mod error;
pub mod identity;
pub mod limits;
pub mod prom;
pub mod state;

mod class;
mod demo;
mod health;
mod lessons;
mod metrics;
mod page;
mod runs;
mod sweeps;
mod unknown;
mod workers;
mod ws;
mod your_pool;

use std::path::Path;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, delete, get, post};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::web::client::locate;
use crate::web::identity::identify;
use crate::web::state::AppState;

/// Largest request body accepted (a run spec is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The whole HTTP surface of the lab (docs/contract.md is the contract).
pub fn app(state: AppState, static_dir: Option<&Path>) -> Router {
    // Routes that ask who is calling: each request leaves knowing its learner (a signed cookie).
    let identified = Router::new()
        .route("/api/lessons", get(lessons::list))
        .route("/api/libraries", get(lessons::libraries))
        .route("/api/libraries/table", get(lessons::library_table))
        .route("/api/class", get(class::get))
        .route("/api/class/lock", post(class::lock))
        .route("/api/class/follow", post(class::follow))
        .route("/api/class/progress", post(class::report).get(class::progress))
        .route("/api/class/progress.csv", get(class::progress_csv))
        .route("/api/class/predictions", get(class::predictions))
        .route("/api/class/line", get(class::line))
        .route("/api/class/learners/{id}/pause", post(class::pause))
        .route("/api/class/burst", post(class::arm_burst))
        .route("/api/class/burst/click", post(class::click_burst))
        .route("/api/class/burst/fire", post(class::fire_burst))
        .route("/api/runs", post(runs::create).get(runs::list))
        .route("/api/runs/{id}", get(runs::get))
        .route("/api/runs/{id}/cancel", post(runs::cancel))
        .route("/api/runs/{id}/requests.csv", get(runs::requests_csv))
        .route("/api/sweeps", post(sweeps::create))
        .route("/api/sweeps/{id}", get(sweeps::get))
        .route("/api/your-pool", post(your_pool::measure))
        .route("/api/your-pool/translate", post(your_pool::translate))
        .route("/api/your-pool/{id}", get(your_pool::get))
        .route("/api/workers/credentials", post(workers::issue).get(workers::credentials))
        .route("/api/workers/credentials/{name}", delete(workers::revoke))
        .route("/ws", get(ws::upgrade));
    // Routes that do not: health, metrics, the workers, and any other path under /api/ (whatever
    // the method, a JSON 404, not the page). Each address may call them at a bounded rate.
    let anonymous = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/workers", get(workers::list))
        .route("/metrics", get(metrics::prometheus))
        .route("/api", any(unknown::api))
        .route("/api/", any(unknown::api))
        .route("/api/{*rest}", any(unknown::api));
    let anonymous = match state.guard.anonymous_limit() {
        Some(limit) => anonymous.layer(limit),
        None => anonymous,
    };
    // The workers' door counts wrong secrets itself; the demo endpoints are measured against
    // pgbench, so nothing stands in front of them (they are off while a class is hosted).
    let anonymous = anonymous
        .route("/api/workers/connect", get(workers::connect))
        .route("/demo/naive", get(demo::naive))
        .route("/demo/pooled", get(demo::pooled));
    let page = match static_dir {
        Some(dir) if dir.join("index.html").is_file() => {
            let index = dir.join("index.html");
            let files = ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(ServeFile::new(index).precompressed_br().precompressed_gzip());
            Router::new().fallback_service(files)
        }
        Some(dir) => {
            tracing::warn!(dir = %dir.display(), "no index.html in --static-dir; serving the embedded page");
            Router::new().fallback(page::embedded)
        }
        None => {
            if !page::is_embedded() {
                tracing::warn!("the page was not built into this binary; `./lab run` builds it first");
            }
            Router::new().fallback(page::embedded)
        }
    };
    // The page goes out compressed by the build (brotli or gzip, whichever the browser takes), so
    // a classroom's Wi-Fi carries a fraction of the wasm. The API stays uncompressed: its answers
    // are small, and the demo endpoints are measured against pgbench. Loading the page gives a new
    // browser its learner cookie.
    identified
        .merge(page)
        .layer(from_fn_with_state(state.clone(), identify))
        .merge(anonymous)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        // Outermost: every layer and route inside counts by the client's address.
        .layer(from_fn_with_state(state.clone(), locate))
        .with_state(state)
}
