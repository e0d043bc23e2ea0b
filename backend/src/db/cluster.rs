//! The lab's private PostgreSQL: a real server of its own, started from the local binaries.
//!
//! Why not just use any database? Lessons about the server's limit (`too many clients`) and the
//! cost of authentication need a server whose `max_connections` we choose and which asks for a
//! password (SCRAM-SHA-256), as production servers do. So unless `DATABASE_URL` is given, the lab
//! runs `initdb` once into its data directory (kept across restarts) and then starts `postgres`
//! itself, listening on loopback only.
//!
//! Two roles are created: `poollab_admin` (a superuser: migrations and the `pg_stat_activity`
//! sampler) and `poollab_app` (what runs and demo requests log in as). PostgreSQL keeps
//! `superuser_reserved_connections` slots that only a superuser may take, so however hard a naive
//! burst hits the limit, the sampler can still look.
//!
//! The server always offers TLS, with a certificate signed by a certificate authority the lab
//! makes ([`super::tls`]); the lab's own connections go without it unless the cluster is started
//! to accept only TLS (`tls_only`), when every connection must use it and checks the server's
//! certificate (`sslmode=verify-full`). Runs choose for themselves (`tls` in the run spec).
//!
//! PostgreSQL refuses to run as root. When the lab runs as root, the data directory is given to the
//! `postgres` user and `initdb`/`postgres` run as that user. The [`PrivateCluster`] owns the server
//! process: dropping it stops the server (SIGINT: fast shutdown) and waits for it to exit, and the
//! server is also told to stop if the lab process dies (`PR_SET_PDEATHSIG`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use crate::db::tls::TlsFiles;

