//! The database the lab works against: how to reach it, its schema, and the demo query.
//!
//! Whatever the source (the private cluster or `DATABASE_URL`), the rest of the lab sees one
//! [`Database`]: connect options for the *admin* side (migrations, the sampler) and the *app* side
//! (runs and demo requests). Every connection says who opened it through `application_name`, so
//! the server's `pg_stat_activity` can be grouped by it.
//!
//! Beside it: [`cluster`], the private PostgreSQL the lab starts from the local binaries, with
//! [`tls`], the certificates it makes for it;
//! [`pgbouncer`], the server-side pooler a run may put in front of it; and [`store`], where runs
//! are kept with their timelines.

pub mod cluster;
pub mod pgbouncer;
pub mod server_cpus;
pub mod store;
pub mod tls;

use std::sync::atomic::{AtomicU64, Ordering};

use poollab_shared::{ErrorKind, Query, ServerFacts, Statements, Tls, WorkSpec};
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use crate::db::cluster::{APP_ROLE, PrivateCluster};

/// Who opened a connection, as `pg_stat_activity.application_name` shows it.
pub mod app_name {
    pub const NAIVE_RUN: &str = "poollab-naive";
    pub const POOLED_RUN: &str = "poollab-pool";
    pub const DEMO_NAIVE: &str = "poollab-demo-naive";
    pub const DEMO_POOLED: &str = "poollab-demo-pool";
    pub const SAMPLER: &str = "poollab-sampler";
    pub const ADMIN: &str = "poollab-admin";
    /// The one connection that times a paced run's query before the run (`load.busy_pct`).
    pub const PACE: &str = "poollab-pace";
}

/// Rows in the seeded `users` table (see `migrations/`).
const DEMO_USERS: u64 = 5_000;

/// Where the lab's database is and how to log in to it.
#[derive(Debug, Clone)]
pub struct Database {
    admin: PgConnectOptions,
    app: PgConnectOptions,
    /// The app role's password, if it has one (a pooler in front of the server needs it).
    app_password: Option<String>,
    /// The certificate authority that signed the server's certificate, when the lab made it
    /// (its private cluster): runs that ask for TLS check the server against it.
    ca_cert: Option<std::path::PathBuf>,
    /// True when the admin role is a superuser distinct from the app role, so the server's
    /// reserved slots keep the sampler's connection safe from a run's burst.
    pub sampler_reserved: bool,
    /// The server's process, when it is the lab's own: a run can then limit its CPUs.
    server: Option<server_cpus::ServerProcess>,
}

impl Database {
    pub fn private(cluster: &PrivateCluster) -> Database {
        Database {
            admin: cluster.admin_options(),
            app: cluster.app_options(),
            app_password: Some(cluster.app_password().to_owned()),
            ca_cert: Some(cluster.ca_cert().to_path_buf()),
            sampler_reserved: true,
            server: cluster.pid().map(server_cpus::ServerProcess::new),
        }
    }

