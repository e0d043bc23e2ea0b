//! Putting the lab together: database, coordinator, workers, router, listener.
//!
//! [`Application::build`] binds the listener first (port 0 picks a free one, and [`Application::port`]
//! tells which), so tests can start the whole lab and talk to it. [`Application::run_until`] serves
//! until a shutdown signal, then stops the tasks and the workers, closes every pool, and finally
//! stops the private PostgreSQL (by dropping it). [`run_worker`] is `poollab worker`: a database,
//! its live view, and the link to a coordinator.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{PoolSpec, ServerFacts};
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::class::identity::{Identity, IdentityError};
use crate::class::line::Caps;
use crate::class::progress::ProgressCaps;
use crate::config::{Config, DatabaseArgs, WorkerConfig};
use crate::coordinator::credentials::Joiner;
use crate::coordinator::{Coordinator, Pools};
use crate::db::cluster::{ClusterError, ClusterOptions, PrivateCluster};
use crate::db::{Database, app_name};
use crate::engine::hub::MetricsHub;
use crate::engine::sampler::Sampler;
use crate::engine::strategy::{LiveCounters, NaiveStrategy, PooledStrategy};
use crate::shutdown::ShutdownTrigger;
use crate::web;
use crate::web::client::TrustedProxies;
use crate::web::limits::{Bounds, Guard};
use crate::web::prom::PromMetrics;
use crate::web::state::{AppState, Shared};
use crate::worker::Worker;
use crate::worker::local::{LocalWorkerSpec, LocalWorkers, name_of};
use crate::worker::protocol::pair;

/// The built-in worker's name.
pub const EMBEDDED_WORKER: &str = "built-in";
/// How often the guard forgets addresses that have been quiet long enough.
const FORGET_QUIET_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("DATABASE_URL is not a PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot prepare the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Lessons(#[from] crate::lessons::LessonError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot find this program to start local workers with: {0}")]
    NoExe(std::io::Error),
    #[error("{0}")]
    Worker(String),
}

/// A database ready for runs: where it is, the cluster the lab started for it (if it did), and
/// what the lab knows of the server.
pub struct OpenDatabase {
    pub db: Database,
    pub cluster: Option<PrivateCluster>,
    pub facts: ServerFacts,
}

/// Starts the private cluster (or reaches `DATABASE_URL`), applies the migrations, reads the
/// server's limits.
pub async fn open_database(args: &DatabaseArgs) -> Result<OpenDatabase, StartError> {
    let (db, cluster) = match &args.database_url {
        Some(url) => {
            tracing::info!("using the PostgreSQL server from DATABASE_URL");
            (Database::from_url(url).map_err(StartError::BadUrl)?, None)
        }
        None => {
            let cluster = PrivateCluster::start(ClusterOptions {
                dir: args.data_dir.clone(),
                bin_dir: args.pg_bin_dir.clone(),
                port: args.pg_port,
                max_connections: args.max_connections,
                tls_only: args.pg_tls_only,
                tls: !args.pg_no_tls,
            })
            .await?;
            (Database::private(&cluster), Some(cluster))
        }
    };
    db.prepare().await?;
    let mut facts = db.limits().await?;
    // The private cluster runs on this machine, so its CPUs are ours (those this process may use,
    // when it is pinned); a server behind DATABASE_URL may be anywhere, and the lab does not guess.
    if cluster.is_some() {
        facts.cpus = std::thread::available_parallelism().map_or(0, |n| n.get() as u64);
    }
    // Runs start their PgBouncer on this machine, whichever server they go to.
    facts.pgbouncer = Some(crate::db::pgbouncer::find_program().is_some());
    Ok(OpenDatabase { db, cluster, facts })
}

