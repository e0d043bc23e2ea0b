//! Carrying out one run, and measuring it.
//!
//! A worker takes one run at a time from its coordinator and hands it to its [`Executor`]. For
//! each run the executor builds its [`Fleet`] (the simulated app: its instances and their pools,
//! cache and breaker), puts a PgBouncer and the network proxy in front of the database if the
//! spec asks for them, lets the hub watch, and fires the load ([`crate::engine::load`]). Every
//! outcome goes into the run's [`RunRecorder`], which the hub turns into frames while the run goes
//! and which makes the summary and the timeline when it ends.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use poollab_shared::spec::{PACE_ROUNDS, PACE_TIMED_QUERIES, PACE_WARM_QUERIES};
use poollab_shared::{Lack, Limits, Nodelay, Query, Summary, Timeline, Tls, ValidRunSpec, WorkSpec};
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::db::pgbouncer::{self, PgBouncer, PgBouncerError};
use crate::db::server_cpus::PinError;
use crate::db::{Database, app_name};
use crate::engine::fleet::Fleet;
use crate::engine::hub::{MetricsHub, RunWatch};
use crate::engine::load::fire;
use crate::engine::proxy::{NetworkProxy, ProxyError};
use crate::engine::recorder::{RunEnd, RunRecorder};
use crate::engine::strategy::{LeakJar, LiveCounters, Route, Strategy};

/// A run still going this long after its worker took it is stopped and marked failed: the
/// backstop for whatever the budget's estimate misses (a load slower than its least duration).
pub const RUN_DEADLINE: Duration = Duration::from_secs(180);
/// How long a run's end waits for the sampler to read the server (and its PgBouncer) once more.
const SERVER_READING_WAIT: Duration = Duration::from_millis(250);
/// How long a run's end waits for its backends to leave the server (a backend exits a moment
/// after its client closed), so the next run meets a server this one has left.
const CLEAR_WAIT: Duration = Duration::from_secs(1);
/// How often the run's end looks whether they have.
const CLEAR_POLL: Duration = Duration::from_millis(5);
/// The server's backends of the run's connections (runs never share a worker's server, so every
/// backend with a run's `application_name` is this run's): `$1` and `$2` are the naive and the
/// pooled run's names.
const RUN_BACKENDS: &str = "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (application_name IN ($1, $2) \
                            OR application_name LIKE $1 || '-%' OR application_name LIKE $2 || '-%')";
/// How long the pre-flight check waits for the database.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a stopped run (cancelled, or past its deadline) may spend closing: its pools, its
/// leaked connections, its backends on the server, its pooler. What is not done by then goes on
/// by itself, and the worker takes its next run.
const STOP_GRACE: Duration = Duration::from_millis(500);

