//! Every figure a lesson may name, and where its value comes from.
//!
//! A lesson's texts, models and goals are written with names, never with measured numbers typed
//! in. A name is one of:
//!
//! - a figure of the step's **run spec**: `requests`, `pool.max_connections`, `work.sleep_ms`, ...
//!   (known before the run: the text can say "100 requests" because the preset fires 100);
//! - a figure of the **server**: `server.max_connections`, `server.reserved_connections` and
//!   `server.app_slots` (what is left for applications), read from the real server;
//! - a figure of the run's **summary**: `peak_server_connections`, `acquire_wait_ms.p99`, ... (known
//!   once the run is done);
//! - one of the step's own **targets**: `target.p99_ms` (the capstone's aims, written once in the
//!   lesson file).
//!
//! [`Figures`] answers a name from the three; [`SUMMARY_FIGURES`] gives each summary figure the words
//! and unit the page shows it with.

use crate::spec::{LoadShape, Query, RunSpec, Strategy, Tls};
use crate::summary::{ErrorKind, LatencySummary, Summary};
use crate::sweep::{SizePoint, SweepPoint, by_size};

/// What the lab knows of the server a run went to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ServerFacts {
    /// The server's `max_connections`.
    pub max_connections: u64,
    /// Its `superuser_reserved_connections`: slots only a superuser (the lab's sampler) may take.
    pub reserved_connections: u64,
    /// The CPUs the server runs on, when the lab knows (its private cluster runs on the lab's
    /// own machine); 0 when it does not.
    pub cpus: u64,
    /// Whether the server offers TLS (its `ssl` setting); none when not known (a worker of an
    /// older lab, or no word from the server yet).
    pub tls: Option<bool>,
    /// Whether the lab can start a PgBouncer for a run (the `pgbouncer` program is installed where
    /// the runs are carried out); none when not known.
    pub pgbouncer: Option<bool>,
}

/// What a run asks of its server that the server lacks: such a run is refused before it starts
/// (and a lesson step whose preset asks for it says so instead of offering Run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Lack {
    #[error(
        "this lab's PostgreSQL server offers no TLS (its ssl setting is off), so encrypted connects (tls \"on\" or \"both\") cannot be made here"
    )]
    Tls,
    #[error("PgBouncer is not installed where this lab carries out its runs, so a run with a pooler cannot run here")]
    PgBouncer,
}

/// How long a Linux host holds back the acknowledgement of a segment that has no answer to ride
/// on, at the least (the kernel's `TCP_DELACK_MIN`): the wait a small write makes behind Nagle's
/// algorithm. The lab's server runs on Linux; a lesson names it `server.delayed_ack_ms`.
pub const DELAYED_ACK_MS: u64 = 40;

impl ServerFacts {
    /// Connections left for applications.
    pub fn app_slots(&self) -> u64 {
        self.max_connections.saturating_sub(self.reserved_connections)
    }

    /// What `spec` needs that this server is known to lack (unknown is not lacking).
    pub fn lacks(&self, spec: &RunSpec) -> Option<Lack> {
        let wants_tls = matches!(spec.tls, Some(Tls::On | Tls::Both));
        if wants_tls && self.tls == Some(false) {
            return Some(Lack::Tls);
        }
        if spec.pooler.is_some() && self.pgbouncer == Some(false) {
            return Some(Lack::PgBouncer);
        }
        None
    }

    pub fn figure(&self, name: &str) -> Option<f64> {
        Some(match name {
            "server.max_connections" => self.max_connections as f64,
            "server.reserved_connections" => self.reserved_connections as f64,
            "server.app_slots" => self.app_slots() as f64,
            "server.delayed_ack_ms" => DELAYED_ACK_MS as f64,
            // Unknown (0) reads as unknown, never as "0 CPUs".
            "server.cpus" => return (self.cpus > 0).then_some(self.cpus as f64),
            _ => return None,
        })
    }
}

/// A summary figure as the page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FigureInfo {
    pub name: &'static str,
    /// In the words of the course: "p99 wait for a connection".
    pub label: &'static str,
    pub unit: &'static str,
}

