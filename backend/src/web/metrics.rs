use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::web::state::AppState;

pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.prom.render(&state.coordinator.latest_frames(), &state.demo_pooled);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}
