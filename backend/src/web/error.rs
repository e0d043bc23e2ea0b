//! Errors become HTTP responses in one place.
//!
//! Handlers return `Result<_, AppError>`; [`AppError`]'s `IntoResponse` picks the status and
//! writes `{"error": "..."}` (plus `"kind"` for demo requests that the database refused, and
//! `"line"` and `"expected"` for a pasted pool configuration that does not read).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use poollab_shared::ErrorKind;
use serde_json::json;

use std::time::Duration;

use axum::http::header::RETRY_AFTER;

use crate::class::line::LineError;
use crate::class::progress::ProgressError;
use crate::coordinator::CoordinatorError;
use crate::coordinator::credentials::CredentialError;
use crate::db::store::StoreError;
use crate::engine::strategy::RequestError;
use crate::yourpool::TranslateError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body was not acceptable (malformed JSON, a field out of range, ...).
    #[error("{message}")]
    BadRequest { status: StatusCode, message: String },
    #[error("no run with id {0}")]
    RunNotFound(String),
    #[error("no sweep with id {0}")]
    SweepNotFound(String),
    #[error("run {0} has already ended")]
    AlreadyEnded(String),
    #[error("no learner with id {0}")]
    LearnerNotFound(String),
    /// A path under `/api/` that no route serves (`METHOD /api/...`).
    #[error("no such route: {0}")]
    NoRoute(String),
    #[error("the instructor token is wrong")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("no class burst is armed")]
    NoBurst,
    /// An address showed too many wrong tokens or secrets lately (see `web::limits`).
    #[error("too many wrong tokens from your address: try again in {} s", .retry_after.as_secs().max(1))]
    TooManyFailures { retry_after: Duration },
    /// An address asked for more than its share of an anonymous route or of exports.
    #[error("too many requests from your address: try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// Exports are built one at a time, and this one waited its whole turn (see `web::limits`).
    #[error("the lab is busy writing other exports: try again in a few seconds")]
    ExportsBusy,
    #[error("your address already has {cap} websockets open to this lab: close one first")]
    TooManySockets { cap: usize },
    /// A websocket asked for by a page of another site.
    #[error("a websocket may be opened only by this lab's own page (this one came from {0})")]
    WrongOrigin(String),
    #[error(
        "the demo endpoints are off while a class is hosted (an instructor token, or a listen address beyond \
         this machine): start the lab with --demo (or POOLLAB_DEMO=true) to turn them on"
    )]
    DemoOff,
    #[error(transparent)]
    Progress(#[from] ProgressError),
    /// Writing a CSV export failed (into memory: a bug, not the caller's doing).
    #[error("could not write the CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A worker showed no credential, or one that is wrong or revoked.
    #[error(
        "the worker credential is wrong, or was revoked: ask the instructor for one (POST /api/workers/credentials)"
    )]
    WrongWorkerCredential,
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// A route that asks who is calling was served without the identity middleware (a bug).
    #[error("the lab could not tell who is asking")]
    NoIdentity,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Line(#[from] LineError),
    /// A pasted pool configuration that does not read (422 naming the line), or a library the
    /// lab does not know (422).
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// A demo request failed at the database.
    #[error("{}", .0.message)]
    Request(Box<RequestError>),
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // axum's own status: 400 for syntax errors, 415 for a wrong content type, 422 when the
        // JSON is well-formed but not a valid run (the message then names the field).
        AppError::BadRequest { status: rejection.status(), message: rejection.body_text() }
    }
}

impl From<CoordinatorError> for AppError {
    fn from(e: CoordinatorError) -> Self {
        match e {
            CoordinatorError::Line(e) => AppError::Line(e),
            CoordinatorError::Store(e) => AppError::Store(e),
            CoordinatorError::Database(e) => AppError::Store(StoreError::Database(e)),
            // Well-formed, valid, and impossible on this lab: a 422 that says what is missing.
            CoordinatorError::Lacks(lack) => AppError::unprocessable(lack.to_string()),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(StoreError::Database(e))
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
            AppError::LearnerNotFound(_) | AppError::NoRoute(_) => {
                (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
            }
            AppError::AlreadyEnded(_) => (StatusCode::CONFLICT, Json(json!({ "error": message }))).into_response(),
            AppError::NoBurst => (StatusCode::CONFLICT, Json(json!({ "error": message }))).into_response(),
            AppError::TooManyFailures { retry_after } | AppError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1).to_string();
                (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, seconds)], Json(json!({ "error": message })))
                    .into_response()
            }
            AppError::ExportsBusy => {
                (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "5".to_owned())], Json(json!({ "error": message })))
                    .into_response()
            }
            AppError::TooManySockets { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": message }))).into_response()
            }
            AppError::WrongOrigin(_) => (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response(),
            AppError::DemoOff => (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response(),
            AppError::Progress(e) => {
                let status = match e {
                    ProgressError::Invalid(_) | ProgressError::OtherStep { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                    ProgressError::NotFound { .. } => StatusCode::NOT_FOUND,
                    ProgressError::NotYours { .. } => StatusCode::FORBIDDEN,
                    ProgressError::NotDone { .. } => StatusCode::CONFLICT,
                    ProgressError::AddressFull { .. } | ProgressError::ClassFull { .. } => {
                        StatusCode::TOO_MANY_REQUESTS
                    }
                    ProgressError::Database(e) => {
                        tracing::warn!(error = %e, "progress");
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                };
                (status, Json(json!({ "error": message }))).into_response()
            }
            AppError::WrongWorkerCredential => {
                (StatusCode::UNAUTHORIZED, Json(json!({ "error": message }))).into_response()
            }
            AppError::Credential(e) => {
                let status = match e {
                    CredentialError::BadName(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    CredentialError::Taken(_) | CredentialError::Local(_) | CredentialError::InUse(_) => {
                        StatusCode::CONFLICT
                    }
                    CredentialError::NotFound(_) => StatusCode::NOT_FOUND,
                    CredentialError::Database(e) => {
                        tracing::warn!(error = %e, "workers' credentials");
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                };
                (status, Json(json!({ "error": message }))).into_response()
            }
            AppError::Csv(_) => {
                tracing::error!(error = %message, "a CSV export");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": message }))).into_response()
            }
            AppError::NoIdentity => {
                tracing::error!("a route asked who is calling without the identity middleware");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": message }))).into_response()
            }
            AppError::Store(e) => {
                tracing::warn!(error = %e, "coordinator database");
                (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response()
            }
            AppError::Line(e) => {
                let status = match e {
                    LineError::TooBig { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                    LineError::Locked | LineError::Paused => StatusCode::LOCKED,
                    LineError::Database(e) => {
                        tracing::warn!(error = %e, "the line");
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    _ => StatusCode::TOO_MANY_REQUESTS,
                };
                (status, Json(json!({ "error": message }))).into_response()
            }
            AppError::Translate(e) => {
                if e.is_internal() {
                    tracing::error!(error = %e, "the library table");
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": message }))).into_response();
                }
                let mut body = json!({ "error": message });
                if let Some(line) = e.line() {
                    body["line"] = json!(line);
                }
                if let Some(expected) = e.expected() {
                    body["expected"] = json!(expected);
                }
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
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