// Every run the budget accepts fits before the deadline: its warm-up and load, the pre-flight
// check, the pooler's start, the last server reading and the cleanup.
const _: () = assert!(
    (Limits::RUN_BUDGET_MS as u128)
        + PREFLIGHT_TIMEOUT.as_millis()
        + pgbouncer::START_LIMIT.as_millis()
        + SERVER_READING_WAIT.as_millis()
        + CLEAR_WAIT.as_millis()
        + STOP_GRACE.as_millis()
        < RUN_DEADLINE.as_millis()
);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the database is unreachable: {0}")]
    DatabaseUnreachable(String),
    #[error("the run did not finish within {0:?} and was stopped")]
    Deadline(Duration),
    #[error("cancelled by the instructor while it ran")]
    Cancelled,
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("the run's PgBouncer could not start: {0}")]
    Pooler(#[from] PgBouncerError),
    #[error(transparent)]
    ServerCpus(#[from] PinError),
    #[error(transparent)]
    Lacks(#[from] Lack),
}

/// A run that did not end well: why, and what it measured until it stopped (its frames and the
/// requests that finished), if it got as far as measuring.
#[derive(Debug)]
pub struct Failure {
    pub error: RunError,
    pub timeline: Option<Timeline>,
}

impl From<RunError> for Failure {
    fn from(error: RunError) -> Failure {
        Failure { error, timeline: None }
    }
}

/// When a run must stop early: the instructor's cancel, or its deadline. Every step of a run,
/// from the pre-flight check to closing its pools, waits under it, so a stopped run stops at
/// once, whichever step it was in.
struct Stop {
    cancel: CancellationToken,
    deadline: Instant,
    /// When a stopped run's cleanup must end, fixed the first time the cleanup finds the run
    /// stopped, so its steps share one grace.
    grace_ends: OnceLock<Instant>,
}

impl Stop {
    fn new(cancel: CancellationToken) -> Stop {
        Stop { cancel, deadline: Instant::now() + RUN_DEADLINE, grace_ends: OnceLock::new() }
    }

    /// Waits for `work` unless the run must stop first; `work` is then dropped, and with it
    /// whatever it was waiting for (connects, acquires, queries, requests).
    async fn bound<T>(&self, work: impl Future<Output = T>) -> Result<T, RunError> {
        tokio::select! {
            // A run already stopped does not start another step.
            biased;
            () = self.cancel.cancelled() => Err(RunError::Cancelled),
            () = tokio::time::sleep_until(self.deadline) => Err(RunError::Deadline(RUN_DEADLINE)),
            out = work => Ok(out),
        }
    }

    /// Waits for a cleanup step: as long as it takes while the run goes on, and within
    /// [`STOP_GRACE`] once it is stopped. `None` when it was given up.
    async fn settle<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut work = std::pin::pin!(work);
        match self.bound(work.as_mut()).await {
            Ok(out) => Some(out),
            Err(_) => {
                let grace_ends = *self.grace_ends.get_or_init(|| Instant::now() + STOP_GRACE);
                tokio::time::timeout_at(grace_ends, work).await.ok()
            }
        }
    }

    fn stopped(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }
}

/// What stands between a run's app and the server: its PgBouncer and its network proxy, if the
/// spec asks for them, and where each of its connects goes.
struct Plumbing {
    pooler: Option<PgBouncer>,
    proxy: Option<Arc<NetworkProxy>>,
    /// The no-delay relay, for the connects that go through it without a network proxy.
    relay: Option<NetworkProxy>,
    routes: Vec<Route>,
}

/// An outage the proxy stages on its schedule; it ends when dropped (so also when the run is
/// stopped).
struct StagedOutage(JoinHandle<()>);

impl Drop for StagedOutage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a measured pace stands for later runs of the same query on the same CPUs: long
/// enough that a sizing sweep's runs share one (the same arrivals for every pool size), short
/// enough that a class's later sweeps measure the server as it is then.
const PACE_KEPT: Duration = Duration::from_secs(600);
/// Queries a pace measurement runs (the spec's budget counts them): the first few warm the
/// server's caches and are not counted; then a few rounds are timed, of which the fastest counts.
const PACE_WARM: usize = PACE_WARM_QUERIES as usize;
const PACE_TIMED: usize = PACE_TIMED_QUERIES as usize;
const PACE_ROUNDS_RUN: usize = PACE_ROUNDS as usize;

/// A measured pace, by server CPUs and query.
type Paces = std::sync::Mutex<Vec<((u32, Query), Instant, f64)>>;

/// Carries out runs against one database, watched by one hub (a worker's).
pub struct Executor {
    db: Database,
    hub: Arc<MetricsHub>,
    paces: Paces,
}

/// The arrival rate that keeps a server busy `busy_pct` percent of the time, when it answers one
/// query in `query_ms`.
pub fn rate_for(busy_pct: u32, query_ms: f64) -> u32 {
    let rate = f64::from(busy_pct) * 10.0 / query_ms.max(0.01);
    rate.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// Runs `count` queries on each of `conns` at once, one after another on each, numbered from
/// `first` (the numbers pick the users).
async fn run_lanes(conns: &mut [PgConnection], work: &WorkSpec, first: usize, count: usize) -> Result<(), sqlx::Error> {
    let lanes = conns.iter_mut().enumerate().map(|(i, conn)| async move {
        for n in first + i * count..first + (i + 1) * count {
            crate::db::run_query(conn, work, crate::db::user_for_request(n as u64, work.users)).await?;
        }
        Ok::<_, sqlx::Error>(())
    });
    futures_util::future::try_join_all(lanes).await.map(|_| ())
}

impl Executor {
    pub fn new(db: Database, hub: Arc<MetricsHub>) -> Executor {
        Executor { db, hub, paces: Paces::default() }
    }

    /// The time the run's server spends on each of its queries when kept busy (on the CPUs the
    /// run was given): two connections a CPU send the queries at once, so that while one's answer
    /// travels back the other's query runs, and the pace is the time they took over how many
    /// they ran, in the fastest of a few rounds: one round of about 100 ms measured 2.3 to 3.4 ms
    /// from run to run on one machine, and a slow one set the load a third lighter than asked.
    /// Kept [`PACE_KEPT`] for later runs of the same query and CPUs.
    async fn pace(&self, spec: &ValidRunSpec) -> Result<f64, RunError> {
        let key = (spec.server_cpus, spec.work.query);
        let kept = |(k, at, _): &((u32, Query), Instant, f64)| *k == key && at.elapsed() < PACE_KEPT;
        let lock = || self.paces.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, _, ms)) = lock().iter().find(|p| kept(p)) {
            return Ok(*ms);
        }
        let unreachable = |e: sqlx::Error| RunError::DatabaseUnreachable(e.to_string());
        // Two for each CPU the run was given (two in all for a run that pins none).
        let lanes = 2 * spec.server_cpus.max(1) as usize;
        let mut conns = Vec::with_capacity(lanes);
        for _ in 0..lanes {
            conns.push(self.db.app(app_name::PACE).connect().await.map_err(unreachable)?);
        }
        // Each lane's share of the queries, its first ones to warm the server's caches.
        let (warm, timed) = (PACE_WARM.div_ceil(lanes), PACE_TIMED.div_ceil(lanes));
        run_lanes(&mut conns, &spec.work, 0, warm).await.map_err(unreachable)?;
        let mut fastest = Duration::MAX;
        for round in 0..PACE_ROUNDS_RUN {
            let start = Instant::now();
            run_lanes(&mut conns, &spec.work, lanes * (warm + round * timed), timed).await.map_err(unreachable)?;
            fastest = fastest.min(start.elapsed());
        }
        let ms = fastest.as_secs_f64() * 1000.0 / (lanes * timed) as f64;
        for conn in conns {
            let _ = conn.close().await;
        }
        let mut paces = lock();
        paces.retain(|(k, at, _)| *k != key && at.elapsed() < PACE_KEPT);
        paces.push((key, Instant::now(), ms));
        Ok(ms)
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

    /// Starts the run's PgBouncer and network proxy, if it asks for them.
    async fn plumb(&self, spec: &ValidRunSpec) -> Result<Plumbing, RunError> {
        // With a pooler, the run's connections go to a PgBouncer of its own, which stands where
        // the server was. With a network spec, they go through a proxy (in front of the pooler,
        // if any) that adds the distance and stages the outage; with `nodelay`, through a relay
        // that lets no write wait for a delayed ACK. Everything else (the sampler, the store)
        // goes direct.
        // With `tls: "both"` or `nodelay: "both"`, naive requests take turns (see `turns`).
        let mut routes: Vec<Route> = turns(spec)
            .into_iter()
            .map(|(tls, nodelay)| Route { options: self.db.app_tls(app_name::NAIVE_RUN, tls), nodelay })
            .collect();
        let pooler = match &spec.pooler {
            Some(p) => Some(PgBouncer::start(p, &self.db).await?),
            None => None,
        };
        let mut upstream = self.db.app_tcp_target();
        if let Some(bouncer) = &pooler {
            // A spec cannot ask for TLS with a pooler: PgBouncer listens without it.
            for r in &mut routes {
                r.options = bouncer.client(r.options.clone());
            }
            upstream = Some(bouncer.address());
        }
        let through = |routes: &mut Vec<Route>, port: u16, which: fn(&Route) -> bool| {
            for r in routes.iter_mut().filter(|r| which(r)) {
                r.options = r.options.clone().host("127.0.0.1").port(port);
            }
        };
        let mut relay = None;
        let proxy = if spec.network.uses_proxy() {
            let upstream = upstream.ok_or(ProxyError::NotTcp)?;
            // `nodelay: "both"` cannot come with a network (the spec says why): every connect
            // goes through this one proxy, which then also acknowledges at once if asked.
            let quick_ack = spec.nodelay != Nodelay::Off;
            let proxy = NetworkProxy::start(upstream, Duration::from_millis(spec.network.delay_ms), quick_ack).await?;
            through(&mut routes, proxy.port(), |_| true);
            Some(Arc::new(proxy))
        } else {
            if routes.iter().any(|r| r.nodelay) {
                let upstream = upstream.ok_or(ProxyError::NotTcp)?;
                let r = NetworkProxy::start(upstream, Duration::ZERO, true).await?;
                through(&mut routes, r.port(), |r| r.nodelay);
                relay = Some(r);
            }
            None
        };
        Ok(Plumbing { pooler, proxy, relay, routes })
    }

    /// Carries out run `id` to its end, or until `cancel` fires or its deadline passes: then it
    /// stops whatever step it is in, sends its last frame, closes what it opened within
    /// [`STOP_GRACE`], and fails with what it measured until then.
    pub async fn carry_out(
        &self,
        id: &str,
        spec: &ValidRunSpec,
        cancel: CancellationToken,
    ) -> Result<(Summary, Timeline), Failure> {
        let stop = Stop::new(cancel);
        // The coordinator refuses such a run; a worker whose server differs from the one the
        // coordinator judged by refuses it too, rather than report its failures as figures.
        if let Some(lack) = self.hub.facts().lacks(spec) {
            return Err(RunError::Lacks(lack).into());
        }
        stop.bound(self.preflight()).await??;
        // A run that asks for fewer server CPUs gets them for its whole length (the guard gives
        // them back when the run ends, however it ends).
        let pinned = match spec.server_cpus {
            0 => None,
            cpus => Some(self.db.pin_server(cpus).map_err(RunError::from)?),
        };
        // A run paced by the server's speed gets its rate now, measured on the CPUs it was given.
        let paced;
        let (spec, pace) = if spec.load.busy_pct > 0 {
            let query_ms = stop.bound(self.pace(spec)).await??;
            paced = spec.at_measured_rate(rate_for(spec.load.busy_pct, query_ms));
            (&paced, Some((query_ms, paced.load.rate_per_s)))
        } else {
            (spec, None)
        };
        // A pooler dropped here (its start stopped half-way) has no clients yet: it exits at once.
        let Plumbing { pooler, proxy, relay, routes } = stop.bound(self.plumb(spec)).await??;
        let pooler_watch = pooler.as_ref().map(PgBouncer::watch);
        let counters = Arc::new(LiveCounters::default());
        let fleet = Arc::new(Fleet::build(&routes, spec, counters.clone()));
        let recorder = Arc::new(RunRecorder::new(counters));
        self.hub.begin_run(RunWatch {
            id: id.to_owned(),
            recorder: recorder.clone(),
            fleet: fleet.clone(),
            pool_max: u64::from(spec.pool.max_connections),
            leak_threshold: (spec.leak.detect_after_ms > 0).then(|| Duration::from_millis(spec.leak.detect_after_ms)),
            outage: proxy.as_ref().map(|p| p.watch_outage()),
            pooler: pooler_watch.as_ref().map(|w| w.gauge.clone()),
            server_cpus: pinned.as_ref().map(|p| u64::from(p.cpus())),
        });
        let jar = Arc::new(LeakJar::default());
        let fired = self.measure(&stop, spec, &fleet, &recorder, &jar, proxy.as_ref()).await;
        if let Some(proxy) = &proxy {
            proxy.set_outage(None);
        }
        // The last frame shows the pool as the run left it (leaks included), beside readings of
        // the server (and of its PgBouncer) taken after it; only then are the leaked connections
        // let go and the pools closed. A stopped run does not wait for the readings.
        let _ = stop.bound(self.hub.fresh_readings(SERVER_READING_WAIT)).await;
        let peaks = self.hub.end_run();
        let leaked = jar.held();
        let stopped = stop.stopped();
        let closing = async {
            // A stopped run's requests were dropped in flight: their backends go too, so the
            // server is free for the next run and the pools do not wait for their queries.
            let leftovers = async {
                if stopped {
                    self.end_leftover_backends().await;
                }
            };
            // The pools close first (closed, they close what comes back instead of pinging
            // it), and the leaked connections come back while they wait.
            tokio::join!(fleet.close(), jar.release(), leftovers);
        };
        if stop.settle(closing).await.is_none() {
            tracing::warn!(run = %id, "the stopped run's connections did not close within {STOP_GRACE:?}: left to close by themselves");
        }
        // When the outage began and ended and the breaker opened and closed, on the run's clock.
        let switches = proxy.as_ref().map(|p| p.switches()).unwrap_or_default();
        let events = recorder.events(switches.into_iter().chain(fleet.breaker_changes()));
        drop(proxy);
        drop(relay);
        drop(pooler_watch);
        if let Some(pooler) = pooler {
            // Stopping PgBouncer waits for the process: off the async threads, and for a stopped
            // run only within its grace (the process goes on exiting by itself).
            stop.settle(tokio::task::spawn_blocking(move || drop(pooler))).await;
        }
        // Last, with the pooler gone (its server connections carry the app's name too).
        stop.settle(self.wait_for_server_to_clear()).await;
        let (load_started, duration) = match fired {
            Ok(load) => load,
            Err(error) => {
                let timeline = Timeline {
                    requests: recorder.take_requests(),
                    frames: peaks.frames,
                    readings: peaks.readings,
                    pooler_readings: peaks.pooler_readings,
                    events,
                };
                return Err(Failure { error, timeline: Some(timeline) });
            }
        };
        let (cache_hits, cache_misses) = fleet.cache_counts();
        let end = RunEnd {
            duration,
            load_started,
            pooled: spec.strategy == poollab_shared::Strategy::Pooled,
            hub: peaks,
            leaked,
            cache_hits,
            cache_misses,
            breaker_opened: fleet.breaker_opened(),
            pace,
        };
        let summary = recorder.summary(&end);
        let (frames, readings, pooler_readings) = (end.hub.frames, end.hub.readings, end.hub.pooler_readings);
        Ok((summary, Timeline { requests: recorder.take_requests(), frames, readings, pooler_readings, events }))
    }

    /// The run proper, under `stop`: the warm-up, the load (with its outage) and the linger.
    /// Returns when the load began (from the recorder's origin, the run's clock) and how long it
    /// took.
    async fn measure(
        &self,
        stop: &Stop,
        spec: &ValidRunSpec,
        fleet: &Arc<Fleet>,
        recorder: &Arc<RunRecorder>,
        jar: &Arc<LeakJar>,
        proxy: Option<&Arc<NetworkProxy>>,
    ) -> Result<(Duration, Duration), RunError> {
        if spec.pool.min_connections > 0 {
            // One pool after another, as the budget counts them (`RunSpec::cost`).
            for instance in fleet.instances() {
                if let Strategy::Pooled(pooled) = &instance.strategy {
                    let failed = stop.bound(pooled.warm_up(spec.pool.min_connections)).await?;
                    if failed > 0 {
                        tracing::warn!(failed, "could not open every min_connections connection before the burst");
                    }
                }
            }
        }
        let started = Instant::now();
        let _outage = match (proxy, &spec.network.outage) {
            (Some(proxy), Some(outage)) => {
                let (proxy, outage) = (proxy.clone(), outage.clone());
                Some(StagedOutage(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(outage.start_ms)).await;
                    proxy.set_outage(Some(outage.mode));
                    tokio::time::sleep(Duration::from_millis(outage.duration_ms)).await;
                    proxy.set_outage(None);
                })))
            }
            _ => None,
        };
        // Dropping the load (a stopped run) aborts its request tasks, and with them their
        // connections.
        stop.bound(fire(fleet.clone(), spec, recorder.clone(), jar.clone())).await?;
        let duration = started.elapsed();
        if spec.load.linger_ms > 0 {
            stop.bound(tokio::time::sleep(Duration::from_millis(spec.load.linger_ms))).await?;
        }
        Ok((started.into_std().saturating_duration_since(recorder.origin), duration))
    }

    /// Waits (at most [`CLEAR_WAIT`]) until none of the run's backends is left on the server:
    /// its connections are closed, and their processes exit a moment later.
    async fn wait_for_server_to_clear(&self) {
        let clear = async {
            let mut conn = self.db.admin(app_name::ADMIN).connect().await?;
            let count = format!("SELECT count(*) {RUN_BACKENDS}");
            loop {
                let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                    .bind(app_name::NAIVE_RUN)
                    .bind(app_name::POOLED_RUN)
                    .fetch_one(&mut conn)
                    .await?;
                if left == 0 {
                    break;
                }
                tokio::time::sleep(CLEAR_POLL).await;
            }
            let _ = conn.close().await;
            Ok::<_, sqlx::Error>(())
        };
        match tokio::time::timeout(CLEAR_WAIT, clear).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not look whether the run's backends left the server"),
            Err(_) => tracing::warn!("the run's backends were still on the server {CLEAR_WAIT:?} after it ended"),
        }
    }

    /// Ends the server backends of the run's connections that are still there after it was
    /// stopped (a query still sleeping for a request that is gone).
    async fn end_leftover_backends(&self) {
        let end = async {
            let mut conn = self.db.admin(app_name::ADMIN).connect().await?;
            let ended: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(pg_terminate_backend(pid)) {RUN_BACKENDS}"
            )))
            .bind(app_name::NAIVE_RUN)
            .bind(app_name::POOLED_RUN)
            .fetch_one(&mut conn)
            .await?;
            let _ = conn.close().await;
            Ok::<_, sqlx::Error>(ended)
        };
        match end.await {
            Ok(ended) => tracing::info!(ended, "ended the stopped run's backends"),
            Err(e) => tracing::warn!(error = %e, "could not end the stopped run's backends"),
        }
    }
}

