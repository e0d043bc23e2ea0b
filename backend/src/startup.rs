//! Putting the lab together: database, background tasks, router, listener.
//!
//! [`Application::build`] binds the listener first (port 0 picks a free one, and [`Application::port`]
//! tells which), so tests can start the whole lab and talk to it. [`Application::run_until`] serves
//! until a shutdown signal, then stops the tasks, closes every pool, and finally stops the private
//! PostgreSQL (by dropping it).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::db::cluster::{ClusterError, ClusterOptions, PrivateCluster};
use crate::db::store::{RunStore, StoreError};
use crate::db::{Database, app_name};
use crate::engine::hub::MetricsHub;
use crate::engine::runner::RunQueue;
use crate::engine::sampler::Sampler;
use crate::engine::strategy::{LiveCounters, NaiveStrategy, PooledStrategy};
use crate::shutdown::ShutdownTrigger;
use crate::web;
use crate::web::prom::PromMetrics;
use crate::web::state::{AppState, Shared};

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
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    trigger: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
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

        let (db, cluster) = match &config.database_url {
            Some(url) => {
                tracing::info!("using the PostgreSQL server from DATABASE_URL");
                (Database::from_url(url).map_err(StartError::BadUrl)?, None)
            }
            None => {
                let cluster = PrivateCluster::start(ClusterOptions {
                    dir: config.data_dir.clone(),
                    bin_dir: config.pg_bin_dir.clone(),
                    port: config.pg_port,
                    max_connections: config.max_connections,
                    tls_only: config.pg_tls_only,
                })
                .await?;
                (Database::private(&cluster), Some(cluster))
            }
        };
        db.prepare().await?;
        let mut limits = db.limits().await?;
        // The private cluster runs on this machine, so its CPUs are ours; a server behind
        // DATABASE_URL may be anywhere, and the lab does not guess.
        if cluster.is_some() {
            limits.cpus = std::thread::available_parallelism().map_or(0, |n| n.get() as u64);
        }

        let trigger = ShutdownTrigger::new();
        let hub = MetricsHub::new(limits, cluster.as_ref().map(PrivateCluster::refusals));
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(db.admin(app_name::ADMIN));
        let store = Arc::new(RunStore::new(admin.clone()));
        store.load().await.map_err(|StoreError::Database(e)| StartError::Database(e))?;
        let (queue, runner) = RunQueue::new(
            db.clone(),
            hub.clone(),
            store,
            config.max_queued_runs as usize,
            config.max_queued_per_learner as usize,
            config.learner_max_requests,
        );
        let demo_spec = poollab_shared::PoolSpec { max_connections: config.demo_pool_size, ..Default::default() };
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
            db: db.clone(),
            admin,
            queue,
            hub: hub.clone(),
            prom: Arc::new(PromMetrics::new()),
            lessons,
            libraries,
            class: Arc::new(crate::class::Class::new(config.instructor_token.clone())),
            shutdown: trigger.subscribe(),
        });
        let mut tasks = vec![tokio::spawn(runner.run(trigger.subscribe()))];
        if config.no_live {
            tracing::warn!("--no-live: no sampler, no frames");
        } else {
            tasks.push(tokio::spawn(Sampler::new(db, hub.clone(), limits.max_connections).run(trigger.subscribe())));
            tasks.push(tokio::spawn(hub.run_ticker(trigger.subscribe())));
        }
        let router = web::app(state.clone(), config.static_dir.as_deref());
        Ok(Application { listener, router, state, trigger, tasks, cluster })
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
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = signal => {}
                    _ = stopping.recv() => {}
                }
                // The graceful shutdown waits for open connections: tell the long-lived ones
                // (websockets) and the background tasks to finish now.
                trigger.fire();
            })
            .await;
        self.trigger.fire();
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                tracing::warn!("a background task did not stop in time");
            }
        }
        self.state.demo_pooled.pool().close().await;
        self.state.admin.close().await;
        if let Some(mut cluster) = self.cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await.ok();
        }
        result
    }
}
