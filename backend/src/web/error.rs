//! Errors become HTTP responses in one place.
//!
//! Handlers return `Result<_, AppError>`; [`AppError`]'s `IntoResponse` picks the status and
//! writes `{"error": "..."}` (plus `"kind"` for demo requests that the database refused).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use poollab_shared::ErrorKind;
use serde_json::json;

use crate::db::store::StoreError;
use crate::engine::runner::QueueError;
use crate::engine::strategy::RequestError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body was not acceptable (malformed JSON, a field out of range, ...).
    #[error("{message}")]
    BadRequest { status: StatusCode, message: String },
    #[error("no run with id {0}")]
    RunNotFound(String),
    #[error("no sweep with id {0}")]
    SweepNotFound(String),
    #[error("the instructor token is wrong")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("the lab is locked by the instructor: only the instructor's runs go for now")]
    Locked,
    #[error("no class burst is armed")]
    NoBurst,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    QueueFull(#[from] QueueError),
    /// A demo request failed at the database.
    #[error("{}", .0.message)]
    Request(RequestError),
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // axum's own status: 400 for syntax errors, 415 for a wrong content type, 422 when the
        // JSON is well-formed but not a valid run (the message then names the field).
        AppError::BadRequest { status: rejection.status(), message: rejection.body_text() }
    }
}

impl AppError {
    /// A well-formed request that asks for something impossible (422).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        AppError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, message: message.into() }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            AppError::BadRequest { status, .. } => (status, Json(json!({ "error": message }))).into_response(),
            AppError::RunNotFound(_) | AppError::SweepNotFound(_) => {
                (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
            }
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, Json(json!({ "error": message }))).into_response(),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response(),
            AppError::Locked => (StatusCode::LOCKED, Json(json!({ "error": message }))).into_response(),
            AppError::NoBurst => (StatusCode::CONFLICT, Json(json!({ "error": message }))).into_response(),
            AppError::Store(e) => {
                tracing::warn!(error = %e, "run store");
                (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response()
            }
            AppError::QueueFull(QueueError::TooBig { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": message }))).into_response()
            }
            AppError::QueueFull(_) => {
                (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": message }))).into_response()
            }
            AppError::Request(e) => {
                let status = match e.kind {
                    ErrorKind::Other => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                (status, Json(json!({ "error": message, "kind": e.kind.as_str() }))).into_response()
            }
        }
    }
}
