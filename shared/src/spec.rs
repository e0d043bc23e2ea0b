//! What a learner asks the lab to do: a *run*.
//!
//! A run fires `requests` requests at the backend and serves each one with a strategy: **naive**
//! (open a PostgreSQL connection, query, close) or **pooled** (borrow a connection from a `sqlx`
//! pool built from [`PoolSpec`], query, give it back). Around that core, each part of the spec
//! switches on one idea of the course:
//!
//! - [`LoadSpec`]: how the requests arrive (all at once, at a steady rate, or ramping up);
//! - [`WorkSpec`]: what each request does while it holds its connection;
//! - `instances`: how many copies of the app fire at once, each with its own pool;
//! - [`NetworkSpec`]: how far away the database is, and when it goes dark;
//! - [`BreakerSpec`] and [`CacheSpec`]: the guards production puts in front of a pool;
//! - [`LeakSpec`]: a deliberate bug for the leak lesson;
//! - [`PoolerSpec`]: a real PgBouncer between the app and the server;
//! - [`Tls`]: whether the run's connections are encrypted;
//! - [`Nodelay`]: whether they get `TCP_NODELAY`'s effect, which sqlx 0.9.0 leaves off.
//!
//! Every number has a documented range ([`crate::Limits`]); [`crate::ValidRunSpec`] is the only
//! form the engine accepts.

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

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Naive => "naive",
            Strategy::Pooled => "pooled",
        }
    }
}

/// What each request asks the database to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    /// Look up one user of the seeded demo table by primary key: a fast, indexed query.
    SelectUser,
    /// `pg_sleep(sleep_ms)`: a slow query that holds its connection for a known time.
    Sleep,
    /// The same user looked up by `lower(email)`, which no index covers: the server scans the
    /// whole table. The "before" of the query-optimisation lesson.
    Heavy,
}

/// The pool's knobs (used by the pooled strategy; the naive one has no pool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSpec {
    /// Most connections the pool will open at once; further requests wait in line.
    pub max_connections: u32,
    /// Connections opened before the burst and kept open even when idle.
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

/// How a request's queries reach the server. sqlx sends every query with bound parameters as a
/// *prepared statement* (the extended protocol: Parse, then Bind and Execute); what differs is the
/// statement's name and whether the connection remembers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statements {
    /// sqlx's default: each query text is prepared once per connection under a name
    /// (`sqlx_s_1`, ...) and the name reused, which saves parsing and planning it again.
    #[default]
    Cached,
    /// The statement cache turned off (`statement_cache_capacity(0)`): sqlx still names every
    /// statement it prepares (a new name each time) and no longer remembers them.
    Uncached,
    /// The *unnamed* statement (`.persistent(false)`): parsed again for every query, and
    /// replaced by the next one, so nothing is left on the server connection.
    Unnamed,
}

impl Statements {
    pub fn as_str(self) -> &'static str {
        match self {
            Statements::Cached => "cached",
            Statements::Uncached => "uncached",
            Statements::Unnamed => "unnamed",
        }
    }
}

/// The work a request does once it holds a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkSpec {
    pub query: Query,
    /// For `query: "sleep"`: how long the query sleeps on the server (its median, with
    /// `sleep_p99_ms`).
    pub sleep_ms: u64,
    /// For `query: "sleep"`: when above `sleep_ms`, each request sleeps its own time, drawn from a
    /// log-normal spread whose median is `sleep_ms` and 99th percentile this ([`WorkSpec::sleep_ms_for`]);
    /// 0: every request sleeps `sleep_ms`.
    pub sleep_p99_ms: u64,
    /// Keep the connection checked out this long after the query (the app "doing other work",
    /// like calling another service, between two queries), then query again. 0: release at once.
    pub hold_ms: u64,
    /// How many distinct users the requests ask for (request `n` asks for user `n % users + 1`).
    /// Fewer users means more repeats, which is what a cache feeds on.
    pub users: u32,
    /// Do the work inside a transaction (BEGIN, the queries, COMMIT). With `hold_ms`, the
    /// connection then waits *in a transaction* between its two queries: the server shows it
    /// `idle in transaction`, holding whatever the transaction holds.
    pub transaction: bool,
    /// With `transaction` and `hold_ms`: the fix for a transaction held across a slow call. The
    /// first query's transaction commits before the pause, and the second query has a transaction
    /// of its own, so the connection waits outside any transaction (`idle`, not `idle in
    /// transaction`). It is still checked out during the pause.
    pub hold_outside_transaction: bool,
    /// The server ends a session that has been idle in a transaction this long (PostgreSQL's
    /// `idle_in_transaction_session_timeout`, set on each of the run's connections; 0: never).
    pub idle_in_transaction_timeout_ms: u64,
    /// How the queries are sent: as cached named statements (sqlx's default), named but not
    /// cached, or unnamed.
    pub statements: Statements,
}

