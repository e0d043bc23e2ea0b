//! The documented range of every number in a run spec, and the parse step that enforces them.
//!
//! [`ValidRunSpec`] is the only form the engine accepts, and the only way to get one is through
//! [`RunSpec::validate`] (serde uses it too), so an out-of-range spec is turned away at the edge
//! with a message that names the field and its allowed range.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::spec::{LoadShape, Query, RunSpec, Strategy, Tls};

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
    /// A run's unavoidable duration (its arrival schedule, or its waves of `concurrency`
    /// requests each doing its work) must fit in this many milliseconds, so no run can hold the
    /// shared queue for long.
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
        "work.idle_in_transaction_timeout_ms cannot be used with a pooler: PgBouncer does not pass the server settings a client asks for at connect time"
    )]
    SettingThroughPooler,
    #[error(
        "work.hold_outside_transaction needs work.transaction and a work.hold_ms above 0: it moves the hold out of the transaction"
    )]
    HoldOutsideNeedsBoth,
    #[error("tls \"both\" alternates the connects of a naive run: a pool opens its connections itself")]
    TlsBothNeedsNaive,
    #[error("tls cannot be used with a pooler: the lab's PgBouncer listens without TLS")]
    TlsThroughPooler,
    #[error(
        "this run would take at least {estimate_ms} ms (its arrival schedule, or ceil(requests / concurrency) x the work per request); the limit is {budget_ms} ms"
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
        let estimate_ms = self.least_duration_ms();
        if estimate_ms > Limits::RUN_BUDGET_MS {
            return Err(SpecError::OverBudget { estimate_ms, budget_ms: Limits::RUN_BUDGET_MS });
        }
        Ok(ValidRunSpec(self))
    }

    /// The least time this run can take: its arrival schedule, or its waves of `concurrency`
    /// requests each doing its work, whichever is longer; then its linger.
    pub fn least_duration_ms(&self) -> u64 {
        let sleep = if self.work.query == Query::Sleep { self.work.sleep_ms } else { 0 };
        // A holding request queries twice around its hold.
        let per_request = if self.work.hold_ms > 0 { 2 * sleep + self.work.hold_ms } else { sleep };
        let waves = u64::from(self.requests).div_ceil(u64::from(self.concurrency));
        let schedule = match self.load.shape {
            LoadShape::Burst => 0,
            _ => self.load.due_ms(u64::from(self.requests), u64::from(self.requests)).ceil() as u64,
        };
        (waves * per_request).max(schedule) + self.load.linger_ms
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
