//! A worker in another process, or on another machine: it dials its coordinator.
//!
//! `poollab worker --coordinator http://host:8080` opens a websocket to the coordinator's
//! `/api/workers/connect`, proving itself with its credential (`Authorization: Bearer`: the secret
//! the instructor issued it, or the lab's shared `--worker-secret`), and then speaks the
//! [`crate::worker::protocol`] as JSON text messages. A coordinator that refuses the credential
//! (401: wrong, or revoked) ends the worker: dialling again could not change the answer, and each
//! wrong one counts against the worker's address. If the link drops (the
//! coordinator restarts, the network fails), the worker stops any run it had (nobody could hear
//! how it ended), waits a moment and dials again: it rejoins by itself when the coordinator is
//! back. Either side counts the other as gone after [`SILENCE_LIMIT`] without a word.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::shutdown::Shutdown;
use crate::worker::Worker;
use crate::worker::protocol::{HEARTBEAT, MAX_LINK_MESSAGE, SILENCE_LIMIT, ToWorker, WorkerEnd, pair};

/// How long a worker waits before it dials again.
const REDIAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the coordinator's address {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("cannot reach the coordinator: {0}")]
    Dial(#[from] tokio_tungstenite::tungstenite::Error),
    #[error(
        "the coordinator refused this worker's credential (wrong, or revoked by the instructor): ask the instructor \
         for a credential and start the worker with --worker-secret <its secret>"
    )]
    Refused,
}

/// Where a worker dials: the coordinator's base URL made into its websocket for workers.
pub fn link_url(coordinator: &str) -> Result<String, LinkError> {
    let base = coordinator.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        return Err(LinkError::BadUrl(coordinator.to_owned()));
    };
    Ok(format!("{ws}/api/workers/connect"))
}

/// Keeps the worker joined to its coordinator until shutdown, dialling again whenever the link
/// drops; gives up (with the reason) only when the coordinator refuses its credential.
pub async fn join(worker: &Worker, url: String, secret: String, mut shutdown: Shutdown) -> Result<(), LinkError> {
    loop {
        match dial(&url, &secret).await {
            Ok(socket) => {
                tracing::info!(worker = worker.name(), %url, "joined the coordinator");
                let (end, bridge) = bridge(socket);
                worker.serve(end, shutdown.clone()).await;
                bridge.abort();
                tracing::warn!(worker = worker.name(), "the link to the coordinator closed");
            }
            Err(LinkError::Refused) => return Err(LinkError::Refused),
            Err(e) => {
                tracing::warn!(worker = worker.name(), error = %e, "could not join the coordinator; trying again")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(REDIAL) => {}
            _ = shutdown.recv() => return Ok(()),
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(url: &str, secret: &str) -> Result<Socket, LinkError> {
    let mut request = url.into_client_request()?;
    let bearer = format!("Bearer {secret}")
        .parse()
        .map_err(|_| LinkError::BadUrl("the worker secret is not a valid header value".into()))?;
    request.headers_mut().insert("authorization", bearer);
    let config =
        WebSocketConfig::default().max_message_size(Some(MAX_LINK_MESSAGE)).max_frame_size(Some(MAX_LINK_MESSAGE));
    let dialled =
        tokio::time::timeout(SILENCE_LIMIT, tokio_tungstenite::connect_async_with_config(request, Some(config), true))
            .await
            .map_err(|_| {
                LinkError::Dial(tokio_tungstenite::tungstenite::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no answer",
                )))
            })?;
    match dialled {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(answer)) if answer.status().as_u16() == 401 => {
            Err(LinkError::Refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// Joins a websocket to a worker's end of a link: JSON text both ways, pings to keep it alive.
fn bridge(socket: Socket) -> (WorkerEnd, tokio::task::JoinHandle<()>) {
    let (end, mut coordinator) = pair();
    let task = tokio::spawn(async move {
        let (mut sink, mut stream) = socket.split();
        let mut ping = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                out = coordinator.rx.recv() => {
                    let Some(out) = out else { break };
                    let Ok(text) = serde_json::to_string(&out) else { continue };
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                got = tokio::time::timeout(SILENCE_LIMIT, stream.next()) => match got {
                    Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<ToWorker>(&text) {
                        Ok(order) => {
                            if coordinator.tx.send(order).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "the coordinator sent something this worker does not understand"),
                    },
                    Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => break,
                    Ok(Some(Ok(_))) => {}
                    Err(_) => {
                        tracing::warn!("no word from the coordinator for {SILENCE_LIMIT:?}: dropping the link");
                        break;
                    }
                },
                _ = ping.tick() => {
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });
    (end, task)
}
