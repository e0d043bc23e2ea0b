//! The sampler: the server's own view of its connections, read from `pg_stat_activity`.
//!
//! The pool's counters say what the *app* believes; `pg_stat_activity` says what the *server* has:
//! one row per backend process. The sampler reads it over a connection of its own (the admin
//! role, which may use the server's superuser-reserved slots, so a run can never take it) every
//! 10 ms in a run's first second, every 25 ms after that (every second when idle), and hands
//! each reading to the hub. Its figures are samples: a backend that lives between two readings is
//! never seen, which is why the page says "sampled" wherever it shows them.
//! If the server goes away, readings say `reachable: false` and the sampler reconnects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{CountBy, ServerFrame};
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use crate::db::{Database, app_name};
use crate::engine::hub::MetricsHub;
use crate::shutdown::Shutdown;

/// Sampling period in a run's first second (100 Hz): most lessons' bursts are over within it, and
/// a naive burst's backends live a few milliseconds each.
pub const EARLY_RUN_PERIOD: Duration = Duration::from_millis(10);
/// How long a run is sampled at [`EARLY_RUN_PERIOD`].
pub const EARLY: Duration = Duration::from_secs(1);
/// Sampling period for the rest of a run (40 Hz).
pub const RUN_PERIOD: Duration = Duration::from_millis(25);
pub const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// Client backends by application and state, leaving out the sampler's own backend.
const QUERY: &str = "SELECT coalesce(application_name, '') AS app, coalesce(state, 'starting') AS state, \
                     count(*)::int8 AS n \
                     FROM pg_stat_activity \
                     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
                     GROUP BY 1, 2";

/// Backends of one application in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    pub application: String,
    pub state: String,
    pub count: u64,
}

/// One reading of `pg_stat_activity`: the server's frame, and the counts it was summed from.
#[derive(Debug, Clone, Default)]
pub struct ServerReading {
    pub frame: ServerFrame,
    pub backends: Vec<Backends>,
}

pub struct Sampler {
    db: Database,
    hub: Arc<MetricsHub>,
    max_connections: u64,
    conn: Option<PgConnection>,
}

impl Sampler {
    pub fn new(db: Database, hub: Arc<MetricsHub>, max_connections: u64) -> Sampler {
        Sampler { db, hub, max_connections, conn: None }
    }

    /// One reading of `pg_stat_activity`.
    pub async fn sample(&mut self) -> Result<ServerReading, sqlx::Error> {
        let conn = match self.conn.as_mut() {
            Some(c) => c,
            None => self.conn.insert(self.db.admin(app_name::SAMPLER).connect().await?),
        };
        let rows: Vec<(String, String, i64)> = sqlx::query_as(QUERY).fetch_all(conn).await?;
        let mut by_app: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
        let backends: Vec<Backends> = rows
            .into_iter()
            .map(|(application, state, n)| Backends { application, state, count: n.max(0) as u64 })
            .collect();
        for b in &backends {
            *by_app.entry(b.application.clone()).or_default() += b.count;
            *by_state.entry(b.state.clone()).or_default() += b.count;
        }
        let counts = |m: BTreeMap<String, u64>| m.into_iter().map(|(name, count)| CountBy { name, count }).collect();
        let frame = ServerFrame {
            reachable: true,
            backends: backends.iter().map(|b| b.count).sum(),
            by_application: counts(by_app),
            by_state: counts(by_state),
            max_connections: self.max_connections,
            ..ServerFrame::default()
        };
        Ok(ServerReading { frame, backends })
    }

    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut running = self.hub.watch_running();
        let mut run_started = std::time::Instant::now();
        loop {
            match self.sample().await {
                Ok(frame) => self.hub.observe_server(frame),
                Err(e) => {
                    if self.conn.take().is_some() || self.hub.server().reachable {
                        tracing::warn!(error = %e, "sampler lost the server; will reconnect");
                    }
                    self.hub.observe_server(ServerReading {
                        frame: ServerFrame {
                            reachable: false,
                            max_connections: self.max_connections,
                            ..ServerFrame::default()
                        },
                        backends: Vec::new(),
                    });
                }
            }
            let period = match self.hub.is_running() {
                true if run_started.elapsed() < EARLY => EARLY_RUN_PERIOD,
                true => RUN_PERIOD,
                false => IDLE_PERIOD,
            };
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                // A run started (or ended): sample at once, and from its start.
                _ = running.changed() => run_started = std::time::Instant::now(),
                _ = shutdown.recv() => break,
            }
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}
