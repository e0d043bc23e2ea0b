//! `/api/class`: the classroom state, and what the instructor can change.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use poollab_shared::{ClassState, FollowStep, ServerMessage};
use serde::Deserialize;

use crate::class::Instructor;
use crate::error::AppError;
use crate::state::AppState;

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