macro_rules! figures {
    ($($name:literal => $label:literal, $unit:literal;)*) => {
        /// Every figure of a run's summary, with its words and unit.
        pub const SUMMARY_FIGURES: &[FigureInfo] = &[$(FigureInfo { name: $name, label: $label, unit: $unit }),*];
    };
}

figures! {
    "completed" => "requests answered", "";
    "failed" => "requests failed", "";
    "errors.too_many_clients" => "refused by the server (too many clients)", "";
    "errors.acquire_timeout" => "gave up waiting for a connection (acquire timeout)", "";
    "errors.connect_timeout" => "gave up connecting (connect timeout)", "";
    "errors.circuit_open" => "refused by the circuit breaker", "";
    "errors.database_down" => "failed: database unreachable", "";
    "errors.idle_in_transaction_timeout" => "ended by the server for idling in a transaction", "";
    "errors.prepared_statement" => "failed: prepared statement missing or taken", "";
    "errors.query_wait_timeout" => "gave up waiting in the pooler (query wait timeout)", "";
    "errors.other" => "failed for another reason", "";
    "latency_ms.p50" => "median latency", "ms";
    "latency_ms.p95" => "p95 latency", "ms";
    "latency_ms.p99" => "p99 latency", "ms";
    "latency_ms.max" => "slowest request", "ms";
    "acquire_wait_ms.p50" => "median wait for a connection", "ms";
    "acquire_wait_ms.p95" => "p95 wait for a connection", "ms";
    "acquire_wait_ms.p99" => "p99 wait for a connection", "ms";
    "acquire_wait_ms.max" => "longest wait for a connection", "ms";
    "connect_ms.p50" => "median connect", "ms";
    "connect_ms.p95" => "p95 connect", "ms";
    "connect_ms.p99" => "p99 connect", "ms";
    "connect_ms.max" => "slowest connect", "ms";
    "connect_tls_ms.p50" => "median TLS connect", "ms";
    "connect_tls_ms.max" => "slowest TLS connect", "ms";
    "connect_plain_ms.p50" => "median plain connect", "ms";
    "connect_plain_ms.max" => "slowest plain connect", "ms";
    "connect_tls_nagle_ms.p50" => "median TLS connect, as sqlx ships (Nagle on)", "ms";
    "connect_tls_nagle_ms.max" => "slowest TLS connect, as sqlx ships (Nagle on)", "ms";
    "connect_tls_nodelay_ms.p50" => "median TLS connect, no delay (through the lab's relay)", "ms";
    "connect_tls_nodelay_ms.max" => "slowest TLS connect, no delay (through the lab's relay)", "ms";
    "connect_plain_nagle_ms.p50" => "median plain connect, as sqlx ships (Nagle on)", "ms";
    "connect_plain_nodelay_ms.p50" => "median plain connect, no delay (through the lab's relay)", "ms";
    "tls_connections" => "connections opened with TLS", "";
    "query_ms.p50" => "median query", "ms";
    "query_ms.p95" => "p95 query", "ms";
    "query_ms.p99" => "p99 query", "ms";
    "query_ms.max" => "slowest query", "ms";
    "failed_ms.p50" => "median time to fail", "ms";
    "failed_ms.p95" => "p95 time to fail", "ms";
    "failed_ms.p99" => "p99 time to fail", "ms";
    "failed_ms.max" => "slowest failure", "ms";
    "peak_server_connections" => "peak server backends of this run (sampled)", "";
    "other_backends_at_peak" => "other clients' server backends at this run's peak (sampled)", "";
    "peak_pool_size" => "peak pool size", "";
    "peak_in_use" => "peak connections in use", "";
    "peak_waiters" => "peak requests waiting for a connection", "";
    "peak_in_flight" => "peak requests in flight", "";
    "peak_connecting" => "peak requests opening a connection", "";
    "mean_in_use" => "connections in use on average", "";
    "peak_idle_in_transaction" => "peak backends idle in a transaction", "";
    "peak_pooler_servers" => "peak server connections PgBouncer held (its SHOW POOLS, sampled)", "";
    "peak_pooler_clients" => "peak client connections to PgBouncer (its SHOW POOLS, sampled)", "";
    "peak_pooler_waiting" => "peak clients waiting in PgBouncer (its SHOW POOLS, sampled)", "";
    "pool_size_at_end" => "connections open or opening at the end (sqlx's size)", "";
    "connections_opened" => "connections opened", "";
    "closes_idle" => "idle connections closed", "";
    "closes_lifetime" => "connections retired at max lifetime", "";
    "refused_connects" => "connects the server refused (its log)", "";
    "duration_ms" => "duration", "ms";
    "throughput_per_s" => "throughput", "req/s";
    "leaked" => "connections leaked", "";
    "leak_suspects" => "requests the leak detector flagged", "";
    "cache_hits" => "answered by the cache", "";
    "cache_misses" => "sent on to the database", "";
    "breaker_opened" => "times the breaker opened", "";
}

