//! `/api/class`: the classroom state, the line, and what the instructor can change.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use poollab_shared::{
    ClassLine, ClassState, FollowStep, Limits, PredictionHistogram, RunSpec, StepReport, StepVerdict,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::class::identity::Who;
use crate::class::progress::{ValidReport, progress_csv as write_progress_csv};
use crate::web::error::AppError;
use crate::web::identity::Instructor;
use crate::web::state::AppState;

/// `GET /api/class`: whether the lab is locked and which step to follow.
pub async fn get(State(state): State<AppState>) -> Result<Json<ClassState>, AppError> {
    Ok(Json(state.coordinator.read_class().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    locked: bool,
}

/// `POST /api/class/lock {"locked": true}` (instructor): while locked, learners' runs get 423.
pub async fn lock(
    _: Instructor,
    State(state): State<AppState>,
    body: Result<Json<Lock>, JsonRejection>,
) -> Result<Json<ClassState>, AppError> {
    let Json(Lock { locked }) = body?;
    Ok(Json(state.coordinator.lock(locked).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    follow: Option<FollowStep>,
}

/// `POST /api/class/follow {"follow": {"lesson": "04-enter-the-pool", "step": 1}}` (instructor):
/// every page in follow mode goes to that step; `{"follow": null}` lets everyone roam again.
pub async fn follow(
    _: Instructor,
    State(state): State<AppState>,
    body: Result<Json<Follow>, JsonRejection>,
) -> Result<Json<ClassState>, AppError> {
    let Json(Follow { follow }) = body?;
    if let Some(f) = &follow {
        let lesson = state.lessons.iter().find(|l| l.id == f.lesson);
        let steps = lesson.map_or(0, |l| l.steps.len());
        if f.step == 0 || f.step as usize > steps {
            return Err(AppError::unprocessable(format!("no step {} in lesson {:?}", f.step, f.lesson)));
        }
    }
    Ok(Json(state.coordinator.follow(follow).await?))
}

/// `POST /api/class/progress` (a learner's page, when a step's run is done): the prediction and
/// the run (or sweep) that measured it. The lab grades it on the stored run (`class::grade`) and
/// answers its verdict: 422 for a step that is not in the course, 404 for a run the lab does not
/// have, 403 for one that is not the learner's, 422 for one of another step, 409 for one not
/// done; a newcomer to a full class gets 429 unless a quiet learner gives way
/// (`class::progress`). The instructor's report is graded and not kept.
pub async fn report(
    who: Who,
    State(state): State<AppState>,
    body: Result<Json<StepReport>, JsonRejection>,
) -> Result<Json<StepVerdict>, AppError> {
    let Json(report) = body?;
    let report = ValidReport::parse(report, &state.lessons)?;
    Ok(Json(state.coordinator.report(&who, report).await?))
}

/// `GET /api/class/progress` (instructor): every learner's steps.
pub async fn progress(_: Instructor, State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let learners: Vec<Value> = state
        .coordinator
        .progress()
        .await?
        .into_iter()
        .map(|(id, p)| json!({ "learner": id, "name": p.name, "steps": p.steps.into_values().collect::<Vec<_>>() }))
        .collect();
    Ok(Json(json!({ "learners": learners })))
}

/// `GET /api/class/progress.csv` (instructor): one row per learner and step, written by the `csv`
/// crate; a text cell that a spreadsheet would take for a formula starts with `'`.
pub async fn progress_csv(_: Instructor, State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let progress = state.coordinator.progress().await?;
    let csv = write_progress_csv(&progress)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"poollab-class.csv\""),
        ],
        csv,
    ))
}

#[derive(Debug, Deserialize)]
pub struct StepQuery {
    lesson: String,
    step: u32,
}

/// `GET /api/class/predictions?lesson=..&step=..` (instructor): the class's predictions.
pub async fn predictions(
    _: Instructor,
    State(state): State<AppState>,
    Query(q): Query<StepQuery>,
) -> Result<Json<PredictionHistogram>, AppError> {
    Ok(Json(state.coordinator.predictions(&q.lesson, q.step).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmBurst {
    /// The run every click feeds (its `requests` and `concurrency` are set when it fires).
    run: RunSpec,
    /// Requests each learner's click adds.
    per_click: u32,
}

/// `POST /api/class/burst {"run": {...}, "per_click": 5}` (instructor): arms a class burst.
pub async fn arm_burst(
    _: Instructor,
    State(state): State<AppState>,
    body: Result<Json<ArmBurst>, JsonRejection>,
) -> Result<Json<ClassState>, AppError> {
    let Json(ArmBurst { run, per_click }) = body?;
    if !(1..=50).contains(&per_click) {
        return Err(AppError::unprocessable(format!("per_click must be between 1 and 50 (got {per_click})")));
    }
    // The largest burst it could become must be a valid run.
    let largest = RunSpec {
        requests: *Limits::REQUESTS.end() as u32,
        concurrency: *Limits::CONCURRENCY.end() as u32,
        ..run.clone()
    };
    largest.validate().map_err(|e| AppError::unprocessable(e.to_string()))?;
    Ok(Json(state.coordinator.arm_burst(run, per_click).await?))
}

/// `POST /api/class/burst/click` (a learner): joins the armed burst (once per learner).
pub async fn click_burst(who: Who, State(state): State<AppState>) -> Result<Json<ClassState>, AppError> {
    let Who::Learner(learner) = who else { return Ok(Json(state.coordinator.class_state())) };
    Ok(Json(state.coordinator.click_burst(&learner.id).await?.ok_or(AppError::NoBurst)?))
}

/// `POST /api/class/burst/fire` (instructor): everyone's clicks fire at once as one run, which
/// goes first in line and which every page watches. `202 {"id": ..., "requests": ...}`.
pub async fn fire_burst(_: Instructor, State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), AppError> {
    let spec = state.coordinator.take_burst().await?.ok_or(AppError::NoBurst)?;
    let requests = spec.requests;
    let spec = spec.validate().map_err(|e| AppError::unprocessable(e.to_string()))?;
    let (run, _) = state.coordinator.submit(&Who::Instructor, spec).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": run.id, "requests": requests }))))
}

/// `GET /api/class/line` (instructor): who runs on which worker, who waits, who is paused.
pub async fn line(_: Instructor, State(state): State<AppState>) -> Result<Json<ClassLine>, AppError> {
    Ok(Json(state.coordinator.class_line().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    paused: bool,
}

/// `POST /api/class/learners/{id}/pause {"paused": true}` (instructor): the learner's waiting runs
/// keep their place but none starts, and new ones get `423`, until `{"paused": false}`.
pub async fn pause(
    _: Instructor,
    State(state): State<AppState>,
    Path(learner): Path<String>,
    body: Result<Json<Pause>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    let Json(Pause { paused }) = body?;
    if !state.coordinator.pause(&learner, paused).await? {
        return Err(AppError::LearnerNotFound(learner));
    }
    Ok(StatusCode::NO_CONTENT)
}