/// A worker's live view of its database: the hub, and the sampler and ticker that feed it.
fn watch(open: &OpenDatabase, no_live: bool, shutdown: &ShutdownTrigger) -> (Arc<MetricsHub>, Vec<JoinHandle<()>>) {
    let hub = MetricsHub::new(open.facts, open.cluster.as_ref().map(PrivateCluster::refusals));
    if no_live {
        tracing::warn!("--no-live: no sampler, no frames");
        return (hub, Vec::new());
    }
    let sampler = Sampler::new(open.db.clone(), hub.clone(), open.facts.max_connections)
        .with_postmaster(open.cluster.as_ref().and_then(PrivateCluster::pid));
    let tasks = vec![
        tokio::spawn(sampler.run(shutdown.subscribe())),
        tokio::spawn(hub.clone().run_ticker(shutdown.subscribe())),
    ];
    (hub, tasks)
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    trigger: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
    local: Option<LocalWorkers>,
    /// Declared last so it is dropped last: the server stops after everything that used it.
    cluster: Option<PrivateCluster>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        let lessons = Arc::new(crate::lessons::load()?);
        let libraries = Arc::new(crate::lessons::libraries()?);
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind { addr: config.listen, source })?;
        let open = open_database(&config.database).await?;
        let identity = Identity::load(&config.database.data_dir.join("cookie.key"), config.instructor_token.clone())?;

        let trigger = ShutdownTrigger::new();
        // The coordinator's own connections, in two pools: the line's (leases, claims, endings,
        // LISTEN) and the pages' reads, so that no flood of reads can hold up a lease renewal.
        let pool = |size: u32| {
            PgPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy_with(open.db.admin(app_name::ADMIN))
        };
        let pools = Pools { line: pool(config.line_db_connections), reads: pool(config.read_db_connections) };
        let admin = pools.reads.clone();
        let caps = Caps {
            capacity: config.max_queued_runs as usize,
            per_learner: config.max_queued_per_learner as usize,
            per_address: config.max_queued_per_address as usize,
            learner_max_requests: config.learner_max_requests,
            share_runs: config.share_runs,
        };
        let progress = ProgressCaps {
            learners: config.max_learners as usize,
            per_address: config.max_learners_per_address as usize,
            stale_after: Duration::from_secs(config.stale_learner_secs),
        };
        let claim_deadline = Duration::from_secs(config.claim_deadline_secs);
        if claim_deadline <= crate::engine::runner::RUN_DEADLINE {
            tracing::warn!(
                ?claim_deadline,
                "--claim-deadline-secs is within the workers' own deadline (180 s): long runs will be failed by the coordinator"
            );
        }
        let coordinator = Coordinator::new(pools, caps, progress, claim_deadline).await?;
        let mut tasks = coordinator.spawn_tasks(&trigger.subscribe());
        let guard = Guard::new(Bounds {
            credential_failures: config.credential_failures_per_minute,
            anonymous_per_second: config.anonymous_per_second,
            anonymous_burst: config.anonymous_burst,
            exports_per_minute: config.exports_per_minute,
            sockets_per_address: config.max_sockets_per_address as usize,
            allowed_origins: config.allowed_origins.clone(),
        });
        let demo_on = config.demo_on();
        if !demo_on {
            tracing::info!("a class is hosted: /demo/* is off (--demo turns it on)");
        }

        // Who carries out the runs: the built-in worker on the coordinator's own database, N local
        // worker processes, or only workers that join from elsewhere.
        let worker_secret = config.worker_secret.clone().filter(|s| !s.is_empty());
        let mut local = None;
        match config.workers {
            None => {
                let (hub, watching) = watch(&open, config.database.no_live, &trigger);
                tasks.extend(watching);
                let worker = Worker::new(EMBEDDED_WORKER.into(), Vec::new(), open.db.clone(), open.facts, hub);
                let (worker_end, coordinator_end) = pair();
                tasks.push(tokio::spawn(coordinator.clone().attach(
                    coordinator_end,
                    Joiner::BuiltIn,
                    trigger.subscribe(),
                )));
                let shutdown = trigger.subscribe();
                tasks.push(tokio::spawn(async move { worker.serve(worker_end, shutdown).await }));
            }
            Some(0) => tracing::info!("no local worker: runs wait for workers to join"),
            Some(n) => {
                // Each gets a credential of its own, known to this coordinator only while it runs.
                let secrets = (1..=n as usize).map(|i| coordinator.local_credential(&name_of(i))).collect();
                let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.listen, source })?;
                let host = if addr.ip().is_unspecified() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
                let spec = LocalWorkerSpec {
                    exe: std::env::current_exe().map_err(StartError::NoExe)?,
                    coordinator: format!("http://{host}:{}", addr.port()),
                    secrets,
                    data_dir: config.database.data_dir.clone(),
                    max_connections: config.database.max_connections,
                    pg_bin_dir: config.database.pg_bin_dir.clone(),
                    pg_tls_only: config.database.pg_tls_only,
                    pg_no_tls: config.database.pg_no_tls,
                };
                local = Some(LocalWorkers::start(n as usize, spec, trigger.subscribe()));
            }
        }

        let demo_spec = PoolSpec { max_connections: config.demo_pool_size, ..Default::default() };
        let db = open.db.clone();
        let state = AppState::new(Shared {
            demo_naive: NaiveStrategy::new(db.app(app_name::DEMO_NAIVE), Arc::new(LiveCounters::default())),
            // A ping before every acquire would double each demo request's round trips; a ping
            // after a second of idleness still replaces connections a server restart killed.
            demo_pooled: PooledStrategy::pinging_after_idle(
                db.app(app_name::DEMO_POOLED),
                &demo_spec,
                Arc::new(LiveCounters::default()),
                Duration::from_secs(1),
            ),
            db,
            admin,
            demo_on,
            coordinator,
            identity,
            guard,
            trusted_proxies: TrustedProxies::new(config.trusted_proxy.clone()),
            worker_secret,
            prom: Arc::new(PromMetrics::new()),
            lessons,
            libraries,
            shutdown: trigger.subscribe(),
        });
        let router = web::app(state.clone(), config.static_dir.as_deref());
        tasks.push(tokio::spawn(forget_quiet(state.clone(), trigger.subscribe())));
        Ok(Application { listener, router, state, trigger, tasks, local, cluster: open.cluster })
    }

    /// Where to point a browser: an unspecified listen address (0.0.0.0) becomes localhost.
    pub fn local_addr_for_humans(&self) -> String {
        match self.listener.local_addr() {
            Ok(a) if a.ip().is_unspecified() => format!("localhost:{}", a.port()),
            Ok(a) => a.to_string(),
            Err(_) => "?".into(),
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn cluster(&self) -> Option<&PrivateCluster> {
        self.cluster.as_ref()
    }

    /// Fires the shutdown from outside (tests); `run_until` then returns.
    pub fn trigger(&self) -> ShutdownTrigger {
        self.trigger.clone()
    }

    /// Serves until `signal` resolves, then shuts down in order.
    pub async fn run_until(mut self, signal: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let trigger = self.trigger.clone();
        let mut stopping = self.trigger.subscribe();
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = signal => {}
                    _ = stopping.recv() => {}
                }
                // The graceful shutdown waits for open connections: tell the long-lived ones
                // (websockets, workers' links) and the background tasks to finish now.
                trigger.fire();
            })
            .await;
        self.trigger.fire();
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                tracing::warn!("a background task did not stop in time");
            }
        }
        if let Some(local) = self.local.take() {
            local.stopped().await;
        }
        self.state.demo_pooled.pool().close().await;
        self.state.coordinator.close().await;
        if let Some(mut cluster) = self.cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await.ok();
        }
        result
    }
}

