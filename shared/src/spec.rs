//! What a learner asks the lab to do: a *run*.
//!
//! A run fires `requests` requests at the backend, at most `concurrency` at a time, and serves each
//! one with a strategy: **naive** (open a PostgreSQL connection, query, close) or **pooled** (borrow
//! a connection from a `sqlx` pool built from [`PoolSpec`], query, give it back).
//!
//! Every number has a documented range ([`Limits`]). [`ValidRunSpec`] is the only form the engine
//! accepts, and the only way to get one is through [`RunSpec::validate`] (serde uses it too), so an
//! out-of-range spec is turned away at the edge with a message that names the field.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// How each request gets its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Connect, authenticate, query, close: one new server backend per request.
    Naive,
    /// Acquire from a pool, query, release: connections are opened once and reused.
    Pooled,
}

/// What each request asks the database to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    /// Look up one user of the seeded demo table by primary key: a fast, realistic query.
    SelectUser,
    /// `pg_sleep(sleep_ms)`: a slow query that holds its connection for a known time.
    Sleep,
}

/// The pool's knobs (used by the pooled strategy; the naive one has no pool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSpec {
    /// Most connections the pool will open at once; further requests wait in line.
    pub max_connections: u32,
    /// Connections kept open even when idle (opened in the background when the pool starts).
    pub min_connections: u32,
    /// How long a request may wait for a free connection before it fails with `acquire_timeout`.
    pub acquire_timeout_ms: u64,
    /// Idle connections above `min_connections` are closed after this long (0: never).
    pub idle_timeout_ms: u64,
    /// Connections are closed and replaced after this age (0: never).
    pub max_lifetime_ms: u64,
    /// Ping an idle connection before handing it out, so a dead one is replaced instead of
    /// failing the request (costs a round trip per acquire).
    pub test_before_acquire: bool,
}

impl Default for PoolSpec {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout_ms: 2_000,
            idle_timeout_ms: 30_000,
            max_lifetime_ms: 1_800_000,
            test_before_acquire: true,
        }
    }
}

/// The work a request does once it holds a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkSpec {
    pub query: Query,
    /// For `query: "sleep"`: how long the query sleeps on the server.
    pub sleep_ms: u64,
}

impl Default for WorkSpec {
    fn default() -> Self {
        Self { query: Query::SelectUser, sleep_ms: 0 }
    }
}

/// A deliberate bug, for the leak lesson: some requests never give their connection back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakSpec {
    /// Share of requests (in percent) that keep their connection instead of returning or closing
    /// it. Leaked connections are released when the run ends.
    pub percent: u32,
    /// Flag requests that have held a connection longer than this (0: off), like HikariCP's
    /// `leakDetectionThreshold`.
    pub detect_after_ms: u64,
}

/// A run as a client sends it. Missing fields take the defaults shown in [`RunSpec::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub strategy: Strategy,
    #[serde(default = "default_requests")]
    pub requests: u32,
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    #[serde(default)]
    pub pool: PoolSpec,
    #[serde(default)]
    pub work: WorkSpec,
    #[serde(default)]
    pub leak: LeakSpec,
}

fn default_requests() -> u32 {
    100
}
fn default_concurrency() -> u32 {
    100
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            strategy: Strategy::Naive,
            requests: default_requests(),
            concurrency: default_concurrency(),
            pool: PoolSpec::default(),
            work: WorkSpec::default(),
            leak: LeakSpec::default(),
        }
    }
}

/// The documented range of every number in a [`RunSpec`]. The page uses them for its inputs.
pub struct Limits;

impl Limits {
    pub const REQUESTS: RangeInclusive<u64> = 1..=10_000;
    pub const CONCURRENCY: RangeInclusive<u64> = 1..=1_000;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 1..=500;
    /// `min_connections` must also be at most `max_connections`.
    pub const MIN_CONNECTIONS: RangeInclusive<u64> = 0..=500;
    pub const ACQUIRE_TIMEOUT_MS: RangeInclusive<u64> = 1..=60_000;
    pub const IDLE_TIMEOUT_MS: RangeInclusive<u64> = 0..=3_600_000;
    pub const MAX_LIFETIME_MS: RangeInclusive<u64> = 0..=86_400_000;
    pub const SLEEP_MS: RangeInclusive<u64> = 0..=10_000;
    pub const LEAK_PERCENT: RangeInclusive<u64> = 0..=100;
    pub const LEAK_DETECT_AFTER_MS: RangeInclusive<u64> = 0..=600_000;
    /// A run's unavoidable duration (waves of `concurrency` requests, each sleeping `sleep_ms`)
    /// must fit in this many milliseconds, so no run can hold the shared queue for long.
    pub const RUN_BUDGET_MS: u64 = 120_000;
}

/// Why a spec was turned away. The message names the field and its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{field} must be between {min} and {max} (got {got})")]
    OutOfRange { field: &'static str, min: u64, max: u64, got: u64 },
    #[error("pool.min_connections ({min}) must not exceed pool.max_connections ({max})")]
    MinAboveMax { min: u32, max: u32 },
    #[error(
        "this run would take at least {estimate_ms} ms (ceil(requests / concurrency) x work.sleep_ms); the limit is {budget_ms} ms"
    )]
    OverBudget { estimate_ms: u64, budget_ms: u64 },
}

fn check(field: &'static str, got: u64, range: RangeInclusive<u64>) -> Result<(), SpecError> {
    if range.contains(&got) {
        Ok(())
    } else {
        Err(SpecError::OutOfRange { field, min: *range.start(), max: *range.end(), got })
    }
}