/// What a sizing sweep measured, by size: the figures a sweep step names.
pub const SWEEP_FIGURES: &[FigureInfo] = &[
    FigureInfo { name: "sweep.best_size", label: "connections where throughput stopped growing", unit: "" },
    FigureInfo {
        name: "sweep.best_throughput",
        label: "best throughput of the sweep (a size's: its run with the lower p99)",
        unit: "req/s",
    },
    FigureInfo {
        name: "sweep.smallest_throughput",
        label: "throughput of the smallest pool (its run with the lower p99)",
        unit: "req/s",
    },
    FigureInfo {
        name: "sweep.largest_throughput",
        label: "throughput of the largest pool (its run with the lower p99)",
        unit: "req/s",
    },
    FigureInfo {
        name: "sweep.smallest_query_ms",
        label: "median query, smallest pool (its run with the lower p99)",
        unit: "ms",
    },
    FigureInfo {
        name: "sweep.largest_query_ms",
        label: "median query, largest pool (its run with the lower p99)",
        unit: "ms",
    },
    FigureInfo {
        name: "sweep.smallest_p99_ms",
        label: "p99 latency, smallest pool (its run with the lower p99)",
        unit: "ms",
    },
    FigureInfo {
        name: "sweep.largest_p99_ms",
        label: "p99 latency, largest pool (its run with the lower p99)",
        unit: "ms",
    },
    FigureInfo {
        name: "sweep.lowest_p99_ms",
        label: "lowest p99 latency of the sweep (a size's: its run with the lower p99)",
        unit: "ms",
    },
    FigureInfo { name: "sweep.lowest_p99_size", label: "pool size with the lowest p99 latency", unit: "" },
    FigureInfo {
        name: "sweep.near_lowest_from",
        label: "smallest size near the lowest p99 (within a fifth)",
        unit: "",
    },
    FigureInfo { name: "sweep.near_lowest_to", label: "largest size near the lowest p99 (within a fifth)", unit: "" },
    FigureInfo {
        name: "sweep.pace_query_us",
        label: "one query's time on the server kept busy, timed before the sweep",
        unit: "µs",
    },
    FigureInfo { name: "sweep.arrival_rate_per_s", label: "arrivals a second, set from that pace", unit: "req/s" },
];

/// The words and unit of a measured figure (a run's summary, or a sweep's).
pub fn info(name: &str) -> Option<&'static FigureInfo> {
    SUMMARY_FIGURES.iter().chain(SWEEP_FIGURES).find(|f| f.name == name)
}

/// A sizing sweep as a step sees it: the pool sizes it tries (known before it runs) and, once
/// done, what each one measured.
#[derive(Debug, Clone, Copy)]
pub struct SweepFigures<'a> {
    pub sizes: &'a [u32],
    pub points: Option<&'a [SweepPoint]>,
}

/// The pool size past which throughput stops growing: the smallest whose throughput (its better
/// run's, [`by_size`]) is within a tenth of the sweep's best.
pub fn best_size(points: &[SweepPoint]) -> Option<u32> {
    let sizes = by_size(points);
    let best = sizes.iter().map(|p| p.throughput_per_s).fold(0.0, f64::max);
    sizes.iter().filter(|p| p.answered > 0 && p.throughput_per_s >= 0.9 * best).map(|p| p.max_connections).min()
}

/// The size whose slowest requests fared best: the lowest p99 (its better run's, already as the
/// page prints it: [`by_size`]) among the sizes whose runs answered; of sizes that tie there,
/// the smallest (a page that shows 17.3 ms for both 2 and 4 names 2).
fn lowest_p99(sizes: &[SizePoint]) -> Option<&SizePoint> {
    sizes
        .iter()
        .filter(|p| p.answered > 0)
        .min_by(|a, b| a.latency_p99_ms.total_cmp(&b.latency_p99_ms).then(a.max_connections.cmp(&b.max_connections)))
}

