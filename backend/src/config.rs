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

    /// Runs that may wait in line at once; more get 429. A learner's sweep must leave a quarter
    /// of them free.
    #[arg(long, env = "POOLLAB_MAX_QUEUED_RUNS", default_value_t = 32,
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

    /// A secret every `poollab worker` may show to join this coordinator (a shared bootstrap
    /// credential, from before each worker had its own: prefer issuing one per worker, `POST
    /// /api/workers/credentials`). A worker that joins with it goes by the name it gives, made
    /// unique. No secret: only workers with a credential of their own join.
    #[arg(long, env = "POOLLAB_WORKER_SECRET", hide_env_values = true)]
    pub worker_secret: Option<String>,

    /// How long a worker may hold a run it was handed, in seconds: a run not ended by then is
    /// failed by the coordinator and its worker told to cancel it (a worker that still holds it
    /// 10 s later is dropped). Keep it above the workers' own deadline (180 s), which they stop
    /// runs at themselves.
    #[arg(long, env = "POOLLAB_CLAIM_DEADLINE_SECS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub claim_deadline_secs: u64,

    /// Serve the page from this folder (a Trunk build) instead of the copy built into the binary:
    /// for working on the page.
    #[arg(long, env = "POOLLAB_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Serve GET /demo/naive and /demo/pooled even while a class is hosted. They are on by default
    /// only on a lab of one's own (no --instructor-token, listening on this machine only): they
    /// open connections on the built-in worker's database, which skews what learners measure.
    #[arg(long, env = "POOLLAB_DEMO")]
    pub demo: bool,

    /// Connections of the coordinator's pool for the line's own work: claims, lease renewals,
    /// endings, the reaper, notices to other coordinators, and one held by LISTEN. A worker's next
    /// run is claimed while its last run's ending is stored, on two of them. (On the lab's own
    /// PostgreSQL these are slots the runs' bursts do not get: keep it small.)
    #[arg(long, env = "POOLLAB_LINE_DB_CONNECTIONS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(2..=100))]
    pub line_db_connections: u32,

    /// Connections of the coordinator's pool for what the pages read (runs, timelines, the line,
    /// the class, progress). Apart from the line's, so reads cannot starve lease renewals.
    #[arg(long, env = "POOLLAB_READ_DB_CONNECTIONS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub read_db_connections: u32,

    /// Wrong instructor tokens or worker secrets one address may show per minute; one more and
    /// the address is refused (429) for 60 s, whatever token it shows.
    #[arg(long, env = "POOLLAB_CREDENTIAL_FAILURES_PER_MINUTE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub credential_failures_per_minute: u32,

    /// Requests per second one address may make of the anonymous routes (/healthz, /metrics,
    /// /api/workers, unknown /api/ paths), after a burst of --anonymous-burst; more get 429.
    #[arg(long, env = "POOLLAB_ANONYMOUS_PER_SECOND", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub anonymous_per_second: u32,

    /// The burst one address may make of the anonymous routes before --anonymous-per-second holds.
    #[arg(long, env = "POOLLAB_ANONYMOUS_BURST", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub anonymous_burst: u32,

    /// Run exports (GET /api/runs/<id>?timeline=true, requests.csv) one address may ask for per
    /// minute; more get 429.
    #[arg(long, env = "POOLLAB_EXPORTS_PER_MINUTE", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub exports_per_minute: u32,

    /// Websockets one address may hold open at once; more get 429. Raise it to a few per learner
    /// when a whole class reaches the lab through one address (one NAT, one proxy).
    #[arg(long, env = "POOLLAB_MAX_SOCKETS_PER_ADDRESS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_sockets_per_address: u32,

    /// Origins of pages, besides the lab's own (the host a request went to), that may open a
    /// websocket, comma-separated (https://lab.school.org). A browser's socket from any other
    /// page gets 403.
    #[arg(long, env = "POOLLAB_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Learners whose progress the class keeps. When it is full, a learner not heard from for
    /// --stale-learner-secs gives way to a new one; with none, the new one gets 429.
    #[arg(long, env = "POOLLAB_MAX_LEARNERS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_learners: u32,

    /// Learners whose progress is kept whose latest report came from one address (the same rule
    /// within that address). Raise it to the class size when a whole class reaches the lab through
    /// one address.
    #[arg(long, env = "POOLLAB_MAX_LEARNERS_PER_ADDRESS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_learners_per_address: u32,

    /// Seconds of silence after which a learner gives way to a new one in a full class.
    #[arg(long, env = "POOLLAB_STALE_LEARNER_SECS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub stale_learner_secs: u64,

    /// Reverse proxies in front of the lab (addresses or networks, comma-separated: 127.0.0.1,
    /// 10.0.0.0/8). A request from one of them is counted by the client it forwards (the rightmost
    /// X-Forwarded-For hop that is not a trusted proxy), and its learner cookie is Secure when it
    /// says X-Forwarded-Proto: https. From anyone else those headers are ignored. None by default.
    #[arg(long, env = "POOLLAB_TRUSTED_PROXY", value_delimiter = ',', value_parser = crate::web::client::parse_proxy)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
}