impl Default for WorkSpec {
    fn default() -> Self {
        Self {
            query: Query::SelectUser,
            sleep_ms: 0,
            sleep_p99_ms: 0,
            hold_ms: 0,
            users: 5_000,
            transaction: false,
            hold_outside_transaction: false,
            idle_in_transaction_timeout_ms: 0,
            statements: Statements::Cached,
        }
    }
}

impl WorkSpec {
    /// How long the query of the request for `user` sleeps, in ms: `sleep_ms`, or with a
    /// `sleep_p99_ms` above it, a draw of a log-normal spread with that median and 99th
    /// percentile, the same for the same user in every run (the draw is a hash of the user's id:
    /// a run's users are its requests, one each up to `users`).
    pub fn sleep_ms_for(&self, user: i32) -> f64 {
        let median = self.sleep_ms as f64;
        if self.sleep_p99_ms <= self.sleep_ms || median <= 0.0 {
            return median;
        }
        // The 99th percentile of a standard normal; sigma puts the spread's p99 at sleep_p99_ms.
        const Z99: f64 = 2.326_347_874;
        let sigma = (self.sleep_p99_ms as f64 / median).ln() / Z99;
        // Two uniform draws in (0, 1] from the user's id (splitmix64), then Box-Muller.
        let mix = |mut x: u64| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        let uniform = |x: u64| ((mix(x) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let seed = u64::from(user.unsigned_abs()) << 1;
        let z = (-2.0 * uniform(seed).ln()).sqrt() * (std::f64::consts::TAU * uniform(seed | 1)).cos();
        (median * (sigma * z).exp()).min(self.sleep_p99_ms as f64 * 10.0)
    }
}

/// When requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadShape {
    /// All at once (at most `concurrency` in flight): the burst of a page going viral.
    Burst,
    /// One request every `1 / rate_per_s` seconds, whether or not earlier ones have finished.
    Rate,
    /// The rate grows evenly from `rate_per_s` to `ramp_to_per_s` over the run.
    Ramp,
    /// Requests arrive at random moments, `rate_per_s` a second on average: a Poisson process,
    /// as independent users arrive. Some moments bring several at once, some none, which is what
    /// makes queues form below a server's capacity. The moments come from a fixed seed, so every
    /// run of one spec gets the same arrivals (a sizing sweep compares its pools on one traffic).
    Random,
}

/// Queries a paced run (`load.busy_pct`) runs before its load, shared out among two connections
/// for each of the server's CPUs that send them at once: the first few warm the server's caches;
/// then [`PACE_ROUNDS`] rounds of [`PACE_TIMED_QUERIES`] each are timed, and the pace is the
/// fastest round's time over its count (a slower round met something else on the machine).
pub const PACE_WARM_QUERIES: u64 = 6;
pub const PACE_TIMED_QUERIES: u64 = 40;
pub const PACE_ROUNDS: u64 = 3;
/// All the queries a pace measurement runs, as the run's budget counts them.
pub const PACE_QUERIES: u64 = PACE_WARM_QUERIES + PACE_ROUNDS * PACE_TIMED_QUERIES;

/// How the run's requests arrive. With `rate` and `ramp` the arrivals keep their schedule even
/// when the database falls behind (an open loop, like real users); `concurrency` still caps how
/// many are in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSpec {
    pub shape: LoadShape,
    pub rate_per_s: u32,
    pub ramp_to_per_s: u32,
    /// After the last request, keep watching this long (the pools stay open, frames keep coming):
    /// time to see an idle pool shrink. Not part of the run's duration or throughput.
    pub linger_ms: u64,
    /// With `rate` or `random` arrivals: the rate is set by the lab, just before the run, to this
    /// share (in percent) of what the run's server answers kept busy, from the time per query of
    /// the run's own query sent on two connections a CPU at once (never below `rate_per_s`, which
    /// then bounds the run's length). 0, the default, keeps `rate_per_s`. A queue's behaviour
    /// depends on how busy the server is, not on a rate typed for some other machine.
    pub busy_pct: u32,
}