/// The sizes on both sides of the lowest p99's, next to one another, whose p99 is within a fifth of
/// the lowest: the curve's floor, where which size is lowest is the machine's noise as much as the
/// pool's size. A size that answered nothing, or stands higher, ends the run on its side.
fn near_lowest(sizes: &[SizePoint]) -> Option<(u32, u32)> {
    let low = lowest_p99(sizes)?;
    let at = sizes.iter().position(|p| p.max_connections == low.max_connections)?;
    let near = |p: &SizePoint| p.answered > 0 && p.latency_p99_ms <= 1.2 * low.latency_p99_ms;
    let from = sizes[..at].iter().rev().take_while(|p| near(p)).last().unwrap_or(low);
    let to = sizes[at + 1..].iter().take_while(|p| near(p)).last().unwrap_or(low);
    Some((from.max_connections, to.max_connections))
}

impl SweepFigures<'_> {
    /// A sweep's figure: a size's figures are its better run's ([`by_size`]).
    pub fn figure(&self, name: &str) -> Option<f64> {
        let size = |pick: fn(&[u32]) -> Option<&u32>| pick(self.sizes).map(|s| f64::from(*s));
        match name {
            "sweep.smallest_size" => return size(|s| s.iter().min()),
            "sweep.largest_size" => return size(|s| s.iter().max()),
            _ => {}
        }
        let points = self.points?;
        let sizes = by_size(points);
        let at = |largest: bool| {
            let pick = sizes.iter().filter(|p| p.answered > 0);
            if largest { pick.max_by_key(|p| p.max_connections) } else { pick.min_by_key(|p| p.max_connections) }
        };
        Some(match name {
            "sweep.best_size" => f64::from(best_size(points)?),
            "sweep.best_throughput" => sizes.iter().map(|p| p.throughput_per_s).fold(0.0, f64::max),
            "sweep.smallest_throughput" => at(false)?.throughput_per_s,
            "sweep.largest_throughput" => at(true)?.throughput_per_s,
            "sweep.smallest_query_ms" => at(false)?.query_p50_ms,
            "sweep.largest_query_ms" => at(true)?.query_p50_ms,
            "sweep.smallest_p99_ms" => at(false)?.latency_p99_ms,
            "sweep.largest_p99_ms" => at(true)?.latency_p99_ms,
            "sweep.lowest_p99_ms" => lowest_p99(&sizes)?.latency_p99_ms,
            "sweep.lowest_p99_size" => f64::from(lowest_p99(&sizes)?.max_connections),
            "sweep.near_lowest_from" => f64::from(near_lowest(&sizes)?.0),
            "sweep.near_lowest_to" => f64::from(near_lowest(&sizes)?.1),
            // A paced sweep's sizes share one pace (kept for them): the first size's says it.
            // In µs: the rate was set from the unrounded time, which "2.2 ms" would not give back.
            "sweep.pace_query_us" => (points.iter().find(|p| p.pace_rate_per_s > 0)?.pace_query_ms * 1000.0).round(),
            "sweep.arrival_rate_per_s" => f64::from(points.iter().find(|p| p.pace_rate_per_s > 0)?.pace_rate_per_s),
            _ => return None,
        })
    }
}

fn quantile(l: &LatencySummary, q: &str) -> Option<f64> {
    Some(match q {
        "p50" => l.p50,
        "p95" => l.p95,
        "p99" => l.p99,
        "max" => l.max,
        _ => return None,
    })
}