impl RunSpec {
    /// Checks every field against [`Limits`]; the only way to make a [`ValidRunSpec`].
    pub fn validate(self) -> Result<ValidRunSpec, SpecError> {
        check("requests", self.requests.into(), Limits::REQUESTS)?;
        check("concurrency", self.concurrency.into(), Limits::CONCURRENCY)?;
        let p = &self.pool;
        check("pool.max_connections", p.max_connections.into(), Limits::MAX_CONNECTIONS)?;
        check("pool.min_connections", p.min_connections.into(), Limits::MIN_CONNECTIONS)?;
        if p.min_connections > p.max_connections {
            return Err(SpecError::MinAboveMax { min: p.min_connections, max: p.max_connections });
        }
        check("pool.acquire_timeout_ms", p.acquire_timeout_ms, Limits::ACQUIRE_TIMEOUT_MS)?;
        check("pool.idle_timeout_ms", p.idle_timeout_ms, Limits::IDLE_TIMEOUT_MS)?;
        check("pool.max_lifetime_ms", p.max_lifetime_ms, Limits::MAX_LIFETIME_MS)?;
        check("work.sleep_ms", self.work.sleep_ms, Limits::SLEEP_MS)?;
        check("leak.percent", self.leak.percent.into(), Limits::LEAK_PERCENT)?;
        check("leak.detect_after_ms", self.leak.detect_after_ms, Limits::LEAK_DETECT_AFTER_MS)?;
        let waves = u64::from(self.requests).div_ceil(u64::from(self.concurrency));
        let estimate_ms = waves * self.work.sleep_ms;
        if estimate_ms > Limits::RUN_BUDGET_MS {
            return Err(SpecError::OverBudget { estimate_ms, budget_ms: Limits::RUN_BUDGET_MS });
        }
        Ok(ValidRunSpec(self))
    }
}

/// A [`RunSpec`] whose every field is within [`Limits`]. Deserializing one validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RunSpec", into = "RunSpec")]
pub struct ValidRunSpec(RunSpec);

impl TryFrom<RunSpec> for ValidRunSpec {
    type Error = SpecError;
    fn try_from(spec: RunSpec) -> Result<Self, SpecError> {
        spec.validate()
    }
}

impl From<ValidRunSpec> for RunSpec {
    fn from(valid: ValidRunSpec) -> Self {
        valid.0
    }
}

impl std::ops::Deref for ValidRunSpec {
    type Target = RunSpec;
    fn deref(&self) -> &RunSpec {
        &self.0
    }
}

impl LeakSpec {
    /// Whether request number `n` (from 0) of a run leaks: exactly `percent` of every hundred,
    /// spread evenly (at 25 %: requests 3, 7, 11, ...), so runs are repeatable.
    pub fn leaks(&self, n: u64) -> bool {
        let p = u64::from(self.percent.min(100));
        (n + 1) * p / 100 > n * p / 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ValidRunSpec, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_design_example_parses() {
        let spec = parse(
            r#"{ "strategy": "pooled", "requests": 100, "concurrency": 100,
                 "pool": { "max_connections": 10, "min_connections": 0, "acquire_timeout_ms": 2000,
                           "idle_timeout_ms": 30000, "max_lifetime_ms": 1800000 },
                 "work": { "query": "sleep", "sleep_ms": 5 } }"#,
        )
        .expect("valid");
        assert_eq!(spec.strategy, Strategy::Pooled);
        assert_eq!(spec.pool.max_connections, 10);
        assert_eq!(spec.work.query, Query::Sleep);
    }

    #[test]
    fn missing_fields_take_defaults() {
        let spec = parse(r#"{"strategy":"naive"}"#).expect("valid");
        assert_eq!(*spec, RunSpec::default());
    }

    #[test]
    fn out_of_range_names_the_field_and_range() {
        let err = parse(r#"{"strategy":"naive","requests":0}"#).unwrap_err();
        assert!(err.contains("requests must be between 1 and 10000 (got 0)"), "{err}");
        let err = parse(r#"{"strategy":"pooled","pool":{"max_connections":501}}"#).unwrap_err();
        assert!(err.contains("pool.max_connections must be between 1 and 500"), "{err}");
        let err = parse(r#"{"strategy":"pooled","pool":{"max_connections":2,"min_connections":3}}"#).unwrap_err();
        assert!(err.contains("min_connections (3) must not exceed"), "{err}");
    }

    #[test]
    fn a_run_that_would_hold_the_queue_too_long_is_refused() {
        let err =
            parse(r#"{"strategy":"naive","requests":10000,"concurrency":1,"work":{"query":"sleep","sleep_ms":100}}"#)
                .unwrap_err();
        assert!(err.contains("limit is 120000 ms"), "{err}");
    }

    #[test]
    fn unknown_fields_and_strategies_are_refused() {
        assert!(parse(r#"{"strategy":"naive","request":5}"#).unwrap_err().contains("unknown field"));
        assert!(parse(r#"{"strategy":"magic"}"#).unwrap_err().contains("unknown variant"));
    }

    #[test]
    fn leaks_are_spread_evenly_and_exactly() {
        let at = |percent| LeakSpec { percent, detect_after_ms: 0 };
        let leaking = |percent| (0..100).filter(|n| at(percent).leaks(*n)).collect::<Vec<_>>();
        assert_eq!(leaking(25)[..3], [3, 7, 11]);
        assert_eq!(leaking(25).len(), 25);
        assert!(leaking(0).is_empty());
        assert_eq!(leaking(100).len(), 100);
        assert!(parse(r#"{"strategy":"pooled","leak":{"percent":101}}"#).unwrap_err().contains("leak.percent"));
    }

    #[test]
    fn a_valid_spec_round_trips_as_plain_json() {
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() }.validate().unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.starts_with(r#"{"strategy":"pooled""#), "{json}");
        assert_eq!(parse(&json).unwrap(), spec);
    }
}
