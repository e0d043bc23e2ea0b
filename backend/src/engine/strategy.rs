//! The two ways a request can get a database connection: the heart of the course.
//!
//! - [`NaiveStrategy`]: every request opens its own connection (TCP, startup, SCRAM
//!   authentication, a fresh server process), runs its query and closes it. Simple, and under a
//!   burst it makes the server start one backend per request.
//! - [`PooledStrategy`]: requests borrow from a real `sqlx` pool: connections are opened once,
//!   stored, reused, and returned when the borrower is done (the `PoolConnection` guard returns it
//!   on drop, so it cannot be forgotten). When all are in use, requests wait in line.
//!
//! Both report into [`LiveCounters`] (the run's connections opened and closed, requests in flight)
//! and into their instance's [`InstanceGauges`] (requests waiting, connections being opened, held,
//! or pinged), so the metrics hub can show them while the run goes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use poollab_shared::{ErrorKind, PoolFrame, PoolSpec, WorkSpec};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres};
use sqlx::{ConnectOptions, Connection};

use crate::db::{DemoRow, classify, requires_tls, run_query};

/// How long a naive request may take to connect before it fails with `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the query itself may take before the request gives up (`other`).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters of a whole run (every instance's requests add to them).
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Real connections opened (connect + authentication).
    pub connects: AtomicU64,
    /// Of those, the ones opened with TLS required (a connect that succeeds is encrypted).
    pub tls_connects: AtomicU64,
    /// Connections a naive request closed (a pool's closes are derived from its size).
    pub closes: AtomicU64,
    /// Pooled connections retired because they reached `max_lifetime` (the rest of a pool's
    /// closes are idle connections reaped after `idle_timeout`, or broken ones).
    pub lifetime_closes: AtomicU64,
    pub in_flight: AtomicU64,
    /// Largest pool size seen by a request.
    pub peak_pool_size: AtomicU64,
    /// Since when each numbered request has held its connection: what the leak detector reads.
    held: Mutex<BTreeMap<u64, Instant>>,
}

/// What one app instance's connections are doing right now: the gauges the picture of the pool
/// is drawn from. sqlx's own counters say how many connections a pool has (`size`) and how many
/// are idle; these say what the others are doing.
#[derive(Debug, Default)]
pub struct InstanceGauges {
    /// Requests inside `pool.acquire()` (waiting for a free connection, or for one being
    /// opened for them): when each started waiting, by ticket, oldest first.
    line: Mutex<BTreeMap<u64, Instant>>,
    next_ticket: AtomicU64,
    /// Naive requests opening their own connection.
    pub connecting: AtomicU64,
    /// Connections requests hold: a naive request's own (until closed), or one lent by the pool
    /// (until given back, or forever when leaked).
    pub holding: AtomicU64,
    /// Pooled connections the pool is pinging: before lending an idle one
    /// (`test_before_acquire`), and on the way back (sqlx pings every returned connection).
    pub checking: AtomicU64,
}

/// A lock that still serves after a request task panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LiveCounters {
    /// Requests that have held their connection for at least `threshold`, longest first.
    pub fn held_longer_than(&self, threshold: Duration) -> Vec<(u64, Duration)> {
        let held = lock(&self.held);
        let mut long: Vec<(u64, Duration)> =
            held.iter().map(|(n, since)| (*n, since.elapsed())).filter(|(_, d)| *d >= threshold).collect();
        long.sort_by_key(|(_, held)| std::cmp::Reverse(*held));
        long
    }

    fn checkout(&self, request: Option<u64>) {
        if let Some(n) = request {
            lock(&self.held).insert(n, Instant::now());
        }
    }

    fn checkin(&self, request: Option<u64>) {
        if let Some(n) = request {
            lock(&self.held).remove(&n);
        }
    }
}

impl InstanceGauges {
    /// Requests waiting for a pooled connection right now.
    pub fn waiters(&self) -> u64 {
        lock(&self.line).len() as u64
    }

