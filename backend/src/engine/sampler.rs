//! The sampler: the server's own view of its connections, read from `pg_stat_activity`.
//!
//! The pool's counters say what the *app* believes; `pg_stat_activity` says what the *server* has:
//! one row per backend process. The sampler reads it over a connection of its own (the admin
//! role, which may use the server's superuser-reserved slots, so a run can never take it) every
//! 10 ms in a run's first second, every 25 ms after that (every second when idle), and hands
//! each reading to the hub. Its figures are samples: a backend that lives between two readings is
//! never seen, which is why the page says "sampled" wherever it shows them.
//! If the server goes away, readings say `reachable: false` and the sampler reconnects.
//!
//! A backend still authenticating holds a connection slot but is not in `pg_stat_activity`
//! before PostgreSQL 18 (it is listed once authenticated). For the lab's private cluster, which
//! runs on this machine, the sampler also counts the server's processes whose title says
//! `authentication`, so that the picture's full server does not look as if it had slots free.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{CountBy, InstanceFrame, ServerFrame};
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
#[derive(Debug, Clone)]
pub struct ServerReading {
    pub frame: ServerFrame,
    pub backends: Vec<Backends>,
    /// When the reading was asked for, and when its answer came.
    pub asked: std::time::Instant,
    pub answered: std::time::Instant,
    /// The run's instances, their pools counted as the answer came ([`MetricsHub::pools_now`]).
    pub pools: Option<Vec<InstanceFrame>>,
}

pub struct Sampler {
    db: Database,
    hub: Arc<MetricsHub>,
    max_connections: u64,
    conn: Option<PgConnection>,
    /// The private cluster's postmaster, whose processes still authenticating are counted.
    postmaster: Option<u32>,
    /// Whether `pg_stat_activity` leaves authenticating backends out (before PostgreSQL 18).
    hides_authenticating: bool,
}

/// The first PostgreSQL (`server_version_num`) to list backends in `pg_stat_activity` while they
/// authenticate.
const LISTS_AUTHENTICATING: i64 = 180_000;

impl Sampler {
    pub fn new(db: Database, hub: Arc<MetricsHub>, max_connections: u64) -> Sampler {
        Sampler { db, hub, max_connections, conn: None, postmaster: None, hides_authenticating: false }
    }

    /// Also counts the backends of this postmaster (the lab's private cluster, on this machine)
    /// still authenticating, from their process titles.
    pub fn with_postmaster(mut self, pid: Option<u32>) -> Sampler {
        self.postmaster = pid;
        self
    }

    /// One reading of `pg_stat_activity`.
    pub async fn sample(&mut self) -> Result<ServerReading, sqlx::Error> {
        let conn = match self.conn.as_mut() {
            Some(c) => c,
            None => {
                let mut c = self.db.admin(app_name::SAMPLER).connect().await?;
                let version: String = sqlx::query_scalar("SHOW server_version_num").fetch_one(&mut c).await?;
                self.hides_authenticating = version.trim().parse::<i64>().is_ok_and(|v| v < LISTS_AUTHENTICATING);
                self.conn.insert(c)
            }
        };
        // The backends still authenticating are looked for in /proc while the query runs, and the
        // run's pools are counted the moment its answer comes: the scan of every process takes
        // milliseconds, and done after the answer, it let the app's side be counted that much later
        // than the server's (11.2: the pools had 79 connections open beside 58 backends).
        let scan = self
            .postmaster
            .filter(|_| self.hides_authenticating)
            .map(|pid| tokio::task::spawn_blocking(move || authenticating(pid)));
        let asked = std::time::Instant::now();
        let rows: Result<Vec<(String, String, i64)>, _> = sqlx::query_as(QUERY).fetch_all(&mut *conn).await;
        let answered = std::time::Instant::now();
        let pools = self.hub.pools_now();
        let authenticating = match scan {
            Some(scan) => scan.await.unwrap_or(0),
            None => 0,
        };
        let rows = rows?;
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
            authenticating,
            ..ServerFrame::default()
        };
        Ok(ServerReading { frame, backends, asked, answered, pools })
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
                        asked: std::time::Instant::now(),
                        answered: std::time::Instant::now(),
                        pools: None,
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

/// The child processes of `postmaster` still authenticating, by their titles
/// (`postgres: poollab_app poollab 127.0.0.1(40312) authentication`). A process that cannot be
/// read (it has just ended) is not counted.
fn authenticating(postmaster: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    let mut n = 0;
    for entry in dir.flatten() {
        let path = entry.path();
        if !entry.file_name().to_str().is_some_and(|f| f.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let parent = std::fs::read_to_string(path.join("stat")).ok().and_then(|stat| parent_of(&stat));
        if parent == Some(postmaster) && std::fs::read(path.join("cmdline")).is_ok_and(|c| is_authenticating(&c)) {
            n += 1;
        }
    }
    n
}

/// The parent's pid in a `/proc/<pid>/stat` line: `pid (comm) state ppid ...`, where the command
/// may hold spaces and parentheses, so it is read after the last `)`.
fn parent_of(stat: &str) -> Option<u32> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a server process's title (its `cmdline`, padded with NULs) says it is authenticating.
fn is_authenticating(cmdline: &[u8]) -> bool {
    String::from_utf8_lossy(cmdline).trim_end_matches(['\0', ' ']).ends_with(" authentication")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_authenticating_is_known_by_its_title() {
        let table: [(&[u8], bool); 6] = [
            (b"postgres: poollab_app poollab 127.0.0.1(40312) authentication\0\0\0", true),
            (b"postgres: lab: poollab_app poollab [local] authentication", true),
            (b"postgres: poollab_app poollab 127.0.0.1(40312) idle\0\0", false),
            (b"postgres: poollab_app poollab 127.0.0.1(40312) startup\0", false),
            (b"/usr/lib/postgresql/15/bin/postgres\0-D\0/tmp/pgdata\0", false),
            (b"", false),
        ];
        for (cmdline, want) in table {
            assert_eq!(is_authenticating(cmdline), want, "{}", String::from_utf8_lossy(cmdline));
        }
    }

    #[test]
    fn the_parent_is_read_after_the_command() {
        let table = [
            ("4242 (postgres) S 4000 4000 4000 0 -1", Some(4000)),
            ("4242 (post gres) (x)) R 17 1 1", Some(17)),
            ("4242 (postgres)", None),
            ("", None),
        ];
        for (stat, want) in table {
            assert_eq!(parent_of(stat), want, "{stat}");
        }
    }
}
