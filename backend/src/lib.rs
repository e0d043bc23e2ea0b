//! Pool Lab's backend: a teaching lab on database connection pooling, against a real PostgreSQL.
//!
//! A learner fires a burst of requests at the lab and picks how each request gets its database
//! connection: **naive** (connect, query, close) or **pooled** (a real `sqlx` pool). While the
//! burst runs, the lab measures both sides, the app's pool and the server's own
//! `pg_stat_activity`, and streams the figures to the page. Nothing is simulated.
//!
//! # The data path
//! ```text
//!                         coordinator                                       worker (one run at a time, its own PostgreSQL)
//! POST /api/runs ─▶ line (lab.runs, fair by cost) ─▶ dispatcher ══ link ══▶ executor ─▶ load ─▶ fleet ─▶ strategy ─▶ [proxy] ─▶ [PgBouncer] ─▶ PostgreSQL
//!                        ▲ line's lock              │   ▲                      │                 (cache, breaker)                          ▲
//!                        │                          │   │ frames, ending       │ outcome of every request                                  │ pg_stat_activity
//!                   store ◀── summary, timeline ────┘   └──────────────── recorder ─▶ metrics hub ◀── sampler ───────────────────────────────┘
//!                                                  │ frames, 10 per second
//!                                                  ▼
//!                        feed ─▶ GET /ws ─▶ page (picture, charts, summary)
//! ```
//! The coordinator and a worker talk over a link: a channel when the worker is built into the
//! lab's process (`./lab run`), a websocket when it is a `poollab worker` of its own.
//!
//! # Layout
//! The tree follows the data path: the engine that carries out runs, the worker that owns it, the
//! coordinator that hands runs out, the database side, the classroom, and the web surface.
//!
//! - [`engine`]: a run's whole life.
//!   - [`engine::runner`]: carries out one run: builds its fleet, proxy and pooler (a run paced
//!     by `load.busy_pct` first times its query on its server and sets its rate from that pace),
//!     fires the load, and ends only once its connections are closed and its backends have left
//!     the server.
//!   - [`engine::load`]: releases the requests (a burst, a steady rate, a ramp).
//!   - [`engine::fleet`]: the app a run simulates, its instances each with its own pool, and
//!     the cache and the circuit breaker ([`engine::breaker`]) in front of the database.
//!   - [`engine::strategy`]: [`engine::strategy::NaiveStrategy`] and
//!     [`engine::strategy::PooledStrategy`], the two ideas the course compares, and the gauges
//!     that say what each connection is doing (opening, lent, being pinged) beside sqlx's counts;
//!     a run's connections go plain or with TLS, as its spec asks.
//!   - [`engine::proxy`]: network distance and staged outages between app and server (it notes
//!     the instant each outage begins and ends, as the breaker notes when it opens and closes).
//!   - [`engine::recorder`]: one run's measurements (HDR histograms, every request's timeline,
//!     and those events, all on the run's one clock).
//!   - [`engine::sampler`]: the server's view, from `pg_stat_activity` over a reserved connection; the
//!     run's pools are counted the moment each reading answers, so both sides pair.
//!   - [`engine::hub`]: the metrics hub, the one place where events become frames: the app's side
//!     (each instance's pool and connections) beside the server's (its backends, its refusals);
//!     it also keeps the server's readings of a run's first second for its timeline, each with
//!     the app's pools read then and PgBouncer's reading nearest it, so a picture of an instant
//!     pairs it with the reading nearest it, all three sides read together.
//! - [`worker`]: a worker owns a database, its cores and one run at a time; it takes runs from its
//!   coordinator and streams back frames and endings ([`worker::protocol`]); [`worker::remote`]
//!   dials a coordinator, [`worker::local`] starts workers as processes (`--workers N`), and
//!   [`worker::affinity`] pins each to its cores.
//! - [`coordinator`]: hands each run to a free worker ([`coordinator::dispatch`]: a worker reports
//!   only on the run it holds, within its run's bounds and the claim's deadline; its frames of any
//!   other run are dropped, and said once per run, [`coordinator::strays`]; its next run is
//!   claimed while its last run's ending is stored), keeps the
//!   workers ([`coordinator::registry`]) and their credentials ([`coordinator::credentials`]: each
//!   worker its own, issued and revoked by the instructor), sends the pages what happens ([`coordinator::feed`]),
//!   fails runs whose lease ran out (its line's work on a pool of its own, apart from the pages'
//!   reads), and hears other coordinators on the same database
//!   ([`coordinator::notify`], `LISTEN`/`NOTIFY`: the line, the class, runs, cancels, revoked
//!   credentials).
//! - [`db`]: how to reach a database, its migrations, the demo query, error causes.
//!   - [`db::cluster`]: the private PostgreSQL the lab starts from the local binaries, and stops;
//!     it reads the server's log on the way to its file, counting the connects it refuses and
//!     noting when each came ([`db::cluster::Refusals`]), so a reading counts those by its instant.
//!   - [`db::tls`]: the certificate authority and server certificate the lab makes for it, so a
//!     run's connections can be encrypted and checked (`sslmode=verify-full`).
//!   - [`db::pgbouncer`]: a real PgBouncer started for a run that asks for a pooler, and the
//!     watch that reads its `SHOW POOLS` while the run goes (keeping its first readings for the
//!     timeline, which its chart draws and its peaks are the most of).
//!   - [`db::store`]: runs in the coordinator's database (`lab.runs`), with their timelines.
//!   - [`db::server_cpus`]: a run that asks for fewer server CPUs gets the lab's own PostgreSQL
//!     pinned to that many cores while it goes, and the app moved onto the cores left.
//! - [`class`]: the classroom, all in the coordinator's database: lock, the step everyone
//!   follows, bursts and predictions; [`class::identity`], who is asking (the instructor's token,
//!   learners' signed cookies); [`class::line`], the line runs wait in, and its admission
//!   rule (a run identical to one already waiting is joined, not queued again: shared runs);
//!   [`class::fair`], who goes next: the line shares worker time, not turns;
//!   [`class::progress`], learners' reports, checked against the course and bounded;
//!   [`class::grade`], each report graded on the stored run it names (the learner's own or
//!   shared, of that step, done), never on figures a browser sends. It needs nothing from the
//!   web layer.
//! - [`web`]: the HTTP surface (page, health, demo, runs, sweeps, class, workers, websocket,
//!   metrics), the state every handler shares, and every error turned into a response in one place;
//!   [`web::identity`], the cookie middleware and the `Who`/`Instructor` extractors;
//!   [`web::limits`], what any one address may ask (wrong credentials, rates, websockets);
//!   [`web::client`], whose address that is (behind a `--trusted-proxy`, the client it forwards).
//! - [`lessons`]: the course, embedded from `lessons/*.toml` and checked at start-up, with every
//!   library's names for the pool knobs (`lessons/libraries.toml`).
//! - [`yourpool`]: a pool configuration pasted in its own library's syntax (node-postgres,
//!   HikariCP, pgx, psycopg_pool, SQLAlchemy, sqlx) read into a run spec, with a note wherever
//!   the library means something the lab's sqlx pool does not, and written back the same way;
//!   [`yourpool::plan`] plays it at the app's traffic with a sizing sweep around it, and
//!   [`yourpool::verdict`] says in words what the measured sweep means for that app.
//! - [`config`]: flags and environment (`poollab --help`, `poollab worker --help`).
//! - [`startup`]: assembles a coordinator (with its workers) or a worker; [`shutdown`]: stops it
//!   all in order.
//!
//! The wire types (run spec, summary, frames, lessons) live in the `poollab-shared` crate, which
//! the page uses too.

pub mod class;
pub mod config;
pub mod coordinator;
pub mod db;
pub mod engine;
pub mod lessons;
pub mod shutdown;
pub mod startup;
pub mod web;
pub mod worker;
pub mod yourpool;

pub use config::{Cli, Config, DatabaseArgs, WorkerConfig};
pub use startup::Application;
