//! `/api/your-pool`: a pool configuration pasted in its own library's syntax, read into a run
//! spec (`crate::yourpool` does the reading; this file only speaks HTTP).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;

use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::yourpool::{self, Translation};

/// What a client pastes: the library's name and the snippet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pasted {
    pub library: String,
    pub config: String,
}

/// `POST /api/your-pool/translate` `{"library", "config"}`: `200 {"library", "syntax", "spec",
/// "notes", "unknown", "paste"}`, or a 422 naming the line and what was expected there.
pub async fn translate(
    State(state): State<AppState>,
    body: Result<Json<Pasted>, JsonRejection>,
) -> Result<Json<Translation>, AppError> {
    let Json(pasted) = body?;
    Ok(Json(yourpool::translate(&pasted.library, &pasted.config, &state.libraries)?))
}
