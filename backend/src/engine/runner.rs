//! Runs: the queue that takes them one at a time, and how each one is carried out.
//!
//! Runs share one database, so they go through a queue and run one after another: a run's
//! figures are its own. For each run the runner builds its [`Fleet`] (the simulated app: its
//! instances and their pools, cache and breaker), puts the network proxy in front of the database
//! if the spec asks for distance or an outage, lets the hub watch, and fires the load
//! ([`crate::engine::load`]). Every outcome goes into the run's [`RunRecorder`], which the hub turns into
//! frames while the run goes and which makes the summary and the timeline when it ends; the
//! [`RunStore`] keeps them. A sizing sweep is a group of runs, one per pool size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poollab_shared::{
    RunState, RunView, ServerMessage, Summary, SweepPoint, SweepSpec, SweepView, Timeline, Tls, ValidRunSpec,
};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Notify;

use crate::class::queue::{FairQueue, Waiting, Who};
use crate::db::pgbouncer::{PgBouncer, PgBouncerError};
use crate::db::store::RunStore;
use crate::db::{Database, app_name};
use crate::engine::fleet::Fleet;
use crate::engine::hub::{MetricsHub, RunWatch};
use crate::engine::load::fire;
use crate::engine::proxy::{NetworkProxy, ProxyError};
use crate::engine::recorder::RunRecorder;
use crate::engine::strategy::{LeakJar, LiveCounters};
use crate::shutdown::Shutdown;

/// A run still going after this long is stopped and marked failed.
pub const RUN_DEADLINE: Duration = Duration::from_secs(180);
/// How long a run's end waits for the sampler to read the server once more.
const SERVER_READING_WAIT: Duration = Duration::from_millis(250);
/// How long the pre-flight check waits for the database.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the run queue is full ({0} runs waiting); try again when one has finished")]
    Full(usize),
    #[error("the run queue has room for {room} more runs; this sweep needs {needed}")]
    NoRoomForSweep { room: usize, needed: usize },
    #[error("you already have {0} runs waiting; wait for one to finish")]
    LearnerLimit(usize),
    #[error("a sweep goes in line whole, and you have {0} runs waiting: wait for them to finish")]
    SweepWhileWaiting(usize),
    #[error("in this class a run may fire at most {max} requests (this one asks for {asked})")]
    TooBig { asked: u32, max: u32 },
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("the database is unreachable: {0}")]
    DatabaseUnreachable(String),
    #[error("the run did not finish within {0:?} and was stopped")]
    Deadline(Duration),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("the run's PgBouncer could not start: {0}")]
    Pooler(#[from] PgBouncerError),
}

/// A sweep's points: each pool size and the run that measures it.
type SweepRuns = Vec<(u32, String)>;

/// The front of the queue: where `POST /api/runs` puts runs.
#[derive(Clone)]
pub struct RunQueue {
    store: Arc<RunStore>,
    hub: Arc<MetricsHub>,
    line: Arc<Mutex<FairQueue>>,
    /// Wakes the runner when a run joins the line.
    ready: Arc<Notify>,
    capacity: usize,
    per_learner: usize,
    /// Most requests in a learner's run.
    learner_max_requests: u32,
    /// Sizing sweeps: the pool size and run id of each point, by sweep id.
    sweeps: Arc<Mutex<HashMap<String, SweepRuns>>>,
}

impl RunQueue {
    /// The queue and the runner that drains it (spawn [`Runner::run`]). At most `capacity` runs
    /// wait in all, and at most `per_learner` of any one learner's (or one sweep, whole).
    pub fn new(
        db: Database,
        hub: Arc<MetricsHub>,
        store: Arc<RunStore>,
        capacity: usize,
        per_learner: usize,
        learner_max_requests: u32,
    ) -> (RunQueue, Runner) {
        let queue = RunQueue {
            store: store.clone(),
            hub: hub.clone(),
            line: Arc::default(),
            ready: Arc::new(Notify::new()),
            capacity: capacity.max(1),
            per_learner: per_learner.max(1),
            learner_max_requests,
            sweeps: Arc::default(),
        };
        (queue.clone(), Runner { db, hub, store, queue })
    }

