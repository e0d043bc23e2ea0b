//! The metrics hub: the one place where events become the numbers people see.
//!
//! Requests record into the running run's [`RunRecorder`]; the [`crate::engine::sampler`] reports what
//! `pg_stat_activity` shows. A ticker asks the hub for a [`Frame`] ten times a second during a run
//! (once a second when idle) and broadcasts it; the worker passes every frame on to its
//! coordinator, which sends it to the pages. Each frame carries the counts since the previous
//! one, and the run's last frame is emitted when the run ends, after its last request: so the
//! frames of a run add up exactly to its summary.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use poollab_shared::{
    AppFrame, CountBy, Frame, HeldConnection, InstanceFrame, OutageMode, PoolFrame, PoolerFrame, RunTotals, ServerFrame,
};
use tokio::sync::{broadcast, watch};

use crate::db::cluster::Refusals;
use crate::db::pgbouncer::PoolerGauge;
use crate::engine::fleet::{Fleet, Instance};
use crate::engine::recorder::{RunRecorder, Totals};
use crate::engine::sampler::ServerReading;
use crate::shutdown::Shutdown;
use poollab_shared::ServerFacts;

/// Frame period while a run goes.
pub const RUN_FRAME_PERIOD: Duration = Duration::from_millis(100);
/// Frame period when idle.
pub const IDLE_FRAME_PERIOD: Duration = Duration::from_secs(1);

/// What the hub needs to watch a run.
pub struct RunWatch {
    pub id: String,
    pub recorder: Arc<RunRecorder>,
    pub fleet: Arc<Fleet>,
    /// Each instance's `pool.max_connections`.
    pub pool_max: u64,
    /// The leak detector's threshold, if the run asked for one.
    pub leak_threshold: Option<Duration>,
    /// The network proxy's outage switch, if the run goes through one.
    pub outage: Option<watch::Receiver<Option<OutageMode>>>,
    /// The run's PgBouncer, as its `SHOW POOLS` was last read, if the run has one.
    pub pooler: Option<Arc<PoolerGauge>>,
    /// The CPUs the server has while the run goes, when the run pinned it to fewer.
    pub server_cpus: Option<u64>,
}

/// The run the hub is watching.
struct ActiveRun {
    watch: RunWatch,
    started: Instant,
    emitted: Totals,
    /// The most backends of the run in one reading, and what other clients held then.
    peak_server: ServerPeak,
    peak_pool: u64,
    /// The most backends of the run in the readings since the last frame.
    interval_peak_server: u64,
    /// The most of the run's backends idle in a transaction in any reading.
    peak_idle_in_tx: u64,
    /// The server's count of refused connects when the run began.
    refused_before: Option<u64>,
    /// Every request the detector has flagged during the run.
    leak_suspects: BTreeSet<u64>,
    /// Every frame sent during the run, for its stored timeline.
    frames: Vec<Frame>,
    /// Every reading of the server in the run's first moments (at most [`MAX_READINGS`]), for
    /// its stored timeline.
    readings: Vec<ServerFrame>,
    /// The instant each of `readings` shows (the middle of its asking).
    reading_shows: Vec<Instant>,
}

impl ActiveRun {
    /// The refusals of a server count (`so_far`, since the server started) that came after the
    /// run began.
    fn refused_since_begun(&self, so_far: Option<u64>) -> Option<u64> {
        so_far.zip(self.refused_before).map(|(now, before)| now.saturating_sub(before))
    }
}

/// The readings of the server a run's timeline keeps: its first second's, every 10 ms, and a
/// little more. A frame carries the latest reading only, every 100 ms, so a picture of an instant
/// inside a short run would pair the app at 13 ms with the server at 79 ms; these let it pair
/// the instant with the reading nearest it. (Later instants pair with frames' readings.)
pub const MAX_READINGS: usize = 120;