impl Default for LoadSpec {
    fn default() -> Self {
        Self { shape: LoadShape::Burst, rate_per_s: 100, ramp_to_per_s: 500, linger_ms: 0, busy_pct: 0 }
    }
}

impl LoadSpec {
    /// When request `n` (from 0) of `requests` is due, in milliseconds from the start of the run
    /// (always 0 for a burst). A ramp's rate grows linearly in time, so its arrivals solve
    /// `r0 t + (r1 - r0) t² / 2T = n`, where `T` makes the run's total come out at `requests`.
    pub fn due_ms(&self, n: u64, requests: u64) -> f64 {
        let (r0, r1) = (f64::from(self.rate_per_s.max(1)), f64::from(self.ramp_to_per_s.max(1)));
        let n_f = n as f64;
        match self.shape {
            LoadShape::Burst => 0.0,
            LoadShape::Rate => n_f / r0 * 1000.0,
            LoadShape::Ramp => {
                let total_s = 2.0 * requests as f64 / (r0 + r1);
                let a = (r1 - r0) / (2.0 * total_s);
                let t = if a.abs() < f64::EPSILON {
                    n_f / r0
                } else {
                    (-r0 + (r0 * r0 + 4.0 * a * n_f).sqrt()) / (2.0 * a)
                };
                t * 1000.0
            }
            LoadShape::Random => (0..n).map(|i| random_gap_ms(i, r0)).sum(),
        }
    }

    /// Every request's due time, in order: what the load generator fires by (one pass, where
    /// [`LoadSpec::due_ms`] of a random schedule adds up the gaps before `n` each time).
    pub fn schedule(&self, requests: u64) -> impl Iterator<Item = f64> + '_ {
        let rate = f64::from(self.rate_per_s.max(1));
        let mut at = 0.0;
        (0..requests).map(move |n| match self.shape {
            LoadShape::Random => {
                let due = at;
                at += random_gap_ms(n, rate);
                due
            }
            _ => self.due_ms(n, requests),
        })
    }
}

/// The gap after arrival `n` of a random (Poisson) schedule at `rate` a second: exponentially
/// distributed with mean `1000 / rate` ms, drawn from a fixed seed (splitmix64 of `n`), so the
/// schedule is the same on every run and on both sides of the wire.
fn random_gap_ms(n: u64, rate: f64) -> f64 {
    let mut z = n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // A uniform draw in (0, 1]: never 0, whose logarithm is infinite.
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    -u.ln() / rate * 1000.0
}

/// Outages the network proxy can stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// The server is gone: open connections are cut and new ones refused at once.
    Refuse,
    /// Packets vanish: connections stay open but nothing comes back, so only timeouts notice.
    Blackhole,
}

/// A scheduled outage inside a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    pub mode: OutageMode,
    /// Milliseconds after the run starts.
    pub start_ms: u64,
    pub duration_ms: u64,
}

/// The way between the app and PostgreSQL. When anything here is set, the run's connections go
/// through an in-process TCP proxy that adds the delay and stages the outage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// Added round-trip time (half on the way there, half on the way back).
    pub delay_ms: u64,
    pub outage: Option<OutageSpec>,
}

impl NetworkSpec {
    pub fn uses_proxy(&self) -> bool {
        self.delay_ms > 0 || self.outage.is_some()
    }
}

/// A circuit breaker in front of the database: after `failure_threshold` failures in a row it
/// *opens* and fails requests at once (`circuit_open`) for `open_ms`, then lets one trial request
/// through (*half-open*): success closes it again, failure opens it for another `open_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSpec {
    pub enabled: bool,
    pub failure_threshold: u32,
    pub open_ms: u64,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        Self { enabled: false, failure_threshold: 5, open_ms: 1_000 }
    }
}

/// A cache in front of the demo query: a hit answers without touching a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSpec {
    pub enabled: bool,
    /// How long an answer stays fresh.
    pub ttl_ms: u64,
}

impl Default for CacheSpec {
    fn default() -> Self {
        Self { enabled: false, ttl_ms: 10_000 }
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

/// When PgBouncer lends one of its server connections to a client connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolerMode {
    /// For the client's whole session: from its first query until it disconnects. An app pool
    /// that keeps its connections open keeps their server connections too.
    Session,
    /// For one transaction (a statement outside one): the server connection goes back to
    /// PgBouncer's pool at every COMMIT, so many client connections share a few server ones.
    #[default]
    Transaction,
}

impl PoolerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolerMode::Session => "session",
            PoolerMode::Transaction => "transaction",
        }
    }
}

