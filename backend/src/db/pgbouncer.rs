//! A real PgBouncer between a run's app and the server, started for the run that asks for one.
//!
//! The app's connections (each instance's pool) log in to PgBouncer as if it were the server;
//! PgBouncer opens at most `pool_size` connections to the real server and lends them to its
//! clients, for a whole session or for one transaction at a time ([`PoolerMode`]). Each run gets
//! a fresh PgBouncer (its own config in a temporary directory, its own port), so its pool starts
//! empty and its counters are the run's own; it is stopped when the run ends.
//!
//! Its view comes from its admin console: [`PgBouncer::watch`] reads `SHOW POOLS` every 10 ms
//! while the run goes, for the frames' `pooler` figures and the summary's peaks.
//!
//! PgBouncer refuses to run as root, like PostgreSQL: when the lab is root it runs as the
//! `postgres` user, as the private cluster does. It passes each client's `application_name` on
//! to the server connection it lends, so `pg_stat_activity` still names the app instance whose
//! transaction a backend is serving.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use poollab_shared::timeline::MAX_POOLER_READINGS;
use poollab_shared::{Frame, PoolerFrame, PoolerMode, PoolerSpec};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection, Row};

use crate::db::Database;
use crate::db::cluster::{ClusterError, RunAs, free_port, stop_process};

