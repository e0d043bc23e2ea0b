//! `/api/workers`: the workers, and the door they join by.
//!
//! `GET /api/workers` lists them (name, state, run, cores, utilisation). A worker joins with a
//! websocket to `GET /api/workers/connect`, showing the lab's worker secret as
//! `Authorization: Bearer <secret>`; this side bridges the socket to a link the coordinator's
//! dispatcher serves (the mirror image of [`crate::worker::remote`]).

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use poollab_shared::WorkerView;

use crate::class::identity::constant_time_eq;
use crate::web::error::AppError;
use crate::web::identity::Peer;
use crate::web::state::AppState;
use crate::worker::protocol::{FromWorker, HEARTBEAT, SILENCE_LIMIT, pair};
use crate::worker::remote::MAX_LINK_MESSAGE;

/// `GET /api/workers`: every worker joined to this coordinator.
pub async fn list(State(state): State<AppState>) -> Json<Vec<WorkerView>> {
    Json(state.coordinator.workers())
}

/// `GET /api/workers/connect`: a worker's link (websocket), for the holder of the worker secret.
pub async fn connect(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let Some(secret) = state.worker_secret.as_deref() else { return Err(AppError::NoWorkerSecret) };
    let given = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // A wrong secret counts against its address like a wrong instructor token.
    let right = given.is_some_and(|g| constant_time_eq(g.trim().as_bytes(), secret.as_bytes()));
    state.guard.check_credential(peer, right)?;
    Ok(ws
        .max_message_size(MAX_LINK_MESSAGE)
        .max_frame_size(MAX_LINK_MESSAGE)
        .on_upgrade(move |socket| bridge(socket, state)))
}

/// Joins the socket to a fresh link and lets the coordinator serve it.
async fn bridge(socket: WebSocket, state: AppState) {
    let (mut worker, end) = pair();
    let served = tokio::spawn(state.coordinator.clone().attach(end, state.shutdown.clone()));
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