    pub fn store(&self) -> &RunStore {
        &self.store
    }

    fn line(&self) -> std::sync::MutexGuard<'_, FairQueue> {
        self.line.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a learner's run larger than the class allows.
    fn check_size(&self, who: &Who, spec: &ValidRunSpec) -> Result<(), QueueError> {
        match who {
            Who::Learner(_) if spec.requests > self.learner_max_requests => {
                Err(QueueError::TooBig { asked: spec.requests, max: self.learner_max_requests })
            }
            _ => Ok(()),
        }
    }

    /// Refuses a run the line has no room for (in all, or for this learner).
    fn admit(&self, who: &Who, runs: usize) -> Result<(), QueueError> {
        let line = self.line();
        let room = self.capacity.saturating_sub(line.len());
        if runs > room {
            return Err(if runs == 1 {
                QueueError::Full(self.capacity)
            } else {
                QueueError::NoRoomForSweep { room, needed: runs }
            });
        }
        if let Who::Learner(name) = who {
            let mine = line.queued_by(name);
            // A sweep goes in line whole: a learner with nothing else waiting may queue one of
            // any size the API allows, which the per-learner limit alone would forbid.
            if runs > 1 && mine > 0 {
                return Err(QueueError::SweepWhileWaiting(mine));
            }
            if runs == 1 && mine + 1 > self.per_learner {
                return Err(QueueError::LearnerLimit(mine));
            }
        }
        Ok(())
    }

    pub async fn submit(&self, spec: ValidRunSpec, who: &Who) -> Result<RunView, QueueError> {
        self.check_size(who, &spec)?;
        self.admit(who, 1)?;
        self.enqueue(spec, who).await
    }

    async fn enqueue(&self, spec: ValidRunSpec, who: &Who) -> Result<RunView, QueueError> {
        let id = new_id();
        let view = RunView {
            id: id.clone(),
            state: RunState::Queued,
            spec: spec.clone().into(),
            submitted_at_ms: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
            summary: None,
            error: None,
            position: None,
            timeline: None,
        };
        // Stored and announced before the runner can see it, so no later state is overwritten
        // by this one, and watchers hear "queued" before "running".
        self.store.insert(view.clone());
        self.store.save(&view, None).await;
        self.hub.broadcast(ServerMessage::Run(view.clone()));
        self.line().push(who, Waiting { id: id.clone(), spec });
        self.ready.notify_one();
        self.announce_positions();
        Ok(self.store.get(&id).await.ok().flatten().unwrap_or(view))
    }

    /// Tells every queued run its place in line (the page shows "you are #3 in line").
    fn announce_positions(&self) {
        let order = self.line().order();
        for (i, id) in order.iter().enumerate() {
            let position = Some(i as u32 + 1);
            let changed = self.store.update(id, |r| {
                if r.state == RunState::Queued {
                    r.position = position;
                }
            });
            if let Some(view) = changed.filter(|v| v.position == position) {
                self.hub.broadcast(ServerMessage::Run(view));
            }
        }
    }

    /// Waits for the next run in line.
    async fn next(&self) -> Waiting {
        loop {
            // Taken in its own statement: the line's lock must be released before positions are
            // announced (which lock it again).
            let next = self.line().pop();
            if let Some(run) = next {
                self.announce_positions();
                return run;
            }
            self.ready.notified().await;
        }
    }

