//! `/api/class`: the classroom state, and what the instructor can change.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use poollab_shared::{ClassState, FollowStep, Limits, PredictionHistogram, RunSpec, ServerMessage, StepReport};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::class::Instructor;
use crate::class::queue::Who;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// `GET /api/class`: whether the lab is locked and which step to follow.
pub async fn get(State(state): State<AppState>) -> Json<ClassState> {
    Json(state.class.state())
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
    Ok(Json(announce(&state, |c| c.locked = locked)))
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
    Ok(Json(announce(&state, |c| c.follow = follow)))
}

fn announce(state: &AppState, f: impl FnOnce(&mut ClassState)) -> ClassState {
    let class = state.class.update(f);
    state.hub.broadcast(ServerMessage::Class(class.clone()));
    class
}

/// `POST /api/class/progress` (a learner's page): one step's prediction and result.
pub async fn report(
    who: Who,
    State(state): State<AppState>,
    body: Result<Json<StepReport>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    let Json(report) = body?;
    let Who::Learner(learner) = who else { return Ok(StatusCode::NO_CONTENT) };
    if !state.class.report(&learner, report) {
        return Err(AppError::Forbidden("the class is full: no more learners' progress is kept".into()));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/class/progress` (instructor): every learner's steps.
pub async fn progress(_: Instructor, State(state): State<AppState>) -> Json<Value> {
    let learners: Vec<Value> = state
        .class
        .progress_snapshot()
        .into_iter()
        .map(|(id, p)| json!({ "learner": id, "name": p.name, "steps": p.steps.into_values().collect::<Vec<_>>() }))
        .collect();
    Json(json!({ "learners": learners }))
}

/// `GET /api/class/progress.csv` (instructor): one row per learner and step.
pub async fn progress_csv(_: Instructor, State(state): State<AppState>) -> impl IntoResponse {
    let field = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    // Names are the learners' own words: quoted, so a comma cannot shift the columns.
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("learner,name,lesson,step,prediction,measured,passed,close\n");
    for (id, p) in state.class.progress_snapshot() {
        for r in p.steps.values() {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                quote(&id),
                quote(&p.name),
                r.lesson,
                r.step,
                field(r.prediction),
                field(r.measured),
                r.passed.map(|b| b.to_string()).unwrap_or_default(),
                r.close.map(|b| b.to_string()).unwrap_or_default()
            ));
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"poollab-class.csv\""),
        ],
        csv,
    )
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
) -> Json<PredictionHistogram> {
    Json(state.class.predictions(&q.lesson, q.step))
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
    let class = state.class.arm_burst(run, per_click);
    state.hub.broadcast(ServerMessage::Class(class.clone()));
    Ok(Json(class))
}

/// `POST /api/class/burst/click` (a learner): joins the armed burst (once per learner).
pub async fn click_burst(who: Who, State(state): State<AppState>) -> Result<Json<ClassState>, AppError> {
    let Who::Learner(learner) = who else { return Ok(Json(state.class.state())) };
    let class = state.class.click_burst(&learner).ok_or(AppError::NoBurst)?;
    state.hub.broadcast(ServerMessage::Class(class.clone()));
    Ok(Json(class))
}

/// `POST /api/class/burst/fire` (instructor): everyone's clicks fire at once as one run, which
/// goes first in line and which every page watches. `202 {"id": ..., "requests": ...}`.
pub async fn fire_burst(_: Instructor, State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), AppError> {
    let (spec, class) = state.class.take_burst().ok_or(AppError::NoBurst)?;
    state.hub.broadcast(ServerMessage::Class(class));
    let requests = spec.requests;
    let spec = spec.validate().map_err(|e| AppError::unprocessable(e.to_string()))?;
    let run = state.queue.submit(spec, &Who::Instructor).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": run.id, "requests": requests }))))
}
