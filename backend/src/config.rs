//! Configuration from command-line flags and the environment (`poollab --help`,
//! `poollab worker --help` list them all).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Pool Lab: a teaching lab on database connection pooling, against a real PostgreSQL.
///
/// Without a command, `poollab` is the coordinator (the page, the API, the class and the line)
/// with one worker built in that carries out runs on its database. `poollab worker` joins a
/// coordinator from another process or machine.
#[derive(Debug, Clone, Parser)]
#[command(name = "poollab", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Carry out a coordinator's runs on a PostgreSQL of this worker's own.
    Worker(WorkerConfig),
}

/// Where a database is: a server by URL, or a private cluster the lab starts and owns.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Use this PostgreSQL server instead of starting a private one
    /// (e.g. postgres://user:pass@host/db). The lab creates its demo table there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The state directory: the private cluster lives in `<DIR>/pgdata` and persists; the
    /// coordinator also keeps its cookie key here, and its local workers' clusters under `workers/`.
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

    /// Start the private cluster without TLS (`ssl=off`), like a server that offers none: runs
    /// that ask for TLS are then refused (422), and lesson steps that need it say so.
    #[arg(long, env = "POOLLAB_PG_NO_TLS", conflicts_with = "pg_tls_only")]
    pub pg_no_tls: bool,

    /// Do not start the pg_stat_activity sampler and the frame ticker. Only for measuring what
    /// they cost (the benchmark does): the page then shows no live figures.
    #[arg(long, env = "POOLLAB_NO_LIVE")]
    pub no_live: bool,
}

/// The coordinator (and, unless `--workers` says otherwise, its built-in worker).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the lab serves the page, API and websocket on (use 0.0.0.0:PORT to serve a LAN;
    /// port 0 picks a free one).
    #[arg(long, env = "POOLLAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Size of the shared pool behind GET /demo/pooled.
    #[arg(long, env = "POOLLAB_DEMO_POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub demo_pool_size: u32,

    /// Runs that may wait in line at once; more get 429.
    #[arg(long, env = "POOLLAB_MAX_QUEUED_RUNS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_queued_runs: u32,

    /// Runs one learner may have waiting at once; more get 429. A sizing sweep goes in line whole
    /// when the learner has nothing else waiting.
    #[arg(long, env = "POOLLAB_MAX_QUEUED_PER_LEARNER", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_queued_per_learner: u32,

    /// Runs the learners at one network address may have waiting at once; more get 429. Keeps one
    /// machine (or a script that makes up learners) from filling the line. Raise it to the class
    /// size when a whole class reaches the lab through one address (one NAT, one proxy).
    #[arg(long, env = "POOLLAB_MAX_QUEUED_PER_ADDRESS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_queued_per_address: u32,

    /// Most requests one learner's run may fire (the instructor's runs are not limited): keeps
    /// a class's runs short on a shared database.
    #[arg(long, env = "POOLLAB_LEARNER_MAX_REQUESTS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub learner_max_requests: u32,

    /// Shared runs: a learner who asks for a run identical to one already waiting in line joins
    /// it (one run, everyone on it watches it and gets its result) instead of adding one. `off`
    /// gives every click a run of its own.
    #[arg(long, env = "POOLLAB_SHARE_RUNS", default_value = "on", action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub share_runs: bool,

    /// The instructor's secret: sent as `Authorization: Bearer <token>`, it lets its holder lock
    /// the lab, set the step everyone follows, cancel runs, pause learners, and jump the line.
    /// No token: no instructor.
    #[arg(long, env = "POOLLAB_INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,

    /// Carry out runs on N worker processes of this machine instead of the built-in worker: each
    /// with a private PostgreSQL of its own (under `<DATA_DIR>/workers/`) and pinned to its own
    /// share of the cores. 0: no local worker, only those that join with `poollab worker`.
    #[arg(long, env = "POOLLAB_WORKERS", value_parser = clap::value_parser!(u32).range(0..=64))]
    pub workers: Option<u32>,

    /// The secret a `poollab worker` must show to join this coordinator. No secret: only the
    /// coordinator's own workers carry out runs.
    #[arg(long, env = "POOLLAB_WORKER_SECRET", hide_env_values = true)]
    pub worker_secret: Option<String>,

    /// Serve the page from this folder (a Trunk build) instead of the copy built into the binary:
    /// for working on the page.
    #[arg(long, env = "POOLLAB_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
}

/// A worker that joins a coordinator.
#[derive(Debug, Clone, Args)]
pub struct WorkerConfig {
    /// The coordinator to join, as its page's URL (http://host:8080).
    #[arg(long, env = "POOLLAB_COORDINATOR")]
    pub coordinator: String,

    /// The coordinator's worker secret (its `--worker-secret`).
    #[arg(long, env = "POOLLAB_WORKER_SECRET", hide_env_values = true)]
    pub worker_secret: String,

    /// The name runs record this worker by (default: the machine's host name).
    #[arg(long, env = "POOLLAB_WORKER_NAME")]
    pub name: Option<String>,

    /// Pin the worker, and the PostgreSQL it starts, to these CPU cores (`0,2-3`), so that runs of
    /// workers side by side do not distort each other's timings.
    #[arg(long, env = "POOLLAB_WORKER_CPUS")]
    pub cpus: Option<String>,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl Config {
    /// The defaults `--help` lists, on a free loopback port, with its state in `data_dir` (for
    /// programs that start a lab of their own: tests, benchmarks). Environment variables are not
    /// read.
    pub fn on_free_port(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseArgs {
                database_url: None,
                data_dir,
                pg_bin_dir: None,
                pg_port: 0,
                max_connections: 100,
                pg_tls_only: false,
                pg_no_tls: false,
                no_live: false,
            },
            demo_pool_size: 10,
            max_queued_runs: 16,
            max_queued_per_learner: 3,
            max_queued_per_address: 10,
            learner_max_requests: 10_000,
            share_runs: true,
            instructor_token: None,
            workers: None,
            worker_secret: None,
            static_dir: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_port_defaults_are_the_flags_defaults() {
        let parsed = Cli::try_parse_from(["poollab", "--listen", "127.0.0.1:0", "--data-dir", "d"]).expect("flags");
        let ours = Config::on_free_port("d".into());
        assert_eq!(
            format!("{:?}", parsed.serve.database.max_connections),
            format!("{:?}", ours.database.max_connections)
        );
        assert_eq!(
            (parsed.serve.max_queued_per_learner, parsed.serve.max_queued_per_address, parsed.serve.demo_pool_size),
            (ours.max_queued_per_learner, ours.max_queued_per_address, ours.demo_pool_size)
        );
        assert_eq!(parsed.serve.share_runs, ours.share_runs);
        let off = Cli::try_parse_from(["poollab", "--share-runs", "off"]).expect("--share-runs off");
        assert!(!off.serve.share_runs, "--share-runs off gives every click a run of its own");
        let worker =
            Cli::try_parse_from(["poollab", "worker", "--coordinator", "http://c:8080", "--worker-secret", "s"])
                .expect("worker flags");
        assert!(matches!(worker.command, Some(Command::Worker(w)) if w.coordinator == "http://c:8080"));
    }
}