    /// Queues one run per pool size of the sweep, all or none.
    pub async fn submit_sweep(
        &self,
        sweep: &SweepSpec,
        runs: Vec<ValidRunSpec>,
        who: &Who,
    ) -> Result<String, QueueError> {
        for run in &runs {
            self.check_size(who, run)?;
        }
        self.admit(who, runs.len())?;
        let mut points = Vec::with_capacity(runs.len());
        for (size, run) in sweep.sizes.iter().zip(runs) {
            points.push((*size, self.enqueue(run, who).await?.id));
        }
        let id = new_id();
        self.sweeps.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), points);
        Ok(id)
    }

    /// A sweep's points, with the figures of those runs that have finished.
    pub async fn sweep(&self, id: &str) -> Option<SweepView> {
        let points = self.sweeps.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()?;
        let mut view = SweepView { id: id.to_owned(), done: true, points: Vec::with_capacity(points.len()) };
        for (size, run_id) in points {
            let run = self.store.get(&run_id).await.ok().flatten();
            let state = run.as_ref().map_or(RunState::Failed, |r| r.state);
            view.done &= matches!(state, RunState::Done | RunState::Failed);
            let s = run.and_then(|r| r.summary).unwrap_or_default();
            view.points.push(SweepPoint {
                max_connections: size,
                run_id,
                state,
                throughput_per_s: s.throughput_per_s,
                latency_p50_ms: s.latency_ms.p50,
                latency_p99_ms: s.latency_ms.p99,
                query_p50_ms: s.query_ms.p50,
                failed: s.failed,
                peak_server_connections: s.peak_server_connections,
            });
        }
        Some(view)
    }
}

fn new_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes runs off the queue and carries them out, one at a time.
pub struct Runner {
    db: Database,
    hub: Arc<MetricsHub>,
    store: Arc<RunStore>,
    queue: RunQueue,
}

impl Runner {
    pub async fn run(self, mut shutdown: Shutdown) {
        loop {
            let Waiting { id, spec } = tokio::select! {
                next = self.queue.next() => next,
                _ = shutdown.recv() => return,
            };
            self.set(&id, |r| {
                r.state = RunState::Running;
                r.position = None;
            });
            tracing::info!(run = %id, strategy = ?spec.strategy, requests = spec.requests, concurrency = spec.concurrency, "run starting");
            let result = tokio::select! {
                result = self.execute(&id, &spec) => result,
                _ = shutdown.recv() => return,
            };
            let Some(mut view) = self.store.get(&id).await.ok().flatten() else { continue };
            let timeline = match result {
                Ok((summary, timeline)) => {
                    tracing::info!(run = %id, completed = summary.completed, failed = summary.failed, "run done");
                    view.state = RunState::Done;
                    view.summary = Some(summary);
                    Some(timeline)
                }
                Err(e) => {
                    tracing::warn!(run = %id, error = %e, "run failed");
                    view.state = RunState::Failed;
                    view.error = Some(e.to_string());
                    None
                }
            };
            // Stored first, announced after: whoever hears that a run is done can read its
            // timeline.
            self.store.save(&view, timeline.as_ref()).await;
            self.set(&id, |r| *r = view);
        }
    }