/// `poollab worker`: opens its database, watches it, and stays joined to its coordinator until
/// `signal`; then stops its PostgreSQL.
pub async fn run_worker(
    config: WorkerConfig,
    cpus: Vec<u32>,
    signal: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let url = crate::worker::remote::link_url(&config.coordinator).map_err(|e| StartError::Worker(e.to_string()))?;
    let mut open = open_database(&config.database).await?;
    let trigger = ShutdownTrigger::new();
    let (hub, tasks) = watch(&open, config.database.no_live, &trigger);
    let name = config.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(host_name);
    let worker = Worker::new(name, cpus, open.db.clone(), open.facts, hub);
    let joined = crate::worker::remote::join(&worker, url, config.worker_secret.clone(), trigger.subscribe());
    tokio::pin!(joined);
    let refused = tokio::select! {
        j = &mut joined => j.err(),
        _ = signal => {
            // The worker stops the run it has (if any) and waits for it, then leaves.
            trigger.fire();
            joined.await.err()
        }
    };
    trigger.fire();
    stop_tasks(tasks).await;
    if let Some(mut cluster) = open.cluster.take() {
        tokio::task::spawn_blocking(move || cluster.stop()).await.ok();
    }
    match refused {
        Some(e) => Err(StartError::Worker(e.to_string())),
        None => Ok(()),
    }
}

/// Lets the guard forget addresses that have been quiet, so its memory stays small.
async fn forget_quiet(state: AppState, mut shutdown: crate::shutdown::Shutdown) {
    let mut every = tokio::time::interval(FORGET_QUIET_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => state.guard.forget_quiet(),
            _ = shutdown.recv() => return,
        }
    }
}

async fn stop_tasks(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
}

/// This machine's name, for a worker that was not given one.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned())
}