impl Summary {
    /// A figure by its name in [`SUMMARY_FIGURES`].
    pub fn figure(&self, name: &str) -> Option<f64> {
        if let Some(kind) = name.strip_prefix("errors.") {
            return ErrorKind::ALL.iter().find(|k| k.as_str() == kind).map(|k| self.errors.get(*k) as f64);
        }
        if let Some((family, q)) = name.split_once('.') {
            let l = match family {
                "latency_ms" => &self.latency_ms,
                "acquire_wait_ms" => &self.acquire_wait_ms,
                "connect_ms" => &self.connect_ms,
                "connect_tls_ms" => &self.connect_tls_ms,
                "connect_plain_ms" => &self.connect_plain_ms,
                "connect_tls_nagle_ms" => &self.connect_tls_nagle_ms,
                "connect_tls_nodelay_ms" => &self.connect_tls_nodelay_ms,
                "connect_plain_nagle_ms" => &self.connect_plain_nagle_ms,
                "connect_plain_nodelay_ms" => &self.connect_plain_nodelay_ms,
                "query_ms" => &self.query_ms,
                "failed_ms" => &self.failed_ms,
                _ => return None,
            };
            return quantile(l, q);
        }
        let n = |v: u64| Some(v as f64);
        match name {
            "completed" => n(self.completed),
            "failed" => n(self.failed),
            "peak_server_connections" => n(self.peak_server_connections),
            "other_backends_at_peak" => n(self.other_backends_at_peak),
            "peak_pool_size" => n(self.peak_pool_size),
            "peak_in_use" => n(self.peak_in_use),
            "peak_waiters" => n(self.peak_waiters),
            "peak_in_flight" => n(self.peak_in_flight),
            "peak_connecting" => n(self.peak_connecting),
            "mean_in_use" => Some(self.mean_in_use),
            "peak_idle_in_transaction" => n(self.peak_idle_in_transaction),
            "peak_pooler_servers" => n(self.peak_pooler_servers),
            "peak_pooler_clients" => n(self.peak_pooler_clients),
            "peak_pooler_waiting" => n(self.peak_pooler_waiting),
            "pool_size_at_end" => n(self.pool_size_at_end),
            "connections_opened" => n(self.connections_opened),
            "tls_connections" => n(self.tls_connections),
            "closes_idle" => n(self.closes_idle),
            "closes_lifetime" => n(self.closes_lifetime),
            "refused_connects" => self.refused_connects.map(|v| v as f64),
            "duration_ms" => n(self.duration_ms),
            "throughput_per_s" => Some(self.throughput_per_s),
            "leaked" => n(self.leaked),
            "leak_suspects" => n(self.leak_suspects),
            "cache_hits" => n(self.cache_hits),
            "cache_misses" => n(self.cache_misses),
            "breaker_opened" => n(self.breaker_opened),
            _ => None,
        }
    }
}

impl Summary {
    /// A summary figure of a run of `spec`, when such a run measures it at all: a run without a
    /// cache has no cache figures, a naive run waits for no pooled connection, and a pooled run's
    /// connects happen inside its pool. Those read as none, not as a measured 0. Except: without
    /// a cache, every request is sent on to the database (`cache_misses`).
    pub fn figure_of(&self, spec: &RunSpec, name: &str) -> Option<f64> {
        let pooled = spec.strategy == Strategy::Pooled;
        if name == "cache_misses" && !spec.cache.enabled {
            return Some((self.completed + self.failed) as f64);
        }
        let measured = if name.starts_with("cache_") {
            spec.cache.enabled
        } else if name.starts_with("acquire_wait_ms.") {
            pooled
        } else {
            !(pooled && name.starts_with("connect_"))
        };
        measured.then(|| self.figure(name)).flatten()
    }
}

