use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::web::state::AppState;

/// `200 {"status":"ok","database":"up","workers":{"up":1,"down":0}}`, or `503` with
/// `"database":"down"` when the coordinator's own database does not answer. (Workers that are
/// down are counted, not fatal: the line waits for them.)
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let views = state.coordinator.workers();
    let down = views.iter().filter(|w| w.state == poollab_shared::WorkerState::Down).count();
    let workers = json!({ "up": views.len() - down, "down": down });
    let check = sqlx::query("SELECT 1").execute(&state.admin);
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(_)) => (StatusCode::OK, Json(json!({ "status": "ok", "database": "up", "workers": workers }))),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "degraded", "database": "down", "error": e.to_string(), "workers": workers })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "degraded", "database": "down", "error": "no answer within 2s", "workers": workers }),
            ),
        ),
    }
}
