//! `/api/runs`: start runs, read them back (with their timeline), export them, cancel them.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use poollab_shared::{RequestRecord, RunView, ValidRunSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::class::identity::Who;
use crate::web::error::AppError;
use crate::web::identity::{Instructor, Peer};
use crate::web::state::AppState;

/// `POST /api/runs`: validates the spec (deserializing a `ValidRunSpec` checks every range) and
/// puts the run in line, fairly among learners (the instructor's first), or joins the learner to
/// an identical run already waiting (`"shared": true`; `learners` counts who is on it).
/// `202 {"id": ..., "state": ..., "shared": ..., "learners": ...}`; a
/// locked lab (or a paused learner) is a `423`, too many runs waiting a `429`, and a run that asks
/// for what the lab's server lacks (TLS, PgBouncer) a `422` that says so.
pub async fn create(
    who: Who,
    State(state): State<AppState>,
    body: Result<Json<ValidRunSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(spec) = body?;
    let (run, shared) = state.coordinator.submit(&who, spec).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": run.id, "state": run.state, "shared": shared, "learners": run.learners })),
    ))
}

#[derive(Debug, Deserialize)]
pub struct RunQuery {
    /// `?timeline=true`: include every request and frame of the run.
    #[serde(default)]
    timeline: bool,
}

async fn find(state: &AppState, id: &str) -> Result<RunView, AppError> {
    state.coordinator.run(id).await?.ok_or_else(|| AppError::RunNotFound(id.to_owned()))
}

/// `GET /api/runs/{id}[?timeline=true]`. With the timeline this is also the JSON export (each
/// address may ask for `--exports-per-minute` of those, and the lab writes one export at a time:
/// see [`crate::web::limits::Guard::export`]).
pub async fn get(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
    Query(query): Query<RunQuery>,
) -> Result<Response, AppError> {
    if !query.timeline {
        return Ok(Json(find(&state, &id).await?).into_response());
    }
    let _turn = state.guard.export(peer).await?;
    let mut run = find(&state, &id).await?;
    run.timeline = Some(state.coordinator.timeline(&id).await?);
    // Written out here, while the turn is held.
    Ok(Json(run).into_response())
}

/// `GET /api/runs/{id}/requests.csv`: one row per request, for a spreadsheet or a notebook (an
/// export, like the timeline).
pub async fn requests_csv(
    State(state): State<AppState>,
    Peer(peer): Peer,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let _turn = state.guard.export(peer).await?;
    find(&state, &id).await?;
    let timeline = state.coordinator.timeline(&id).await?;
    let mut csv = String::with_capacity(64 * (timeline.requests.len() + 1));
    csv.push_str(RequestRecord::CSV_HEADER);
    csv.push('\n');
    for r in &timeline.requests {
        csv.push_str(&r.csv_row());
        csv.push('\n');
    }
    let disposition = format!("attachment; filename=\"poollab-run-{id}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        csv,
    ))
}

/// Recent runs, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RunView>>, AppError> {
    Ok(Json(state.coordinator.recent_runs().await?))
}

/// `POST /api/runs/{id}/cancel` (instructor): takes a waiting run out of line, or stops a running
/// one (it ends `failed`, "cancelled by the instructor"). `202`, or `409` if it has already ended.
pub async fn cancel(
    _: Instructor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    find(&state, &id).await?;
    if state.coordinator.cancel(&id).await? { Ok(StatusCode::ACCEPTED) } else { Err(AppError::AlreadyEnded(id)) }
}
