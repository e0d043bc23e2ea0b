//! `GET /ws`: the live feed. Every socket gets the coordinator's feed: run updates, the class, the
//! line, and frames.
//!
//! Several workers can carry out runs at once, so a page says which runs it watches
//! (`{"type":"watch","run":...}`): from then on it gets the frames of its own learner's runs, of
//! the instructor's (the class watches those), and of the one run it names. A socket that never
//! says gets every run's frames, as before there were workers. Of each new picture of the line,
//! a socket gets its own learner's places.
//!
//! The socket is split: one task forwards the feed, the other reads what the client sends (pings
//! and watches; anything else gets an error message, and the socket stays open). A client too
//! slow to keep up skips the messages it missed (`seq` shows the gap) instead of slowing everyone
//! down.

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use poollab_shared::{ClientMessage, ServerMessage};
use tokio::sync::{broadcast, mpsc, watch};

use crate::class::identity::Learner;
use crate::coordinator::feed::{Audience, FeedItem};
use crate::web::error::AppError;
use crate::web::identity::Peer;
use crate::web::limits::SocketPermit;
use crate::web::state::AppState;

/// Largest message (and frame) a client may send: a larger one closes the socket (code 1009).
pub const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Opens a socket for a page of this lab (403 for a page of another site), within its address's
/// share of sockets (429 beyond it).
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Extension(me): Extension<Learner>,
) -> Result<Response, AppError> {
    let origin = headers.get(ORIGIN).map(|v| v.to_str().unwrap_or("?"));
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    if !state.guard.origin_allowed(origin, host) {
        let origin: String = origin.unwrap_or_default().chars().take(100).collect();
        return Err(AppError::WrongOrigin(origin));
    }
    let permit = state.guard.socket(peer)?;
    Ok(ws
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(socket, state, me.id, permit)))
}

fn text(msg: &ServerMessage) -> Option<Message> {
    serde_json::to_string(msg).ok().map(|s| Message::Text(s.into()))
}

/// Which frames a socket gets.
#[derive(Debug, Clone, Default)]
enum Watching {
    /// Every run's (a socket that never sent `watch`).
    #[default]
    Everything,
    /// Its learner's runs, the instructor's, and this one.
    Mine(Option<String>),
}

impl Watching {
    fn wants(&self, me: &str, run: Option<&str>, audience: &Audience) -> bool {
        match self {
            Watching::Everything => true,
            Watching::Mine(chosen) => match audience {
                Audience::Everyone => true,
                Audience::Learners(on) => on.iter().any(|l| l == me) || (run.is_some() && run == chosen.as_deref()),
            },
        }
    }
}

/// Serves one socket; its place among its address's is given back when it ends.
async fn serve(socket: WebSocket, state: AppState, me: String, _permit: SocketPermit) {
    let (mut sink, mut stream) = socket.split();
    let mut feed = state.coordinator.subscribe();
    // Replies to this client go through the sending task, which owns the sink.
    let (reply_tx, mut replies) = mpsc::channel::<ServerMessage>(8);
    let (watch_tx, watching) = watch::channel(Watching::default());

    // A new socket first hears who it talks to, then the classroom's state and the line.
    let c = &state.coordinator;
    let line = c.line_view(Some(&me)).await.unwrap_or_default();
    let first = [
        ServerMessage::Hello { version: env!("CARGO_PKG_VERSION").to_owned() },
        ServerMessage::Class(c.class_state()),
        ServerMessage::Line(line),
    ];
    let mine = me.clone();
    let mut send = tokio::spawn(async move {
        for msg in &first {
            let Some(out) = text(msg) else { continue };
            if sink.send(out).await.is_err() {
                return;
            }
        }
        loop {
            let out = tokio::select! {
                got = feed.recv() => match got {
                    Ok(FeedItem::All(json)) => Message::Text(json.as_ref().into()),
                    Ok(FeedItem::Frame { json, run, audience }) => {
                        if !watching.borrow().wants(&mine, run.as_deref(), &audience) {
                            continue;
                        }
                        Message::Text(json.as_ref().into())
                    }
                    Ok(FeedItem::Line(line)) => match text(&ServerMessage::Line(line.view_for(Some(&mine)))) {
                        Some(out) => out,
                        None => continue,
                    },
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(skipped = n, "slow websocket client skipped messages");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                reply = replies.recv() => match reply.as_ref().and_then(text) { Some(out) => out, None => break },
            };
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
                    Ok(ClientMessage::Watch { run }) => {
                        watch_tx.send_replace(Watching::Mine(run));
                        continue;
                    }
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
