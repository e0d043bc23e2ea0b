//! Runs: the queue that takes them one at a time, and the burst that each one fires.
//!
//! Runs share one database, so they go through a queue and run one after another: a run's
//! figures are its own. A run fires `requests` requests, keeping at most `concurrency` in flight
//! (a burst of 100 at concurrency 100 really has 100 requests in the air), each served by the
//! run's strategy. Every outcome goes into the run's [`RunRecorder`], which the hub turns into
//! frames while the run goes and which makes the summary when it ends.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poollab_shared::{RunState, RunView, ServerMessage, Strategy as StrategyKind, Summary, ValidRunSpec};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::db::{Database, app_name};
use crate::hub::MetricsHub;
use crate::recorder::RunRecorder;
use crate::shutdown::Shutdown;
use crate::strategy::{LeakJar, LiveCounters, NaiveStrategy, PooledStrategy, Request, Strategy};

/// Runs kept for `GET /api/runs` (the oldest finished ones are forgotten first).
const HISTORY: usize = 200;
/// A run still going after this long is stopped and marked failed.
pub const RUN_DEADLINE: Duration = Duration::from_secs(180);
/// How long the pre-flight check waits for the database.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the run queue is full ({0} runs waiting); try again when one has finished")]
    Full(usize),
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("the database is unreachable: {0}")]
    DatabaseUnreachable(String),
    #[error("the run did not finish within {0:?} and was stopped")]
    Deadline(Duration),
}

/// Every run the lab knows about, newest last.
#[derive(Debug, Default)]
pub struct RunStore {
    runs: Mutex<VecDeque<RunView>>,
}

impl RunStore {
    fn lock(&self) -> MutexGuard<'_, VecDeque<RunView>> {
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<RunView> {
        self.lock().iter().find(|r| r.id == id).cloned()
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<RunView> {
        self.lock().iter().rev().cloned().collect()
    }

    fn queued(&self) -> usize {
        self.lock().iter().filter(|r| r.state == RunState::Queued).count()
    }

    fn insert(&self, run: RunView) {
        let mut runs = self.lock();
        if runs.len() >= HISTORY
            && let Some(pos) = runs.iter().position(|r| matches!(r.state, RunState::Done | RunState::Failed))
        {
            runs.remove(pos);
        }
        runs.push_back(run);
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut RunView)) -> Option<RunView> {
        let mut runs = self.lock();
        let run = runs.iter_mut().find(|r| r.id == id)?;
        f(run);
        Some(run.clone())
    }
}

/// The front of the queue: where `POST /api/runs` puts runs.
#[derive(Clone)]
pub struct RunQueue {
    store: Arc<RunStore>,
    hub: Arc<MetricsHub>,
    tx: mpsc::Sender<(String, ValidRunSpec)>,
    capacity: usize,
}

impl RunQueue {
    /// The queue and the runner that drains it (spawn [`Runner::run`]).
    pub fn new(db: Database, hub: Arc<MetricsHub>, capacity: usize) -> (RunQueue, Runner) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let store = Arc::new(RunStore::default());
        let queue = RunQueue { store: store.clone(), hub: hub.clone(), tx, capacity };
        (queue, Runner { db, hub, store, rx })
    }

    pub fn store(&self) -> &RunStore {
        &self.store
    }

    pub fn submit(&self, spec: ValidRunSpec) -> Result<RunView, QueueError> {
        if self.store.queued() >= self.capacity {
            return Err(QueueError::Full(self.capacity));
        }
        let id = new_run_id();
        let view = RunView {
            id: id.clone(),
            state: RunState::Queued,
            spec: spec.clone().into(),
            submitted_at_ms: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
            summary: None,
            error: None,
        };
        self.store.insert(view.clone());
        if self.tx.try_send((id.clone(), spec)).is_err() {
            self.store.update(&id, |r| {
                r.state = RunState::Failed;
                r.error = Some("the run queue is full".into());
            });
            return Err(QueueError::Full(self.capacity));
        }
        self.hub.broadcast(ServerMessage::Run(view.clone()));
        Ok(view)
    }
}

fn new_run_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes runs off the queue and carries them out, one at a time.
pub struct Runner {
    db: Database,
    hub: Arc<MetricsHub>,
    store: Arc<RunStore>,
    rx: mpsc::Receiver<(String, ValidRunSpec)>,
}

impl Runner {
    pub async fn run(mut self, mut shutdown: Shutdown) {
        loop {
            let (id, spec) = tokio::select! {
                next = self.rx.recv() => match next { Some(next) => next, None => return },
                _ = shutdown.recv() => return,
            };
            self.set(&id, |r| r.state = RunState::Running);
            tracing::info!(run = %id, strategy = ?spec.strategy, requests = spec.requests, concurrency = spec.concurrency, "run starting");
            let result = tokio::select! {
                result = self.execute(&id, &spec) => result,
                _ = shutdown.recv() => return,
            };
            match result {
                Ok(summary) => {
                    tracing::info!(run = %id, completed = summary.completed, failed = summary.failed, "run done");
                    self.set(&id, |r| {
                        r.state = RunState::Done;
                        r.summary = Some(summary);
                    });
                }
                Err(e) => {
                    tracing::warn!(run = %id, error = %e, "run failed");
                    self.set(&id, |r| {
                        r.state = RunState::Failed;
                        r.error = Some(e.to_string());
                    });
                }
            }
        }
    }

