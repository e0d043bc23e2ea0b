//! The documented range of every number in a run spec, and the parse step that enforces them.
//!
//! [`ValidRunSpec`] is the only form the engine accepts, and the only way to get one is through
//! [`RunSpec::validate`] (serde uses it too), so an out-of-range spec is turned away at the edge
//! with a message that names the field and its allowed range.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::spec::{LoadShape, Nodelay, PACE_QUERIES, Query, RunSpec, Strategy, Tls};

/// The documented range of every number in a [`RunSpec`]. The page uses them for its inputs.
pub struct Limits;

impl Limits {
    pub const REQUESTS: RangeInclusive<u64> = 1..=10_000;
    pub const CONCURRENCY: RangeInclusive<u64> = 1..=1_000;
    pub const INSTANCES: RangeInclusive<u64> = 1..=20;
    pub const MAX_CONNECTIONS: RangeInclusive<u64> = 1..=500;
    /// `min_connections` must also be at most `max_connections`.
    pub const MIN_CONNECTIONS: RangeInclusive<u64> = 0..=500;
    pub const ACQUIRE_TIMEOUT_MS: RangeInclusive<u64> = 1..=60_000;
    pub const IDLE_TIMEOUT_MS: RangeInclusive<u64> = 0..=3_600_000;
    pub const MAX_LIFETIME_MS: RangeInclusive<u64> = 0..=86_400_000;
    pub const SLEEP_MS: RangeInclusive<u64> = 0..=10_000;
    pub const HOLD_MS: RangeInclusive<u64> = 0..=10_000;
    pub const USERS: RangeInclusive<u64> = 1..=5_000;
    pub const IDLE_IN_TRANSACTION_TIMEOUT_MS: RangeInclusive<u64> = 0..=60_000;
    pub const RATE_PER_S: RangeInclusive<u64> = 1..=5_000;
    pub const LINGER_MS: RangeInclusive<u64> = 0..=30_000;
    pub const DELAY_MS: RangeInclusive<u64> = 0..=200;
    pub const OUTAGE_START_MS: RangeInclusive<u64> = 0..=60_000;
    pub const OUTAGE_DURATION_MS: RangeInclusive<u64> = 1..=60_000;
    pub const BREAKER_FAILURE_THRESHOLD: RangeInclusive<u64> = 1..=1_000;
    pub const BREAKER_OPEN_MS: RangeInclusive<u64> = 10..=60_000;
    pub const CACHE_TTL_MS: RangeInclusive<u64> = 1..=600_000;
    pub const LEAK_PERCENT: RangeInclusive<u64> = 0..=100;
    pub const LEAK_DETECT_AFTER_MS: RangeInclusive<u64> = 0..=600_000;
    pub const POOLER_POOL_SIZE: RangeInclusive<u64> = 1..=200;
    pub const POOLER_QUERY_WAIT_TIMEOUT_MS: RangeInclusive<u64> = 100..=60_000;
    /// `server_cpus`: 0 leaves the server all its CPUs. (A worker may have fewer cores than
    /// asked; it then gives the server all of its own and says so in the run's frames.)
    pub const SERVER_CPUS: RangeInclusive<u64> = 0..=64;
    /// Arrivals as a share of the server's measured pace: below 100, or the line only grows.
    pub const BUSY_PCT: RangeInclusive<u64> = 0..=95;
    /// A run's cost ([`RunSpec::cost`]: the longest its warm-up can take, plus its load's
    /// unavoidable duration) must fit in this many milliseconds, so no run can hold a worker, and
    /// the line behind it, for long. The worker's own deadline (180 s, which also covers the
    /// pre-flight check, the pooler's start and the cleanup) stops anything the estimate misses.
    pub const RUN_BUDGET_MS: u64 = 120_000;
}

/// What a run costs the worker that carries it out, in milliseconds: the figures the budget
/// ([`Limits::RUN_BUDGET_MS`]) is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCost {
    /// The longest its warm-up can take. Each instance's pool opens its `min_connections`
    /// before the load, one pool after another; a pool's connects go at once, and each is
    /// bounded by the acquire timeout (sqlx retries a refused connect until then), so a pool
    /// takes at most `acquire_timeout_ms`, and the fleet `instances` times that. A server
    /// that refuses some of them makes that bound the real duration.
    pub warm_up_ms: u64,
    /// The least its load can take ([`RunSpec::least_duration_ms`]).
    pub load_ms: u64,
}