impl RunSpec {
    /// A number of the spec by its JSON path (`requests`, `pool.max_connections`, ...). Switches
    /// read as 0 or 1 (`cache.enabled`, `strategy.pooled`); a run without a pooler has a
    /// `pooler.pool_size` of 0.
    pub fn figure(&self, name: &str) -> Option<f64> {
        let b = |v: bool| Some(f64::from(u8::from(v)));
        let n = |v: u64| Some(v as f64);
        let outage = self.network.outage.as_ref();
        let pooler = self.pooler.as_ref();
        match name {
            "requests" => n(self.requests.into()),
            "concurrency" => n(self.concurrency.into()),
            "instances" => n(self.instances.into()),
            "strategy.pooled" => b(self.strategy == Strategy::Pooled),
            "pool.max_connections" => n(self.pool.max_connections.into()),
            "pool.min_connections" => n(self.pool.min_connections.into()),
            "pool.acquire_timeout_ms" => n(self.pool.acquire_timeout_ms),
            "pool.idle_timeout_ms" => n(self.pool.idle_timeout_ms),
            "pool.max_lifetime_ms" => n(self.pool.max_lifetime_ms),
            "work.sleep_ms" => n(if self.work.query == Query::Sleep { self.work.sleep_ms } else { 0 }),
            "work.hold_ms" => n(self.work.hold_ms),
            "work.users" => n(self.work.users.into()),
            "work.transaction" => b(self.work.transaction),
            "work.idle_in_transaction_timeout_ms" => n(self.work.idle_in_transaction_timeout_ms),
            "load.rate_per_s" => n(if self.load.shape == LoadShape::Burst { 0 } else { self.load.rate_per_s.into() }),
            "load.ramp_to_per_s" => n(self.load.ramp_to_per_s.into()),
            "load.linger_ms" => n(self.load.linger_ms),
            "load.busy_pct" => n(self.load.busy_pct.into()),
            "network.delay_ms" => n(self.network.delay_ms),
            "network.outage.start_ms" => n(outage.map_or(0, |o| o.start_ms)),
            "network.outage.duration_ms" => n(outage.map_or(0, |o| o.duration_ms)),
            "breaker.failure_threshold" => n(self.breaker.failure_threshold.into()),
            "breaker.open_ms" => n(self.breaker.open_ms),
            "cache.enabled" => b(self.cache.enabled),
            "cache.ttl_ms" => n(self.cache.ttl_ms),
            "leak.percent" => n(self.leak.percent.into()),
            "leak.detect_after_ms" => n(self.leak.detect_after_ms),
            "pooler.enabled" => b(pooler.is_some()),
            "pooler.transaction_mode" => b(pooler.is_some_and(|p| p.mode == crate::spec::PoolerMode::Transaction)),
            "pooler.pool_size" => n(pooler.map_or(0, |p| p.pool_size.into())),
            "pooler.query_wait_timeout_ms" => n(pooler.map_or(0, |p| p.query_wait_timeout_ms)),
            "tls.on" => b(self.tls == Some(crate::spec::Tls::On)),
            "tls.both" => b(self.tls == Some(crate::spec::Tls::Both)),
            "server_cpus" => n(self.server_cpus.into()),
            "nodelay.on" => b(self.nodelay == crate::spec::Nodelay::On),
            "nodelay.both" => b(self.nodelay == crate::spec::Nodelay::Both),
            _ => None,
        }
    }
}

/// Where a name's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Spec,
    Server,
    /// Known only once the run is done.
    Summary,
    /// One of the step's own targets (whether the step has it is checked with the step).
    Target,
    /// A sweep step's (its sizes before it runs, the rest once it is done).
    Sweep,
}

/// A step's own targets (`target.p99_ms`), which its text and goal name like any figure.
pub type Targets = std::collections::BTreeMap<String, f64>;

/// The figures a step can name: its run spec, its targets, the server, (once the run is done)
/// its summary, and for a sweep step the sweep's.
#[derive(Debug, Clone, Copy)]
pub struct Figures<'a> {
    pub spec: &'a RunSpec,
    pub server: ServerFacts,
    pub summary: Option<&'a Summary>,
    pub targets: Option<&'a Targets>,
    pub sweep: Option<SweepFigures<'a>>,
}

impl<'a> Figures<'a> {
    /// The figures of a run outside any lesson step.
    pub fn of(spec: &'a RunSpec, server: ServerFacts, summary: Option<&'a Summary>) -> Self {
        Figures { spec, server, summary, targets: None, sweep: None }
    }

    /// The value of a name, if it is known now.
    pub fn get(&self, name: &str) -> Option<f64> {
        if let Some(target) = name.strip_prefix("target.") {
            return self.targets.and_then(|t| t.get(target).copied());
        }
        if name.starts_with("sweep.") {
            return self.sweep.and_then(|s| s.figure(name));
        }
        self.spec
            .figure(name)
            .or_else(|| self.server.figure(name))
            .or_else(|| self.summary.and_then(|s| s.figure_of(self.spec, name)))
    }