/// The turns a naive run's connects take, in order: each one's TLS and whether it goes through
/// the no-delay relay. `"both"` on either axis takes turns on it; with both, the turns are plain,
/// TLS, plain through the relay, TLS through the relay (so every other connect is encrypted).
pub fn turns(spec: &ValidRunSpec) -> Vec<(Option<Tls>, bool)> {
    let tls = match spec.tls {
        Some(Tls::Both) => vec![Some(Tls::Off), Some(Tls::On)],
        tls => vec![tls],
    };
    let nodelay = match spec.nodelay {
        Nodelay::Off => vec![false],
        Nodelay::On => vec![true],
        Nodelay::Both => vec![false, true],
    };
    nodelay.into_iter().flat_map(|n| tls.iter().map(move |t| (*t, n))).collect()
}

#[cfg(test)]
mod tests {
    use poollab_shared::{RunSpec, Strategy};

    use super::*;

    #[test]
    fn the_rate_keeps_the_server_as_busy_as_asked() {
        // (busy %, median query ms, arrivals a second)
        let cases = [(85, 2.46, 346), (85, 7.0, 121), (50, 10.0, 50), (95, 1.0, 950), (85, 0.0, 85_000)];
        for (busy, query_ms, rate) in cases {
            assert_eq!(rate_for(busy, query_ms), rate, "{busy}% of one query every {query_ms} ms");
        }
    }

    #[test]
    fn connects_take_turns_on_each_axis_asked_for_both() {
        let turns_of = |tls, nodelay| {
            let spec = RunSpec { strategy: Strategy::Naive, tls, nodelay, ..RunSpec::default() };
            turns(&spec.validate().expect("valid"))
        };
        let (off, on) = (Some(Tls::Off), Some(Tls::On));
        let cases = [
            (None, Nodelay::Off, vec![(None, false)]),
            (on, Nodelay::Off, vec![(on, false)]),
            (on, Nodelay::On, vec![(on, true)]),
            (Some(Tls::Both), Nodelay::Off, vec![(off, false), (on, false)]),
            (on, Nodelay::Both, vec![(on, false), (on, true)]),
            (Some(Tls::Both), Nodelay::Both, vec![(off, false), (on, false), (off, true), (on, true)]),
        ];
        for (tls, nodelay, expected) in cases {
            assert_eq!(turns_of(tls, nodelay), expected, "tls {tls:?}, nodelay {nodelay:?}");
        }
    }
}