impl RunCost {
    pub fn total_ms(&self) -> u64 {
        self.warm_up_ms.saturating_add(self.load_ms)
    }
}

/// Why a spec was turned away. The message names the field and its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{field} must be between {min} and {max} (got {got})")]
    OutOfRange { field: &'static str, min: u64, max: u64, got: u64 },
    #[error("pool.min_connections ({min}) must not exceed pool.max_connections ({max})")]
    MinAboveMax { min: u32, max: u32 },
    #[error(
        "work.idle_in_transaction_timeout_ms cannot be used with a pooler: PgBouncer does not pass the server settings a client asks for at connect time"
    )]
    SettingThroughPooler,
    #[error(
        "work.hold_outside_transaction needs work.transaction and a work.hold_ms above 0: it moves the hold out of the transaction"
    )]
    HoldOutsideNeedsBoth,
    #[error(
        "load.busy_pct sets the rate of \"rate\" or \"random\" arrivals: a burst has no rate (set load.shape, or busy_pct to 0)"
    )]
    BusyNeedsSteadyArrivals,
    #[error("tls \"both\" alternates the connects of a naive run: a pool opens its connections itself")]
    TlsBothNeedsNaive,
    #[error("tls cannot be used with a pooler: the lab's PgBouncer listens without TLS")]
    TlsThroughPooler,
    #[error("nodelay \"both\" alternates the connects of a naive run: a pool opens its connections itself")]
    NodelayBothNeedsNaive,
    #[error(
        "nodelay \"both\" cannot be used with network: the run's connections all go through the network proxy, so use \"on\" or \"off\""
    )]
    NodelayBothWithNetwork,
    #[error(
        "this run would take at least {estimate_ms} ms (its arrival schedule from load and requests, or ceil(requests / concurrency) x the work per request from work.sleep_ms and work.hold_ms, plus load.linger_ms, plus with load.busy_pct {} queries timed before the load); the limit is {budget_ms} ms",
        PACE_QUERIES
    )]
    OverBudget { estimate_ms: u64, budget_ms: u64 },
    #[error(
        "warming the pools can take up to {warm_up_ms} ms, instances ({instances}) x pool.acquire_timeout_ms ({acquire_timeout_ms}): before the load each instance's pool opens its pool.min_connections ({min_connections}), one pool after another, each connect bounded by the acquire timeout; with the load's {load_ms} ms that is over the run's budget of {budget_ms} ms. Keep instances x pool.acquire_timeout_ms at most {room_ms} ({}), or set pool.min_connections to 0",
        acquire_advice(*.instances, *.room_ms)
    )]
    WarmUpOverBudget {
        warm_up_ms: u64,
        load_ms: u64,
        budget_ms: u64,
        instances: u32,
        min_connections: u32,
        acquire_timeout_ms: u64,
        /// What the budget leaves for the warm-up after the load.
        room_ms: u64,
    },
}

