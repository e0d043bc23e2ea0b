//! The app a run simulates: one or more *instances* of it, each with its own strategy (and so its
//! own pool), and in front of the database the guards production adds: a cache and a circuit
//! breaker.
//!
//! A request goes: cache (a hit answers at once) → breaker (open: fail at once) → the instance's
//! strategy (naive connect or pooled acquire) → PostgreSQL. With several instances, request `n`
//! goes to instance `n % instances` (a load balancer's round robin), and each instance's
//! connections carry their own `application_name` (`poollab-pool-1`, `poollab-pool-2`, ...), so
//! the server's view shows the fleet maths: instances × pool size.
//!
//! The cache and the breaker are shared by the run's instances (as if they sat in a gateway in
//! front of the fleet), so the page shows one hit ratio and one breaker state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use poollab_shared::{BreakerState, ErrorKind, RunEventKind, RunSpec, Statements, Strategy as StrategyKind, WorkSpec};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::db::{DemoRow, app_name};
use crate::engine::breaker::{CircuitBreaker, Permit};
use crate::engine::strategy::{
    LiveCounters, NaiveStrategy, Outcome, PooledStrategy, Request, RequestError, Route, Strategy, Timings,
};

/// Most answers a run's cache keeps (a run asks for at most 5000 distinct users).
const CACHE_CAPACITY: u64 = 10_000;

/// What became of one request, and whether the cache answered it.
pub struct Served {
    pub outcome: Outcome,
    pub cache_hit: bool,
}

/// One copy of the app.
pub struct Instance {
    /// The `application_name` its connections carry.
    pub name: String,
    pub strategy: Strategy,
}

pub struct Fleet {
    instances: Vec<Instance>,
    /// The `application_name` the instances' names start with.
    pub application_name: &'static str,
    pub counters: Arc<LiveCounters>,
    breaker: Option<CircuitBreaker>,
    cache: Option<Cache<i32, DemoRow>>,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Fleet {
    /// Builds the run's instances. `routes` are where the app connects (the database itself, or
    /// the network proxy or the no-delay relay in front of it); naive requests take them in turn
    /// (more than one: with TLS and without, through the relay and not). Pools use the first, and
    /// are lazy, so nothing connects yet.
    pub fn build(routes: &[Route], spec: &RunSpec, counters: Arc<LiveCounters>) -> Fleet {
        let application_name = match spec.strategy {
            StrategyKind::Naive => app_name::NAIVE_RUN,
            StrategyKind::Pooled => app_name::POOLED_RUN,
        };
        let instances = (0..spec.instances.max(1))
            .map(|i| {
                let name =
                    if spec.instances > 1 { format!("{application_name}-{}", i + 1) } else { application_name.into() };
                let routes: Vec<Route> = routes
                    .iter()
                    .map(|r| {
                        let mut o = r.options.clone().application_name(&name);
                        if spec.work.idle_in_transaction_timeout_ms > 0 {
                            // Set on each session as it starts: the server ends one that idles in
                            // a transaction longer than this.
                            let ms = spec.work.idle_in_transaction_timeout_ms.to_string();
                            o = o.options([("idle_in_transaction_session_timeout", ms.as_str())]);
                        }
                        if spec.work.statements == Statements::Uncached {
                            // sqlx then still names each statement it prepares, but forgets it at
                            // once.
                            o = o.statement_cache_capacity(0);
                        }
                        Route { options: o, nodelay: r.nodelay }
                    })
                    .collect();
                let strategy = match spec.strategy {
                    StrategyKind::Naive => Strategy::Naive(NaiveStrategy::taking_turns(routes, counters.clone())),
                    StrategyKind::Pooled => {
                        let options =
                            routes.into_iter().next().map_or_else(PgConnectOptions::new_without_pgpass, |r| r.options);
                        Strategy::Pooled(PooledStrategy::new(options, &spec.pool, counters.clone()))
                    }
                };
                Instance { name, strategy }
            })
            .collect();
        let cache = spec.cache.enabled.then(|| {
            Cache::builder().max_capacity(CACHE_CAPACITY).time_to_live(Duration::from_millis(spec.cache.ttl_ms)).build()
        });
        Fleet {
            instances,
            application_name,
            counters,
            breaker: spec.breaker.enabled.then(|| CircuitBreaker::new(&spec.breaker)),
            cache,
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
        }
    }

    /// The app's instances, in order.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The instances' pools (none for a naive fleet).
    pub fn pools(&self) -> Vec<PgPool> {
        self.instances.iter().filter_map(|i| i.strategy.pool().cloned()).collect()
    }

    /// Which instance serves request `n` (round robin, as a load balancer would).
    pub fn instance_of(&self, n: u64) -> usize {
        (n % self.instances.len() as u64) as usize
    }

    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(CircuitBreaker::state)
    }

    pub fn breaker_opened(&self) -> u64 {
        self.breaker.as_ref().map_or(0, CircuitBreaker::times_opened)
    }

    /// Every time the breaker opened or closed, at the instant it did (none without a breaker).
    pub fn breaker_changes(&self) -> Vec<(std::time::Instant, RunEventKind)> {
        self.breaker.as_ref().map(CircuitBreaker::changes).unwrap_or_default()
    }

    /// Requests answered by the cache, and requests it sent on to the database.
    pub fn cache_counts(&self) -> (u64, u64) {
        (self.cache_hits.load(Ordering::Relaxed), self.cache_misses.load(Ordering::Relaxed))
    }

    /// Serves request `n` on instance `n % instances`.
    pub async fn serve(&self, n: u64, work: &WorkSpec, request: Request<'_>) -> Served {
        let instance = &self.instances[self.instance_of(n)];
        let Some(cache) = &self.cache else {
            return Served { outcome: self.through_breaker(instance, work, request).await, cache_hit: false };
        };
        // On a miss, moka runs this loader once per key, even for many concurrent requests for
        // that key (the others wait for its answer): the cache also stops a stampede.
        let loaded = AtomicBool::new(false);
        let mut timings = Timings::default();
        let answer = cache
            .try_get_with(request.user, async {
                loaded.store(true, Ordering::Relaxed);
                let (row, t) = self.through_breaker(instance, work, request).await?;
                timings = t;
                Ok::<_, RequestError>(row)
            })
            .await;
        let cache_hit = !loaded.load(Ordering::Relaxed);
        let counter = if cache_hit { &self.cache_hits } else { &self.cache_misses };
        counter.fetch_add(1, Ordering::Relaxed);
        let outcome = answer.map(|row| (row, timings)).map_err(|e| (*e).clone());
        Served { outcome, cache_hit }
    }

    async fn through_breaker(&self, instance: &Instance, work: &WorkSpec, request: Request<'_>) -> Outcome {
        let Some(breaker) = &self.breaker else { return instance.strategy.serve(work, request).await };
        let permit = breaker.permit();
        if permit == Permit::Refused {
            return Err(RequestError::new(ErrorKind::CircuitOpen, "the circuit breaker is open", Timings::default()));
        }
        let outcome = instance.strategy.serve(work, request).await;
        breaker.report(permit, outcome.is_ok());
        outcome
    }

    /// Closes every instance's pool, all at once (each waits for its borrowed connections to come
    /// back, so a caller that cannot wait bounds it: the pools are closed to new acquires anyway).
    pub async fn close(&self) {
        let pools = self.pools();
        futures_util::future::join_all(pools.iter().map(|pool| pool.close())).await;
    }
}
