//! Configuration from command-line flags and the environment (`poollab --help` lists them all).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Pool Lab: a teaching lab on database connection pooling, against a real PostgreSQL.
#[derive(Debug, Clone, Parser)]
#[command(name = "poollab", version, about, long_about = None)]
pub struct Config {
    /// Address the lab serves the page, API and websocket on (use 0.0.0.0:PORT to serve a LAN;
    /// port 0 picks a free one).
    #[arg(long, env = "POOLLAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Use this PostgreSQL server instead of starting a private one
    /// (e.g. postgres://user:pass@host/db). The lab creates its demo table there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The lab's state directory: the private cluster lives in `<DIR>/pgdata` and persists.
    #[arg(long, env = "POOLLAB_DATA_DIR", default_value = ".poollab")]
    pub data_dir: PathBuf,

    /// Directory with the PostgreSQL server binaries (initdb, postgres); found automatically
    /// under /usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH when not given.
    #[arg(long, env = "POOLLAB_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Loopback port of the private cluster (0: a free one).
    #[arg(long, env = "POOLLAB_PG_PORT", default_value_t = 0)]
    pub pg_port: u16,

    /// `max_connections` of the private cluster: the server's limit that naive bursts run into.
    #[arg(long, env = "POOLLAB_MAX_CONNECTIONS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(10..=5000))]
    pub max_connections: u32,

    /// Make the private cluster accept only TLS connections: the lab's own connections then check
    /// the server's certificate against the lab's certificate authority (`sslmode=verify-full`,
    /// `<DATA_DIR>/tls/ca.crt`), and the connections of a run that asks for `"tls": "off"` are refused.
    #[arg(long, env = "POOLLAB_PG_TLS_ONLY")]
    pub pg_tls_only: bool,

    /// Size of the shared pool behind GET /demo/pooled.
    #[arg(long, env = "POOLLAB_DEMO_POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub demo_pool_size: u32,

    /// Runs that may wait in the queue at once; more get 429.
    #[arg(long, env = "POOLLAB_MAX_QUEUED_RUNS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_queued_runs: u32,

    /// Runs one learner may have waiting at once; more get 429. A sizing sweep goes in line whole
    /// when the learner has nothing else waiting.
    #[arg(long, env = "POOLLAB_MAX_QUEUED_PER_LEARNER", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_queued_per_learner: u32,

    /// Most requests one learner's run may fire (the instructor's runs are not limited): keeps
    /// a class's runs short on a shared database.
    #[arg(long, env = "POOLLAB_LEARNER_MAX_REQUESTS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub learner_max_requests: u32,

    /// The instructor's secret: sent as `Authorization: Bearer <token>`, it lets its holder lock
    /// the lab, set the step everyone follows, and jump the queue. No token: no instructor.
    #[arg(long, env = "POOLLAB_INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,

    /// Do not start the pg_stat_activity sampler and the frame ticker. Only for measuring what
    /// they cost (the benchmark does): the page then shows no live figures.
    #[arg(long, env = "POOLLAB_NO_LIVE")]
    pub no_live: bool,

    /// Serve the page from this folder (a Trunk build) instead of the copy built into the binary:
    /// for working on the page.
    #[arg(long, env = "POOLLAB_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
}
