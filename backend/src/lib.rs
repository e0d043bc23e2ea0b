//! Pool Lab's backend: a teaching lab on database connection pooling, against a real PostgreSQL.
//!
//! A learner fires a burst of requests at the lab and picks how each request gets its database
//! connection: **naive** (connect, query, close) or **pooled** (a real `sqlx` pool). While the
//! burst runs, the lab measures both sides, the app's pool and the server's own
//! `pg_stat_activity`, and streams the figures to the page. Nothing is simulated.
//!
//! # The data path
//! ```text
//! POST /api/runs ─▶ runner (queue, one run at a time) ─▶ load ─▶ fleet ─▶ strategy ─▶ [proxy] ─▶ PostgreSQL
//!                        │                          (cache, breaker)                            ▲
//!                        │ outcome of every request                                             │
//!                        ▼                                                                      │ pg_stat_activity
//!                    recorder ─▶ metrics hub ◀── sampler ────────────────────────────────────────┘
//!                        │          │ frames, 10 per second
//!                        ▼          ▼
//!                     store     GET /ws ─▶ page (chart, summary)
//! ```
//!
//! # Layout
//! - [`config`]: flags and environment (`poollab --help`).
//! - [`cluster`]: the private PostgreSQL the lab starts from the local binaries, and stops; it
//!   reads the server's log on the way to its file, counting the connects it refuses.
//! - [`db`]: how to reach the database, its migrations, the demo query, error causes.
//! - [`strategy`]: [`strategy::NaiveStrategy`] and [`strategy::PooledStrategy`], the two ideas the
//!   course compares, and the gauges that say what each connection is doing (opening, lent,
//!   being pinged by the pool) beside sqlx's own counts.
//! - [`fleet`]: the app a run simulates: its instances (each with its own pool), the cache and
//!   the circuit breaker ([`breaker`]) in front of the database.
//! - [`proxy`]: a TCP proxy that puts network distance and staged outages between app and server.
//! - [`lessons`]: the course, embedded from `lessons/*.toml` and checked at start-up.
//! - [`class`]: the classroom: instructor token, lock, the step everyone follows.
//! - [`queue`]: the fair line runs wait in (round robin across learners, instructor first).
//! - [`runner`]: the run queue and how each run is carried out; [`load`]: the load generator
//!   (burst, steady rate, ramp).
//! - [`recorder`]: one run's measurements (HDR histograms, and every request's timeline).
//! - [`store`]: runs kept in memory and in the lab's own schema, with their timelines.
//! - [`sampler`]: the server's view, read from `pg_stat_activity` over a reserved connection.
//! - [`hub`]: the metrics hub, the one place where events become frames: the app's side (each
//!   instance's pool and connections) beside the server's (`pg_stat_activity`, its refusals).
//! - [`routes`]: the HTTP surface (page, health, demo, runs, websocket, Prometheus metrics).
//! - [`error`]: every error becomes a response in one place.
//! - [`startup`]: assembles it all; [`shutdown`]: stops it all in order.
//!
//! The wire types (run spec, summary, frames) live in the `poollab-shared` crate, which the page
//! uses too.

pub mod breaker;
pub mod class;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod fleet;
pub mod hub;
pub mod lessons;
pub mod load;
pub mod prom;
pub mod proxy;
pub mod queue;
pub mod recorder;
pub mod routes;
pub mod runner;
pub mod sampler;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod strategy;

pub use config::Config;
pub use startup::Application;
