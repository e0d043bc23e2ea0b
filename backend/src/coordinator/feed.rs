//! The feed: everything the coordinator tells the pages, on its way to every websocket.
//!
//! Messages are turned into JSON once, here, not once per socket. Each socket then takes what is
//! meant for it: every run update and class change; the frames of the runs it watches (its own
//! learner's, shared ones included, the instructor's, one it opened; or every run's, for a socket that never asked); and
//! of each new picture of the line, the part about its own runs.

use std::sync::Arc;

use poollab_shared::{Frame, ServerMessage};
use tokio::sync::broadcast;

use crate::class::line::LineSnapshot;

/// Messages a socket may fall behind by before it skips some (`seq` shows the gap).
const FEED_BUFFER: usize = 1024;

/// Whose run a frame is of: who may see it when sockets watch only what concerns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The instructor's runs (the class watches them), and the server's idle view.
    Everyone,
    /// A learner's run: the learners on it (several when it is shared).
    Learners(Arc<[String]>),
}

#[derive(Debug, Clone)]
pub enum FeedItem {
    /// For every socket, already JSON.
    All(Arc<str>),
    /// A frame, already JSON, for the sockets that watch its run.
    Frame { json: Arc<str>, run: Option<String>, audience: Audience },
    /// The line changed: each socket tells its page where that page's runs are.
    Line(Arc<LineSnapshot>),
}

#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<FeedItem>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { tx: broadcast::channel(FEED_BUFFER).0 }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.tx.subscribe()
    }

    /// A message for every page (run updates, the class).
    pub fn send(&self, msg: &ServerMessage) {
        if let Ok(json) = serde_json::to_string(msg) {
            let _ = self.tx.send(FeedItem::All(json.into()));
        }
    }

    pub fn send_frame(&self, frame: Frame, audience: Audience) {
        let run = frame.run_id.clone();
        if let Ok(json) = serde_json::to_string(&ServerMessage::Frame(frame)) {
            let _ = self.tx.send(FeedItem::Frame { json: json.into(), run, audience });
        }
    }

    pub fn send_line(&self, line: LineSnapshot) {
        let _ = self.tx.send(FeedItem::Line(Arc::new(line)));
    }
}