/// The acquire timeouts that fit `room_ms` of warm-up with this many instances.
fn acquire_advice(instances: u32, room_ms: u64) -> String {
    let max = (room_ms / u64::from(instances.max(1))).min(*Limits::ACQUIRE_TIMEOUT_MS.end());
    if max == 0 {
        format!("no pool.acquire_timeout_ms fits with {instances} instances")
    } else {
        format!("with {instances} instances, pool.acquire_timeout_ms between 1 and {max}")
    }
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
        check("instances", self.instances.into(), Limits::INSTANCES)?;
        let p = &self.pool;
        check("pool.max_connections", p.max_connections.into(), Limits::MAX_CONNECTIONS)?;
        check("pool.min_connections", p.min_connections.into(), Limits::MIN_CONNECTIONS)?;
        if p.min_connections > p.max_connections {
            return Err(SpecError::MinAboveMax { min: p.min_connections, max: p.max_connections });
        }
        check("pool.acquire_timeout_ms", p.acquire_timeout_ms, Limits::ACQUIRE_TIMEOUT_MS)?;
        check("pool.idle_timeout_ms", p.idle_timeout_ms, Limits::IDLE_TIMEOUT_MS)?;
        check("pool.max_lifetime_ms", p.max_lifetime_ms, Limits::MAX_LIFETIME_MS)?;
        let w = &self.work;
        check("work.sleep_ms", w.sleep_ms, Limits::SLEEP_MS)?;
        check("work.sleep_p99_ms", w.sleep_p99_ms, Limits::SLEEP_MS)?;
        check("work.hold_ms", w.hold_ms, Limits::HOLD_MS)?;
        check("work.users", w.users.into(), Limits::USERS)?;
        check(
            "work.idle_in_transaction_timeout_ms",
            w.idle_in_transaction_timeout_ms,
            Limits::IDLE_IN_TRANSACTION_TIMEOUT_MS,
        )?;
        if w.hold_outside_transaction && !(w.transaction && w.hold_ms > 0) {
            return Err(SpecError::HoldOutsideNeedsBoth);
        }
        let l = &self.load;
        check("load.rate_per_s", l.rate_per_s.into(), Limits::RATE_PER_S)?;
        check("load.ramp_to_per_s", l.ramp_to_per_s.into(), Limits::RATE_PER_S)?;
        check("load.linger_ms", l.linger_ms, Limits::LINGER_MS)?;
        check("load.busy_pct", l.busy_pct.into(), Limits::BUSY_PCT)?;
        if l.busy_pct > 0 && !matches!(l.shape, LoadShape::Rate | LoadShape::Random) {
            return Err(SpecError::BusyNeedsSteadyArrivals);
        }
        let n = &self.network;
        check("network.delay_ms", n.delay_ms, Limits::DELAY_MS)?;
        if let Some(o) = &n.outage {
            check("network.outage.start_ms", o.start_ms, Limits::OUTAGE_START_MS)?;
            check("network.outage.duration_ms", o.duration_ms, Limits::OUTAGE_DURATION_MS)?;
        }
        let b = &self.breaker;
        check("breaker.failure_threshold", b.failure_threshold.into(), Limits::BREAKER_FAILURE_THRESHOLD)?;
        check("breaker.open_ms", b.open_ms, Limits::BREAKER_OPEN_MS)?;
        check("cache.ttl_ms", self.cache.ttl_ms, Limits::CACHE_TTL_MS)?;
        check("leak.percent", self.leak.percent.into(), Limits::LEAK_PERCENT)?;
        check("leak.detect_after_ms", self.leak.detect_after_ms, Limits::LEAK_DETECT_AFTER_MS)?;
        if let Some(pooler) = &self.pooler {
            check("pooler.pool_size", pooler.pool_size.into(), Limits::POOLER_POOL_SIZE)?;
            check("pooler.query_wait_timeout_ms", pooler.query_wait_timeout_ms, Limits::POOLER_QUERY_WAIT_TIMEOUT_MS)?;
            if w.idle_in_transaction_timeout_ms > 0 {
                return Err(SpecError::SettingThroughPooler);
            }
            if matches!(self.tls, Some(Tls::On | Tls::Both)) {
                return Err(SpecError::TlsThroughPooler);
            }
        }
        if self.tls == Some(Tls::Both) && self.strategy != Strategy::Naive {
            return Err(SpecError::TlsBothNeedsNaive);
        }
        if self.nodelay == Nodelay::Both {
            if self.strategy != Strategy::Naive {
                return Err(SpecError::NodelayBothNeedsNaive);
            }
            if self.network.uses_proxy() {
                return Err(SpecError::NodelayBothWithNetwork);
            }
        }
        check("server_cpus", self.server_cpus.into(), Limits::SERVER_CPUS)?;
        self.within_budget(Limits::RUN_BUDGET_MS)?;
        Ok(ValidRunSpec(self))
    }

    /// Checks this run's cost against `budget_ms`; the error names the fields to change. The
    /// load is blamed first: no warm-up setting can make a load that is too long fit.
    pub fn within_budget(&self, budget_ms: u64) -> Result<RunCost, SpecError> {
        let cost = self.cost();
        if cost.load_ms > budget_ms {
            return Err(SpecError::OverBudget { estimate_ms: cost.load_ms, budget_ms });
        }
        if cost.total_ms() > budget_ms {
            return Err(SpecError::WarmUpOverBudget {
                warm_up_ms: cost.warm_up_ms,
                load_ms: cost.load_ms,
                budget_ms,
                instances: self.instances.max(1),
                min_connections: self.pool.min_connections,
                acquire_timeout_ms: self.pool.acquire_timeout_ms,
                room_ms: budget_ms - cost.load_ms,
            });
        }
        Ok(cost)
    }

    /// What this run costs its worker: its warm-up's longest and its load's least duration.
    pub fn cost(&self) -> RunCost {
        let warms = self.strategy == Strategy::Pooled && self.pool.min_connections > 0;
        let warm_up_ms = if warms { u64::from(self.instances.max(1)) * self.pool.acquire_timeout_ms } else { 0 };
        RunCost { warm_up_ms, load_ms: self.least_duration_ms() }
    }

    /// The least time this run can take: its arrival schedule, or its waves of `concurrency`
    /// requests each doing its work, whichever is longer; then its linger; and before it all, for
    /// a paced run, the queries that time the server's pace.
    pub fn least_duration_ms(&self) -> u64 {
        // A spread of sleeps (`sleep_p99_ms`) costs its mean: a log-normal's is above its median.
        let sleep = match self.work.query {
            Query::Sleep if self.work.sleep_p99_ms > self.work.sleep_ms && self.work.sleep_ms > 0 => {
                let sigma = (self.work.sleep_p99_ms as f64 / self.work.sleep_ms as f64).ln() / 2.326_347_874;
                (self.work.sleep_ms as f64 * (sigma * sigma / 2.0).exp()).ceil() as u64
            }
            Query::Sleep => self.work.sleep_ms,
            _ => 0,
        };
        // A holding request queries twice around its hold.
        let per_request = if self.work.hold_ms > 0 { 2 * sleep + self.work.hold_ms } else { sleep };
        let waves = u64::from(self.requests).div_ceil(u64::from(self.concurrency));
        let schedule = match self.load.shape {
            LoadShape::Burst => 0,
            _ => self.load.due_ms(u64::from(self.requests), u64::from(self.requests)).ceil() as u64,
        };
        let pace = if self.load.busy_pct > 0 { PACE_QUERIES * sleep } else { 0 };
        (waves * per_request).max(schedule) + self.load.linger_ms + pace
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

impl ValidRunSpec {
    /// This run at the rate its `load.busy_pct` came to, once the server's pace is measured:
    /// never below its own `rate_per_s` (so never longer than the run its budget allowed), never
    /// above the limit.
    pub fn at_measured_rate(&self, rate_per_s: u32) -> ValidRunSpec {
        let mut spec = self.0.clone();
        let most = u32::try_from(*Limits::RATE_PER_S.end()).unwrap_or(u32::MAX);
        spec.load.rate_per_s = rate_per_s.clamp(self.0.load.rate_per_s, most);
        ValidRunSpec(spec)
    }
}

impl std::ops::Deref for ValidRunSpec {
    type Target = RunSpec;
    fn deref(&self) -> &RunSpec {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PoolerMode, Strategy};

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
    fn every_part_of_the_engine_is_reachable_from_json() {
        let spec = parse(
            r#"{ "strategy": "pooled", "instances": 3,
                 "work": { "query": "heavy", "hold_ms": 20, "users": 10 },
                 "load": { "shape": "ramp", "rate_per_s": 10, "ramp_to_per_s": 90 },
                 "network": { "delay_ms": 40, "outage": { "mode": "blackhole", "start_ms": 500, "duration_ms": 1000 } },
                 "breaker": { "enabled": true, "failure_threshold": 3, "open_ms": 200 },
                 "cache": { "enabled": true, "ttl_ms": 5000 },
                 "pooler": { "mode": "session", "pool_size": 5 } }"#,
        )
        .expect("valid");
        assert_eq!((spec.instances, spec.work.users, spec.load.shape), (3, 10, LoadShape::Ramp));
        assert!(spec.network.uses_proxy() && spec.breaker.enabled && spec.cache.enabled);
        let pooler = spec.pooler.as_ref().expect("a pooler");
        assert_eq!((pooler.mode, pooler.pool_size, pooler.query_wait_timeout_ms), (PoolerMode::Session, 5, 5000));
    }

    #[test]
    fn out_of_range_names_the_field_and_range() {
        let err = parse(r#"{"strategy":"naive","requests":0}"#).unwrap_err();
        assert!(err.contains("requests must be between 1 and 10000 (got 0)"), "{err}");
        let err = parse(r#"{"strategy":"pooled","pool":{"max_connections":501}}"#).unwrap_err();
        assert!(err.contains("pool.max_connections must be between 1 and 500"), "{err}");
        let err = parse(r#"{"strategy":"pooled","pool":{"max_connections":2,"min_connections":3}}"#).unwrap_err();
        assert!(err.contains("min_connections (3) must not exceed"), "{err}");
        let err = parse(r#"{"strategy":"pooled","instances":21}"#).unwrap_err();
        assert!(err.contains("instances must be between 1 and 20"), "{err}");
        let err = parse(r#"{"strategy":"pooled","network":{"delay_ms":201}}"#).unwrap_err();
        assert!(err.contains("network.delay_ms must be between 0 and 200"), "{err}");
        let err = parse(r#"{"strategy":"pooled","breaker":{"enabled":true,"open_ms":1}}"#).unwrap_err();
        assert!(err.contains("breaker.open_ms"), "{err}");
        let err = parse(r#"{"strategy":"pooled","leak":{"percent":101}}"#).unwrap_err();
        assert!(err.contains("leak.percent"), "{err}");
        let err = parse(r#"{"strategy":"pooled","pooler":{"pool_size":0}}"#).unwrap_err();
        assert!(err.contains("pooler.pool_size must be between 1 and 200"), "{err}");
        let err =
            parse(r#"{"strategy":"pooled","pooler":{},"work":{"idle_in_transaction_timeout_ms":100}}"#).unwrap_err();
        assert!(err.contains("cannot be used with a pooler"), "{err}");
        let err = parse(r#"{"strategy":"pooled","tls":"both"}"#).unwrap_err();
        assert!(err.contains("naive run"), "{err}");
        let err = parse(r#"{"strategy":"pooled","tls":"on","pooler":{}}"#).unwrap_err();
        assert!(err.contains("tls cannot be used with a pooler"), "{err}");
        assert!(parse(r#"{"strategy":"naive","tls":"both"}"#).is_ok());
        // The hold can only leave a transaction there is, around a hold there is.
        let err = parse(r#"{"strategy":"pooled","work":{"hold_ms":100,"hold_outside_transaction":true}}"#).unwrap_err();
        assert!(err.contains("hold_outside_transaction needs work.transaction"), "{err}");
        let err =
            parse(r#"{"strategy":"pooled","work":{"transaction":true,"hold_outside_transaction":true}}"#).unwrap_err();
        assert!(err.contains("hold_ms above 0"), "{err}");
        let fix = r#"{"strategy":"pooled","work":{"transaction":true,"hold_ms":100,"hold_outside_transaction":true}}"#;
        assert!(parse(fix).is_ok_and(|s| s.work.hold_outside_transaction));
    }

    #[test]
    fn nodelay_is_off_unless_asked_and_both_needs_a_naive_run_without_network() {
        let spec = parse(r#"{"strategy":"naive"}"#).expect("valid");
        assert_eq!(spec.nodelay, Nodelay::Off);
        let json = serde_json::to_string(&spec).unwrap();
        assert!(!json.contains("nodelay"), "off is the default and is left out: {json}");
        let both = parse(r#"{"strategy":"naive","tls":"both","nodelay":"both"}"#).expect("valid");
        assert_eq!((both.tls, both.nodelay), (Some(Tls::Both), Nodelay::Both));
        assert!(parse(r#"{"strategy":"pooled","nodelay":"on"}"#).is_ok());
        assert!(parse(r#"{"strategy":"pooled","nodelay":"on","network":{"delay_ms":10}}"#).is_ok());
        let err = parse(r#"{"strategy":"pooled","nodelay":"both"}"#).unwrap_err();
        assert!(err.contains("nodelay \"both\" alternates the connects of a naive run"), "{err}");
        let err = parse(r#"{"strategy":"naive","nodelay":"both","network":{"delay_ms":10}}"#).unwrap_err();
        assert!(err.contains("cannot be used with network"), "{err}");
        assert!(parse(r#"{"strategy":"naive","nodelay":"sometimes"}"#).unwrap_err().contains("unknown variant"));
    }

    #[test]
    fn a_run_that_would_hold_the_queue_too_long_is_refused() {
        let err =
            parse(r#"{"strategy":"naive","requests":10000,"concurrency":1,"work":{"query":"sleep","sleep_ms":100}}"#)
                .unwrap_err();
        assert!(err.contains("limit is 120000 ms"), "{err}");
        let err =
            parse(r#"{"strategy":"naive","requests":10000,"load":{"shape":"rate","rate_per_s":10}}"#).unwrap_err();
        assert!(err.contains("at least 1000000 ms"), "{err}");
        // Twenty waves of five requests, each holding its connection for 10 s.
        let err = parse(r#"{"strategy":"naive","requests":100,"concurrency":5,"work":{"hold_ms":10000}}"#).unwrap_err();
        assert!(err.contains("at least 200000 ms"), "{err}");
        let err = parse(
            r#"{"strategy":"pooled","network":{"outage":{"mode":"refuse","start_ms":60000,"duration_ms":60001}}}"#,
        )
        .unwrap_err();
        assert!(err.contains("network.outage.duration_ms must be between 1 and 60000"), "{err}");
    }

    /// A run's cost, or the fields its refusal names: one row per case.
    #[test]
    fn the_budget_counts_the_warm_up_and_the_load() {
        use crate::spec::{LoadShape, Query};
        struct Case {
            what: &'static str,
            spec: fn(&mut RunSpec),
            /// `Ok((warm_up_ms, load_ms))`, or the words the refusal must contain.
            expect: Result<(u64, u64), &'static [&'static str]>,
        }
        let cases = [
            Case { what: "the defaults cost nothing to speak of", spec: |_| {}, expect: Ok((0, 0)) },
            Case {
                what: "a naive run has no pool to warm",
                spec: |s| {
                    s.instances = 20;
                    s.pool.min_connections = 500;
                    s.pool.max_connections = 500;
                    s.pool.acquire_timeout_ms = 60_000;
                },
                expect: Ok((0, 0)),
            },
            Case {
                what: "a pool without min_connections is not warmed",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.instances = 20;
                    s.pool.acquire_timeout_ms = 60_000;
                },
                expect: Ok((0, 0)),
            },
            Case {
                what: "one warm pool costs at most one acquire timeout",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.pool.min_connections = 10;
                    s.pool.acquire_timeout_ms = 2_000;
                },
                expect: Ok((2_000, 0)),
            },
            Case {
                what: "pools warm one after another: instances x the acquire timeout, plus the load",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.instances = 3;
                    s.pool.min_connections = 5;
                    s.pool.acquire_timeout_ms = 5_000;
                    s.requests = 10;
                    s.concurrency = 5;
                    s.work.query = Query::Sleep;
                    s.work.sleep_ms = 100;
                    s.load.linger_ms = 1_000;
                },
                expect: Ok((15_000, 1_200)),
            },
            Case {
                what: "a warm-up that fills the budget exactly fits",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.instances = 2;
                    s.pool.max_connections = 500;
                    s.pool.min_connections = 500;
                    s.pool.acquire_timeout_ms = 60_000;
                },
                expect: Ok((120_000, 0)),
            },
            Case {
                what: "the issue's spec: 20 pools of 500 warmed for up to 60 s each",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.requests = 1;
                    s.instances = 20;
                    s.pool.max_connections = 500;
                    s.pool.min_connections = 500;
                    s.pool.acquire_timeout_ms = 60_000;
                },
                expect: Err(&[
                    "up to 1200000 ms",
                    "instances (20) x pool.acquire_timeout_ms (60000)",
                    "pool.min_connections (500)",
                    "budget of 120000 ms",
                    "at most 120000",
                    "pool.acquire_timeout_ms between 1 and 6000",
                    "pool.min_connections to 0",
                ]),
            },
            Case {
                what: "warm-up and load each fit, together they do not",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.instances = 4;
                    s.pool.min_connections = 1;
                    s.pool.acquire_timeout_ms = 20_000;
                    s.requests = 50;
                    s.load.shape = LoadShape::Rate;
                    s.load.rate_per_s = 1;
                },
                expect: Err(&["up to 80000 ms", "load's 50000 ms", "at most 70000", "between 1 and 17500"]),
            },
            Case {
                what: "a load that alone is over is blamed on the load, not the warm-up",
                spec: |s| {
                    s.strategy = Strategy::Pooled;
                    s.pool.min_connections = 1;
                    s.requests = 10_000;
                    s.concurrency = 1;
                    s.work.query = Query::Sleep;
                    s.work.sleep_ms = 100;
                },
                expect: Err(&["at least 1000000 ms", "work.sleep_ms", "limit is 120000 ms"]),
            },
        ];
        for case in cases {
            let mut spec = RunSpec::default();
            (case.spec)(&mut spec);
            match (spec.within_budget(Limits::RUN_BUDGET_MS), case.expect) {
                (Ok(cost), Ok((warm_up_ms, load_ms))) => {
                    assert_eq!(cost, RunCost { warm_up_ms, load_ms }, "{}", case.what);
                }
                (Err(e), Err(words)) => {
                    let message = e.to_string();
                    for word in words {
                        assert!(message.contains(word), "{}: {word:?} not in {message}", case.what);
                    }
                    assert_eq!(spec.validate().unwrap_err(), e, "{}: validate refuses it the same way", case.what);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", case.what),
            }
        }
    }

    #[test]
    fn unknown_fields_and_strategies_are_refused() {
        assert!(parse(r#"{"strategy":"naive","request":5}"#).unwrap_err().contains("unknown field"));
        assert!(parse(r#"{"strategy":"magic"}"#).unwrap_err().contains("unknown variant"));
        assert!(
            parse(r#"{"strategy":"naive","network":{"outage":{"mode":"flood","start_ms":0,"duration_ms":1}}}"#)
                .unwrap_err()
                .contains("unknown variant")
        );
    }

    #[test]
    fn a_valid_spec_round_trips_as_plain_json() {
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() }.validate().unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.starts_with(r#"{"strategy":"pooled""#), "{json}");
        assert_eq!(parse(&json).unwrap(), spec);
    }
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    fn spec(shape: LoadShape, rate_per_s: u32, busy_pct: u32) -> Result<ValidRunSpec, SpecError> {
        let mut s = RunSpec { strategy: Strategy::Pooled, requests: 100, ..RunSpec::default() };
        s.load = crate::spec::LoadSpec { shape, rate_per_s, busy_pct, ..Default::default() };
        s.validate()
    }

    #[test]
    fn busy_pct_sets_a_steady_rate_and_only_that() {
        let cases = [
            (LoadShape::Random, 85, Ok(())),
            (LoadShape::Rate, 95, Ok(())),
            (LoadShape::Random, 0, Ok(())),
            (LoadShape::Burst, 0, Ok(())),
            (LoadShape::Random, 96, Err("load.busy_pct must be between 0 and 95")),
            (LoadShape::Burst, 50, Err("a burst has no rate")),
            (LoadShape::Ramp, 50, Err("a burst has no rate")),
        ];
        for (shape, busy, want) in cases {
            let got = spec(shape, 100, busy).map(|_| ()).map_err(|e| e.to_string());
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(words)) => assert!(e.contains(words), "{shape:?} {busy}: {e}"),
                (got, want) => panic!("{shape:?} {busy}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_measured_rate_never_goes_below_the_specs_own_nor_above_the_limit() {
        let s = spec(LoadShape::Random, 100, 85).expect("valid");
        let rate = |measured| s.at_measured_rate(measured).load.rate_per_s;
        assert_eq!((rate(345), rate(40), rate(9_000)), (345, 100, 5_000));
        // Never longer than the run its budget allowed: its least duration only shrinks.
        assert!(s.at_measured_rate(345).least_duration_ms() < s.least_duration_ms());
    }

    #[test]
    fn the_queries_that_time_the_pace_count_in_the_budget() {
        let paced = |sleep_ms| {
            let mut s = RunSpec { strategy: Strategy::Pooled, requests: 10, ..RunSpec::default() };
            s.load = crate::spec::LoadSpec { shape: LoadShape::Random, busy_pct: 50, ..Default::default() };
            s.work = crate::spec::WorkSpec { query: Query::Sleep, sleep_ms, ..Default::default() };
            s
        };
        // 126 sleeps of 1 s before the load: 126 s, over the 120 s a run may take.
        let err = paced(1_000).validate().expect_err("too long to time");
        assert!(err.to_string().contains("126 queries timed before the load"), "{err}");
        assert!(matches!(err, SpecError::OverBudget { estimate_ms, .. } if estimate_ms >= 126_000), "{err:?}");
        // Unpaced, the same work fits.
        let mut plain = paced(1_000);
        plain.load.busy_pct = 0;
        assert!(plain.validate().is_ok());
        assert!(paced(100).validate().is_ok());
    }
}
