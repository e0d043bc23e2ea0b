//! The workers joined to this coordinator, and what each is doing.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use poollab_shared::{Frame, ServerFacts, ServerFrame, WorkerState, WorkerView};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::coordinator::strays::{Say, Strays};
use crate::worker::protocol::ToWorker;

struct Entry {
    view: WorkerView,
    facts: ServerFacts,
    orders: mpsc::Sender<ToWorker>,
    joined: Instant,
    busy: Duration,
    /// When the run it carries out started.
    since: Option<Instant>,
    /// Its latest frame (for `/metrics`).
    latest: Option<Frame>,
    /// Whether its database answers.
    up: bool,
    /// Whether it joined with a credential of its own (then its name is the credential's).
    credential: bool,
    /// Fired to drop it (its credential was revoked).
    kick: CancellationToken,
    /// The runs it sent frames of without holding them, which the log was told of.
    strays: Strays,
}

/// How a worker joins: under its own name exactly (a credential's), or under a name made unique.
pub enum NameRule<'a> {
    /// The credential's name; if a worker of that name is joined, this one is not.
    Exact,
    /// Made unique among joined workers, and none of `reserved` (names credentials are issued
    /// under).
    Unique { reserved: &'a [String] },
}

#[derive(Default)]
pub struct Workers {
    all: Mutex<BTreeMap<String, Entry>>,
}

/// A worker's state, as the pages are told it.
fn state_of(e: &Entry) -> WorkerState {
    match (e.up, e.view.run.is_some()) {
        (_, true) => WorkerState::Running,
        (false, false) => WorkerState::Down,
        (true, false) => WorkerState::Idle,
    }
}

impl Workers {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.all.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a worker under its name, as `rule` says; returns that name and what drops it, or none
    /// when its exact name is taken.
    pub fn join(
        &self,
        name: &str,
        rule: NameRule<'_>,
        facts: ServerFacts,
        cpus: Vec<u32>,
        up: bool,
        orders: mpsc::Sender<ToWorker>,
    ) -> Option<(String, CancellationToken)> {
        let mut all = self.lock();
        let base = if name.trim().is_empty() { "worker" } else { name.trim() };
        let mut unique = base.to_owned();
        let credential = match rule {
            NameRule::Exact if all.contains_key(&unique) => return None,
            NameRule::Exact => true,
            NameRule::Unique { reserved } => {
                let mut n = 2;
                while all.contains_key(&unique) || reserved.contains(&unique) {
                    unique = format!("{base}-{n}");
                    n += 1;
                }
                false
            }
        };
        let view =
            WorkerView { name: unique.clone(), max_connections: facts.max_connections, cpus, ..WorkerView::default() };
        let kick = CancellationToken::new();
        all.insert(
            unique.clone(),
            Entry {
                view,
                facts,
                orders,
                joined: Instant::now(),
                busy: Duration::ZERO,
                since: None,
                latest: None,
                up,
                credential,
                kick: kick.clone(),
                strays: Strays::default(),
            },
        );
        Some((unique, kick))
    }

    /// Whether a worker of this name is joined.
    pub fn has(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Whether a worker is joined with credential `name`.
    pub fn has_credential(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|e| e.credential)
    }

    /// Drops the worker joined with credential `name` (it was revoked); false if none is.
    pub fn kick(&self, name: &str) -> bool {
        let all = self.lock();
        let Some(e) = all.get(name).filter(|e| e.credential) else { return false };
        e.kick.cancel();
        true
    }

    pub fn leave(&self, name: &str) {
        self.lock().remove(name);
    }

    pub fn set_up(&self, name: &str, up: bool, reason: Option<String>) -> bool {
        let mut all = self.lock();
        let Some(e) = all.get_mut(name) else { return false };
        let changed = e.up != up;
        e.up = up;
        e.view.reason = if up { None } else { reason.or_else(|| Some("its PostgreSQL is unreachable".into())) };
        changed
    }

    pub fn is_up(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|e| e.up)
    }

    /// The worker starts (`Some`) or ends (`None`) a run.
    pub fn set_run(&self, name: &str, run: Option<String>) {
        let mut all = self.lock();
        let Some(e) = all.get_mut(name) else { return };
        match (&run, e.since.take()) {
            (None, Some(since)) => {
                e.busy += since.elapsed();
                e.view.runs += 1;
                // The run is over: what is left of its last frame is the server's view.
                e.latest = e.latest.take().map(|f| Frame { server: f.server, ..Frame::default() });
            }
            (Some(_), _) => e.since = Some(Instant::now()),
            (None, None) => {}
        }
        e.view.run = run;
    }

    /// A frame of `run`, which worker `name` does not hold, is dropped: what the log is told.
    pub fn stray_frame(&self, name: &str, run: &str) -> Say {
        self.lock().get_mut(name).map_or(Say::Warn, |e| e.strays.dropped(run))
    }

    pub fn note_frame(&self, name: &str, frame: &Frame) {
        if let Some(e) = self.lock().get_mut(name) {
            e.latest = Some(frame.clone());
        }
    }

    /// Every worker as the pages see it, by name.
    pub fn views(&self) -> Vec<WorkerView> {
        self.lock()
            .values()
            .map(|e| {
                let running = e.since.map_or(Duration::ZERO, |s| s.elapsed());
                WorkerView {
                    state: state_of(e),
                    busy_ms: (e.busy + running).as_millis() as u64,
                    joined_ms_ago: e.joined.elapsed().as_millis() as u64,
                    ..e.view.clone()
                }
            })
            .collect()
    }

    /// The worker whose idle view of its server pages are shown: the first up one, by name.
    pub fn primary(&self) -> Option<String> {
        self.lock().values().find(|e| e.up).map(|e| e.view.name.clone())
    }

    /// The server facts of the primary worker (what a page's texts are filled with before a run).
    pub fn primary_facts(&self) -> Option<ServerFacts> {
        self.lock().values().find(|e| e.up).map(|e| e.facts)
    }

    /// Where to send orders for the worker carrying out `run`, if it is one of ours.
    pub fn carrying(&self, run: &str) -> Option<mpsc::Sender<ToWorker>> {
        self.lock().values().find(|e| e.view.run.as_deref() == Some(run)).map(|e| e.orders.clone())
    }

    /// Each worker's latest frame (before its first, what it said of its server when it joined).
    pub fn latest_frames(&self) -> Vec<(String, Frame)> {
        self.lock()
            .iter()
            .map(|(n, e)| {
                let frame = e.latest.clone().unwrap_or_else(|| Frame {
                    server: ServerFrame {
                        reachable: e.up,
                        max_connections: e.facts.max_connections,
                        reserved_connections: e.facts.reserved_connections,
                        cpus: e.facts.cpus,
                        tls: e.facts.tls,
                        pgbouncer: e.facts.pgbouncer,
                        ..ServerFrame::default()
                    },
                    ..Frame::default()
                });
                (n.clone(), frame)
            })
            .collect()
    }
}