/// Does this `application_name` belong to a run whose instances' names start with `base`?
fn belongs_to(name: &str, base: &str) -> bool {
    name.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// Each of the fleet's instances as it is now: what its connections are doing (its pool of at
/// most `max` as sqlx counts it), and what the `server` reading shows of it.
fn instances_now(fleet: &Fleet, max: u64, server: &ServerFrame) -> Vec<InstanceFrame> {
    let instance = |i: &Instance| {
        let gauges = i.strategy.gauges();
        let pool = i.strategy.pool().map(|p| gauges.pool(p, max));
        InstanceFrame {
            name: i.name.clone(),
            connecting: pool.map_or_else(|| gauges.connecting.load(Ordering::Relaxed), |p| p.connecting),
            holding: gauges.holding.load(Ordering::Relaxed),
            pool,
            server_backends: server.backends_of(&i.name),
        }
    };
    fleet.instances().iter().map(instance).collect()
}

/// Waits for the second change of `readings` from now (at most `limit`): the reading in progress
/// may have started before this call, the one after it did not.
async fn next_but_one(mut readings: watch::Receiver<u64>, limit: Duration) {
    readings.mark_unchanged();
    let two = async {
        for _ in 0..2 {
            if readings.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(limit, two).await;
}

/// Gives each of the server's `readings` that has PgBouncer's beside it the one of `poolers`
/// (PgBouncer's readings of the run) that shows PgBouncer nearest the instant it shows the
/// server, taken before it or after: while the run went, only the latest one was known.
fn pair_with_nearest(readings: &mut [ServerFrame], poolers: &[PoolerFrame]) {
    for r in readings.iter_mut().filter(|r| r.pooler.is_some()) {
        let Some(at) = r.shows_at() else { continue };
        let apart = |p: &&PoolerFrame| p.shows_at().map_or(f64::INFINITY, |p| (p - at).abs());
        if let Some(p) = poolers.iter().min_by(|a, b| apart(a).total_cmp(&apart(b))) {
            r.pooler = Some(*p);
        }
    }
}

/// The run's peak of server backends, and the backends of other clients at the reading where the
/// run first reached it: the lab's own connections (its line's, with its LISTEN, its pages' reads,
/// the sampler's), other runs', anyone's but this run's. Those hold application slots the run
/// cannot have, so a model of what a run can get counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerPeak {
    /// The most of the run's backends in one reading.
    pub run: u64,
    /// Other clients' backends in that reading (the first to reach `run`).
    pub others: u64,
    /// Whether any reading has been taken.
    seen: bool,
}

impl ServerPeak {
    /// Takes one reading of the server: `others`, other clients' backends
    /// ([`ServerFrame::others`]), and `run`, those of this run. A reading that raises the run's
    /// peak (or the first reading) sets the others; a later one that only equals the peak keeps
    /// those of the first.
    pub fn observe(&mut self, others: u64, run: u64) {
        if !self.seen || run > self.run {
            *self = ServerPeak { run, others, seen: true };
        }
    }
}

struct HubState {
    run: Option<ActiveRun>,
    server: ServerFrame,
    last_frame: Instant,
}

/// What the hub saw of a run that ended: readings of the server and of the pools, taken at
/// sampling instants. (The app's own figures, in flight, waiting, in use, are counted from the
/// requests' records instead: [`poollab_shared::activity`].)
#[derive(Debug, Clone, Default)]
pub struct Peaks {
    pub server_connections: u64,
    /// Other clients' backends at the reading where the run's first reached `server_connections`.
    pub other_backends_at_peak: u64,
    pub pool_size: u64,
    pub idle_in_transaction: u64,
    /// The pools' size in the last frame.
    pub pool_size_at_end: u64,
    /// Connects the server refused while the run went (its log), when the lab can read it.
    pub refused: Option<u64>,
    /// Distinct requests the leak detector flagged.
    pub leak_suspects: u64,
    /// The frames the run's watchers were sent.
    pub frames: Vec<Frame>,
    /// The server's readings of the run's first moments ([`MAX_READINGS`]).
    pub readings: Vec<ServerFrame>,
    /// PgBouncer's readings of the run's first moments (none without one).
    pub pooler_readings: Vec<PoolerFrame>,
}

pub struct MetricsHub {
    tx: broadcast::Sender<Frame>,
    /// Connects the server has refused since it started, counted from its log (the private
    /// cluster's; none with `DATABASE_URL`).
    refusals: Option<Arc<Refusals>>,
    /// True while a run goes; the ticker and the sampler speed up when it turns true.
    running: watch::Sender<bool>,
    seq: AtomicU64,
    state: Mutex<HubState>,
    /// Counts the sampler's readings, so a run's end can wait for one taken after it.
    readings: watch::Sender<u64>,
}

impl MetricsHub {
    /// A hub for a server with these limits, which start-up has just reached (the sampler's
    /// first reading follows). `refusals` counts the connects the server refuses, if the lab can
    /// read its log.
    pub fn new(facts: ServerFacts, refusals: Option<Arc<Refusals>>) -> Arc<MetricsHub> {
        let (tx, _) = broadcast::channel(256);
        let server = ServerFrame {
            reachable: true,
            max_connections: facts.max_connections,
            reserved_connections: facts.reserved_connections,
            cpus: facts.cpus,
            tls: facts.tls,
            pgbouncer: facts.pgbouncer,
            ..ServerFrame::default()
        };
        Arc::new(MetricsHub {
            tx,
            refusals,
            running: watch::Sender::new(false),
            readings: watch::Sender::new(0),
            seq: AtomicU64::new(0),
            state: Mutex::new(HubState { run: None, server, last_frame: Instant::now() }),
        })
    }

    pub fn refused_so_far(&self) -> Option<u64> {
        self.refusals.as_ref().map(|r| r.count())
    }

    /// Connects the server has refused since `run` began (when the lab can read its log).
    fn refused_in(&self, run: &ActiveRun) -> Option<u64> {
        run.refused_since_begun(self.refused_so_far())
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver of every frame the hub makes.
    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.tx.subscribe()
    }

    /// Sends to every subscriber; having none is fine.
    fn broadcast(&self, frame: Frame) {
        let _ = self.tx.send(frame);
    }

    pub fn is_running(&self) -> bool {
        *self.running.borrow()
    }

    /// Changes whenever a run starts or ends.
    pub fn watch_running(&self) -> watch::Receiver<bool> {
        self.running.subscribe()
    }

    /// What the lab knows of its server (its limits, and whether it offers TLS and PgBouncer).
    pub fn facts(&self) -> ServerFacts {
        self.lock().server.facts()
    }

    /// The latest view of the server.
    pub fn server(&self) -> ServerFrame {
        self.lock().server.clone()
    }

    pub fn begin_run(&self, watch: RunWatch) {
        let refused_before = self.refused_so_far();
        let mut st = self.lock();
        // Frames and the requests' records count from the same instant.
        let started = watch.recorder.origin;
        st.run = Some(ActiveRun {
            watch,
            started,
            emitted: Totals::default(),
            peak_server: ServerPeak::default(),
            peak_pool: 0,
            interval_peak_server: 0,
            peak_idle_in_tx: 0,
            refused_before,
            leak_suspects: BTreeSet::new(),
            frames: Vec::new(),
            readings: Vec::new(),
            reading_shows: Vec::new(),
        });
        st.last_frame = Instant::now();
        drop(st);
        self.running.send_replace(true);
    }

    /// Emits the run's last frame (everything not yet sent) and stops watching it.
    pub fn end_run(&self) -> Peaks {
        let mut st = self.lock();
        let frame = self.frame(&mut st);
        let (pool_size_at_end, refused) = (frame.pool.map_or(0, |p| p.size), frame.server.refused);
        // Sent under the lock, so frames leave in `seq` order.
        self.broadcast(frame);
        let peaks = st
            .run
            .take()
            .map(|mut r| {
                let pooler_readings = r.watch.pooler.as_ref().map(|p| p.kept(r.started)).unwrap_or_default();
                pair_with_nearest(&mut r.readings, &pooler_readings);
                // Each kept reading's refusals counted again now that the log has caught up: a
                // refusal's line can reach the lab a few milliseconds after the app heard it, and
                // a reading taken in between counted it late.
                if let (Some(refusals), Some(before)) = (self.refusals.as_ref(), r.refused_before) {
                    for (reading, shows) in r.readings.iter_mut().zip(&r.reading_shows) {
                        reading.refused = Some(refusals.count_by(*shows).saturating_sub(before));
                    }
                }
                Peaks {
                    server_connections: r.peak_server.run,
                    other_backends_at_peak: r.peak_server.others,
                    pool_size: r.peak_pool,
                    idle_in_transaction: r.peak_idle_in_tx,
                    pool_size_at_end,
                    refused,
                    leak_suspects: r.leak_suspects.len() as u64,
                    frames: r.frames,
                    readings: r.readings,
                    pooler_readings,
                }
            })
            .unwrap_or_default();
        drop(st);
        self.running.send_replace(false);
        peaks
    }

    /// The running run's instances, their pools as sqlx counts them now (their server backends
    /// are filled in from the reading they go with, [`MetricsHub::observe_server`]). The sampler
    /// asks as its reading of the server answers, so that both sides are read a moment apart.
    pub fn pools_now(&self) -> Option<Vec<InstanceFrame>> {
        let st = self.lock();
        let run = st.run.as_ref()?;
        Some(instances_now(&run.watch.fleet, run.watch.pool_max, &ServerFrame::default()))
    }

    /// Called by the sampler with each fresh reading of `pg_stat_activity`.
    pub fn observe_server(&self, reading: ServerReading) {
        let ServerReading { frame: mut server, backends, asked, answered, pools } = reading;
        // The server's refusals by the instant the reading shows (the middle of its asking, as
        // the page pairs it with the app's instant). A connect refused for want of a slot is no
        // backend in any reading; one refused for the reserved slots can be seen starting for
        // the few milliseconds before its refusal.
        let shows = asked + answered.saturating_duration_since(asked) / 2;
        let refused_so_far = self.refusals.as_ref().map(|r| r.count_by(shows));
        let mut st = self.lock();
        server.reserved_connections = st.server.reserved_connections;
        server.cpus = st.server.cpus;
        (server.tls, server.pgbouncer) = (st.server.tls, st.server.pgbouncer);
        if let Some(run) = st.run.as_mut() {
            server.read_at_ms = Some(asked.saturating_duration_since(run.started).as_millis() as u64);
            server.read_took_ms = answered.saturating_duration_since(asked).as_millis() as u64;
            let base = run.watch.fleet.application_name;
            let mut by_state = std::collections::BTreeMap::<&str, u64>::new();
            for b in backends.iter().filter(|b| belongs_to(&b.application, base)) {
                *by_state.entry(&b.state).or_default() += b.count;
            }
            server.run_backends = by_state.values().sum();
            run.interval_peak_server = run.interval_peak_server.max(server.run_backends);
            server.run_by_state =
                by_state.into_iter().map(|(name, count)| CountBy { name: name.to_owned(), count }).collect();
            run.peak_server.observe(server.others(), server.run_backends);
            run.peak_idle_in_tx = run.peak_idle_in_tx.max(server.run_in_state("idle in transaction"));
            if run.readings.len() < MAX_READINGS {
                // As a frame would show it, were it the only reading since the last frame.
                let refused = run.refused_since_begun(refused_so_far);
                let run_backends_peak = server.run_backends;
                // With PgBouncer's latest reading beside it, so both sides of an instant pair (the
                // run's end pairs it with the nearest, [`pair_with_nearest`]).
                let pooler = run.watch.pooler.as_ref().map(|g| g.latest(run.started));
                // And the app's instances as they are now, for the same reason.
                // As sqlx counted them when the reading answered, when the sampler could (the
                // run's own instances: a run that began since has none counted).
                let instances = match pools.filter(|p| p.len() == run.watch.fleet.instances().len()) {
                    Some(mut counted) => {
                        for i in &mut counted {
                            i.server_backends = server.backends_of(&i.name);
                        }
                        counted
                    }
                    None => instances_now(&run.watch.fleet, run.watch.pool_max, &server),
                };
                run.readings.push(ServerFrame { refused, run_backends_peak, pooler, instances, ..server.clone() });
                run.reading_shows.push(shows);
            }
        }
        st.server = server;
        drop(st);
        self.readings.send_modify(|n| *n += 1);
    }

    /// Waits until the sampler has read the server after this call, and the run's PgBouncer too
    /// if it has one (each at most `limit`), so that a run's last frame pairs the app as it ended
    /// with the server and the pooler as they were then, not as they were a sampling period
    /// earlier (a client that got its server connection in the run's last moments is counted).
    pub async fn fresh_readings(&self, limit: Duration) {
        let pooler = self.lock().run.as_ref().and_then(|r| r.watch.pooler.as_ref().map(|g| g.readings()));
        let pooler = async {
            if let Some(readings) = pooler {
                next_but_one(readings, limit).await;
            }
        };
        tokio::join!(next_but_one(self.readings.subscribe(), limit), pooler);
    }

    /// Builds the next frame and broadcasts it.
    pub fn tick(&self) {
        let mut st = self.lock();
        let frame = self.frame(&mut st);
        // Sent under the lock, so frames leave in `seq` order (sending never blocks).
        self.broadcast(frame);
    }

    fn frame(&self, st: &mut HubState) -> Frame {
        let now = Instant::now();
        let interval = now.duration_since(st.last_frame);
        st.last_frame = now;
        let mut frame = Frame {
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            interval_ms: interval.as_millis() as u64,
            server: st.server.clone(),
            ..Frame::default()
        };
        let Some(run) = st.run.as_mut() else {
            frame.server.run_backends = 0;
            frame.server.run_by_state.clear();
            return frame;
        };
        let fleet = run.watch.fleet.clone();
        // Each instance on its own: what its connections are doing, and what the server sees.
        frame.instances = instances_now(&fleet, run.watch.pool_max, &st.server);
        frame.pool = PoolFrame::sum(&frame.instances);
        let counters = &run.watch.recorder.counters;
        let (totals, p50, p99) = {
            let mut agg = run.watch.recorder.lock();
            let quantile = |q| (!agg.interval.is_empty()).then(|| agg.interval.value_at_quantile(q) as f64 / 1000.0);
            let (p50, p99) = (quantile(0.5), quantile(0.99));
            agg.interval.reset();
            let connects = counters.connects.load(Ordering::Relaxed);
            // A pool's closes are what it opened minus what it still holds.
            let closes = match frame.pool {
                None => counters.closes.load(Ordering::Relaxed),
                Some(p) => connects.saturating_sub(p.size),
            };
            let (cache_hits, cache_misses) = fleet.cache_counts();
            let totals = Totals {
                completed: agg.completed,
                failed: agg.failed,
                errors: agg.errors,
                connects,
                closes,
                lifetime_closes: counters.lifetime_closes.load(Ordering::Relaxed),
                cache_hits,
                cache_misses,
            };
            (totals, p50, p99)
        };
        let connects_delta = totals.connects - run.emitted.connects;
        let closes_delta = totals.closes.saturating_sub(run.emitted.closes);
        let secs = interval.as_secs_f64();
        let per_s = |n: u64| if secs > 0.0 { (n as f64 / secs * 10.0).round() / 10.0 } else { 0.0 };
        frame.run_id = Some(run.watch.id.clone());
        if let Some(cpus) = run.watch.server_cpus {
            frame.server.cpus = cpus;
        }
        frame.elapsed_ms = now.saturating_duration_since(run.started).as_millis() as u64;
        frame.app = AppFrame {
            in_flight: counters.in_flight.load(Ordering::Relaxed),
            completed_delta: totals.completed - run.emitted.completed,
            failed_delta: totals.failed - run.emitted.failed,
            errors_delta: totals.errors.since(&run.emitted.errors),
            connects_delta,
            connects_per_s: per_s(connects_delta),
            closes_delta,
            closes_per_s: per_s(closes_delta),
            closes_lifetime_delta: totals.lifetime_closes.saturating_sub(run.emitted.lifetime_closes),
            latency_p50_ms: p50,
            latency_p99_ms: p99,
            breaker: fleet.breaker_state(),
            cache_hits_delta: totals.cache_hits - run.emitted.cache_hits,
            cache_misses_delta: totals.cache_misses - run.emitted.cache_misses,
            outage: run.watch.outage.as_ref().is_some_and(|o| o.borrow().is_some()),
            connecting: frame.instances.iter().map(|i| i.connecting).sum(),
            holding: frame.instances.iter().map(|i| i.holding).sum(),
            totals: RunTotals {
                completed: totals.completed,
                failed: totals.failed,
                errors: totals.errors,
                connects: totals.connects,
                closes: totals.closes,
                cache_hits: totals.cache_hits,
                cache_misses: totals.cache_misses,
            },
            ..AppFrame::default()
        };
        if let Some(threshold) = run.watch.leak_threshold {
            let held = counters.held_longer_than(threshold);
            run.leak_suspects.extend(held.iter().map(|(n, _)| *n));
            frame.app.held_too_long_count = held.len() as u64;
            frame.app.held_too_long = held
                .into_iter()
                .take(10)
                .map(|(request, d)| HeldConnection { request, held_ms: d.as_millis() as u64 })
                .collect();
        }
        frame.server.refused = self.refused_in(run);
        frame.server.run_backends_peak = run.interval_peak_server.max(frame.server.run_backends);
        run.interval_peak_server = 0;
        run.emitted = totals;
        // A request notes the size of its own pool; with one instance that catches peaks between
        // frames, with several the frames' sums are the fleet's peak.
        if let Some(p) = frame.pool {
            run.peak_pool = run.peak_pool.max(p.size).max(counters.peak_pool_size.load(Ordering::Relaxed));
        }
        frame.pooler = run.watch.pooler.as_ref().map(|g| g.latest(run.started));
        run.frames.push(frame.clone());
        frame
    }

    /// Emits frames until shutdown: fast while a run goes, slow when idle.
    pub async fn run_ticker(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut running = self.watch_running();
        loop {
            let period = if self.is_running() { RUN_FRAME_PERIOD } else { IDLE_FRAME_PERIOD };
            tokio::select! {
                _ = tokio::time::sleep(period) => self.tick(),
                // A run started or ended: pick the new pace at once.
                _ = running.changed() => {}
                _ = shutdown.recv() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PoolerFrame, ServerFrame, ServerPeak, pair_with_nearest};

    #[test]
    fn the_others_are_read_where_the_runs_backends_first_peak() {
        // (readings as (other clients' backends, the run's), want (run's peak, others then))
        let table: [(&[(u64, u64)], (u64, u64)); 7] = [
            // No reading: nothing seen.
            (&[], (0, 0)),
            // The lab's own 10 before the run's first connection, then the fleet fills up.
            (&[(10, 0), (10, 30), (10, 87), (10, 80)], (87, 10)),
            // The others change after the peak: those at the peak stay.
            (&[(10, 87), (12, 87), (10, 2)], (87, 10)),
            // The peak reached again with other others: the first reading's are kept.
            (&[(10, 5), (10, 86), (11, 86)], (86, 10)),
            // A run that never had a backend: the others of its first reading.
            (&[(11, 0), (14, 0)], (0, 11)),
            // A reading of an unreachable server (all zeros) changes nothing once one was seen.
            (&[(10, 40), (0, 0)], (40, 10)),
            // No other client at all.
            (&[(0, 3), (0, 5)], (5, 0)),
        ];
        for (readings, want) in table {
            let mut peak = ServerPeak::default();
            for (others, run) in readings {
                peak.observe(*others, *run);
            }
            assert_eq!((peak.run, peak.others), want, "{readings:?}");
        }
    }

    #[test]
    fn each_reading_of_the_server_pairs_with_the_nearest_reading_of_pgbouncer() {
        let pooler = |at: u64, took: u64, clients: u64| PoolerFrame {
            read_at_ms: Some(at),
            read_took_ms: took,
            cl_active: clients,
            ..PoolerFrame::default()
        };
        // PgBouncer read at 60 (shows 61), 70 (shows 75: it took 10 ms) and 88 ms.
        let poolers = [pooler(60, 2, 1), pooler(70, 10, 6), pooler(88, 0, 10)];
        let server = |at: u64, with_pooler: bool| ServerFrame {
            read_at_ms: Some(at),
            read_took_ms: 2,
            pooler: with_pooler.then(|| pooler(at.saturating_sub(15), 0, 0)),
            ..ServerFrame::default()
        };
        // (the server read at, whether the run kept PgBouncer's beside it, the clients paired)
        let table = [
            // Shows 78: the 75 ms reading, nearer than the latest known then (60).
            (77, true, Some(6)),
            // Shows 86: the reading that came after it, at 88.
            (85, true, Some(10)),
            (50, true, Some(1)),
            // A run without PgBouncer keeps none.
            (77, false, None),
        ];
        for (at, with_pooler, clients) in table {
            let mut readings = [server(at, with_pooler)];
            pair_with_nearest(&mut readings, &poolers);
            assert_eq!(readings[0].pooler.map(|p| p.cl_active), clients, "read at {at} ms");
        }
    }
}