/// A server-side pooler: a real PgBouncer, started for the run, between the app's instances (and
/// their own pools) and PostgreSQL. The app connects to PgBouncer as if it were the server;
/// PgBouncer opens at most `pool_size` connections to the real one and lends them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolerSpec {
    pub mode: PoolerMode,
    /// Most server connections PgBouncer opens (its `default_pool_size`).
    pub pool_size: u32,
    /// A client's query waits this long for a server connection before PgBouncer gives up on
    /// it with `query_wait_timeout` and closes the client connection.
    pub query_wait_timeout_ms: u64,
}

impl Default for PoolerSpec {
    fn default() -> Self {
        Self { mode: PoolerMode::Transaction, pool_size: 20, query_wait_timeout_ms: 5_000 }
    }
}

/// Whether a run's connections use TLS. Without `tls`, a run connects as the lab itself does
/// (plain to its private cluster, TLS when that cluster accepts only TLS, and as `DATABASE_URL`'s
/// `sslmode` says for a server of your own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// No TLS (`sslmode=disable`): a server that accepts only TLS refuses these.
    Off,
    /// TLS, and the server's certificate checked against the lab's certificate authority and
    /// the host name (`sslmode=verify-full`; against `DATABASE_URL`, at least `require`).
    On,
    /// Naive runs only: every other connect with TLS, the rest without, so one run measures both
    /// on the same server (`connect_tls_ms` beside `connect_plain_ms`).
    Both,
}

/// Whether a run's connections get the effect of `TCP_NODELAY`, which sqlx 0.9.0 does not set on
/// its sockets (and offers no way to set). Without it, the client's Nagle algorithm holds a small
/// write back until the server has acknowledged the one before, and a TLS connect writes two small
/// records back to back twice: each time it waits for the server's delayed ACK (tens of
/// milliseconds). With it, the run's connections go through the lab's relay, whose socket
/// acknowledges every read at once (`TCP_QUICKACK`) and whose own socket to the server has
/// `TCP_NODELAY`, so nothing waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nodelay {
    /// sqlx as shipped: straight to the server, Nagle on.
    #[default]
    Off,
    /// Through the lab's relay: no write waits for a delayed ACK.
    On,
    /// Naive runs only: connects take turns without the relay and through it (with `tls: "both"`,
    /// plain, TLS, plain through the relay, TLS through the relay), so one run measures both
    /// (`connect_tls_nagle_ms` beside `connect_tls_nodelay_ms`).
    Both,
}

