//! `/api/sweeps`: the same load over several pool sizes, to draw the sizing curve.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use poollab_shared::{SweepSpec, SweepView};
use serde_json::{Value, json};

use crate::class::identity::Who;

use crate::web::error::AppError;
use crate::web::state::AppState;

/// `POST /api/sweeps` `{"run": {...pooled run...}, "sizes": [1, 2, 4, ...]}`: queues one run per
/// size (each joins an identical run already waiting, as `POST /api/runs` does).
/// `202 {"id": ..., "runs": [...], "shared": [...]}`: `shared[i]` says whether `runs[i]` was.
pub async fn create(
    who: Who,
    State(state): State<AppState>,
    body: Result<Json<SweepSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(sweep) = body?;
    let runs = sweep.runs().map_err(|e| AppError::unprocessable(e.to_string()))?;
    let (id, shared) = state.coordinator.submit_sweep(&who, &sweep, runs).await?;
    let view = state.coordinator.sweep(&id).await?.ok_or_else(|| AppError::SweepNotFound(id.clone()))?;
    let runs: Vec<&str> = view.points.iter().map(|p| p.run_id.as_str()).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "runs": runs, "shared": shared }))))
}

/// `GET /api/sweeps/{id}`: each size's throughput and latency, once its run is done.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<SweepView>, AppError> {
    state.coordinator.sweep(&id).await?.map(Json).ok_or(AppError::SweepNotFound(id))
}
