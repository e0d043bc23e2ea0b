//! A run's measurements: every request's outcome, aggregated as it happens.
//!
//! Latencies go into HDR histograms (microsecond resolution, 3 significant figures), so the
//! percentiles in a summary are computed from every request, not from a sample.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use poollab_shared::{AppPeaks, ErrorCounts, LatencySummary, RequestRecord, RunEvent, RunEventKind, Summary};

use crate::db::pgbouncer::PoolerPeaks;
use crate::engine::fleet::Served;
use crate::engine::hub::Peaks;
use crate::engine::strategy::{LiveCounters, Timings};

/// Highest latency a histogram tracks (values above are clamped): 10 minutes in microseconds.
const MAX_US: u64 = 600_000_000;

fn histogram() -> Histogram<u64> {
    // new_with_bounds only fails for bounds like these being invalid, which they are not.
    Histogram::new_with_bounds(1, MAX_US, 3).unwrap_or_else(|_| Histogram::new(3).expect("sigfig 3"))
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, MAX_US)
}

/// Percentiles of a histogram in milliseconds (zeros when it is empty).
pub fn latency_summary(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    LatencySummary {
        p50: ms(h.value_at_quantile(0.50)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    }
}

/// Every connect of the run: its plain and its TLS ones together. (Both histograms have the same
/// bounds and every value was clamped into them, so adding one to the other cannot fail.)
fn all_connects(a: &Aggregates) -> Histogram<u64> {
    let mut all = a.connect_plain.clone();
    if let Err(e) = all.add(&a.connect_tls) {
        tracing::warn!(error = %e, "could not merge the TLS connects into the run's connect times");
    }
    all
}

/// Totals at one moment; frames send the difference between two of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub completed: u64,
    pub failed: u64,
    pub errors: ErrorCounts,
    pub connects: u64,
    pub closes: u64,
    pub lifetime_closes: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

#[derive(Debug)]
pub struct Aggregates {
    pub completed: u64,
    pub failed: u64,
    pub errors: ErrorCounts,
    pub latency: Histogram<u64>,
    pub acquire_wait: Histogram<u64>,
    /// Naive requests' connects that succeeded, by whether they required TLS (`connect_ms` is
    /// both together); a failed attempt is no connect time, whatever it took to fail.
    pub connect_tls: Histogram<u64>,
    pub connect_plain: Histogram<u64>,
    /// Each kind again, by whether it went through the no-delay relay.
    pub connect_tls_nagle: Histogram<u64>,
    pub connect_tls_nodelay: Histogram<u64>,
    pub connect_plain_nagle: Histogram<u64>,
    pub connect_plain_nodelay: Histogram<u64>,
    pub query: Histogram<u64>,
    /// How long failed requests took to fail.
    pub failed_after: Histogram<u64>,
    /// Latencies since the last frame; the hub takes and resets it.
    pub interval: Histogram<u64>,
    /// Every request's own record, for the run's stored timeline.
    pub requests: Vec<RequestRecord>,
    /// The first error message of each kind.
    pub error_examples: BTreeMap<String, String>,
}

/// Everything a run's summary needs besides its recorder's own measurements.
#[derive(Debug, Default)]
pub struct RunEnd {
    /// From the first request's release to the last one's end.
    pub duration: Duration,
    /// When the load began, from the run's start (its records' and frames' clock): after the
    /// pools' warm-up.
    pub load_started: Duration,
    pub pooled: bool,
    /// What the hub read of the server and the pools while the run went, and the frames it sent.
    pub hub: Peaks,
    /// Connections the leak jar let go at the end.
    pub leaked: u64,
    /// The fleet's cache: requests it answered, and requests it sent on.
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub breaker_opened: u64,
    /// A `busy_pct` run's pace: its query's median alone, in ms, and the rate set from it.
    pub pace: Option<(f64, u32)>,
}

/// Collects the outcomes of one run's requests.
#[derive(Debug)]
pub struct RunRecorder {
    pub counters: Arc<LiveCounters>,
    /// The run's clock: its requests' times and its frames' `elapsed_ms` count from here (the
    /// run's start, before any warm-up of its pools).
    pub origin: Instant,
    aggregates: Mutex<Aggregates>,
}

impl RunRecorder {
    /// A recorder for a run starting now.
    pub fn new(counters: Arc<LiveCounters>) -> Self {
        RunRecorder {
            counters,
            origin: Instant::now(),
            aggregates: Mutex::new(Aggregates {
                completed: 0,
                failed: 0,
                errors: ErrorCounts::default(),
                latency: histogram(),
                acquire_wait: histogram(),
                connect_tls: histogram(),
                connect_plain: histogram(),
                connect_tls_nagle: histogram(),
                connect_tls_nodelay: histogram(),
                connect_plain_nagle: histogram(),
                connect_plain_nodelay: histogram(),
                query: histogram(),
                failed_after: histogram(),
                interval: histogram(),
                requests: Vec::new(),
                error_examples: BTreeMap::new(),
            }),
        }
    }

    /// The aggregates, even if a request task panicked while holding them.
    pub fn lock(&self) -> MutexGuard<'_, Aggregates> {
        self.aggregates.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records request `n`, sent by app instance `instance`, which arrived at `arrived` and has
    /// just ended.
    pub fn record(&self, n: u64, instance: u32, arrived: Instant, served: &Served) {
        let total = arrived.elapsed();
        let started = self.origin;
        let mut a = self.lock();
        let (t, outcome) = match &served.outcome {
            Ok((_, t)) => {
                a.completed += 1;
                let us = micros(total);
                a.latency.saturating_record(us);
                a.interval.saturating_record(us);
                if !served.cache_hit {
                    a.query.saturating_record(micros(t.query));
                }
                (t, "ok")
            }
            Err(e) => {
                a.failed += 1;
                a.errors.add(e.kind, 1);
                a.error_examples.entry(e.kind.as_str().to_owned()).or_insert_with(|| e.message.clone());
                a.failed_after.saturating_record(micros(total));
                (&e.timings, e.kind.as_str())
            }
        };
        // Only pooled requests wait for a connection, and only naive ones open their own: a
        // zero means "did not happen", not "took no time".
        if t.acquire_wait > Duration::ZERO {
            a.acquire_wait.saturating_record(micros(t.acquire_wait));
        }
        // A connect that failed is not a connect: its time is in `failed_after` (and in the
        // request's own record), never in a connect figure.
        if t.connected {
            let us = micros(t.connect);
            let a: &mut Aggregates = &mut a;
            let (kind, split) = match (t.tls, t.nodelay) {
                (true, false) => (&mut a.connect_tls, &mut a.connect_tls_nagle),
                (true, true) => (&mut a.connect_tls, &mut a.connect_tls_nodelay),
                (false, false) => (&mut a.connect_plain, &mut a.connect_plain_nagle),
                (false, true) => (&mut a.connect_plain, &mut a.connect_plain_nodelay),
            };
            kind.saturating_record(us);
            split.saturating_record(us);
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        // Instants as ms from the run's start (none is before it).
        let since_start = |at: Instant| ms(at.saturating_duration_since(started));
        let Timings { acquire_wait, connect, query, asked, held_from, given_back, .. } = *t;
        a.requests.push(RequestRecord {
            n,
            instance,
            start_ms: since_start(arrived),
            acquire_wait_ms: ms(acquire_wait),
            connect_ms: ms(connect),
            query_ms: ms(query),
            total_ms: ms(total),
            outcome: outcome.to_owned(),
            cache_hit: served.cache_hit,
            asked_ms: asked.map(since_start),
            held_from_ms: held_from.map(since_start),
            given_back_ms: given_back.map(since_start),
        });
    }

    /// Changes of the run's network and guards (each at the instant it happened) on the run's
    /// clock, as its requests' records are: ms from [`RunRecorder::origin`], in time order.
    pub fn events(&self, changes: impl IntoIterator<Item = (Instant, RunEventKind)>) -> Vec<RunEvent> {
        let mut events: Vec<RunEvent> = changes
            .into_iter()
            .map(|(at, kind)| RunEvent {
                at_ms: at.saturating_duration_since(self.origin).as_secs_f64() * 1000.0,
                kind,
            })
            .collect();
        // A stable sort: two changes at one instant keep the order they were made in.
        events.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        events
    }

    /// Takes the request records (in the order the requests finished, sorted by number).
    pub fn take_requests(&self) -> Vec<RequestRecord> {
        let mut requests = std::mem::take(&mut self.lock().requests);
        requests.sort_by_key(|r| r.n);
        requests
    }

    /// The run's summary, the one place it is built: the requests' outcomes and latencies and
    /// the app's peaks from this recorder's records (counted at exact instants, see
    /// [`poollab_shared::activity`]), the server's and the pools' from what the hub read while the
    /// run went ([`RunEnd::hub`]: samples), PgBouncer's from its readings, and the rest from the
    /// fleet and the leak jar.
    pub fn summary(&self, end: &RunEnd) -> Summary {
        let a = self.lock();
        let secs = end.duration.as_secs_f64();
        let app = AppPeaks::of(&a.requests);
        let hub = &end.hub;
        let pooler = PoolerPeaks::of(&hub.pooler_readings, &hub.frames);
        let counters = &self.counters;
        let (closes_idle, closes_lifetime) = if end.pooled {
            // A pool's closes: what it opened and no longer holds (the last frame's sums).
            let closes = hub.frames.last().map_or(0, |f| f.app.totals.closes);
            let lifetime = counters.lifetime_closes.load(Ordering::Relaxed);
            (closes.saturating_sub(lifetime), lifetime)
        } else {
            (0, 0)
        };
        Summary {
            completed: a.completed,
            failed: a.failed,
            errors: a.errors,
            latency_ms: latency_summary(&a.latency),
            acquire_wait_ms: latency_summary(&a.acquire_wait),
            connect_ms: latency_summary(&all_connects(&a)),
            connect_tls_ms: latency_summary(&a.connect_tls),
            connect_plain_ms: latency_summary(&a.connect_plain),
            connect_tls_nagle_ms: latency_summary(&a.connect_tls_nagle),
            connect_tls_nodelay_ms: latency_summary(&a.connect_tls_nodelay),
            connect_plain_nagle_ms: latency_summary(&a.connect_plain_nagle),
            connect_plain_nodelay_ms: latency_summary(&a.connect_plain_nodelay),
            query_ms: latency_summary(&a.query),
            failed_ms: latency_summary(&a.failed_after),
            peak_server_connections: hub.server_connections,
            other_backends_at_peak: hub.other_backends_at_peak,
            peak_pool_size: hub.pool_size,
            peak_in_use: app.holding.count,
            peak_waiters: app.waiting.count,
            peak_in_flight: app.in_flight.count,
            peak_connecting: app.connecting.count,
            mean_in_use: poollab_shared::activity::mean_in_use(&a.requests),
            busiest_ms: app.busiest().map(|(_, _, at)| at),
            peak_idle_in_transaction: hub.idle_in_transaction,
            peak_pooler_servers: pooler.servers,
            peak_pooler_clients: pooler.clients,
            peak_pooler_waiting: pooler.waiting,
            pool_size_at_end: hub.pool_size_at_end,
            connections_opened: counters.connects.load(Ordering::Relaxed),
            tls_connections: counters.tls_connects.load(Ordering::Relaxed),
            closes_idle,
            closes_lifetime,
            refused_connects: hub.refused,
            duration_ms: end.duration.as_millis() as u64,
            load_started_ms: end.load_started.as_millis() as u64,
            throughput_per_s: if secs > 0.0 { (a.completed as f64 / secs * 10.0).round() / 10.0 } else { 0.0 },
            leaked: end.leaked,
            leak_suspects: hub.leak_suspects,
            cache_hits: end.cache_hits,
            cache_misses: end.cache_misses,
            breaker_opened: end.breaker_opened,
            pace_query_ms: end.pace.map_or(0.0, |p| p.0),
            pace_rate_per_s: end.pace.map_or(0, |p| p.1),
            error_examples: a.error_examples.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use poollab_shared::ErrorKind;

    use super::*;
    use crate::db::DemoRow;
    use crate::engine::strategy::RequestError;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An arrival `n` ms ago: a request recorded now took that long.
    fn ago(n: u64) -> Instant {
        Instant::now().checked_sub(ms(n)).unwrap_or_else(Instant::now)
    }

    fn served(t: Timings, ok: bool) -> Served {
        let outcome = if ok {
            Ok((DemoRow { id: 1, name: String::new(), email: String::new() }, t))
        } else {
            Err(RequestError::new(ErrorKind::Other, "no TLS", t))
        };
        Served { outcome, cache_hit: false }
    }

    #[test]
    fn only_connects_that_succeeded_make_connect_figures() {
        let recorder = RunRecorder::new(Arc::default());
        let tls = |connect, connected, nodelay| Timings {
            connect: ms(connect),
            connected,
            tls: true,
            nodelay,
            query: ms(1),
            ..Timings::default()
        };
        // Two TLS connects fail fast (a server without TLS), three succeed.
        recorder.record(0, 0, ago(2), &served(tls(2, false, false), false));
        recorder.record(1, 0, ago(2), &served(tls(2, false, true), false));
        recorder.record(2, 0, ago(91), &served(tls(90, true, false), true));
        recorder.record(3, 0, ago(9), &served(tls(8, true, true), true));
        // A connect that succeeded, whose query then failed, was a connect all the same.
        recorder.record(4, 0, ago(11), &served(tls(10, true, true), false));
        let plain = Timings { connect: ms(5), connected: true, ..Timings::default() };
        recorder.record(5, 0, ago(6), &served(plain, true));
        let s = recorder.summary(&RunEnd { duration: ms(100), ..RunEnd::default() });
        assert_eq!((s.completed, s.failed), (3, 3));
        let near = |got: f64, want: f64| (got - want).abs() < want / 100.0;
        assert!(near(s.connect_tls_nagle_ms.max, 90.0), "{:?}", s.connect_tls_nagle_ms);
        assert!(near(s.connect_tls_nodelay_ms.p50, 8.0), "{:?}", s.connect_tls_nodelay_ms);
        assert!(near(s.connect_tls_nodelay_ms.max, 10.0), "{:?}", s.connect_tls_nodelay_ms);
        assert!(near(s.connect_tls_ms.p50, 10.0), "the failed 2 ms attempts are left out: {:?}", s.connect_tls_ms);
        assert!(near(s.connect_plain_ms.p50, 5.0) && near(s.connect_ms.max, 90.0), "{s:?}");
        assert!(near(s.connect_plain_nagle_ms.p50, 5.0) && s.connect_plain_nodelay_ms.max == 0.0, "{s:?}");
        assert!((2.0..3.0).contains(&s.failed_ms.p50), "the failures are in failed_ms: {:?}", s.failed_ms);
        let records = recorder.take_requests();
        assert!(near(records[0].connect_ms, 2.0), "the request's own record keeps the time it tried");
    }
}
