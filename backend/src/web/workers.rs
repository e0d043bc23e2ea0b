//! `/api/workers`: the workers, their credentials, and the door they join by.
//!
//! `GET /api/workers` lists them (name, state, run, cores, utilisation). The instructor issues each
//! worker a credential of its own (`POST /api/workers/credentials {"name": ...}`, whose answer is
//! the only place its secret is shown), lists them (`GET`), and revokes one (`DELETE
//! /api/workers/credentials/{name}`), which drops the worker joined with it at once. A worker joins
//! with a websocket to `GET /api/workers/connect`, showing its credential's secret (or the lab's
//! shared `--worker-secret`) as `Authorization: Bearer <secret>`; this side bridges the socket to a
//! link the coordinator's dispatcher serves (the mirror image of [`crate::worker::remote`]), with
//! messages no larger than the largest legitimate timeline.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use poollab_shared::{IssuedCredential, WorkerCredential, WorkerView};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::class::identity::constant_time_eq;
use crate::coordinator::credentials::{CredentialError, Joiner};
use crate::web::error::AppError;
use crate::web::identity::{Instructor, Peer};
use crate::web::state::AppState;
use crate::worker::protocol::{FromWorker, HEARTBEAT, MAX_LINK_MESSAGE, SILENCE_LIMIT, pair};

/// `GET /api/workers`: every worker joined to this coordinator.
pub async fn list(State(state): State<AppState>) -> Json<Vec<WorkerView>> {
    Json(state.coordinator.workers())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    name: String,
}

/// `POST /api/workers/credentials {"name": "lab-a"}` (instructor): a new worker credential.
/// `201` with its secret, shown this once; `422` for a name that is not 1 to 64 plain characters,
/// `409` for one already issued or joined.
pub async fn issue(
    _: Instructor,
    State(state): State<AppState>,
    body: Result<Json<Issue>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedCredential>), AppError> {
    let Json(Issue { name }) = body?;
    let issued = state.coordinator.issue_credential(&name).await?;
    tracing::info!(worker = %issued.name, "a worker credential was issued");
    Ok((StatusCode::CREATED, Json(issued)))
}

/// `GET /api/workers/credentials` (instructor): every credential, never a secret.
pub async fn credentials(
    _: Instructor,
    State(state): State<AppState>,
) -> Result<Json<Vec<WorkerCredential>>, AppError> {
    Ok(Json(state.coordinator.worker_credentials().await?))
}

/// `DELETE /api/workers/credentials/{name}` (instructor): revokes it; the worker joined with it,
/// if any, is dropped at once and its run fails (`"dropped": true` when it was joined to this
/// coordinator; another coordinator on the same database drops it when it hears). `404` for no
/// such credential, `409` for a local worker's.
pub async fn revoke(
    _: Instructor,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let dropped = state.coordinator.revoke_credential(&name).await?;
    Ok(Json(json!({ "revoked": name, "dropped": dropped })))
}

/// `GET /api/workers/connect`: a worker's link (websocket), for the holder of a worker credential
/// (or of the lab's shared secret).
pub async fn connect(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let joiner = joiner(&state, peer, &headers).await.map_err(|e| match e {
        AppError::Unauthorized => AppError::WrongWorkerCredential,
        e => e,
    })?;
    Ok(ws
        .max_message_size(MAX_LINK_MESSAGE)
        .max_frame_size(MAX_LINK_MESSAGE)
        .on_upgrade(move |socket| bridge(socket, state, joiner)))
}

/// Who a worker at the door is, by the credential it shows. A wrong one counts against its address
/// like a wrong instructor token, and an address locked out for those is refused before anything
/// it shows is looked up.
async fn joiner(state: &AppState, peer: Option<std::net::IpAddr>, headers: &HeaderMap) -> Result<Joiner, AppError> {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map_or("", str::trim);
    state.guard.check_credential(peer, true)?;
    if let Some(secret) = state.worker_secret.as_deref()
        && constant_time_eq(given.as_bytes(), secret.as_bytes())
    {
        return Ok(Joiner::SharedSecret);
    }
    let known = if given.is_empty() { None } else { state.coordinator.worker_known_by(given).await? };
    match known {
        Some(name) if state.coordinator.worker_joined(&name) => Err(CredentialError::InUse(name).into()),
        Some(name) => Ok(Joiner::Credential(name)),
        None => {
            state.guard.check_credential(peer, false)?;
            Err(AppError::WrongWorkerCredential)
        }
    }
}

/// Joins the socket to a fresh link and lets the coordinator serve it.
async fn bridge(socket: WebSocket, state: AppState, joiner: Joiner) {
    let (mut worker, end) = pair();
    let served = tokio::spawn(state.coordinator.clone().attach(end, joiner, state.shutdown.clone()));
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            order = worker.rx.recv() => {
                let Some(order) = order else { break };
                let Ok(text) = serde_json::to_string(&order) else { continue };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            got = tokio::time::timeout(SILENCE_LIMIT, stream.next()) => match got {
                Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<FromWorker>(&text) {
                    Ok(msg) => {
                        if worker.tx.send(msg).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "a worker sent something the coordinator does not understand"),
                },
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => break,
                Ok(Some(Ok(_))) => {}
                Err(_) => break,
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Closing our end tells the dispatcher the worker is gone.
    drop(worker);
    let _ = served.await;
}