    /// How long the request that has waited longest has been waiting, if any waits.
    pub fn oldest_wait(&self) -> Option<Duration> {
        lock(&self.line).values().next().map(Instant::elapsed)
    }

    fn join_line(&self) -> InLine<'_> {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        lock(&self.line).insert(ticket, Instant::now());
        InLine { gauges: self, ticket }
    }

    /// What the pool's connections are doing, from sqlx's counts and these gauges: every
    /// connection of `size` is idle, in use (lent, or being pinged) or still being opened.
    pub fn pool(&self, pool: &PgPool, max_connections: u64) -> PoolFrame {
        let size = u64::from(pool.size());
        let idle = (pool.num_idle() as u64).min(size);
        let busy = self.holding.load(Ordering::Relaxed) + self.checking.load(Ordering::Relaxed);
        // The counts are read one after another while requests move; clamped, the three parts
        // always add up to the size, as they do inside sqlx.
        let in_use = busy.min(size - idle);
        PoolFrame {
            size,
            idle,
            in_use,
            connecting: size - idle - in_use,
            waiters: self.waiters(),
            oldest_wait_ms: self.oldest_wait().map_or(0, |d| d.as_millis() as u64),
            max_connections,
            instances: 1,
        }
    }
}

/// A request waiting for a pooled connection. It leaves the line when dropped, also when its
/// wait is abandoned (a run stopped at its deadline), so the line never keeps a ghost.
struct InLine<'a> {
    gauges: &'a InstanceGauges,
    ticket: u64,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        lock(&self.gauges.line).remove(&self.ticket);
    }
}

/// Counts a gauge up now and down when dropped, on every path.
struct Up<'a>(&'a AtomicU64);

impl<'a> Up<'a> {
    fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Up(gauge)
    }
}

impl Drop for Up<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Connections that requests "forgot" to give back. The jar keeps them checked out until the run
/// ends and then lets them go, so a leak lasts exactly one run (and closing the pool never waits
/// for a connection that will not come back).
#[derive(Debug, Default)]
pub struct LeakJar {
    pooled: Mutex<Vec<PoolConnection<Postgres>>>,
    naive: Mutex<Vec<PgConnection>>,
}

impl LeakJar {
    /// How many connections the jar holds.
    pub fn held(&self) -> u64 {
        (lock(&self.pooled).len() + lock(&self.naive).len()) as u64
    }

    /// Lets every leaked connection go (pooled ones back to their pool, naive ones closed);
    /// returns how many there were.
    pub async fn release(&self) -> u64 {
        let pooled = std::mem::take(&mut *lock(&self.pooled));
        let naive = std::mem::take(&mut *lock(&self.naive));
        let count = (pooled.len() + naive.len()) as u64;
        drop(pooled);
        for conn in naive {
            let _ = conn.close().await;
        }
        count
    }
}

/// One request as the strategies see it: its number in the run (runs number their requests, so
/// the leak detector can name them), the user it asks for and, for the leak lesson, a jar to leak
/// its connection into.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub number: Option<u64>,
    pub user: i32,
    pub leak_into: Option<&'a LeakJar>,
}

impl Request<'_> {
    /// A one-off request (the demo endpoints) for this user.
    pub fn for_user(user: i32) -> Self {
        Request { number: None, user, leak_into: None }
    }
}

/// Where the time of one request went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub acquire_wait: Duration,
    /// How long the request's own connect (naive) took, or tried for before it failed.
    pub connect: Duration,
    /// Whether that connect succeeded: only those count in the run's connect figures.
    pub connected: bool,
    /// Whether the request's own connect (naive) required TLS.
    pub tls: bool,
    /// Whether it went through the lab's no-delay relay (`nodelay`).
    pub nodelay: bool,
    pub query: Duration,
    /// When the request asked for a connection (naive: began connecting; pooled: asked its
    /// pool), when it got one, and when it gave it back (naive: closed it; pooled: handed it back
    /// to the pool). A leaked connection is never given back while the run goes.
    pub asked: Option<Instant>,
    pub held_from: Option<Instant>,
    pub given_back: Option<Instant>,
}

