//! The line runs wait in, and the workers that carry them out.
//!
//! A lab has one *coordinator* (the page, the API, the class, the line) and one or more *workers*,
//! each with a PostgreSQL of its own on which it carries out one run at a time. Every page hears
//! the line as a [`LineView`] over the websocket (how many wait, where this learner's runs are,
//! which workers are up); the instructor reads it whole, with names, as a [`ClassLine`].

use serde::{Deserialize, Serialize};

use crate::spec::Strategy;
use crate::summary::RunState;

/// Where a worker is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Up, and free to take the next run.
    #[default]
    Idle,
    /// Carrying out a run.
    Running,
    /// Connected, but it cannot carry out runs (its PostgreSQL is unreachable); it gets none.
    Down,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Idle => "idle",
            WorkerState::Running => "running",
            WorkerState::Down => "down",
        }
    }
}

/// A worker as the coordinator knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerView {
    pub name: String,
    pub state: WorkerState,
    /// The run it carries out, while running.
    pub run: Option<String>,
    /// Why it is down.
    pub reason: Option<String>,
    /// Its server's `max_connections`.
    pub max_connections: u64,
    /// The CPU cores it (and its private PostgreSQL) is pinned to; empty when not pinned.
    pub cpus: Vec<u32>,
    /// Runs it has finished since it joined.
    pub runs: u64,
    /// Milliseconds it has spent carrying out runs since it joined (with `joined_ms_ago`, its
    /// utilisation).
    pub busy_ms: u64,
    /// Milliseconds since it joined.
    pub joined_ms_ago: u64,
}

/// A worker's own credential, as the instructor's panel lists it (`GET /api/workers/credentials`):
/// never its secret, which is shown once, when it is issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerCredential {
    /// The name the worker that dials with it is known by.
    pub name: String,
    /// Milliseconds since the Unix epoch when it was issued.
    pub issued_at_ms: u64,
    /// When a worker last joined or left with it (none: never used).
    pub last_seen_ms: Option<u64>,
    /// Whether a worker is joined with it now.
    pub connected: bool,
    /// Made by the coordinator for a worker it started itself (`--workers N`): it lasts as long as
    /// the coordinator runs, and cannot be revoked.
    pub local: bool,
}

/// A credential just issued (`POST /api/workers/credentials`): the only answer that holds its
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredential {
    pub name: String,
    /// What the worker shows as `Authorization: Bearer <secret>` (`poollab worker --worker-secret`).
    pub secret: String,
    pub issued_at_ms: u64,
}

/// One of this page's runs in line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePlace {
    pub id: String,
    /// Its place (1: next); none while the instructor has paused this learner.
    pub position: Option<u32>,
}

/// The line as a page hears it (`{"type": "line", ...}`), whenever it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineView {
    /// Runs waiting, everyone's.
    pub waiting: u32,
    /// This learner's waiting runs and their places.
    pub mine: Vec<LinePlace>,
    /// Whether the instructor has paused this learner's runs.
    pub paused: bool,
    pub workers: Vec<WorkerView>,
}

impl LineView {
    /// Why no run can start now, if none can: no worker is up.
    pub fn stalled(&self) -> Option<String> {
        if self.workers.iter().any(|w| w.state != WorkerState::Down) {
            return None;
        }
        Some(match self.workers.as_slice() {
            [] => "no worker is connected to carry out runs".to_owned(),
            down => {
                let why: Vec<String> =
                    down.iter().map(|w| format!("{}: {}", w.name, w.reason.as_deref().unwrap_or("down"))).collect();
                format!("every worker is down ({})", why.join("; "))
            }
        })
    }
}

/// A run in line or running, as the instructor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEntry {
    pub id: String,
    pub state: RunState,
    /// The learner who submitted it (none for the instructor's own runs).
    pub learner: Option<String>,
    /// The name the learner gave, if any.
    pub name: String,
    /// Whether the instructor has paused this learner.
    pub paused: bool,
    /// Its place in line while waiting (none while paused).
    pub position: Option<u32>,
    /// The worker carrying it out, while running.
    pub worker: Option<String>,
    pub strategy: Strategy,
    pub requests: u32,
    pub submitted_at_ms: u64,
}

/// The whole line for the instructor (`GET /api/class/line`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassLine {
    pub running: Vec<LineEntry>,
    pub waiting: Vec<LineEntry>,
    pub workers: Vec<WorkerView>,
    /// Learners the instructor has paused.
    pub paused: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_stalls_only_when_no_worker_is_up() {
        let worker = |name: &str, state| WorkerView {
            name: name.into(),
            state,
            reason: (state == WorkerState::Down).then(|| "its PostgreSQL is unreachable".into()),
            ..WorkerView::default()
        };
        let mut line = LineView::default();
        assert_eq!(line.stalled().as_deref(), Some("no worker is connected to carry out runs"));
        line.workers = vec![worker("w1", WorkerState::Down), worker("w2", WorkerState::Running)];
        assert_eq!(line.stalled(), None);
        line.workers.truncate(1);
        assert_eq!(line.stalled().as_deref(), Some("every worker is down (w1: its PostgreSQL is unreachable)"));
    }
}
