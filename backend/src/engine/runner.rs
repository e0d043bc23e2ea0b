//! Carrying out one run, and measuring it.
//!
//! A worker takes one run at a time from its coordinator and hands it to its [`Executor`]. For
//! each run the executor builds its [`Fleet`] (the simulated app: its instances and their pools,
//! cache and breaker), puts a PgBouncer and the network proxy in front of the database if the
//! spec asks for them, lets the hub watch, and fires the load ([`crate::engine::load`]). Every
//! outcome goes into the run's [`RunRecorder`], which the hub turns into frames while the run goes
//! and which makes the summary and the timeline when it ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poollab_shared::{Summary, Timeline, Tls, ValidRunSpec};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio_util::sync::CancellationToken;

use crate::db::pgbouncer::{PgBouncer, PgBouncerError};
use crate::db::{Database, app_name};
use crate::engine::fleet::Fleet;
use crate::engine::hub::{MetricsHub, RunWatch};
use crate::engine::load::fire;
use crate::engine::proxy::{NetworkProxy, ProxyError};
use crate::engine::recorder::{RunEnd, RunRecorder};
use crate::engine::strategy::{LeakJar, LiveCounters};

/// A run still going after this long is stopped and marked failed.
pub const RUN_DEADLINE: Duration = Duration::from_secs(180);
/// How long a run's end waits for the sampler to read the server once more.
const SERVER_READING_WAIT: Duration = Duration::from_millis(250);
/// How long the pre-flight check waits for the database.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

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
}

/// Carries out runs against one database, watched by one hub (a worker's).
pub struct Executor {
    db: Database,
    hub: Arc<MetricsHub>,
}

impl Executor {
    pub fn new(db: Database, hub: Arc<MetricsHub>) -> Executor {
        Executor { db, hub }
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

    /// Carries out run `id` to its end, or until `cancel` fires (the run then stops its load,
    /// sends its last frame and closes its connections like any other, and fails).
    pub async fn carry_out(
        &self,
        id: &str,
        spec: &ValidRunSpec,
        cancel: CancellationToken,
    ) -> Result<(Summary, Timeline), RunError> {
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
        let load = tokio::time::timeout(RUN_DEADLINE, fire(fleet.clone(), spec, recorder.clone(), jar.clone()));
        let fired = tokio::select! {
            fired = load => fired.map_err(|_| RunError::Deadline(RUN_DEADLINE)),
            _ = cancel.cancelled() => Err(RunError::Cancelled),
        };
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
        fired?;
        let (cache_hits, cache_misses) = fleet.cache_counts();
        let end = RunEnd {
            duration,
            pooled: spec.strategy == poollab_shared::Strategy::Pooled,
            hub: peaks,
            pooler: pooler_peaks,
            leaked,
            cache_hits,
            cache_misses,
            breaker_opened: fleet.breaker_opened(),
        };
        let summary = recorder.summary(&end);
        Ok((summary, Timeline { requests: recorder.take_requests(), frames: end.hub.frames }))
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
