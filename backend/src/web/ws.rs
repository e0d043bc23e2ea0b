//! `GET /ws`: the live feed. Every socket gets the hub's broadcast (frames and run updates).
//!
//! The socket is split: one task forwards the broadcast, the other reads what the client sends
//! (pings; anything else gets an error message, and the socket stays open). A client too slow to
//! keep up skips the frames it missed (`seq` shows the gap) instead of slowing everyone down.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use poollab_shared::{ClientMessage, ServerMessage};
use tokio::sync::{broadcast, mpsc};

use crate::web::state::AppState;

/// Largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| serve(socket, state))
}

fn encode(msg: &ServerMessage) -> Option<Message> {
    serde_json::to_string(msg).ok().map(|s| Message::Text(s.into()))
}

async fn serve(socket: WebSocket, state: AppState) {
    let (mut sink, mut stream) = socket.split();
    let mut feed = state.hub.subscribe();
    // Replies to this client go through the sending task, which owns the sink.
    let (reply_tx, mut replies) = mpsc::channel::<ServerMessage>(8);

    // A new socket first hears who it talks to, then the classroom's state (locked, step to follow).
    let mut first = vec![
        ServerMessage::Class(state.class.state()),
        ServerMessage::Hello { version: env!("CARGO_PKG_VERSION").to_owned() },
    ];
    let mut send = tokio::spawn(async move {
        loop {
            let msg = if let Some(msg) = first.pop() {
                msg
            } else {
                tokio::select! {
                    got = feed.recv() => match got {
                        Ok(msg) => msg,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::debug!(skipped = n, "slow websocket client skipped messages");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    reply = replies.recv() => match reply { Some(msg) => msg, None => break },
                }
            };
            let Some(out) = encode(&msg) else { continue };
            if sink.send(out).await.is_err() {
                break;
            }
        }
    });

    let mut recv = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let reply = match msg {
                Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Ping) => ServerMessage::Pong,
                    Err(e) => ServerMessage::Error { message: format!("unknown message: {e}") },
                },
                Message::Binary(_) => ServerMessage::Error { message: "binary messages are not understood".into() },
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if reply_tx.send(reply).await.is_err() {
                break;
            }
        }
    });

    // When either side ends, or the lab shuts down, end both.
    let mut shutdown = state.shutdown.clone();
    tokio::select! {
        _ = &mut send => {}
        _ = &mut recv => {}
        _ = shutdown.recv() => {}
    }
    send.abort();
    recv.abort();
}