    fn set(&self, id: &str, f: impl FnOnce(&mut RunView)) {
        if let Some(view) = self.store.update(id, f) {
            self.hub.broadcast(ServerMessage::Run(view));
        }
    }

    /// Refuses to start a burst that could only collect connection errors.
    async fn preflight(&self) -> Result<(), RunError> {
        let check = async {
            let mut conn = self.db.admin(app_name::ADMIN).connect().await?;
            sqlx::query("SELECT 1").execute(&mut conn).await?;
            conn.close().await
        };
        match tokio::time::timeout(PREFLIGHT_TIMEOUT, check).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RunError::DatabaseUnreachable(e.to_string())),
            Err(_) => Err(RunError::DatabaseUnreachable(format!("no answer within {PREFLIGHT_TIMEOUT:?}"))),
        }
    }

    async fn execute(&self, id: &str, spec: &ValidRunSpec) -> Result<Summary, RunError> {
        self.preflight().await?;
        let counters = Arc::new(LiveCounters::default());
        let (strategy, application_name) = match spec.strategy {
            StrategyKind::Naive => {
                let opts = self.db.app(app_name::NAIVE_RUN);
                (Strategy::Naive(NaiveStrategy::new(opts, counters.clone())), app_name::NAIVE_RUN)
            }
            StrategyKind::Pooled => {
                let opts = self.db.app(app_name::POOLED_RUN);
                (Strategy::Pooled(PooledStrategy::new(opts, &spec.pool, counters.clone())), app_name::POOLED_RUN)
            }
        };
        let recorder = Arc::new(RunRecorder::new(counters.clone()));
        let pool = strategy.pool().map(|p| (p.clone(), u64::from(spec.pool.max_connections)));
        let leak_threshold = (spec.leak.detect_after_ms > 0).then(|| Duration::from_millis(spec.leak.detect_after_ms));
        self.hub.begin_run(id, recorder.clone(), pool, application_name, leak_threshold);
        if let Some(pool) = strategy.pool()
            && spec.pool.min_connections > 0
        {
            warm_up(pool, spec.pool.min_connections).await;
        }

        let started = Instant::now();
        let jar = Arc::new(LeakJar::default());
        let fired =
            tokio::time::timeout(RUN_DEADLINE, fire(strategy.clone(), spec, recorder.clone(), jar.clone())).await;
        let duration = started.elapsed();
        // The last frame shows the pool as the run left it (leaks included); only then are the
        // leaked connections let go and the pool closed.
        let peaks = self.hub.end_run();
        let leaked = jar.release().await;
        if let Some(pool) = strategy.pool() {
            pool.close().await;
        }
        fired.map_err(|_| RunError::Deadline(RUN_DEADLINE))?;
        let mut summary = recorder.summary(duration, peaks.server_connections, peaks.pool_size);
        summary.leaked = leaked;
        summary.leak_suspects = peaks.leak_suspects;
        Ok(summary)
    }
}

/// A warm pool: with `min_connections`, the run opens that many connections before the burst
/// (acquiring them all at once makes the pool open each one) and returns them, so the burst meets
/// a ready pool. sqlx would do this itself only after its first maintenance period (the idle
/// timeout), too late for a burst. Each acquire is bounded by the pool's acquire timeout.
async fn warm_up(pool: &sqlx::PgPool, min_connections: u32) {
    let opened = futures_util::future::join_all((0..min_connections).map(|_| pool.acquire())).await;
    let failed = opened.iter().filter(|c| c.is_err()).count();
    if failed > 0 {
        tracing::warn!(failed, "could not open every min_connections connection before the burst");
    }
}

/// Fires the run's requests, at most `concurrency` at once, and waits for all of them.
async fn fire(strategy: Strategy, spec: &ValidRunSpec, recorder: Arc<RunRecorder>, jar: Arc<LeakJar>) {
    let gate = Arc::new(Semaphore::new(spec.concurrency as usize));
    let strategy = Arc::new(strategy);
    let mut requests = JoinSet::new();
    for number in 0..u64::from(spec.requests) {
        let Ok(permit) = gate.clone().acquire_owned().await else { break };
        let (strategy, recorder, work, jar) = (strategy.clone(), recorder.clone(), spec.work.clone(), jar.clone());
        let leaks = spec.leak.leaks(number);
        requests.spawn(async move {
            let counters = &recorder.counters;
            counters.in_flight.fetch_add(1, Ordering::Relaxed);
            let start = Instant::now();
            let request = Request { number: Some(number), leak_into: leaks.then_some(jar.as_ref()) };
            let outcome = strategy.serve(&work, request).await;
            recorder.record(start.elapsed(), &outcome);
            counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            if let Err(e) = &outcome {
                tracing::debug!(kind = e.kind.as_str(), error = %e.message, "request failed");
            }
            drop(permit);
        });
    }
    while let Some(joined) = requests.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a request task failed");
        }
    }
}