/// Notes in the outcome's timings (a success's and a failure's alike) when the connection was
/// given back.
fn note_given_back(outcome: &mut Outcome, at: Instant) {
    let t = match outcome {
        Ok((_, t)) => t,
        Err(e) => &mut e.timings,
    };
    t.given_back = Some(at);
}

/// Where a naive request connects, and how: sqlx's options (host, port, TLS), and whether they
/// point at the lab's no-delay relay instead of the server itself.
#[derive(Debug, Clone)]
pub struct Route {
    pub options: PgConnectOptions,
    pub nodelay: bool,
}

impl Route {
    /// Straight to where `options` point, as sqlx ships.
    pub fn direct(options: PgConnectOptions) -> Route {
        Route { options, nodelay: false }
    }
}

/// A request that failed, and why.
#[derive(Debug, Clone)]
pub struct RequestError {
    pub kind: ErrorKind,
    pub message: String,
    pub timings: Timings,
}

impl RequestError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, timings: Timings) -> Self {
        RequestError { kind, message: message.into(), timings }
    }

    fn from_sqlx(err: &sqlx::Error, timings: Timings) -> Self {
        let message = match err {
            // The server's (or PgBouncer's) own words, as a learner would meet them in a log.
            sqlx::Error::Database(db) => match db.code() {
                Some(code) => format!("{} (SQLSTATE {code})", db.message()),
                None => db.message().to_owned(),
            },
            other => other.to_string(),
        };
        RequestError::new(classify(err), message, timings)
    }
}

pub type Outcome = Result<(DemoRow, Timings), RequestError>;

/// The request's work on a connection it holds: its query, each bounded by [`QUERY_TIMEOUT`];
/// with `hold_ms`, a pause while still holding the connection (the app doing something else, like
/// calling another service) and the query again; with `transaction`, all of it between BEGIN and
/// COMMIT, or, with `hold_outside_transaction`, each query in a transaction of its own and the
/// pause between the two outside both. `t.query` counts the time in statements only.
async fn query(conn: &mut PgConnection, work: &WorkSpec, user: i32, t: Timings) -> Outcome {
    let hold = work.hold_ms > 0;
    if !work.transaction {
        return rounds(conn, work, user, t, hold).await;
    }
    if !(hold && work.hold_outside_transaction) {
        return transaction(conn, work, user, t, hold).await;
    }
    // The fix: commit before the slow call, and open a new transaction after it.
    let (_, t) = transaction(conn, work, user, t, false).await?;
    tokio::time::sleep(Duration::from_millis(work.hold_ms)).await;
    transaction(conn, work, user, t, false).await
}

/// The query (with `hold`, the pause and the query again) between BEGIN and COMMIT.
async fn transaction(conn: &mut PgConnection, work: &WorkSpec, user: i32, mut t: Timings, hold: bool) -> Outcome {
    statement(conn, "BEGIN", &mut t).await?;
    match rounds(conn, work, user, t, hold).await {
        Ok((row, mut t)) => {
            statement(conn, "COMMIT", &mut t).await?;
            Ok((row, t))
        }
        Err(e) => {
            // Never hand a connection back in the middle of a transaction: the next borrower
            // would inherit it (a session the server ended cannot roll back, and needs not).
            let _ = tokio::time::timeout(QUERY_TIMEOUT, sqlx::raw_sql("ROLLBACK").execute(&mut *conn)).await;
            Err(e)
        }
    }
}

/// The query, and with `hold` the pause and the query again.
async fn rounds(conn: &mut PgConnection, work: &WorkSpec, user: i32, mut t: Timings, hold: bool) -> Outcome {
    let rounds = if hold { 2 } else { 1 };
    let mut row = None;
    for round in 0..rounds {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(work.hold_ms)).await;
        }
        let start = Instant::now();
        let result = tokio::time::timeout(QUERY_TIMEOUT, run_query(conn, work, user)).await;
        t.query += start.elapsed();
        match result {
            Err(_) => return Err(RequestError::new(ErrorKind::Other, "query timed out", t)),
            Ok(Err(e)) => return Err(RequestError::from_sqlx(&e, t)),
            Ok(Ok(r)) => row = Some(r),
        }
    }
    row.map(|r| (r, t)).ok_or_else(|| RequestError::new(ErrorKind::Other, "no query ran", t))
}