impl Nodelay {
    pub fn is_off(&self) -> bool {
        *self == Nodelay::Off
    }
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
    /// Copies of the app firing at once, each with its own pool of `pool.max_connections` and its
    /// own `application_name`: the fleet maths of `instances × pool size` against the server.
    #[serde(default = "default_instances")]
    pub instances: u32,
    #[serde(default)]
    pub pool: PoolSpec,
    #[serde(default)]
    pub work: WorkSpec,
    #[serde(default)]
    pub load: LoadSpec,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub breaker: BreakerSpec,
    #[serde(default)]
    pub cache: CacheSpec,
    #[serde(default)]
    pub leak: LeakSpec,
    /// A PgBouncer between the app and the server (none: the app connects to the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooler: Option<PoolerSpec>,
    /// TLS for the run's connections (none: as the lab connects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// `TCP_NODELAY`'s effect for the run's connections, through the lab's relay (default: off,
    /// as sqlx ships).
    #[serde(default, skip_serializing_if = "Nodelay::is_off")]
    pub nodelay: Nodelay,
    /// The server's CPUs for this run (0: all it has). The lab pins its private PostgreSQL to
    /// that many of the worker's cores while the run goes, so the server, not the app, is what
    /// runs out of CPU (only the lab's own server can be pinned).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub server_cpus: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_requests() -> u32 {
    100
}
fn default_concurrency() -> u32 {
    100
}
fn default_instances() -> u32 {
    1
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            strategy: Strategy::Naive,
            requests: default_requests(),
            concurrency: default_concurrency(),
            instances: default_instances(),
            pool: PoolSpec::default(),
            work: WorkSpec::default(),
            load: LoadSpec::default(),
            network: NetworkSpec::default(),
            breaker: BreakerSpec::default(),
            cache: CacheSpec::default(),
            leak: LeakSpec::default(),
            pooler: None,
            tls: None,
            nodelay: Nodelay::Off,
            server_cpus: 0,
        }
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

    #[test]
    fn a_spread_of_sleeps_has_the_median_and_the_p99_asked_for() {
        let work = WorkSpec { query: Query::Sleep, sleep_ms: 20, sleep_p99_ms: 200, ..WorkSpec::default() };
        let mut sleeps: Vec<f64> = (1..=5000).map(|user| work.sleep_ms_for(user)).collect();
        sleeps.sort_by(f64::total_cmp);
        let (p50, p99) = (sleeps[2499], sleeps[4949]);
        assert!((18.0..=22.0).contains(&p50), "median {p50}");
        assert!((170.0..=235.0).contains(&p99), "p99 {p99}");
        // The same user sleeps the same in every run; without a p99 every request sleeps alike.
        assert_eq!(work.sleep_ms_for(7), work.sleep_ms_for(7));
        let flat = WorkSpec { sleep_p99_ms: 0, ..work };
        assert_eq!((flat.sleep_ms_for(1), flat.sleep_ms_for(2)), (20.0, 20.0));
    }

    #[test]
    fn leaks_are_spread_evenly_and_exactly() {
        let at = |percent| LeakSpec { percent, detect_after_ms: 0 };
        let leaking = |percent| (0..100).filter(|n| at(percent).leaks(*n)).collect::<Vec<_>>();
        assert_eq!(leaking(25)[..3], [3, 7, 11]);
        assert_eq!(leaking(25).len(), 25);
        assert!(leaking(0).is_empty());
        assert_eq!(leaking(100).len(), 100);
    }

    #[test]
    fn a_steady_rate_spaces_arrivals_evenly() {
        let load = LoadSpec { shape: LoadShape::Rate, rate_per_s: 50, ..LoadSpec::default() };
        assert_eq!(load.due_ms(0, 100), 0.0);
        assert_eq!(load.due_ms(50, 100), 1000.0);
        assert_eq!(LoadSpec::default().due_ms(99, 100), 0.0, "a burst fires everything at once");
    }

    #[test]
    fn a_ramp_speeds_up_and_ends_on_time() {
        let load = LoadSpec { shape: LoadShape::Ramp, rate_per_s: 10, ramp_to_per_s: 90, ..LoadSpec::default() };
        // 100 requests at an average of 50/s take 2 s.
        let last = load.due_ms(100, 100);
        assert!((last - 2000.0).abs() < 1.0, "{last}");
        let first_gap = load.due_ms(1, 100) - load.due_ms(0, 100);
        let last_gap = load.due_ms(100, 100) - load.due_ms(99, 100);
        assert!(first_gap > 4.0 * last_gap, "{first_gap} vs {last_gap}");
        let flat = LoadSpec { shape: LoadShape::Ramp, rate_per_s: 20, ramp_to_per_s: 20, ..LoadSpec::default() };
        assert!((flat.due_ms(20, 40) - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn random_arrivals_average_the_rate_and_bunch_up() {
        let load = LoadSpec { shape: LoadShape::Random, rate_per_s: 100, ..LoadSpec::default() };
        let due: Vec<f64> = load.schedule(2000).collect();
        assert_eq!(due[0], 0.0);
        assert!(due.windows(2).all(|w| w[1] >= w[0]), "in order");
        // 2000 arrivals at 100 a second take about 20 s (a Poisson count's spread is tiny here).
        assert!((19_000.0..21_000.0).contains(&due[1999]), "{}", due[1999]);
        // Unlike a steady rate, many gaps are far shorter than the mean of 10 ms, some far longer.
        let gaps: Vec<f64> = due.windows(2).map(|w| w[1] - w[0]).collect();
        let short = gaps.iter().filter(|g| **g < 2.0).count();
        let long = gaps.iter().filter(|g| **g > 30.0).count();
        assert!(short > 300 && long > 50, "{short} short, {long} long");
        // The same schedule every time, and due_ms agrees with it.
        assert_eq!(load.schedule(2000).collect::<Vec<_>>(), due);
        assert!((load.due_ms(1500, 2000) - due[1500]).abs() < 1e-6);
    }
}
