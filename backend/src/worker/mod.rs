//! The worker: the part of the lab that carries out runs, on a PostgreSQL of its own.
//!
//! A worker owns one database (a private cluster it started, or a URL), the CPU cores it was
//! given, and one run at a time. It takes runs from its coordinator, carries each out with the
//! [`crate::engine`] (load, fleet, strategies, proxy, recorder), and streams what happens back:
//! its hub's frames while the run goes, the summary and timeline when it ends, and between runs
//! its server's idle view and whether that server answers. Its runs never share a database or a
//! core with another worker's, so one learner's figures never depend on another's run.
//!
//! - [`protocol`]: the messages between a worker and its coordinator, and the in-process link.
//! - [`remote`]: a worker on another machine (or another process) dials its coordinator.
//! - [`local`]: the coordinator starts workers as processes of its own machine (`--workers N`).
//! - [`affinity`]: pinning a worker (and the PostgreSQL it starts) to its cores.

pub mod affinity;
pub mod local;
pub mod protocol;
pub mod remote;

use std::sync::Arc;

use poollab_shared::{RunSpec, ServerFacts};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::db::Database;
use crate::engine::hub::MetricsHub;
use crate::engine::runner::Executor;
use crate::shutdown::Shutdown;
use crate::worker::protocol::{FromWorker, HEARTBEAT, ToWorker, WorkerEnd};

/// Why a worker says it cannot carry out runs.
const DATABASE_DOWN: &str = "its PostgreSQL is unreachable";

/// One worker: its database, its live view, and the run it carries out.
pub struct Worker {
    name: String,
    cpus: Vec<u32>,
    facts: ServerFacts,
    hub: Arc<MetricsHub>,
    executor: Arc<Executor>,
}

/// The run a worker is carrying out.
struct Current {
    id: String,
    cancel: CancellationToken,
    task: JoinHandle<FromWorker>,
}

impl Worker {
    /// A worker for `db`, whose live view `hub` shows (the caller runs its sampler and ticker).
    pub fn new(name: String, cpus: Vec<u32>, db: Database, facts: ServerFacts, hub: Arc<MetricsHub>) -> Worker {
        let executor = Arc::new(Executor::new(db, hub.clone()));
        Worker { name, cpus, facts, hub, executor }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn status(&self) -> FromWorker {
        let up = self.hub.server().reachable;
        FromWorker::Status { database_up: up, reason: (!up).then(|| DATABASE_DOWN.to_owned()) }
    }

    /// Serves one link to a coordinator until it closes or the lab shuts down. A run still going
    /// then is stopped: nobody could hear how it ended.
    pub async fn serve(&self, mut end: WorkerEnd, mut shutdown: Shutdown) {
        let hello = FromWorker::Hello {
            name: self.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            server: self.facts,
            cpus: self.cpus.clone(),
            database_up: self.hub.server().reachable,
        };
        if end.tx.send(hello).await.is_err() {
            return;
        }
        let mut frames = self.hub.subscribe();
        let mut current: Option<Current> = None;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut was_up = self.hub.server().reachable;
        loop {
            let out = tokio::select! {
                frame = frames.recv() => match frame {
                    Ok(frame) => {
                        // A change in the server's reachability is news at once, not at the next
                        // heartbeat.
                        if frame.server.reachable != was_up {
                            was_up = frame.server.reachable;
                            if end.tx.send(self.status()).await.is_err() {
                                break;
                            }
                        }
                        FromWorker::Frame { frame: Box::new(frame) }
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
                order = end.rx.recv() => match order {
                    None => break,
                    Some(ToWorker::Run { id, spec }) => match current {
                        Some(_) => FromWorker::Failed { run: id, error: format!("{} was busy with another run", self.name), timeline: None },
                        None => {
                            current = Some(self.start(id, *spec));
                            continue;
                        }
                    },
                    Some(ToWorker::Cancel { id }) => {
                        if let Some(c) = current.as_ref().filter(|c| c.id == id) {
                            c.cancel.cancel();
                        }
                        continue;
                    }
                },
                ended = async { (&mut current.as_mut().expect("guarded").task).await }, if current.is_some() => {
                    let id = current.take().map(|c| c.id).unwrap_or_default();
                    // The run's last frame is already in the hub's channel: it goes first, so the
                    // coordinator hears every frame of a run before it hears that it ended.
                    loop {
                        match frames.try_recv() {
                            Ok(frame) => {
                                if end.tx.send(FromWorker::Frame { frame: Box::new(frame) }).await.is_err() {
                                    return;
                                }
                            }
                            Err(TryRecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        }
                    }
                    ended.unwrap_or_else(|e| FromWorker::Failed { run: id, error: format!("the run crashed: {e}"), timeline: None })
                }
                _ = heartbeat.tick() => self.status(),
                _ = shutdown.recv() => break,
            };
            if end.tx.send(out).await.is_err() {
                break;
            }
        }
        if let Some(c) = current {
            tracing::warn!(run = %c.id, "the link to the coordinator is gone: stopping the run");
            c.cancel.cancel();
            let _ = c.task.await;
        }
    }

    /// Starts carrying out a run in a task of its own.
    fn start(&self, id: String, spec: RunSpec) -> Current {
        let cancel = CancellationToken::new();
        let (executor, token, run) = (self.executor.clone(), cancel.clone(), id.clone());
        let name = self.name.clone();
        let task = tokio::spawn(async move {
            let spec = match spec.validate() {
                Ok(spec) => spec,
                Err(e) => {
                    return FromWorker::Failed { run, error: format!("{name} refused the run: {e}"), timeline: None };
                }
            };
            tracing::info!(run = %run, worker = %name, strategy = ?spec.strategy, requests = spec.requests, "run starting");
            match executor.carry_out(&run, &spec, token).await {
                Ok((summary, timeline)) => {
                    tracing::info!(run = %run, completed = summary.completed, failed = summary.failed, "run done");
                    FromWorker::Done { run, summary: Box::new(summary), timeline: Box::new(timeline) }
                }
                Err(failure) => {
                    tracing::warn!(run = %run, error = %failure.error, "run failed");
                    let timeline = failure.timeline.map(Box::new);
                    FromWorker::Failed { run, error: failure.error.to_string(), timeline }
                }
            }
        });
        Current { id, cancel, task }
    }
}