    /// Where a name comes from, or none if no figure has that name.
    pub fn source(name: &str) -> Option<Source> {
        let spec = RunSpec::default();
        if spec.figure(name).is_some() {
            Some(Source::Spec)
        } else if (ServerFacts { cpus: 1, ..ServerFacts::default() }).figure(name).is_some() {
            Some(Source::Server)
        } else if SUMMARY_FIGURES.iter().any(|f| f.name == name) {
            Some(Source::Summary)
        } else if name.starts_with("target.") {
            Some(Source::Target)
        } else if matches!(name, "sweep.smallest_size" | "sweep.largest_size")
            || SWEEP_FIGURES.iter().any(|f| f.name == name)
        {
            Some(Source::Sweep)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_a_run_could_not_measure_reads_as_none() {
        let s = Summary { cache_misses: 0, completed: 7, failed: 2, ..Summary::default() };
        let naive = RunSpec::default();
        let pooled = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let mut cached = pooled.clone();
        cached.cache.enabled = true;
        assert_eq!(s.figure_of(&pooled, "cache_hits"), None);
        assert_eq!(s.figure_of(&pooled, "cache_misses"), Some(9.0), "without a cache every request is sent on");
        assert_eq!(s.figure_of(&cached, "cache_misses"), Some(0.0));
        assert_eq!(s.figure_of(&naive, "acquire_wait_ms.p50"), None);
        assert_eq!(s.figure_of(&pooled, "acquire_wait_ms.p50"), Some(0.0));
        assert_eq!(s.figure_of(&pooled, "connect_ms.p50"), None);
        assert_eq!(s.figure_of(&naive, "connect_ms.p50"), Some(0.0));
        assert_eq!(s.figure_of(&pooled, "completed"), Some(7.0));
    }

    #[test]
    fn every_listed_figure_can_be_read_and_no_name_is_ambiguous() {
        let s = Summary { refused_connects: Some(0), ..Summary::default() };
        for f in SUMMARY_FIGURES {
            assert!(s.figure(f.name).is_some(), "{} is listed but cannot be read", f.name);
            assert_eq!(RunSpec::default().figure(f.name), None, "{} is both a spec and a summary figure", f.name);
            assert_eq!(Figures::source(f.name), Some(Source::Summary));
        }
        assert_eq!(Figures::source("pool.max_connections"), Some(Source::Spec));
        assert_eq!(Figures::source("server.app_slots"), Some(Source::Server));
        assert_eq!(Figures::source("peak"), None);
    }

    #[test]
    fn a_run_is_refused_only_for_what_the_server_is_known_to_lack() {
        let tls = RunSpec { tls: Some(Tls::On), ..RunSpec::default() };
        let both = RunSpec { tls: Some(Tls::Both), ..RunSpec::default() };
        let plain = RunSpec { tls: Some(Tls::Off), ..RunSpec::default() };
        let pooled = RunSpec { pooler: Some(crate::spec::PoolerSpec::default()), ..RunSpec::default() };
        let none = ServerFacts { tls: Some(false), pgbouncer: Some(false), ..ServerFacts::default() };
        let all = ServerFacts { tls: Some(true), pgbouncer: Some(true), ..ServerFacts::default() };
        let unknown = ServerFacts::default();
        let cases = [
            (&tls, none, Some(Lack::Tls)),
            (&both, none, Some(Lack::Tls)),
            (&plain, none, None),
            (&RunSpec::default(), none, None),
            (&pooled, none, Some(Lack::PgBouncer)),
            (&tls, all, None),
            (&pooled, all, None),
            (&tls, unknown, None),
            (&pooled, unknown, None),
        ];
        for (spec, server, lack) in cases {
            assert_eq!(server.lacks(spec), lack, "{:?} {:?} on {server:?}", spec.tls, spec.pooler);
        }
        assert!(Lack::Tls.to_string().contains("offers no TLS"));
    }

    #[test]
    fn a_sweep_says_where_throughput_stopped_growing() {
        let point = |size, throughput, query| SweepPoint {
            max_connections: size,
            run_id: String::new(),
            state: crate::summary::RunState::Done,
            throughput_per_s: throughput,
            latency_p50_ms: 0.0,
            latency_p99_ms: 0.0,
            query_p50_ms: query,
            failed: 0,
            peak_server_connections: 0,
            pace_query_ms: 0.0,
            pace_rate_per_s: 0,
        };
        let points = [point(1, 1000.0, 0.6), point(4, 2600.0, 0.8), point(16, 2750.0, 2.4), point(64, 2200.0, 7.3)];
        let sizes = [1, 4, 16, 64];
        let f = SweepFigures { sizes: &sizes, points: Some(&points) };
        assert_eq!(f.figure("sweep.best_size"), Some(4.0), "2600 is within a tenth of 2750");
        assert_eq!(
            (f.figure("sweep.largest_throughput"), f.figure("sweep.largest_query_ms")),
            (Some(2200.0), Some(7.3))
        );
        assert_eq!(f.figure("sweep.smallest_query_ms"), Some(0.6));
        let p99 = |size: u32, ms: f64| SweepPoint { latency_p99_ms: ms, ..point(size, 100.0, 1.0) };
        // 2 and 4 both read 40 ms on the page (39.98 and 40.03), as a size's figures are kept: the
        // smaller is named.
        let tail = [p99(1, 90.0), p99(2, 40.03), p99(4, 39.98), p99(64, 75.0)];
        let f = SweepFigures { sizes: &sizes, points: Some(&tail) };
        assert_eq!((f.figure("sweep.lowest_p99_size"), f.figure("sweep.lowest_p99_ms")), (Some(2.0), Some(40.0)));
        // The floor: the sizes next to the lowest whose p99 is within a fifth of it (48 ms).
        let floor = |tail: &[SweepPoint]| {
            let f = SweepFigures { sizes: &sizes, points: Some(tail) };
            (f.figure("sweep.near_lowest_from"), f.figure("sweep.near_lowest_to"))
        };
        assert_eq!(floor(&tail), (Some(2.0), Some(4.0)), "1 and 64 stand higher");
        let wide = [p99(1, 47.0), p99(2, 40.0), p99(4, 48.0), p99(8, 48.1), p99(16, 44.0)];
        assert_eq!(floor(&wide), (Some(1.0), Some(4.0)), "8 ends the run; 16, past it, is not next to the lowest");
        let alone = [p99(1, 90.0), p99(2, 40.0), p99(4, 60.0)];
        assert_eq!(floor(&alone), (Some(2.0), Some(2.0)), "no size next to it is near");
        let silent = [SweepPoint { throughput_per_s: 0.0, ..p99(1, 0.0) }, p99(2, 40.0), p99(4, 41.0)];
        assert_eq!(floor(&silent), (Some(2.0), Some(4.0)), "a size that answered nothing is not near");
        let before = SweepFigures { sizes: &sizes, points: None };
        assert_eq!((before.figure("sweep.largest_size"), before.figure("sweep.best_size")), (Some(64.0), None));
        assert_eq!(Figures::source("sweep.best_size"), Some(Source::Sweep));
        // A paced sweep says the pace its sizes shared; an unpaced one has none to say.
        let paced =
            [point(1, 294.0, 2.5), SweepPoint { pace_query_ms: 2.33, pace_rate_per_s: 365, ..point(2, 355.0, 2.9) }];
        let f = SweepFigures { sizes: &sizes, points: Some(&paced) };
        assert_eq!(
            (f.figure("sweep.pace_query_us"), f.figure("sweep.arrival_rate_per_s")),
            (Some(2330.0), Some(365.0))
        );
        assert_eq!(SweepFigures { sizes: &sizes, points: Some(&points) }.figure("sweep.pace_query_us"), None);
    }

    #[test]
    fn figures_come_from_the_spec_the_server_and_the_summary() {
        let spec = RunSpec { requests: 150, ..RunSpec::default() };
        let summary = Summary { peak_server_connections: 97, ..Summary::default() };
        let server = ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, ..ServerFacts::default() };
        let before = Figures::of(&spec, server, None);
        assert_eq!(before.get("requests"), Some(150.0));
        assert_eq!(before.get("server.app_slots"), Some(97.0));
        assert_eq!(before.get("peak_server_connections"), None, "not known before the run");
        let after = Figures { summary: Some(&summary), ..before };
        assert_eq!(after.get("peak_server_connections"), Some(97.0));
        assert_eq!(after.get("work.sleep_ms"), Some(0.0), "a select_user request sleeps 0 ms");
    }
}
