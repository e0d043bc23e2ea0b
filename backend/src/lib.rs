//! Pool Lab's backend: a teaching lab on database connection pooling, against a real PostgreSQL.
//!
//! A learner fires a burst of requests at the lab and picks how each request gets its database
//! connection: **naive** (connect, query, close) or **pooled** (a real `sqlx` pool). While the
//! burst runs, the lab measures both sides, the app's pool and the server's own
//! `pg_stat_activity`, and streams the figures to the page. Nothing is simulated.
//!
//! # The data path
//! ```text
//! POST /api/runs ─▶ runner (queue, one run at a time) ─▶ load ─▶ fleet ─▶ strategy ─▶ [proxy] ─▶ [PgBouncer] ─▶ PostgreSQL
//!                        │                          (cache, breaker)                            │ SHOW POOLS    ▲
//!                        │ outcome of every request                                             ▼               │ pg_stat_activity
//!                    recorder ─▶ metrics hub ◀────────────────────────────────────────── pooler watch          │
//!                        │          │     ▲                                                                     │
//!                        │          │     └── sampler ──────────────────────────────────────────────────────────┘
//!                        ▼          ▼ frames, 10 per second
//!                     store     GET /ws ─▶ page (picture, charts, summary)
//! ```
//!
//! # Layout
//! The tree follows the data path: the engine that carries out runs, the database side, the
//! classroom, and the web surface.
//!
//! - [`engine`]: a run's whole life.
//!   - [`engine::runner`]: takes runs off the queue, one at a time, and carries each out.
//!   - [`engine::load`]: releases the requests (a burst, a steady rate, a ramp).
//!   - [`engine::fleet`]: the app a run simulates, its instances each with its own pool, and
//!     the cache and the circuit breaker ([`engine::breaker`]) in front of the database.
//!   - [`engine::strategy`]: [`engine::strategy::NaiveStrategy`] and
//!     [`engine::strategy::PooledStrategy`], the two ideas the course compares, and the gauges
//!     that say what each connection is doing (opening, lent, being pinged) beside sqlx's counts;
//!     a run's connections go plain or with TLS, as its spec asks.
//!   - [`engine::proxy`]: network distance and staged outages between app and server.
//!   - [`engine::recorder`]: one run's measurements (HDR histograms, every request's timeline).
//!   - [`engine::sampler`]: the server's view, from `pg_stat_activity` over a reserved connection.
//!   - [`engine::hub`]: the metrics hub, the one place where events become frames: the app's side
//!     (each instance's pool and connections) beside the server's (its backends, its refusals).
//! - [`db`]: how to reach the database, its migrations, the demo query, error causes.
//!   - [`db::cluster`]: the private PostgreSQL the lab starts from the local binaries, and stops;
//!     it reads the server's log on the way to its file, counting the connects it refuses.
//!   - [`db::tls`]: the certificate authority and server certificate the lab makes for it, so a
//!     run's connections can be encrypted and checked (`sslmode=verify-full`).
//!   - [`db::pgbouncer`]: a real PgBouncer started for a run that asks for a pooler, and the
//!     watch that reads its `SHOW POOLS` while the run goes.
//!   - [`db::store`]: runs kept in memory and in the lab's own schema, with their timelines.
//! - [`class`]: the classroom: instructor token, lock, the step everyone follows, progress and
//!   predictions; [`class::queue`], the fair line runs wait in.
//! - [`web`]: the HTTP surface (page, health, demo, runs, sweeps, class, websocket, metrics), the
//!   state every handler shares, and every error turned into a response in one place.
//! - [`lessons`]: the course, embedded from `lessons/*.toml` and checked at start-up, with every
//!   library's names for the pool knobs (`lessons/libraries.toml`).
//! - [`config`]: flags and environment (`poollab --help`).
//! - [`startup`]: assembles it all; [`shutdown`]: stops it all in order.
//!
//! The wire types (run spec, summary, frames, lessons) live in the `poollab-shared` crate, which
//! the page uses too.

pub mod class;
pub mod config;
pub mod db;
pub mod engine;
pub mod lessons;
pub mod shutdown;
pub mod startup;
pub mod web;

pub use config::Config;
pub use startup::Application;