/// A statement of the request's transaction (`BEGIN`, `COMMIT`), counted as query time.
async fn statement(conn: &mut PgConnection, sql: &'static str, t: &mut Timings) -> Result<(), RequestError> {
    let start = Instant::now();
    let result = tokio::time::timeout(QUERY_TIMEOUT, sqlx::raw_sql(sql).execute(&mut *conn)).await;
    t.query += start.elapsed();
    match result {
        Err(_) => Err(RequestError::new(ErrorKind::Other, format!("{sql} timed out"), *t)),
        Ok(Err(e)) => Err(RequestError::from_sqlx(&e, *t)),
        Ok(Ok(_)) => Ok(()),
    }
}

/// Open, query, close: one connection per request.
#[derive(Debug, Clone)]
pub struct NaiveStrategy {
    /// Where to connect; with more than one route, requests take them in turn (`tls: "both"`,
    /// `nodelay: "both"`).
    routes: Arc<[Route]>,
    turn: Arc<AtomicU64>,
    counters: Arc<LiveCounters>,
    gauges: Arc<InstanceGauges>,
}

impl NaiveStrategy {
    pub fn new(options: PgConnectOptions, counters: Arc<LiveCounters>) -> Self {
        Self::taking_turns(vec![Route::direct(options)], counters)
    }

    /// Requests connect by each route in turn (at least one is needed; none connects as sqlx's
    /// defaults would).
    pub fn taking_turns(mut routes: Vec<Route>, counters: Arc<LiveCounters>) -> Self {
        if routes.is_empty() {
            routes.push(Route::direct(PgConnectOptions::new_without_pgpass()));
        }
        NaiveStrategy { routes: routes.into(), turn: Arc::default(), counters, gauges: Arc::default() }
    }

    pub fn gauges(&self) -> &InstanceGauges {
        &self.gauges
    }

    pub async fn serve(&self, work: &WorkSpec, request: Request<'_>) -> Outcome {
        let mut t = Timings::default();
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize % self.routes.len();
        let route = &self.routes[turn];
        t.tls = requires_tls(&route.options);
        t.nodelay = route.nodelay;
        let start = Instant::now();
        t.asked = Some(start);
        let connecting = Up::new(&self.gauges.connecting);
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, route.options.connect()).await;
        drop(connecting);
        let done = Instant::now();
        t.connect = done - start;
        let mut conn = match connected {
            Err(_) => {
                return Err(RequestError::new(ErrorKind::ConnectTimeout, "connect timed out", t));
            }
            Ok(Err(e)) => return Err(RequestError::from_sqlx(&e, t)),
            Ok(Ok(conn)) => conn,
        };
        t.connected = true;
        t.held_from = Some(done);
        self.counters.connects.fetch_add(1, Ordering::Relaxed);
        if t.tls {
            self.counters.tls_connects.fetch_add(1, Ordering::Relaxed);
        }
        self.counters.checkout(request.number);
        let holding = Up::new(&self.gauges.holding);
        let mut outcome = query(&mut conn, work, request.user, t).await;
        if let Some(jar) = request.leak_into {
            // The bug: the connection is never closed; its server backend stays (and the
            // gauge keeps counting it as held).
            std::mem::forget(holding);
            lock(&jar.naive).push(conn);
            return outcome;
        }
        // Close politely (a Terminate message) so the server frees the backend right away.
        let _ = conn.close().await;
        let closed = Instant::now();
        drop(holding);
        self.counters.closes.fetch_add(1, Ordering::Relaxed);
        self.counters.checkin(request.number);
        note_given_back(&mut outcome, closed);
        outcome
    }
}

/// Acquire, query, release through a real `sqlx` pool.
#[derive(Debug, Clone)]
pub struct PooledStrategy {
    pool: PgPool,
    counters: Arc<LiveCounters>,
    gauges: Arc<InstanceGauges>,
}