/// A worker that joins a coordinator.
#[derive(Debug, Clone, Args)]
pub struct WorkerConfig {
    /// The coordinator to join, as its page's URL (http://host:8080).
    #[arg(long, env = "POOLLAB_COORDINATOR")]
    pub coordinator: String,

    /// This worker's credential: the secret the instructor issued it (`POST
    /// /api/workers/credentials`; the worker is then known by the credential's name), or the
    /// coordinator's shared `--worker-secret`.
    #[arg(long, env = "POOLLAB_WORKER_SECRET", hide_env_values = true)]
    pub worker_secret: String,

    /// The name this worker gives (default: the machine's host name). A worker with a credential of
    /// its own is known by the credential's name instead; this one is for the shared secret.
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
    /// Whether this lab hosts a class: it has an instructor, or it listens beyond this machine.
    pub fn hosts_a_class(&self) -> bool {
        self.instructor_token.as_deref().is_some_and(|t| !t.is_empty()) || !self.listen.ip().is_loopback()
    }

    /// Whether `/demo/*` is served: on a lab of one's own, or when `--demo` says so.
    pub fn demo_on(&self) -> bool {
        self.demo || !self.hosts_a_class()
    }

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
            max_queued_runs: 32,
            max_queued_per_learner: 3,
            max_queued_per_address: 10,
            learner_max_requests: 10_000,
            share_runs: true,
            instructor_token: None,
            workers: None,
            worker_secret: None,
            claim_deadline_secs: 200,
            static_dir: None,
            demo: false,
            line_db_connections: 3,
            read_db_connections: 4,
            credential_failures_per_minute: 10,
            anonymous_per_second: 10,
            anonymous_burst: 60,
            exports_per_minute: 60,
            max_sockets_per_address: 64,
            allowed_origins: Vec::new(),
            max_learners: 2_000,
            max_learners_per_address: 100,
            stale_learner_secs: 900,
            trusted_proxy: Vec::new(),
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
        let (p, o) = (&parsed.serve, &ours);
        assert_eq!(
            (p.demo, p.line_db_connections, p.read_db_connections, p.credential_failures_per_minute),
            (o.demo, o.line_db_connections, o.read_db_connections, o.credential_failures_per_minute)
        );
        assert_eq!(
            (p.anonymous_per_second, p.anonymous_burst, p.exports_per_minute, p.max_sockets_per_address),
            (o.anonymous_per_second, o.anonymous_burst, o.exports_per_minute, o.max_sockets_per_address)
        );
        assert_eq!(
            (p.max_learners, p.max_learners_per_address, p.stale_learner_secs, &p.allowed_origins),
            (o.max_learners, o.max_learners_per_address, o.stale_learner_secs, &o.allowed_origins)
        );
        assert_eq!(p.share_runs, o.share_runs);
        assert_eq!(p.trusted_proxy, o.trusted_proxy, "no proxy is trusted by default");
        let behind = Cli::try_parse_from(["poollab", "--trusted-proxy", "127.0.0.1,10.0.0.0/8"]).expect("proxies");
        assert_eq!(behind.serve.trusted_proxy.len(), 2);
        assert!(Cli::try_parse_from(["poollab", "--trusted-proxy", "my-proxy"]).is_err(), "a name is refused");
        assert_eq!(p.claim_deadline_secs, o.claim_deadline_secs);
        let off = Cli::try_parse_from(["poollab", "--share-runs", "off"]).expect("--share-runs off");
        assert!(!off.serve.share_runs, "--share-runs off gives every click a run of its own");
        let worker =
            Cli::try_parse_from(["poollab", "worker", "--coordinator", "http://c:8080", "--worker-secret", "s"])
                .expect("worker flags");
        assert!(matches!(worker.command, Some(Command::Worker(w)) if w.coordinator == "http://c:8080"));
    }
}