/// The superuser the lab administers its private cluster with.
pub const ADMIN_ROLE: &str = "poollab_admin";
/// The ordinary role that runs and demo requests log in as.
pub const APP_ROLE: &str = "poollab_app";
/// The database the lab creates in its private cluster.
pub const DATABASE: &str = "poollab";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked in --pg-bin-dir, /usr/lib/postgresql/*/bin, \
         `pg_config --bindir` and PATH). Install PostgreSQL (Debian/Ubuntu: `apt-get install \
         postgresql`), or point the lab at an existing server with DATABASE_URL=postgres://..."
    )]
    NoBinaries,
    #[error(
        "the lab runs as root and PostgreSQL refuses root, but there is no `postgres` user to run it \
         as. Install PostgreSQL from your distribution (it creates that user) or run the lab as a \
         normal user"
    )]
    NoPostgresUser,
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{program} failed ({status}); its output:\n{output}")]
    Tool { program: String, status: String, output: String },
    #[error("postgres exited during start-up; the end of its log ({log}):\n{tail}")]
    Exited { log: String, tail: String },
    #[error("postgres did not accept connections within {0:?}")]
    StartTimeout(Duration),
    #[error("setting up the private cluster: {0}")]
    Setup(#[from] sqlx::Error),
    #[error("making the private cluster's certificates: {0}")]
    Certificate(rcgen::Error),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The lab's state directory; the cluster lives in `<dir>/pgdata`.
    pub dir: PathBuf,
    /// Where `initdb` and `postgres` are; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Loopback TCP port; a free one is chosen when 0.
    pub port: u16,
    /// The server's connection limit (`max_connections`).
    pub max_connections: u32,
    /// Accept only TLS connections (`hostssl` lines, plain ones rejected).
    pub tls_only: bool,
    /// Offer TLS at all (`ssl=on`); off makes a server like one configured without it.
    pub tls: bool,
}

/// A running private PostgreSQL server, stopped when dropped.
#[derive(Debug)]
pub struct PrivateCluster {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    secrets: Secrets,
    max_connections: u32,
    tls: TlsFiles,
    tls_only: bool,
    /// Connections the server refused for lack of slots, as its log tells.
    refusals: Arc<Refusals>,
}

/// Passwords of the two roles, made at `initdb` and kept in `<dir>/secrets` (mode 0600).
#[derive(Debug, Clone)]
struct Secrets {
    admin: String,
    app: String,
}

/// The user the server processes run as: `postgres` when we are root, ourselves otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs {
    uid: Uid,
    gid: Gid,
}

impl RunAs {
    pub(crate) fn find() -> Result<Option<RunAs>, ClusterError> {
        if !Uid::effective().is_root() {
            return Ok(None);
        }
        let user = User::from_name("postgres").ok().flatten().ok_or(ClusterError::NoPostgresUser)?;
        Ok(Some(RunAs { uid: user.uid, gid: user.gid }))
    }

    pub(crate) fn chown(self, path: &Path) -> Result<(), ClusterError> {
        std::os::unix::fs::chown(path, Some(self.uid.as_raw()), Some(self.gid.as_raw()))
            .map_err(io(format!("chown {}", path.display())))
    }

    /// Makes `cmd` run as this user, from `/`.
    pub(crate) fn apply(self, cmd: &mut Command) {
        cmd.uid(self.uid.as_raw()).gid(self.gid.as_raw()).current_dir("/");
    }
}

/// Finds the directory holding `initdb` and `postgres`.
pub fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = explicit {
        return if has_tools(d) { Ok(d.to_path_buf()) } else { Err(ClusterError::NoBinaries) };
    }
    // Debian and Ubuntu keep each major version apart; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Ok(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_tools(&d) {
            return Ok(d);
        }
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|d| has_tools(d))
        .ok_or(ClusterError::NoBinaries)
}

pub(crate) fn free_port() -> Result<u16, ClusterError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(l.local_addr().map_err(io("finding a free port"))?.port())
}

fn random_secret() -> String {
    let bytes: [u8; 18] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a PostgreSQL tool to completion as `run_as`, with its output captured for errors.
fn run_tool(bin: &Path, args: &[&str], run_as: Option<RunAs>) -> Result<(), ClusterError> {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).env("LC_ALL", "C");
    if let Some(r) = run_as {
        cmd.uid(r.uid.as_raw()).gid(r.gid.as_raw()).current_dir("/");
    }
    let out = cmd.output().map_err(io(format!("running {}", bin.display())))?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::Tool {
        program: bin.display().to_string(),
        status: out.status.to_string(),
        output: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    })
}

impl PrivateCluster {
    /// Initialises the cluster if needed, starts the server and waits until it accepts
    /// connections; creates the lab's database and roles on first start.
    pub async fn start(opts: ClusterOptions) -> Result<PrivateCluster, ClusterError> {
        let bin = find_bin_dir(opts.bin_dir.as_deref())?;
        let run_as = RunAs::find()?;
        let dir = std::path::absolute(&opts.dir).map_err(io("resolving the data directory"))?;
        let pgdata = dir.join("pgdata");
        fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        if run_as.is_some() {
            // The server user must be able to reach its data directory through ours.
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                .map_err(io(format!("chmod {}", dir.display())))?;
        }

        let fresh = !pgdata.join("PG_VERSION").is_file();
        let secrets = if fresh { init(&bin, &dir, &pgdata, run_as)? } else { Secrets::load(&dir)? };
        let tls = TlsFiles::ensure(&dir, run_as)?;

        let port = if opts.port == 0 { free_port()? } else { opts.port };
        let log_path = dir.join("postgres.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io(format!("opening {}", log_path.display())))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);

        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&pgdata)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            // No Unix socket: nothing to clash with a system server's /var/run/postgresql.
            .args(["-c", "unix_socket_directories="])
            .args(["-c", &format!("max_connections={}", opts.max_connections)])
            .args(["-c", "superuser_reserved_connections=3"])
            // Each log line opens with when it was written (seconds since the epoch, to the ms),
            // so a refusal is counted at its own instant, however late the lab reads its line.
            .args(["-c", "log_line_prefix=%n [%p] "])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io("postgres log"))?)
            // The server logs to stderr, which the lab copies into the log file and reads on the
            // way: every connection it refuses for lack of slots is counted there.
            .stderr(Stdio::piped())
            .env("LC_ALL", "C");
        if opts.tls {
            cmd.args(["-c", "ssl=on"])
                .args(["-c", &format!("ssl_cert_file={}", tls.server_cert.display())])
                .args(["-c", &format!("ssl_key_file={}", tls.server_key.display())]);
        } else {
            cmd.args(["-c", "ssl=off"]);
        }
        if opts.tls_only {
            let hba = dir.join("tls").join("pg_hba.conf");
            write_private(
                &hba,
                "# Written by Pool Lab: TLS only.\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n\
                 hostnossl all all all reject\n",
            )?;
            if let Some(r) = run_as {
                r.chown(&hba)?;
            }
            cmd.args(["-c", &format!("hba_file={}", hba.display())]);
        }
        if let Some(r) = run_as {
            r.apply(&mut cmd);
        }
        // SAFETY: prctl is async-signal-safe; it runs in the child after fork (and after the
        // uid change, which would otherwise clear it) and before exec.
        unsafe {
            cmd.pre_exec(|| {
                if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(io("starting postgres"))?;
        tracing::info!(pid = child.id(), port, dir = %pgdata.display(), "private PostgreSQL starting");
        let refusals = Arc::new(Refusals::default());
        if let Some(stderr) = child.stderr.take() {
            copy_log(stderr, log, refusals.clone()).map_err(io("reading the postgres log"))?;
        }

        let mut cluster = PrivateCluster {
            child: Some(child),
            port,
            dir,
            secrets,
            max_connections: opts.max_connections,
            tls,
            tls_only: opts.tls_only,
            refusals,
        };
        cluster.wait_ready(&log_path, log_start).await?;
        cluster.ensure_database_and_roles().await?;
        Ok(cluster)
    }

    async fn wait_ready(&mut self, log_path: &Path, log_start: u64) -> Result<(), ClusterError> {
        let limit = Duration::from_secs(30);
        let started = Instant::now();
        let opts = self.admin_options().database("postgres");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                self.child = None;
                return Err(ClusterError::Exited {
                    log: log_path.display().to_string(),
                    tail: log_tail(log_path, log_start),
                });
            }
            match opts.connect().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e) if started.elapsed() > limit => {
                    tracing::error!(error = %e, "private PostgreSQL never became ready");
                    return Err(ClusterError::StartTimeout(limit));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Creates the lab database and the app role if missing, and (re)sets the app's password.
    async fn ensure_database_and_roles(&self) -> Result<(), ClusterError> {
        let mut conn = self.admin_options().database("postgres").connect().await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            sqlx::query("CREATE DATABASE poollab OWNER poollab_admin").execute(&mut conn).await?;
        }
        let role: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(APP_ROLE)
            .fetch_one(&mut conn)
            .await?;
        if !role {
            sqlx::query("CREATE ROLE poollab_app LOGIN").execute(&mut conn).await?;
        }
        // The secret is hex, so quoting it is safe; PASSWORD cannot take a bind parameter.
        let set = format!("ALTER ROLE poollab_app PASSWORD '{}'", self.secrets.app);
        sqlx::raw_sql(sqlx::AssertSqlSafe(set)).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// How many connections the server has refused with SQLSTATE 53300 ("too many clients
    /// already", or the last slots being reserved for superusers) since it started. A pool
    /// retries such a refusal inside `acquire`, so the app alone never sees most of them.
    pub fn refusals(&self) -> Arc<Refusals> {
        self.refusals.clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("pgdata")
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where the certificate authority that signed the server's certificate is: what a client
    /// trusts to check the server (`sslrootcert`).
    pub fn ca_cert(&self) -> &Path {
        &self.tls.ca_cert
    }

    /// Whether the server accepts only TLS connections.
    pub fn tls_only(&self) -> bool {
        self.tls_only
    }

    fn base_options(&self) -> PgConnectOptions {
        let opts = PgConnectOptions::new_without_pgpass().host("127.0.0.1").port(self.port).database(DATABASE);
        // The server offers TLS; sqlx's default (`prefer`) would take it. Say which we want.
        if self.tls_only {
            opts.ssl_mode(PgSslMode::VerifyFull).ssl_root_cert(&self.tls.ca_cert)
        } else {
            opts.ssl_mode(PgSslMode::Disable)
        }
    }

    /// The superuser: for migrations and the sampler.
    pub fn admin_options(&self) -> PgConnectOptions {
        self.base_options().username(ADMIN_ROLE).password(&self.secrets.admin)
    }

    /// The superuser as a URL (for tools and for `DATABASE_URL`).
    pub fn admin_url(&self) -> String {
        let tls = if self.tls_only {
            let ca = percent_encoding::utf8_percent_encode(
                &self.tls.ca_cert.to_string_lossy(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            format!("sslmode=verify-full&sslrootcert={ca}")
        } else {
            "sslmode=disable".to_owned()
        };
        format!("postgres://{ADMIN_ROLE}:{}@127.0.0.1:{}/{DATABASE}?{tls}", self.secrets.admin, self.port)
    }

    /// The app role's password.
    pub fn app_password(&self) -> &str {
        &self.secrets.app
    }

    /// The ordinary role runs and demo requests use.
    pub fn app_options(&self) -> PgConnectOptions {
        self.base_options().username(APP_ROLE).password(&self.secrets.app)
    }

    /// Stops the server (fast shutdown) and waits for it to exit; also done on drop.
    pub fn stop(&mut self) {
        let Some(child) = self.child.take() else { return };
        stop_process(child, Signal::SIGINT, Duration::from_secs(15), "postgres");
        tracing::info!(port = self.port, "private PostgreSQL stopped");
    }
}

/// Asks a server process the lab started to stop with `signal`, waits up to `grace` for it to
/// exit, and kills it after that.
pub(crate) fn stop_process(mut child: Child, signal: Signal, grace: Duration, what: &'static str) {
    let _ = kill(Pid::from_raw(child.id() as i32), signal);
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() > deadline => {
                tracing::warn!(what, ?signal, "did not stop when asked; killing it");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `initdb` with SCRAM authentication and the admin role; writes the secrets file.
fn init(bin: &Path, dir: &Path, pgdata: &Path, run_as: Option<RunAs>) -> Result<Secrets, ClusterError> {
    tracing::info!(dir = %pgdata.display(), "initialising a private PostgreSQL cluster");
    if pgdata.exists() {
        // A half-made cluster from an interrupted initdb: start again.
        fs::remove_dir_all(pgdata).map_err(io(format!("removing {}", pgdata.display())))?;
    }
    fs::create_dir(pgdata).map_err(io(format!("creating {}", pgdata.display())))?;
    fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700))
        .map_err(io(format!("chmod {}", pgdata.display())))?;
    let secrets = Secrets { admin: random_secret(), app: random_secret() };
    let pwfile = dir.join("initdb.pw");
    write_private(&pwfile, &secrets.admin)?;
    if let Some(r) = run_as {
        r.chown(pgdata)?;
        r.chown(&pwfile)?;
    }
    let result = run_tool(
        &bin.join("initdb"),
        &[
            "-D",
            &pgdata.to_string_lossy(),
            "-U",
            ADMIN_ROLE,
            &format!("--pwfile={}", pwfile.display()),
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        run_as,
    );
    let _ = fs::remove_file(&pwfile);
    result?;
    secrets.save(dir)?;
    Ok(secrets)
}

pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), ClusterError> {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("writing {}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(io(format!("writing {}", path.display())))
}

impl Secrets {
    fn save(&self, dir: &Path) -> Result<(), ClusterError> {
        write_private(&dir.join("secrets"), &format!("{}\n{}\n", self.admin, self.app))
    }

    fn load(dir: &Path) -> Result<Secrets, ClusterError> {
        let path = dir.join("secrets");
        let text = fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
        let mut lines = text.lines();
        match (lines.next(), lines.next()) {
            (Some(admin), Some(app)) if !admin.is_empty() && !app.is_empty() => {
                Ok(Secrets { admin: admin.to_owned(), app: app.to_owned() })
            }
            _ => Err(ClusterError::Io {
                what: format!("reading {}", path.display()),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "expected two lines"),
            }),
        }
    }
}

/// Whether a server log line is a refused connection: SQLSTATE 53300, logged in the C locale as
/// "sorry, too many clients already" or "remaining connection slots are reserved for ...".
fn is_refusal(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    line.contains("FATAL")
        && (line.contains("too many clients already") || line.contains("connection slots are reserved"))
}

/// The connects the server has refused, as its log tells them: how many since it started, and
/// the instant the server wrote each one's line (its own time stamp, so a line the lab reads late
/// still counts where it belongs).
#[derive(Debug, Default)]
pub struct Refusals {
    /// The latest refusals' instants, as their lines came (at most [`Refusals::KEPT`]).
    times: std::sync::Mutex<std::collections::VecDeque<Instant>>,
    count: AtomicU64,
}

impl Refusals {
    /// Instants kept: far more than a run refuses in the span of one reading.
    const KEPT: usize = 10_000;

    fn note(&self, at: Instant) {
        let mut times = self.times.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if times.len() == Self::KEPT {
            times.pop_front();
        }
        times.push_back(at);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Refusals since the server started.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Refusals since the server started that it had written by `at`, of those the lab has read.
    pub fn count_by(&self, at: Instant) -> u64 {
        let times = self.times.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Lines come in about the order they were written, not exactly: look at them all.
        let later = times.iter().filter(|t| **t > at).count() as u64;
        self.count.load(Ordering::Relaxed).saturating_sub(later)
    }
}

/// When the server wrote a log line, on this process's clock: from its `%n` prefix (seconds since
/// the epoch, to the ms), given the instant `now` that is the wall clock's `wall_now`; `now` for
/// a line without one (or one from the future).
fn logged_at(line: &[u8], now: Instant, wall_now: std::time::SystemTime) -> Instant {
    let stamp = || {
        let stamp = std::str::from_utf8(line).ok()?.split(' ').next()?;
        let (secs, ms) = stamp.split_once('.')?;
        let at =
            std::time::UNIX_EPOCH + Duration::from_secs(secs.parse().ok()?) + Duration::from_millis(ms.parse().ok()?);
        now.checked_sub(wall_now.duration_since(at).ok()?)
    };
    stamp().unwrap_or(now)
}

/// Copies the server's stderr into its log file line by line, counting refusals, until the server
/// exits (its end of the pipe closes).
fn copy_log(from: impl Read + Send + 'static, mut to: File, refusals: Arc<Refusals>) -> std::io::Result<()> {
    std::thread::Builder::new().name("postgres-log".into()).spawn(move || {
        for line in BufReader::new(from).split(b'\n') {
            let Ok(line) = line else { break };
            if is_refusal(&line) {
                refusals.note(logged_at(&line, Instant::now(), std::time::SystemTime::now()));
            }
            if to.write_all(&line).and_then(|()| to.write_all(b"\n")).is_err() {
                break;
            }
        }
    })?;
    Ok(())
}

fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_the_instant_they_came() {
        let r = Refusals::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        for ms in [10, 20, 20, 35] {
            r.note(at(ms));
        }
        // (instant, refusals by then)
        for (ms, want) in [(0, 0), (10, 1), (19, 1), (20, 3), (34, 3), (35, 4), (90, 4)] {
            assert_eq!(r.count_by(at(ms)), want, "by {ms} ms");
        }
        assert_eq!(r.count(), 4);
    }

    #[test]
    fn a_refusal_is_noted_at_the_instant_its_line_was_written() {
        let now = Instant::now();
        let wall = std::time::UNIX_EPOCH + Duration::from_millis(1_764_000_000_250);
        // (line, how long before now it was written)
        let cases: &[(&[u8], Duration)] = &[
            (b"1764000000.243 [123] FATAL:  sorry, too many clients already", Duration::from_millis(7)),
            (b"1764000000.250 [123] FATAL:  sorry, too many clients already", Duration::ZERO),
            // No stamp, or one from the future: read now.
            (b"FATAL:  sorry, too many clients already", Duration::ZERO),
            (b"1764000000.300 [123] FATAL:  sorry, too many clients already", Duration::ZERO),
        ];
        for (line, before) in cases {
            assert_eq!(logged_at(line, now, wall), now - *before, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn refusals_are_told_apart_from_other_log_lines() {
        assert!(is_refusal(b"2026-11-25 12:00:00.000 UTC [123] FATAL:  sorry, too many clients already"));
        assert!(is_refusal(
            b"FATAL:  remaining connection slots are reserved for non-replication superuser connections"
        ));
        assert!(!is_refusal(b"LOG:  database system is ready to accept connections"));
        assert!(!is_refusal(b"FATAL:  password authentication failed for user \"x\""));
    }
}