    /// An existing server: one role does everything.
    pub fn from_url(url: &str) -> Result<Database, sqlx::Error> {
        let opts: PgConnectOptions = url.parse()?;
        let app_password = url::Url::parse(url).ok().and_then(|u| {
            let p = u.password()?;
            Some(percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
        });
        Ok(Database {
            admin: opts.clone(),
            app: opts,
            app_password,
            ca_cert: None,
            sampler_reserved: false,
            server: None,
        })
    }

    /// The app side's database and role.
    pub fn app_names(&self) -> (&str, &str) {
        (self.app.get_database().unwrap_or(self.app.get_username()), self.app.get_username())
    }

    pub fn app_password(&self) -> Option<&str> {
        self.app_password.as_deref()
    }

    pub fn admin(&self, application_name: &str) -> PgConnectOptions {
        self.admin.clone().application_name(application_name)
    }

    pub fn app(&self, application_name: &str) -> PgConnectOptions {
        self.app.clone().application_name(application_name)
    }

    /// The app side for one connect with TLS as asked: `None` keeps the lab's own setting; `Off`
    /// never uses TLS; `On` requires it, checking the server's certificate and name against the
    /// lab's authority when the lab made it, and otherwise keeping `DATABASE_URL`'s checks, raised
    /// to at least `require`. (`Both` is a run's choice, made connect by connect as `Off` or `On`
    /// by the caller; here it reads as `On`.)
    pub fn app_tls(&self, application_name: &str, tls: Option<Tls>) -> PgConnectOptions {
        let opts = self.app(application_name);
        match tls {
            None => opts,
            Some(Tls::Off) => opts.ssl_mode(PgSslMode::Disable),
            Some(Tls::On | Tls::Both) => match (&self.ca_cert, opts.get_ssl_mode()) {
                (Some(ca), _) => opts.ssl_mode(PgSslMode::VerifyFull).ssl_root_cert(ca),
                (None, PgSslMode::VerifyCa | PgSslMode::VerifyFull) => opts,
                (None, _) => opts.ssl_mode(PgSslMode::Require),
            },
        }
    }

    /// Whether the app side's own connections (no `tls` in the spec) require TLS.
    pub fn app_requires_tls(&self) -> bool {
        requires_tls(&self.app)
    }

    /// Limits the server to `cpus` of the worker's cores until the guard is dropped (only the
    /// lab's own server can be limited).
    pub fn pin_server(&self, cpus: u32) -> Result<server_cpus::Pinned, server_cpus::PinError> {
        self.server.ok_or(server_cpus::PinError::NotOurServer(cpus))?.pin(cpus)
    }

    /// The lab's certificate authority, when it made one.
    pub fn ca_cert(&self) -> Option<&std::path::Path> {
        self.ca_cert.as_deref()
    }

    /// The app side's TCP address, for the network proxy (none when it connects by Unix socket).
    pub fn app_tcp_target(&self) -> Option<(String, u16)> {
        self.app.get_socket().is_none().then(|| (self.app.get_host().to_owned(), self.app.get_port()))
    }

    /// Applies the migrations (the demo table) and lets the app role read it.
    pub async fn prepare(&self) -> Result<(), sqlx::Error> {
        let mut conn = self.admin(app_name::ADMIN).connect().await?;
        sqlx::migrate!("./migrations").run(&mut conn).await?;
        if self.sampler_reserved {
            sqlx::query("GRANT SELECT ON users TO poollab_app").execute(&mut conn).await?;
            tracing::debug!(role = APP_ROLE, "granted read access to the demo table");
        }
        conn.close().await
    }

    /// The server's limits: `max_connections`, the slots of it kept for superusers, and whether
    /// it offers TLS at all (`ssl`). (Whether a PgBouncer can be started is the caller's to say.)
    pub async fn limits(&self) -> Result<ServerFacts, sqlx::Error> {
        let mut conn = self.admin(app_name::ADMIN).connect().await?;
        let (max, reserved, ssl): (String, String, String) = sqlx::query_as(
            "SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'), \
             current_setting('ssl')",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        Ok(ServerFacts {
            max_connections: max.parse().unwrap_or(0),
            reserved_connections: reserved.parse().unwrap_or(0),
            cpus: 0,
            tls: Some(ssl == "on"),
            pgbouncer: None,
        })
    }
}

/// Whether connecting with `options` either uses TLS or fails (`require` and the verifying modes).
pub fn requires_tls(options: &PgConnectOptions) -> bool {
    matches!(options.get_ssl_mode(), PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull)
}

/// What the demo query returns.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DemoRow {
    pub id: i32,
    pub name: String,
    pub email: String,
}

static NEXT_DEMO_USER: AtomicU64 = AtomicU64::new(0);

/// The user the next demo request asks for: demo requests walk through the table, so successive
/// requests touch different rows.
pub fn next_demo_user() -> i32 {
    (NEXT_DEMO_USER.fetch_add(1, Ordering::Relaxed) % DEMO_USERS + 1) as i32
}

/// The user request `n` of a run asks for, when the run asks for `users` distinct ones.
pub fn user_for_request(n: u64, users: u32) -> i32 {
    (n % u64::from(users.clamp(1, DEMO_USERS as u32)) + 1) as i32
}

/// One query of a request's work, on a connection it already holds. With
/// `statements: "unnamed"` it goes as the unnamed statement (`persistent(false)`), which sqlx
/// neither names nor caches.
pub async fn run_query(conn: &mut PgConnection, work: &WorkSpec, user: i32) -> Result<DemoRow, sqlx::Error> {
    let persistent = work.statements != Statements::Unnamed;
    match work.query {
        Query::SelectUser => {
            sqlx::query_as("SELECT id, name, email FROM users WHERE id = $1")
                .bind(user)
                .persistent(persistent)
                .fetch_one(conn)
                .await
        }
        Query::Sleep => {
            sqlx::query_as("SELECT id, name, email FROM users, pg_sleep($2) WHERE id = $1")
                .bind(user)
                .bind(work.sleep_ms_for(user) / 1000.0)
                .persistent(persistent)
                .fetch_one(conn)
                .await
        }
        // No index covers lower(email): the server reads and lower-cases every row to find one.
        // (An expression index on lower(email) would make it as cheap as the lookup by id.)
        Query::Heavy => {
            sqlx::query_as(
                "SELECT id, name, email FROM users WHERE lower(email) = 'user' || $1::int || '@example.test'",
            )
            .bind(user)
            .persistent(persistent)
            .fetch_one(conn)
            .await
        }
    }
}

/// Sorts a database error into the causes the course talks about.
pub fn classify(err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::PoolTimedOut => ErrorKind::AcquireTimeout,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // too_many_connections: also "remaining connection slots are reserved".
            Some("53300") => ErrorKind::TooManyClients,
            // admin_shutdown, crash_shutdown, cannot_connect_now (starting up / shutting down).
            Some("57P01" | "57P02" | "57P03") => ErrorKind::DatabaseDown,
            // idle_in_transaction_session_timeout: the server ended the session.
            Some("25P03") => ErrorKind::IdleInTransactionTimeout,
            // invalid_sql_statement_name ("prepared statement ... does not exist") and
            // duplicate_prepared_statement ("... already exists").
            Some("26000" | "42P05") => ErrorKind::PreparedStatement,
            // PgBouncer's own error for a client that waited too long for a server connection.
            Some("08P01") if db.message().contains("query_wait_timeout") => ErrorKind::QueryWaitTimeout,
            _ => ErrorKind::Other,
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed => ErrorKind::DatabaseDown,
        _ => ErrorKind::Other,
    }
}
