use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::web::state::AppState;

/// `200 {"status":"ok","database":"up"}`, or `503` with `"database":"down"`.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let check = sqlx::query("SELECT 1").execute(&state.admin);
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(_)) => (StatusCode::OK, Json(json!({ "status": "ok", "database": "up" }))),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "degraded", "database": "down", "error": e.to_string() })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "degraded", "database": "down", "error": "no answer within 2s" })),
        ),
    }
}
