//! `GET /api/lessons`: the course, as the page reads it.

use axum::Json;
use axum::extract::State;
use poollab_shared::Lesson;

use crate::web::state::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Vec<Lesson>> {
    Json(state.lessons.as_ref().clone())
}