    fn set(&self, id: &str, f: impl FnOnce(&mut RunView)) -> Option<RunView> {
        let view = self.store.update(id, f)?;
        self.hub.broadcast(ServerMessage::Run(view.clone()));
        Some(view)
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

    async fn execute(&self, id: &str, spec: &ValidRunSpec) -> Result<(Summary, Timeline), RunError> {
        self.preflight().await?;
        // With a pooler, the run's connections go to a PgBouncer of its own, which stands where
        // the server was. With a network spec, they go through a proxy (in front of the pooler,
        // if any) that adds the distance and stages the outage. Everything else (the sampler,
        // the store) goes direct.
        // With `tls: "both"`, naive requests take turns: plain, then encrypted, to the same place.
        let per_connect = match spec.tls {
            Some(Tls::Both) => vec![Some(Tls::Off), Some(Tls::On)],
            tls => vec![tls],
        };
        let mut turns: Vec<PgConnectOptions> =
            per_connect.into_iter().map(|tls| self.db.app_tls(app_name::NAIVE_RUN, tls)).collect();
        let pooler = match &spec.pooler {
            Some(p) => Some(PgBouncer::start(p, &self.db).await?),
            None => None,
        };
        let pooler_watch = pooler.as_ref().map(PgBouncer::watch);
        let mut upstream = self.db.app_tcp_target();
        if let Some(bouncer) = &pooler {
            // A spec cannot ask for TLS with a pooler: PgBouncer listens without it.
            turns = turns.into_iter().map(|o| bouncer.client(o)).collect();
            upstream = Some(bouncer.address());
        }
        let proxy = if spec.network.uses_proxy() {
            let upstream = upstream.ok_or(ProxyError::NotTcp)?;
            let proxy = NetworkProxy::start(upstream, Duration::from_millis(spec.network.delay_ms)).await?;
            turns = turns.into_iter().map(|o| o.host("127.0.0.1").port(proxy.port())).collect();
            Some(Arc::new(proxy))
        } else {
            None
        };
        let counters = Arc::new(LiveCounters::default());
        let fleet = Arc::new(Fleet::build(&turns, spec, counters.clone()));
        let recorder = Arc::new(RunRecorder::new(counters));
        self.hub.begin_run(RunWatch {
            id: id.to_owned(),
            recorder: recorder.clone(),
            fleet: fleet.clone(),
            pool_max: u64::from(spec.pool.max_connections),
            leak_threshold: (spec.leak.detect_after_ms > 0).then(|| Duration::from_millis(spec.leak.detect_after_ms)),
            outage: proxy.as_ref().map(|p| p.watch_outage()),
            pooler: pooler_watch.as_ref().map(|w| w.gauge.clone()),
        });
        if spec.pool.min_connections > 0 {
            for pool in fleet.pools() {
                warm_up(&pool, spec.pool.min_connections).await;
            }
        }

        let started = Instant::now();
        let outage = match (&proxy, &spec.network.outage) {
            (Some(proxy), Some(outage)) => {
                let (proxy, outage) = (proxy.clone(), outage.clone());
                Some(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(outage.start_ms)).await;
                    proxy.set_outage(Some(outage.mode));
                    tokio::time::sleep(Duration::from_millis(outage.duration_ms)).await;
                    proxy.set_outage(None);
                }))
            }
            _ => None,
        };
        let jar = Arc::new(LeakJar::default());
        let fired = tokio::time::timeout(RUN_DEADLINE, fire(fleet.clone(), spec, recorder.clone(), jar.clone())).await;
        let duration = started.elapsed();
        if spec.load.linger_ms > 0 && fired.is_ok() {
            tokio::time::sleep(Duration::from_millis(spec.load.linger_ms)).await;
        }
        if let Some(outage) = outage {
            outage.abort();
        }
        if let Some(proxy) = &proxy {
            proxy.set_outage(None);
        }
        // The last frame shows the pool as the run left it (leaks included), beside a reading of
        // the server taken after it; only then are the leaked connections let go and the pools
        // closed.
        self.hub.fresh_server_reading(SERVER_READING_WAIT).await;
        let peaks = self.hub.end_run();
        let leaked = jar.release().await;
        fleet.close().await;
        drop(proxy);
        let pooler_peaks = pooler_watch.map(|w| w.gauge.peaks()).unwrap_or_default();
        drop(pooler);
        fired.map_err(|_| RunError::Deadline(RUN_DEADLINE))?;
        let mut summary = recorder.summary(duration, peaks.server_connections, peaks.pool_size);
        summary.peak_in_use = peaks.in_use;
        summary.peak_waiters = peaks.waiters;
        summary.peak_idle_in_transaction = peaks.idle_in_transaction;
        summary.peak_pooler_servers = pooler_peaks.servers;
        summary.peak_pooler_clients = pooler_peaks.clients;
        summary.peak_pooler_waiting = pooler_peaks.waiting;
        summary.pool_size_at_end = peaks.pool_size_at_end;
        summary.refused_connects = peaks.refused;
        if spec.strategy == poollab_shared::Strategy::Pooled {
            // A pool's closes: what it opened and no longer holds (the last frame's sums).
            let closes = peaks.frames.last().map_or(0, |f| f.app.totals.closes);
            summary.closes_lifetime = recorder.counters.lifetime_closes.load(std::sync::atomic::Ordering::Relaxed);
            summary.closes_idle = closes.saturating_sub(summary.closes_lifetime);
        }
        summary.leaked = leaked;
        summary.leak_suspects = peaks.leak_suspects;
        (summary.cache_hits, summary.cache_misses) = fleet.cache_counts();
        summary.breaker_opened = fleet.breaker_opened();
        Ok((summary, Timeline { requests: recorder.take_requests(), frames: peaks.frames }))
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