fn millis_or_never(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// When the pool pings an idle connection before lending it.
#[derive(Debug, Clone, Copy)]
enum Test {
    Never,
    Always,
    /// Only after it has been idle this long.
    AfterIdle(Duration),
}

impl PooledStrategy {
    /// Builds the pool lazily: no connection is opened until a request asks for one (or until a
    /// run warms it to `min_connections`).
    pub fn new(options: PgConnectOptions, spec: &PoolSpec, counters: Arc<LiveCounters>) -> Self {
        let test = if spec.test_before_acquire { Test::Always } else { Test::Never };
        Self::build(options, spec, counters, test)
    }

    /// Like [`PooledStrategy::new`], but instead of pinging every connection before handing it
    /// out, pings only those idle for at least `window` (HikariCP's "alive bypass window"): a
    /// connection used a moment ago is alive, one idle for a while may have died with a server
    /// restart and is replaced instead of failing a request. Saves a round trip per busy request.
    pub fn pinging_after_idle(
        options: PgConnectOptions,
        spec: &PoolSpec,
        counters: Arc<LiveCounters>,
        window: Duration,
    ) -> Self {
        Self::build(options, spec, counters, Test::AfterIdle(window))
    }

    fn build(options: PgConnectOptions, spec: &PoolSpec, counters: Arc<LiveCounters>, test: Test) -> Self {
        let gauges = Arc::new(InstanceGauges::default());
        let on_connect = counters.clone();
        let tls = requires_tls(&options);
        // sqlx's own `test_before_acquire` is done in `before_acquire` below instead (the same
        // ping, and a failed one closes the connection all the same), so the gauges can count the
        // connections being pinged.
        let mut pool = PgPoolOptions::new()
            .max_connections(spec.max_connections)
            .min_connections(spec.min_connections)
            .acquire_timeout(Duration::from_millis(spec.acquire_timeout_ms))
            .idle_timeout(millis_or_never(spec.idle_timeout_ms))
            .test_before_acquire(false)
            .after_connect(move |_conn, _meta| {
                on_connect.connects.fetch_add(1, Ordering::Relaxed);
                if tls {
                    on_connect.tls_connects.fetch_add(1, Ordering::Relaxed);
                }
                Box::pin(async { Ok(()) })
            });
        let lifetime = millis_or_never(spec.max_lifetime_ms);
        // Max lifetime is enforced here rather than by sqlx's own setting, with the same effect
        // (a connection past its age is closed when returned, or when next handed out), so the
        // lab can count which closes were retirements: sqlx does not say why it closed one.
        if let Some(lifetime) = lifetime {
            let on_release = counters.clone();
            pool = pool.after_release(move |_conn, meta| {
                let retire = meta.age >= lifetime;
                if retire {
                    on_release.lifetime_closes.fetch_add(1, Ordering::Relaxed);
                }
                Box::pin(async move { Ok(!retire) })
            });
        }
        if lifetime.is_some() || !matches!(test, Test::Never) {
            let (on_acquire, pinging) = (counters.clone(), gauges.clone());
            // Returning false (or a failed ping) makes the pool close that connection and try
            // another, or open a new one.
            pool = pool.before_acquire(move |conn, meta| {
                let (on_acquire, pinging) = (on_acquire.clone(), pinging.clone());
                Box::pin(async move {
                    if lifetime.is_some_and(|l| meta.age >= l) {
                        on_acquire.lifetime_closes.fetch_add(1, Ordering::Relaxed);
                        return Ok(false);
                    }
                    let ping = match test {
                        Test::Never => false,
                        Test::Always => true,
                        Test::AfterIdle(window) => meta.idle_for >= window,
                    };
                    if ping {
                        let _checking = Up::new(&pinging.checking);
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        }
        PooledStrategy { pool: pool.connect_lazy_with(options), counters, gauges }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn counters(&self) -> &LiveCounters {
        &self.counters
    }

    pub fn gauges(&self) -> &InstanceGauges {
        &self.gauges
    }

    /// Gives `conn` back as dropping it would (sqlx's return: a ping, then among the idle ones),
    /// counted as being checked (in use on the pool's gauges) until it is back, or closed.
    /// Returns when it was handed back.
    fn give_back(&self, mut conn: PoolConnection<Postgres>) -> Instant {
        // (`return_to_pool` is what sqlx's `Drop` runs; the guard dropped after it has nothing
        // left to return.)
        let back = conn.return_to_pool();
        drop(conn);
        let handed_back = Instant::now();
        self.gauges.checking.fetch_add(1, Ordering::Relaxed);
        let gauges = self.gauges.clone();
        tokio::spawn(async move {
            back.await;
            gauges.checking.fetch_sub(1, Ordering::Relaxed);
        });
        handed_back
    }

    /// A warm pool: opens `n` connections before the burst (acquiring them all at once makes the
    /// pool open each one) and gives them back, each counted while sqlx pings it on its way back,
    /// as a request's is (behind PgBouncer in session mode that ping waits for a server
    /// connection like any query). sqlx would open them itself only after its first maintenance
    /// period (the idle timeout), too late for a burst. Each acquire is bounded by the pool's
    /// acquire timeout; returns how many could not be opened.
    pub async fn warm_up(&self, n: u32) -> usize {
        let opened = futures_util::future::join_all((0..n).map(|_| self.pool.acquire())).await;
        let mut failed = 0;
        for conn in opened {
            match conn {
                Ok(conn) => {
                    self.give_back(conn);
                }
                Err(_) => failed += 1,
            }
        }
        failed
    }

    pub async fn serve(&self, work: &WorkSpec, request: Request<'_>) -> Outcome {
        let mut t = Timings::default();
        let start = Instant::now();
        t.asked = Some(start);
        let in_line = self.gauges.join_line();
        let acquired = self.pool.acquire().await;
        drop(in_line);
        let done = Instant::now();
        t.acquire_wait = done - start;
        let mut conn = acquired.map_err(|e| RequestError::from_sqlx(&e, t))?;
        t.held_from = Some(done);
        self.counters.peak_pool_size.fetch_max(u64::from(self.pool.size()), Ordering::Relaxed);
        self.counters.checkout(request.number);
        let holding = Up::new(&self.gauges.holding);
        let mut outcome = query(&mut conn, work, request.user, t).await;
        if let Some(jar) = request.leak_into {
            // The bug: the guard is stashed away instead of dropped, so the pool never gets the
            // connection back (in real code: a guard stored in a long-lived struct or a task
            // that never finishes). The gauge keeps counting it as held.
            std::mem::forget(holding);
            lock(&jar.pooled).push(conn);
            return outcome;
        }
        // The right pattern: `conn` is a guard, and dropping it returns the connection to the
        // pool on every path (errors and panics included), so it cannot be forgotten. Dropping it
        // spawns sqlx's return: a ping, then back among the idle ones. The lab spawns that same
        // return itself, to see when the connection is really back.
        let handed_back = self.give_back(conn);
        drop(holding);
        self.counters.checkin(request.number);
        note_given_back(&mut outcome, handed_back);
        outcome
    }
}

/// A run's strategy, chosen by its spec.
#[derive(Debug, Clone)]
pub enum Strategy {
    Naive(NaiveStrategy),
    Pooled(PooledStrategy),
}

impl Strategy {
    pub async fn serve(&self, work: &WorkSpec, request: Request<'_>) -> Outcome {
        match self {
            Strategy::Naive(s) => s.serve(work, request).await,
            Strategy::Pooled(s) => s.serve(work, request).await,
        }
    }

    pub fn pool(&self) -> Option<&PgPool> {
        match self {
            Strategy::Naive(_) => None,
            Strategy::Pooled(s) => Some(s.pool()),
        }
    }

    pub fn gauges(&self) -> &InstanceGauges {
        match self {
            Strategy::Naive(s) => s.gauges(),
            Strategy::Pooled(s) => s.gauges(),
        }
    }
}
