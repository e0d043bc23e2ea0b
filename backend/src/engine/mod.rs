//! The experiment engine: what carries out a run and measures it.
//!
//! A run goes [`runner`] (a worker's executor, one run at a time) → [`load`] (when each request is
//! released) → [`fleet`] (the app's instances, behind a cache and a [`breaker`]) → [`strategy`]
//! (naive connect, or a pooled acquire) → [`proxy`] (distance and outages, when asked) →
//! PostgreSQL. Every outcome goes to the run's [`recorder`]; the [`sampler`] reads the server's
//! `pg_stat_activity`; the metrics [`hub`] turns both into frames.

pub mod breaker;
pub mod fleet;
pub mod hub;
pub mod load;
pub mod proxy;
pub mod recorder;
pub mod runner;
pub mod sampler;
pub mod strategy;