/// How often the run's PgBouncer is asked for `SHOW POOLS` (as often as the server is read).
const WATCH_PERIOD: Duration = Duration::from_millis(poollab_shared::frame::SHOW_POOLS_EVERY_MS);
/// How long PgBouncer may take to accept its first connection.
pub const START_LIMIT: Duration = Duration::from_secs(10);
/// Most client connections a run can open: 20 instances × a pool of 500.
const MAX_CLIENT_CONN: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum PgBouncerError {
    #[error(
        "PgBouncer is not installed (no `pgbouncer` in /usr/sbin or on PATH): install Debian's `pgbouncer` package, as `./lab` does"
    )]
    NotInstalled,
    #[error("the database is reached through a Unix socket; a pooler needs its TCP address")]
    NotTcp,
    #[error(transparent)]
    User(#[from] ClusterError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("PgBouncer did not accept connections within {limit:?}; the end of its log:\n{log}")]
    NotReady { limit: Duration, log: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgBouncerError {
    let what = what.into();
    move |source| PgBouncerError::Io { what, source }
}

/// Finds the `pgbouncer` program: Debian installs it in /usr/sbin, which is not on every PATH.
pub fn find_program() -> Option<PathBuf> {
    let sbin = Path::new("/usr/sbin/pgbouncer");
    if sbin.is_file() {
        return Some(sbin.to_path_buf());
    }
    std::env::var_os("PATH").iter().flat_map(std::env::split_paths).map(|d| d.join("pgbouncer")).find(|p| p.is_file())
}

/// `options` pointed at the PgBouncer listening on `port`. It listens without TLS (however its own
/// connections to the server go), so its clients connect in plain text.
fn through(options: PgConnectOptions, port: u16) -> PgConnectOptions {
    options.host("127.0.0.1").port(port).ssl_mode(sqlx::postgres::PgSslMode::Disable)
}

/// A value inside a libpq-style connection string, quoted.
fn quoted(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The config for one run's PgBouncer.
fn config(spec: &PoolerSpec, db: &Database, port: u16, dir: &Path) -> Result<String, PgBouncerError> {
    let (host, server_port) = db.app_tcp_target().ok_or(PgBouncerError::NotTcp)?;
    let (database, user) = db.app_names();
    let auth_type = if db.app_password().is_some() { "scram-sha-256" } else { "trust" };
    // PgBouncer's own connections to the server: encrypted when the lab's are (checked against
    // the lab's authority when it made one), and otherwise plain, also when the server offers TLS.
    let server_tls = match (db.app_requires_tls(), db.ca_cert()) {
        (true, Some(ca)) => format!("server_tls_sslmode = verify-full\nserver_tls_ca_file = {}\n", ca.display()),
        (true, None) => "server_tls_sslmode = require\n".to_owned(),
        (false, _) => "server_tls_sslmode = disable\n".to_owned(),
    };
    let mode = match spec.mode {
        PoolerMode::Session => "session",
        PoolerMode::Transaction => "transaction",
    };
    Ok(format!(
        "[databases]\n\
         {database} = host={host} port={server_port} dbname={dbname}\n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = {auth_type}\n\
         auth_file = {auth_file}\n\
         admin_users = {user}\n\
         pool_mode = {mode}\n\
         default_pool_size = {pool_size}\n\
         min_pool_size = 0\n\
         reserve_pool_size = 0\n\
         max_client_conn = {MAX_CLIENT_CONN}\n\
         query_wait_timeout = {wait}\n\
         server_login_retry = 1\n\
         ignore_startup_parameters = extra_float_digits\n\
         log_connections = 0\n\
         log_disconnections = 0\n\
         {server_tls}",
        host = quoted(&host),
        dbname = quoted(database),
        auth_file = dir.join("userlist.txt").display(),
        pool_size = spec.pool_size,
        wait = spec.query_wait_timeout_ms as f64 / 1000.0,
    ))
}

/// The run's PgBouncer. Dropping it stops the process (SIGTERM: immediate shutdown).
pub struct PgBouncer {
    child: Option<Child>,
    port: u16,
    spec: PoolerSpec,
    admin: PgConnectOptions,
    /// Its config, auth file and log; removed on drop.
    dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Writes the config, starts PgBouncer in front of `db` and waits until its admin console
    /// answers.
    pub async fn start(spec: &PoolerSpec, db: &Database) -> Result<PgBouncer, PgBouncerError> {
        let program = find_program().ok_or(PgBouncerError::NotInstalled)?;
        let run_as = RunAs::find()?;
        let dir =
            tempfile::Builder::new().prefix("poollab-pgbouncer-").tempdir().map_err(io("a directory for PgBouncer"))?;
        let port = free_port()?;
        let (_, user) = db.app_names();
        let ini = dir.path().join("pgbouncer.ini");
        let userlist = dir.path().join("userlist.txt");
        let log_path = dir.path().join("pgbouncer.log");
        write(&ini, &config(spec, db, port, dir.path())?)?;
        // The auth file holds the app role's password: PgBouncer checks its clients against it
        // and logs in to the server with it.
        let password = db.app_password().unwrap_or_default();
        write(&userlist, &format!("\"{}\" \"{}\"\n", user.replace('"', "\"\""), password.replace('"', "\"\"")))?;
        let log = File::create(&log_path).map_err(io("PgBouncer's log"))?;
        if let Some(r) = run_as {
            for p in [dir.path(), &ini, &userlist, &log_path] {
                r.chown(p)?;
            }
        }

        let mut cmd = Command::new(&program);
        cmd.arg(&ini).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        if let Some(r) = run_as {
            r.apply(&mut cmd);
        }
        // SAFETY: prctl and setrlimit are async-signal-safe; they run in the child after fork
        // (and after the uid change, which would clear the death signal) and before exec.
        unsafe {
            cmd.pre_exec(|| {
                use nix::libc;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // One descriptor per client connection: raise the soft limit to the hard one.
                let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(io(format!("starting {}", program.display())))?;
        tracing::info!(
            pid = child.id(),
            port,
            mode = spec.mode.as_str(),
            pool_size = spec.pool_size,
            "PgBouncer starting"
        );
        let admin = through(db.app(crate::db::app_name::SAMPLER), port).database("pgbouncer").extra_float_digits(None);
        let mut bouncer = PgBouncer { child: Some(child), port, spec: spec.clone(), admin, dir };
        bouncer.wait_ready().await?;
        Ok(bouncer)
    }

    async fn wait_ready(&mut self) -> Result<(), PgBouncerError> {
        let started = Instant::now();
        loop {
            if let Ok(conn) = self.admin.connect().await {
                let _ = conn.close().await;
                return Ok(());
            }
            let exited = self.child.as_mut().is_none_or(|c| matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
            if exited || started.elapsed() > START_LIMIT {
                let log = std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                let log = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
                return Err(PgBouncerError::NotReady { limit: START_LIMIT, log });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where the app connects instead of the server.
    pub fn address(&self) -> (String, u16) {
        ("127.0.0.1".to_owned(), self.port)
    }

    /// `options` pointed at this PgBouncer instead of the server.
    pub fn client(&self, options: PgConnectOptions) -> PgConnectOptions {
        through(options, self.port)
    }

    /// Starts reading `SHOW POOLS` every 10 ms until the returned watch is dropped.
    pub fn watch(&self) -> PoolerWatch {
        let gauge = Arc::new(PoolerGauge::new(&self.spec));
        let task = tokio::spawn(poll(self.admin.clone(), gauge.clone()));
        PoolerWatch { gauge, task }
    }
}

fn write(path: &Path, text: &str) -> Result<(), PgBouncerError> {
    File::create(path).and_then(|mut f| f.write_all(text.as_bytes())).map_err(io(format!("writing {}", path.display())))
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_process(child, Signal::SIGTERM, Duration::from_secs(5), "pgbouncer");
        }
    }
}

/// The latest `SHOW POOLS` of a run's PgBouncer, and its readings of the run's first moments.
pub struct PoolerGauge {
    /// The latest reading, when it was asked for, and how long it took.
    latest: Mutex<(PoolerFrame, Instant, Duration)>,
    /// Every reading of the run's first moments, the same way (at most [`MAX_POOLER_READINGS`]).
    kept: Mutex<Vec<(PoolerFrame, Instant, Duration)>>,
    /// How many readings there have been, for waiting on a fresh one.
    count: tokio::sync::watch::Sender<u64>,
}

/// The run's most server connections, client connections and waiting clients in the readings of
/// PgBouncer it keeps ([`PoolerPeaks::of`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolerPeaks {
    pub servers: u64,
    pub clients: u64,
    pub waiting: u64,
}

impl PoolerPeaks {
    /// The most of each in a run's kept `readings` and in its `frames`' readings taken after the
    /// last of them ([`poollab_shared::frame::pooler_readings`]): the readings its chart draws,
    /// so that its lines peak where these do.
    pub fn of(readings: &[PoolerFrame], frames: &[Frame]) -> PoolerPeaks {
        let drawn = poollab_shared::frame::pooler_readings(readings, frames);
        drawn.into_iter().fold(PoolerPeaks::default(), |most, r| PoolerPeaks {
            servers: most.servers.max(r.servers()),
            clients: most.clients.max(r.clients()),
            waiting: most.waiting.max(r.cl_waiting),
        })
    }
}

impl PoolerGauge {
    fn new(spec: &PoolerSpec) -> PoolerGauge {
        PoolerGauge {
            latest: Mutex::new((
                PoolerFrame { mode: spec.mode, pool_size: spec.pool_size.into(), ..PoolerFrame::default() },
                Instant::now(),
                Duration::ZERO,
            )),
            kept: Mutex::new(Vec::new()),
            count: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Counts the readings as they come: a receiver that sees each one as a change.
    pub fn readings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.count.subscribe()
    }

    /// The latest reading, its time (`read_at_ms`, `read_took_ms`) counted from `run_started`.
    pub fn latest(&self, run_started: Instant) -> PoolerFrame {
        timed(*self.latest.lock().unwrap_or_else(|p| p.into_inner()), run_started)
    }

    /// Every reading of the run's first moments (at most [`MAX_POOLER_READINGS`]), timed as
    /// [`PoolerGauge::latest`] times one.
    pub fn kept(&self, run_started: Instant) -> Vec<PoolerFrame> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|r| timed(*r, run_started)).collect()
    }

    fn latest_frame(&self) -> PoolerFrame {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn observe(&self, reading: PoolerFrame, asked: Instant) {
        let took = asked.elapsed();
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = (reading, asked, took);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < MAX_POOLER_READINGS {
            kept.push((reading, asked, took));
        }
        drop(kept);
        self.count.send_modify(|n| *n += 1);
    }
}

/// A reading, asked for at `asked` and answered after `took`, with its time counted from
/// `run_started`.
fn timed((frame, asked, took): (PoolerFrame, Instant, Duration), run_started: Instant) -> PoolerFrame {
    let read_at_ms = asked.saturating_duration_since(run_started).as_millis() as u64;
    PoolerFrame { read_at_ms: Some(read_at_ms), read_took_ms: took.as_millis() as u64, ..frame }
}

/// Reads the run's PgBouncer while the run goes; stops when dropped.
pub struct PoolerWatch {
    pub gauge: Arc<PoolerGauge>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PoolerWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn poll(admin: PgConnectOptions, gauge: Arc<PoolerGauge>) {
    let mut conn: Option<PgConnection> = None;
    // Every 10 ms from one reading's start to the next (a slow answer delays the next, no more).
    let mut every = tokio::time::interval(WATCH_PERIOD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let mut asked = Instant::now();
        let reading = async {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => conn.insert(admin.connect().await?),
            };
            asked = Instant::now();
            show_pools(c, gauge.latest_frame()).await
        };
        match reading.await {
            Ok(frame) => gauge.observe(frame, asked),
            Err(e) => {
                tracing::debug!(error = %e, "could not read PgBouncer's SHOW POOLS");
                conn = None;
            }
        }
    }
}

/// One reading of `SHOW POOLS`: the app database's row (the console's own is left out).
/// The console speaks only the simple query protocol, and types its numbers variously.
pub async fn show_pools(conn: &mut PgConnection, before: PoolerFrame) -> Result<PoolerFrame, sqlx::Error> {
    let rows: Vec<PgRow> = sqlx::raw_sql("SHOW POOLS").fetch_all(&mut *conn).await?;
    let mut frame = PoolerFrame { mode: before.mode, pool_size: before.pool_size, ..PoolerFrame::default() };
    for row in rows.iter().filter(|r| r.try_get::<String, _>("database").is_ok_and(|d| d != "pgbouncer")) {
        let n = |col: &str| number(row, col);
        frame.cl_active += n("cl_active");
        frame.cl_waiting += n("cl_waiting");
        frame.sv_active += n("sv_active");
        frame.sv_idle += n("sv_idle");
        frame.sv_used += n("sv_used");
        frame.sv_tested += n("sv_tested");
        frame.sv_login += n("sv_login");
        frame.maxwait_ms = frame.maxwait_ms.max(n("maxwait") * 1000 + n("maxwait_us") / 1000);
    }
    Ok(frame)
}

fn number(row: &PgRow, col: &str) -> u64 {
    if let Ok(v) = row.try_get::<i64, _>(col) {
        return v.max(0) as u64;
    }
    if let Ok(v) = row.try_get::<i32, _>(col) {
        return v.max(0) as u64;
    }
    row.try_get::<String, _>(col).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}
