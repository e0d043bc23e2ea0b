//! What a worker and its coordinator say to each other.
//!
//! The same messages go either way the two are joined: over a channel when the worker is built
//! into the lab's own process ([`pair`]), or as JSON over a websocket the worker dials
//! (`GET /api/workers/connect`, see [`crate::worker::remote`]). The coordinator only ever sees a
//! [`CoordinatorEnd`], so it treats both alike.

use poollab_shared::{Frame, RunSpec, ServerFacts, Summary, Timeline};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// How often a worker says it is alive (besides its frames), and how long its coordinator waits
/// for word from it before it counts the worker as gone.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);
pub const SILENCE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// From a worker to its coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// First message: who the worker is, and what it runs on.
    Hello {
        name: String,
        version: String,
        server: ServerFacts,
        /// The CPU cores it is pinned to (empty: not pinned).
        cpus: Vec<u32>,
        /// Whether its PostgreSQL answers.
        database_up: bool,
    },
    /// Whether its PostgreSQL answers (on every change, and as a heartbeat).
    Status {
        database_up: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A frame of its live view: of the run it carries out, or of its idle server.
    Frame { frame: Box<Frame> },
    /// A run ended: what it measured, with every frame and request.
    Done { run: String, summary: Box<Summary>, timeline: Box<Timeline> },
    /// A run could not be carried out, and why; with what it measured until it stopped, if it
    /// started measuring (a cancelled run, or one stopped at its deadline).
    Failed {
        run: String,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeline: Option<Box<Timeline>>,
    },
}

/// From a coordinator to one of its workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Carry out this run (the worker checks its spec again).
    Run { id: String, spec: Box<RunSpec> },
    /// Stop this run now (the instructor cancelled it).
    Cancel { id: String },
}

/// The worker's end of a link.
pub struct WorkerEnd {
    pub tx: mpsc::Sender<FromWorker>,
    pub rx: mpsc::Receiver<ToWorker>,
}

/// The coordinator's end of a link.
pub struct CoordinatorEnd {
    pub tx: mpsc::Sender<ToWorker>,
    pub rx: mpsc::Receiver<FromWorker>,
}

/// Messages a link holds before its sender waits (frames come ten a second).
const LINK_BUFFER: usize = 64;

/// Both ends of a fresh link.
pub fn pair() -> (WorkerEnd, CoordinatorEnd) {
    let (to_coordinator, from_worker) = mpsc::channel(LINK_BUFFER);
    let (to_worker, from_coordinator) = mpsc::channel(LINK_BUFFER);
    (WorkerEnd { tx: to_coordinator, rx: from_coordinator }, CoordinatorEnd { tx: to_worker, rx: from_worker })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let json = serde_json::to_string(&ToWorker::Cancel { id: "ab".into() }).expect("json");
        assert_eq!(json, r#"{"type":"cancel","id":"ab"}"#);
        let back: FromWorker =
            serde_json::from_str(r#"{"type":"status","database_up":false,"reason":"refused"}"#).expect("status");
        assert!(matches!(back, FromWorker::Status { database_up: false, reason: Some(_) }));
    }
}
