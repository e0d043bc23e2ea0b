use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use poollab_shared::{RunView, ValidRunSpec};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::state::AppState;

/// `POST /api/runs`: validates the spec (deserializing a `ValidRunSpec` checks every range) and
/// queues the run. `202 {"id": ...}`.
pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<ValidRunSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(spec) = body?;
    let run = state.queue.submit(spec)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": run.id, "state": run.state }))))
}

pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<RunView>, AppError> {
    state.queue.store().get(&id).map(Json).ok_or(AppError::RunNotFound(id))
}

/// Recent runs, newest first.
pub async fn list(State(state): State<AppState>) -> Json<Vec<RunView>> {
    Json(state.queue.store().recent())
}
