//! Charts in plain SVG (plain SVG keeps the wasm small). [`LineChart`] draws series over the
//! run's time, with units on both axes, the server's limit as a line (or a marker when it is far
//! off the scale), the run's events marked on the time axis, a cursor where the picture is, and a
//! text description and a table as its text twins. [`Chart`] feeds it a run's frames as one of
//! four views: connections, the whole server by state, throughput and errors, or latency.

use leptos::prelude::*;
use poollab_shared::activity::{self, AppPeaks};
use poollab_shared::frame::SHOW_POOLS_EVERY_MS;
use poollab_shared::rate::rate;
use poollab_shared::{BreakerState, Dec, Frame, PoolFrame, PoolerFrame, RequestRecord, RunEvent, ServerFrame, Summary};

use crate::escape;
use crate::tape::Tape;

/// One line: a name for the legend, a CSS class for its colour, and its (time s, value) points.
/// It is drawn in steps: a value holds from its point to the next one (a sample is what was last
/// read; a count is of its window, which starts at its point), so no line moves before the
/// instant something was read or counted; the last value holds on to `until` (the end of the last
/// window counted), if given.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
    pub until: Option<f64>,
}

/// Something that happened at a moment of the run, marked on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub t_s: f64,
    pub label: String,
}

/// The moments of a run worth marking: the outage beginning and ending and the breaker opening and
/// closing, at the instants the run `recorded` them once it is over (while it goes, or for a run
/// stored before they were recorded, at the end of the first frame that showed each); and from
/// its frames, the leak detector first flagging a request, idle connections closed.
pub fn events(frames: &[Frame], readings: &[ServerFrame], recorded: Option<&[RunEvent]>) -> Vec<Event> {
    let recorded = recorded.filter(|r| !r.is_empty());
    // The recorded ones first, then the frames' (in no order of time: each label takes a row
    // where it runs into no other).
    let mut out: Vec<Event> = recorded
        .unwrap_or_default()
        .iter()
        .map(|e| Event { t_s: e.at_ms / 1000.0, label: e.kind.label().to_owned() })
        .collect();
    let mut prev: Option<&Frame> = None;
    let mut leak_seen = false;
    let mut idle_marked = false;
    // A pool's closes during or after an outage are broken connections, not idle ones.
    let mut broken_seen = false;
    let mut lifetime_so_far = 0;
    for f in frames {
        let t_s = f.elapsed_ms as f64 / 1000.0;
        let mut mark = |label: &str| out.push(Event { t_s, label: label.to_owned() });
        if let Some(p) = prev.filter(|_| recorded.is_none()) {
            if f.app.outage && !p.app.outage {
                mark("outage begins");
            }
            if !f.app.outage && p.app.outage {
                mark("outage ends");
            }
            match (p.app.breaker, f.app.breaker) {
                (Some(a), Some(BreakerState::Open)) if a != BreakerState::Open => mark("breaker opens"),
                (Some(a), Some(BreakerState::Closed)) if a != BreakerState::Closed => mark("breaker closes"),
                _ => {}
            }
        }
        if !leak_seen && f.app.held_too_long_count > 0 {
            leak_seen = true;
            mark("first leak named");
        }
        // A pool's closes that are not retirements are idle closes, or broken connections.
        // Failures that break connections: the server ending sessions, PgBouncer giving up on a
        // client (on a ping, too, before any request fails: behind PgBouncer a close is one).
        // (A pool's acquire timeouts and a breaker's refusals break none.)
        let e = &f.app.totals.errors;
        broken_seen |= f.app.outage || f.pooler.is_some() || f.app.totals.failed > e.acquire_timeout + e.circuit_open;
        // Retirements are counted as they are decided and closes once they are done, so compare
        // what the run has done so far, not one frame's deltas.
        lifetime_so_far += f.app.closes_lifetime_delta;
        let idle_closes = f.app.totals.closes.saturating_sub(lifetime_so_far);
        if f.pool.is_some() && idle_closes > 0 && !idle_marked {
            idle_marked = true;
            // At the first of the run's 10 ms readings in this frame's interval to read the pools
            // smaller than the one before it (where the churn chart's pool size steps down).
            let size = |r: &ServerFrame| PoolFrame::sum(&r.instances).map_or(0, |p| p.size);
            let from = f.elapsed_ms.saturating_sub(f.interval_ms + 10) as f64;
            let shrank = readings.windows(2).map(|w| (crate::tape::read_at(&w[1], 0.0), size(&w[0]) > size(&w[1])));
            let at = shrank.filter(|(at, _)| (from..=f.elapsed_ms as f64).contains(at)).find(|(_, fewer)| *fewer);
            let label = if broken_seen { "broken connections closed" } else { "idle closes begin" };
            out.push(Event { t_s: at.map_or(t_s, |(at, _)| at / 1000.0), label: label.to_owned() });
        }
        prev = Some(f);
    }
    out
}

/// Which view of a run's frames to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Connections,
    ServerStates,
    Throughput,
    Latency,
    Churn,
    Pooler,
}

type Pick = fn(&Frame) -> Option<f64>;

/// How long the run lasted, for its rates: its summary's duration once it is over, else how far
/// its frames have come (so the chart, the tiles and the summary agree on per second or not).
pub fn run_ms(tape: &Tape, frames: &[Frame]) -> u64 {
    tape.run
        .with(|r| r.as_ref().and_then(|r| r.summary.as_ref()).map(|s| s.duration_ms))
        .unwrap_or_else(|| frames.last().map_or(0, |f| f.elapsed_ms))
}

fn pool(f: &Frame, pick: fn(&PoolFrame) -> u64) -> Option<f64> {
    f.pool.as_ref().map(|p| pick(p) as f64)
}

/// The server's client backends in one state; the lab's own reader is active (it runs its query),
/// so the states add up to all client backends.
fn state(f: &Frame, name: &str) -> f64 {
    let reader = name == "active" && f.server.reachable;
    (f.server.by_state.iter().filter(|c| c.name == name).map(|c| c.count).sum::<u64>() + u64::from(reader)) as f64
}

impl ChartKind {
    fn id(self) -> &'static str {
        match self {
            ChartKind::Connections => "chart",
            ChartKind::ServerStates => "chart-server-states",
            ChartKind::Throughput => "chart-throughput",
            ChartKind::Latency => "chart-latency",
            ChartKind::Churn => "chart-churn",
            ChartKind::Pooler => "chart-pooler",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ChartKind::Connections => "Connections over time",
            ChartKind::ServerStates => "The whole server's client backends by state (pg_stat_activity)",
            ChartKind::Throughput => "Requests answered and failed over the run",
            ChartKind::Latency => "Latency of the requests answered in each tenth of a second",
            ChartKind::Churn => "Connections opened and closed since the run started",
            ChartKind::Pooler => "PgBouncer's clients and server connections (SHOW POOLS, sampled)",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            ChartKind::Connections => "connections or requests (see legend)",
            ChartKind::ServerStates | ChartKind::Churn => "connections",
            ChartKind::Pooler => "connections, or clients waiting",
            ChartKind::Throughput => "requests (unit in the legend)",
            ChartKind::Latency => "milliseconds",
        }
    }

    fn series(self) -> &'static [(&'static str, &'static str, Pick)] {
        match self {
            ChartKind::Connections => &[
                ("server backends of this run", "s-server", |f| Some(f.server.run_backends as f64)),
                ("pool: in use", "s-inuse", |f| pool(f, |p| p.in_use)),
                ("pool: opening", "s-connecting", |f| pool(f, |p| p.connecting)),
                ("pool: connections, open or opening (sqlx's size)", "s-size", |f| pool(f, |p| p.size)),
                ("waiting for a connection", "s-wait", |f| pool(f, |p| p.waiters)),
                ("naive: connections open", "s-inuse", |f| f.pool.is_none().then_some(f.app.holding as f64)),
                ("naive: connecting", "s-connecting", |f| f.pool.is_none().then_some(f.app.connecting as f64)),
            ],
            ChartKind::ServerStates => &[
                ("all client backends, the lab's own reader among them", "s-server", |f| {
                    Some(f.server.client_backends() as f64)
                }),
                ("active (running a query)", "s-inuse", |f| Some(state(f, "active"))),
                ("idle (connected, doing nothing)", "s-size", |f| Some(state(f, "idle"))),
                ("idle in transaction", "s-intx", |f| Some(state(f, "idle in transaction"))),
            ],
            // Counts in each frame: [`Chart`] makes them rates.
            ChartKind::Throughput => &[
                ("answered", "s-inuse", |f| Some(f.app.completed_delta as f64)),
                ("failed", "s-bad", |f| Some(f.app.failed_delta as f64)),
            ],
            ChartKind::Latency => {
                &[("p50", "s-size", |f| f.app.latency_p50_ms), ("p99", "s-wait", |f| f.app.latency_p99_ms)]
            }
            ChartKind::Churn => &[
                // Wide, under the others: where everything opened has closed, both show.
                ("closed so far", "s-closed", |f| Some(f.app.totals.closes as f64)),
                ("opened so far", "s-inuse", |f| Some(f.app.totals.connects as f64)),
                ("open or opening (sqlx's size)", "s-size", |f| pool(f, |p| p.size)),
            ],
            ChartKind::Pooler => &[
                ("client connections", "s-clients", |f| f.pooler.map(|p| p.clients() as f64)),
                ("clients waiting for a server connection", "s-wait", |f| f.pooler.map(|p| p.cl_waiting as f64)),
                ("its server connections", "s-size", |f| f.pooler.map(|p| p.servers() as f64)),
                ("lent to a client", "s-inuse", |f| f.pooler.map(|p| p.sv_active as f64)),
                ("server backends of this run (sampled)", "s-server", |f| {
                    f.pooler.is_some().then_some(f.server.run_backends as f64)
                }),
            ],
        }
    }
}

/// The app's figures a chart draws from every request's record once a run's records are read
/// (the same counting as the picture's and the summary's peaks), instead of the frames' samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    Holding,
    Waiting,
    Connecting,
    Answered,
    Failed,
}

impl Counted {
    fn of(self, w: &activity::Window) -> f64 {
        (match self {
            Counted::Holding => w.most.holding,
            Counted::Waiting => w.most.waiting,
            Counted::Connecting => w.most.connecting,
            Counted::Answered => w.answered,
            Counted::Failed => w.failed,
        }) as f64
    }
}

impl ChartKind {
    /// The lines counted from the records, for a `pooled` run or not: (name, class, figure).
    fn counted(self, pooled: bool) -> &'static [(&'static str, &'static str, Counted)] {
        match (self, pooled) {
            (ChartKind::Connections, true) => &[
                ("pool: in use (most at once)", "s-inuse", Counted::Holding),
                ("waiting for a connection (most at once)", "s-wait", Counted::Waiting),
            ],
            (ChartKind::Connections, false) => &[
                ("naive: connections open (most at once)", "s-inuse", Counted::Holding),
                ("naive: connecting (most at once)", "s-connecting", Counted::Connecting),
            ],
            (ChartKind::Throughput, _) => {
                &[("answered", "s-inuse", Counted::Answered), ("failed", "s-bad", Counted::Failed)]
            }
            _ => &[],
        }
    }

    /// The sampled lines still drawn from frames beside the counted ones (the server's, and
    /// sqlx's own gauges).
    fn sampled_beside_counted(self) -> &'static [(&'static str, &'static str, Pick)] {
        match self {
            ChartKind::Connections => &[
                ("server backends of this run (sampled)", "s-server", |f| {
                    Some(f.server.run_backends_peak.max(f.server.run_backends) as f64)
                }),
                ("pool: opening (sqlx, sampled)", "s-connecting", |f| pool(f, |p| p.connecting)),
                ("pool: connections, open or opening (sqlx's size, sampled)", "s-size", |f| pool(f, |p| p.size)),
                // The pool's busy connections that no request holds: sqlx is pinging them.
                ("pool: being pinged (sqlx, sampled)", "s-pinged", |f| {
                    let held: u64 = f.instances.iter().map(|i| i.holding).sum();
                    pool(f, |p| p.in_use).map(|busy| (busy - held as f64).max(0.0))
                }),
            ],
            _ => &[],
        }
    }
}

/// Width of the windows a chart counts a run's answers in, once its records are read.
const WINDOW_MS: f64 = 100.0;

/// A chart's lines: from the frames while the run goes; once its `records` are read, the app's
/// figures are counted from them (the most at once in each frame's window, and the answers in
/// each tenth of a second) and only the sampled lines come from the frames.
///
/// The server's lines (`s-server`) read the run's first readings of the server where it kept them
/// (`Timeline::readings`, every 10 ms), each at the instant it shows, and the frames' after them:
/// the same readings the picture pairs with its instant.
pub fn lines(
    kind: ChartKind,
    frames: &[Frame],
    readings: &[ServerFrame],
    poolers: &[PoolerFrame],
    records: Option<&[RequestRecord]>,
    run_ms: u64,
) -> Vec<Series> {
    let pooled = frames.last().is_some_and(|f| f.pool.is_some());
    let throughput = kind == ChartKind::Throughput;
    let name = |name: &str| if throughput { format!("{name} {}", rate(0.0, 0, run_ms).1) } else { name.to_owned() };
    // The first readings as frames of their own instant, with PgBouncer's reading beside them
    // (or the frames', for the lines that are drawn only with one).
    let shows = |r: &ServerFrame| crate::tape::read_at(r, 0.0);
    let fine: Vec<Frame> = readings
        .iter()
        .map(|r| Frame {
            server: r.clone(),
            pooler: r.pooler.or(frames.first().and_then(|f| f.pooler)),
            pool: PoolFrame::sum(&r.instances),
            instances: r.instances.clone(),
            ..Frame::default()
        })
        .collect();
    let fine_until = readings.last().map(shows);
    // A frame's answers and latencies are of its interval, drawn across it.
    let of_interval = matches!(kind, ChartKind::Throughput | ChartKind::Latency);
    let frames_end = frames.last().map(|f| f.elapsed_ms as f64 / 1000.0);
    let from_frames = |picks: &[(&str, &'static str, Pick)]| -> Vec<Series> {
        picks
            .iter()
            .map(|(n, class, pick)| {
                // What was read with the server: its own lines, PgBouncer's (its readings kept
                // beside the server's) and sqlx's pools (read with it), but not the app's counts.
                // (The churn chart's counts since the start are the app's; its pool size is read.)
                let read_with_server =
                    !of_interval && (kind != ChartKind::Churn || *class == "s-size") && !n.starts_with("naive");
                // Each at the instant it was read: PgBouncer's at its own.
                let bouncer = kind == ChartKind::Pooler && *class != "s-server";
                let mut points: Vec<(f64, f64)> = Vec::new();
                if bouncer && !poolers.is_empty() {
                    // Every one of PgBouncer's kept readings, then the frames' taken after them:
                    // the readings the summary's peaks are of.
                    points.extend(poollab_shared::frame::pooler_readings(poolers, frames).into_iter().filter_map(
                        |p| {
                            let f = Frame { pooler: Some(p), ..Frame::default() };
                            Some((p.shows_at()? / 1000.0, pick(&f)?))
                        },
                    ));
                    return Series { name: name(n), class, points, until: None };
                }
                if read_with_server {
                    let at =
                        |r: &ServerFrame| r.pooler.and_then(|p| p.shows_at()).filter(|_| bouncer).unwrap_or(shows(r));
                    points.extend(fine.iter().zip(readings).filter_map(|(f, r)| Some((at(r) / 1000.0, pick(f)?))));
                }
                // A frame's server figure may be the most since the frame before it: only frames
                // whose whole interval is past the readings add to them (when this line had any:
                // a stored run older than the pools' readings has the frames' only).
                let after = fine_until.filter(|_| !points.is_empty());
                let past = |f: &&Frame| past_readings(f, after);
                points.extend(frames.iter().filter(past).filter_map(|f| {
                    let v = pick(f)?;
                    // PgBouncer's lines at the instant its reading was taken; a frame's counts
                    // of its interval (answers, latencies) from the interval's start.
                    let read = f.pooler.and_then(|p| p.shows_at()).filter(|_| bouncer);
                    let from = if of_interval { f.elapsed_ms.saturating_sub(f.interval_ms) } else { f.elapsed_ms };
                    let t = read.unwrap_or(from as f64) / 1000.0;
                    Some((t, if throughput { rate(v, f.interval_ms, run_ms).0 } else { v }))
                }));
                Series { name: name(n), class, points, until: frames_end.filter(|_| of_interval) }
            })
            .collect()
    };
    let all = match records.filter(|r| !r.is_empty() && !kind.counted(pooled).is_empty()) {
        None => from_frames(kind.series()),
        Some(records) => {
            // From the load's first request, answers are counted per tenth of a second; the most at
            // once in windows of a 200th of the run (5 to 100 ms), fine enough to follow the
            // picture's instants. Each window's count is drawn across it, from its start to its end.
            let width = if throughput {
                WINDOW_MS
            } else {
                let last = activity::last_answer_ms(records).unwrap_or(0.0);
                let end = frames.last().map_or(last, |f| (f.elapsed_ms as f64).max(last));
                (end / 200.0).clamp(5.0, WINDOW_MS).ceil()
            };
            let mut edges = activity::edges_every(width, records);
            if !throughput {
                // On to the last frame, for the leaked connections still held after the last answer.
                let end = frames.last().map_or(0.0, |f| f.elapsed_ms as f64);
                while edges.last().is_some_and(|e| *e < end) {
                    edges.push(edges.last().copied().unwrap_or(0.0) + width);
                }
            }
            let at: Vec<f64> = edges.windows(2).map(|w| w[0]).collect();
            let until = (edges.len() > 1).then(|| edges.last().copied().unwrap_or(0.0) / 1000.0);
            let windows = activity::windows(records, &edges);
            let mut lines = from_frames(kind.sampled_beside_counted());
            lines.extend(kind.counted(pooled).iter().map(|(n, class, counted)| {
                Series {
                    name: name(n),
                    class,
                    points: windows
                        .iter()
                        .zip(&at)
                        .map(|(w, t)| {
                            let v = counted.of(w);
                            (t / 1000.0, if throughput { rate(v, WINDOW_MS as u64, run_ms).0 } else { v })
                        })
                        .collect(),
                    until,
                }
            }));
            lines
        }
    };
    // The legend lists only what is drawn: a naive run has no pool lines, and a sampled line that
    // never left 0 (a gauge whose samples missed what it counted) would lie along the axis, unseen.
    let unseen = |s: &Series| s.name.contains("sampled") && s.points.iter().all(|p| p.1 == 0.0);
    all.into_iter().filter(|s| !s.points.is_empty() && !unseen(s)).collect()
}

/// A run's frames as one of the [`ChartKind`] views.
#[component]
pub fn Chart(tape: Tape, kind: ChartKind) -> impl IntoView {
    let series = Signal::derive(move || {
        let read = tape.records_read();
        tape.with_frames(|frames| {
            // Throughput is a rate over what the run has lasted so far: per second only from 2 s.
            let run_ms = run_ms(&tape, frames);
            tape.with_readings(|readings| {
                tape.with_poolers(|poolers| {
                    tape.with_requests(|records| {
                        lines(kind, frames, readings, poolers, read.then_some(records), run_ms)
                    })
                })
            })
        })
    });
    let limit = Signal::derive(move || match kind {
        ChartKind::Connections | ChartKind::ServerStates | ChartKind::Churn => {
            Some(tape.server().max_connections as f64).filter(|l| *l > 0.0)
        }
        _ => None,
    });
    let events = Signal::derive(move || {
        let read = tape.records_read();
        tape.with_frames(|frames| {
            tape.with_readings(|readings| {
                tape.with_events(|recorded| events(frames, readings, read.then_some(recorded)))
            })
        })
    });
    // Where the picture is: its named instant once the run is over, else its frame's.
    let cursor = Signal::derive(move || {
        tape.cursor.get().or(tape.instant.get().map(|_| 0))?;
        match tape.shown() {
            Some(shown) => Some(shown.at_ms() / 1000.0),
            None => tape.frame().map(|f| f.elapsed_ms as f64 / 1000.0),
        }
    });
    let description = Signal::derive(move || {
        // PgBouncer's peaks are the summary's, once the run has one: its readings every 10 ms.
        if let Some(said) =
            tape.run.with(|r| r.as_ref()?.summary.as_ref().filter(|_| kind == ChartKind::Pooler).map(pooler_text))
        {
            return said;
        }
        let read = tape.records_read();
        tape.with_frames(|frames| {
            let run_ms = run_ms(&tape, frames);
            tape.with_readings(|readings| {
                tape.with_requests(|records| describe(kind, frames, readings, read.then_some(records), run_ms))
            })
        })
    });
    // The app's peaks the description states, marked as the page marks every figure it shows.
    let figures = Signal::derive(move || match kind {
        ChartKind::Connections if tape.records_read() => tape.with_requests(|r| {
            let p = AppPeaks::of(r);
            let pooled = tape.with_frames(|f| f.last().is_some_and(|f| f.pool.is_some()));
            if pooled {
                vec![("peak_in_use", p.holding.count as f64), ("peak_waiters", p.waiting.count as f64)]
            } else {
                vec![("peak_in_use", p.holding.count as f64), ("peak_connecting", p.connecting.count as f64)]
            }
        }),
        _ => Vec::new(),
    });
    view! {
        <LineChart id=kind.id() title=kind.title() unit=kind.unit() series=series limit=limit events=events cursor=cursor description=description figures=figures />
    }
}

/// What PgBouncer's chart says of a run that is over: its `SHOW POOLS` peaks (the summary's) as
/// what they are, its own readings; the picture's words set them beside the app's counts.
pub fn pooler_text(s: &Summary) -> String {
    format!(
        "PgBouncer's SHOW POOLS, read every {SHOW_POOLS_EVERY_MS} ms (a sample, which misses what lasts less): at most {} clients, {} of them waiting, and {} server connections seen. Its readings and the server's are taken at their own instants, a few ms apart, and the server counts a backend only once logged in: while PgBouncer opens connections, its lines can stand above the server's.",
        s.peak_pooler_clients, s.peak_pooler_waiting, s.peak_pooler_servers
    )
}

/// Where a load of `run_ms` lay on its run's clock, as every caption gives it: to its last answer
/// (in whole ms from 10 ms on, past a second too, where the picture names moments to the tenth),
/// from there less the load's time as printed elsewhere, so that the three read as a sum that
/// holds: 8.3's "from 0 ms to 1297 ms" stood beside "the load took 1296 ms"; in tenths of a
/// second, "from 828 ms to 2.3 s" beside 1.4 s did not add up either. The first request's own
/// start may differ from the first end by under a millisecond. None without records.
pub fn load_span(records: &[RequestRecord], run_ms: u64) -> Option<(String, String)> {
    let last = poollab_shared::activity::last_answer_ms(records)?;
    Some(match last {
        // In whole ms, past a second too (where the picture names moments to the tenth).
        l if l >= 10.0 => (
            format!("{:.0} ms", Dec((l.round_ties_even() - (run_ms as f64).round_ties_even()).max(0.0))),
            format!("{:.0} ms", Dec(l)),
        ),
        l => (
            crate::tape::ms_text((crate::tape::shown_ms(l) - crate::tape::shown_ms(run_ms as f64)).max(0.0)),
            crate::tape::ms_text(l),
        ),
    })
}

/// Whether a frame's whole interval comes after the run's first readings (which end at `until`,
/// none when it kept none): only then does a sampled line draw the frame's reading beside them.
fn past_readings(f: &Frame, until: Option<f64>) -> bool {
    until.is_none_or(|u| f.elapsed_ms.saturating_sub(f.interval_ms) as f64 >= u)
}

/// The longest a sampled line (the server's, sqlx's pools read with it) holds one reading: the
/// widest gap between the instants of two readings it draws, the run's first readings
/// (`readings`, asked every 10 ms, each at the instant it shows: a reading answers late while the
/// server's CPUs are busy) and then the frames' past them (one every 100 ms). None with fewer
/// than two.
pub fn widest_gap(readings: &[ServerFrame], frames: &[Frame]) -> Option<f64> {
    let mut at: Vec<f64> = readings.iter().filter_map(ServerFrame::shows_at).collect();
    let fine_until = at.last().copied();
    at.extend(frames.iter().filter(|f| past_readings(f, fine_until)).map(|f| f.elapsed_ms as f64));
    at.windows(2).map(|w| w[1] - w[0]).reduce(f64::max)
}

fn describe(
    kind: ChartKind,
    frames: &[Frame],
    readings: &[ServerFrame],
    records: Option<&[RequestRecord]>,
    run_ms: u64,
) -> String {
    let Some(f) = frames.last() else { return "No frames yet: the chart draws the next run live.".to_owned() };
    // The frames span the run's warm-up, load and last readings; once it is over, say which part
    // of them the load was, so "over 0.3 s" does not stand beside "the load took 227 ms" unexplained.
    let drawn = format!("{:.1}", Dec(f.elapsed_ms as f64 / 1000.0));
    let over = if run_ms < f.elapsed_ms && format!("{:.1}", Dec(run_ms as f64 / 1000.0)) != drawn {
        let span = records
            .and_then(|r| load_span(r, run_ms))
            .map_or(String::new(), |(from, to)| format!(", from {from} to {to}"));
        format!("Over the run's {drawn} s (the load took {} of them{span})", crate::tape::ms_text(run_ms as f64))
    } else {
        format!("Over {drawn} s")
    };
    let most = |pick: fn(&Frame) -> f64| Dec(frames.iter().map(pick).fold(0.0, f64::max));
    // Once the records are read the app's peaks are theirs, the ones the picture and the summary
    // show; before, the frames' readings.
    let peaks = records.filter(|r| !r.is_empty()).map(AppPeaks::of);
    match kind {
        ChartKind::Connections => format!(
            "{over}: at most {} server backends of this run (sampled, each counted from its login until its process exits, after the app closes it){}.{}{}",
            most(|f| f.server.run_backends_peak.max(f.server.run_backends) as f64),
            match (f.pool, peaks) {
                (Some(_), Some(p)) => format!(
                    "; counted from every request's record, at most {} connections in use at once and, at its own moment, at most {} requests waiting",
                    p.holding.count, p.waiting.count
                ),
                (None, Some(p)) => format!(
                    "; counted from every request's record, at most {} connections open at once and, at its own moment, at most {} requests connecting",
                    p.holding.count, p.connecting.count
                ),
                // While the run goes: the server's line only (the app's are counted once it is over).
                (_, None) => String::new(),
            },
            if peaks.is_some() {
                " A line \"most at once\" draws the most of each short window, each at its own instant in it, and a sampled line one reading in it: lines added together can come to more, or less, than were in flight, or than a pool's size."
            } else {
                ""
            },
            // A sampled line (the server's, sqlx's pool read with it) held flat for tens of ms
            // beside a moving counted line: say how long.
            match widest_gap(readings, frames).filter(|gap| *gap >= 20.0 && peaks.is_some()) {
                Some(gap) => format!(
                    " A sampled line holds each reading (a dot) until the next, here up to {} later (a reading waits for busy CPUs on the server's machine): what lasts less can fall between two.",
                    crate::tape::ms_text(gap)
                ),
                None => String::new(),
            }
        ),
        ChartKind::ServerStates => format!(
            "{over} the server had at most {} client backends; at the end {} active and {} idle.",
            most(|f| f.server.client_backends() as f64),
            Dec(state(f, "active")),
            Dec(state(f, "idle"))
        ),
        ChartKind::Throughput if records.is_some_and(|r| !r.is_empty()) => {
            let records = records.unwrap_or_default();
            let windows = activity::windows(records, &activity::edges_every(WINDOW_MS, records));
            let most = |n: fn(&activity::Window) -> u64| {
                Dec(windows.iter().map(|w| rate(n(w) as f64, WINDOW_MS as u64, run_ms).0).fold(0.0, f64::max))
            };
            let (unit, answered, failed) = (rate(0.0, 0, run_ms).1, most(|w| w.answered), most(|w| w.failed));
            format!(
                "{} answered and {} failed, counted from every request's record in each tenth of a second: at most {answered:.0} answered and {failed:.0} failed {unit}.{}",
                records.iter().filter(|r| r.outcome == "ok").count(),
                records.iter().filter(|r| r.outcome != "ok").count(),
                // 13.1's 110 failed a second beside arrivals at 100.
                if poollab_shared::rate::per_second(run_ms) {
                    " A tenth's count times ten: one request more or less in a tenth moves it by ten."
                } else {
                    ""
                }
            )
        }
        // While the run goes; its rates are counted from the records once it is over.
        ChartKind::Throughput => {
            format!("{over}: {} answered and {} failed.", f.app.totals.completed, f.app.totals.failed)
        }
        ChartKind::Churn => {
            format!(
                "{over} the app opened {} connections and closed {} (counted every tenth of a second: a close shows at the tenth after it).",
                f.app.totals.connects, f.app.totals.closes
            )
        }
        ChartKind::Pooler => format!(
            "{over} PgBouncer's SHOW POOLS (sampled) showed at most {} clients waiting at once, and {} server connections.",
            most(|f| f.pooler.map_or(0.0, |p| p.cl_waiting as f64)),
            most(|f| f.pooler.map_or(0.0, |p| p.servers() as f64)),
        ),
        ChartKind::Latency => format!(
            "{over}: the highest p99 of a tenth of a second was {:.1} ms (each tenth's p99 counts only the requests answered in it; the run's own p99 counts them all together).",
            most(|f| f.app.latency_p99_ms.unwrap_or(0.0))
        ),
    }
}

const W: f64 = 720.0;
const H: f64 = 230.0;
const LEFT: f64 = 58.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 24.0;
const RIGHT: f64 = 12.0;

/// What [`LineChart`] draws: the lines, and what goes around them.
struct Drawing<'a> {
    id: &'a str,
    title: &'a str,
    unit: &'a str,
    series: &'a [Series],
    limit: Option<f64>,
    events: &'a [Event],
    cursor: Option<f64>,
    description: &'a str,
    /// Figures the description states, by name, with their exact values (`data-figure`).
    figures: &'a [(&'static str, f64)],
}

/// The chart as SVG text (redrawn whole at every frame, which text does with little code).
fn svg(d: &Drawing) -> String {
    use std::fmt::Write;
    let data_max = d.series.iter().flat_map(|s| s.points.iter().map(|(_, v)| *v)).fold(0.0, f64::max);
    // The scale fits the lines drawn; the limit joins it only when it is near them.
    let limit = d.limit.unwrap_or(0.0);
    let fits = limit > 0.0 && limit <= data_max.max(4.0) * 1.5;
    let y_max = nice_max(if fits { limit.max(data_max) } else { data_max.max(4.0) } * 1.08);
    // A little room past the last point, where each line holds its last value: a count that
    // changed at the last instant (the churn chart's last close) shows, not only a rise at the edge.
    // The axis ends there (and at the last event marked), so that a caption's "over the run's
    // 0.3 s" stands beside an axis of 0.3 s, not one stretched to a floor of half a second.
    let last = d.series.iter().flat_map(|s| s.points.last().map(|(t, _)| s.until.unwrap_or(*t).max(*t)));
    let t_max = last.chain(d.events.iter().map(|e| e.t_s)).fold(0.1, f64::max) * 1.03;
    let x = |t: f64| LEFT + t / t_max * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - v / y_max * (H - BOTTOM - TOP);
    let points = d.series.first().map_or(0, |s| s.points.len());
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" data-testid="{id}" data-points="{points}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(d.title),
        escape(d.description),
        id = d.id,
        w = Dec(W),
        h = Dec(H)
    );
    let step = nice_step(y_max / 4.0);
    let mut v = 0.0;
    while v <= y_max + 1e-9 {
        let _ = write!(
            o,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{yv:.1}" y2="{yv:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            Dec(W - RIGHT),
            Dec(LEFT - 6.0),
            Dec(y(v) + 4.0),
            tick(v),
            left = Dec(LEFT),
            yv = Dec(y(v))
        );
        v += step;
    }
    let t_step = nice_step(t_max / 6.0);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let _ = write!(
            o,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            Dec(x(t)),
            Dec(H - BOTTOM + 15.0),
            tick(t)
        );
        t += t_step;
    }
    let mid = Dec((H - BOTTOM + TOP) / 2.0);
    let _ = write!(
        o,
        r#"<text class="axis" x="12" y="{mid}" transform="rotate(-90 12 {mid})" text-anchor="middle">{}</text><text class="axis" x="{}" y="{}" text-anchor="middle">seconds since the run started</text>"#,
        escape(d.unit),
        Dec((W + LEFT) / 2.0),
        Dec(H - 6.0)
    );
    if limit > 0.0 {
        if fits {
            let _ = write!(
                o,
                r#"<line class="limit" x1="{left}" x2="{}" y1="{ly:.1}" y2="{ly:.1}"/><text class="limit-label" x="{}" y="{:.1}" text-anchor="end">server max_connections = {shown}</text>"#,
                Dec(W - RIGHT),
                Dec(W - RIGHT - 4.0),
                Dec(y(limit) - 5.0),
                left = Dec(LEFT),
                ly = Dec(y(limit)),
                shown = Dec(limit)
            );
        } else {
            let _ = write!(
                o,
                r#"<text class="limit-label" x="{}" y="{}" text-anchor="end">↑ server max_connections = {shown}, far above</text>"#,
                Dec(W - RIGHT - 4.0),
                Dec(TOP - 8.0),
                shown = Dec(limit)
            );
        }
    }
    // Each event label takes the first row where it does not run into the one before it.
    let mut row_ends: Vec<f64> = Vec::new();
    for e in d.events {
        let ex = x(e.t_s);
        let row = row_ends.iter().position(|end| *end < ex).unwrap_or(row_ends.len());
        if row == row_ends.len() {
            row_ends.push(0.0);
        }
        row_ends[row] = ex + e.label.len() as f64 * 5.6 + 8.0;
        let _ = write!(
            o,
            r#"<g class="event" data-event="{label}" data-at-ms="{:.1}"><line class="event-line" x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}"/><text class="event-label" x="{:.1}" y="{}">{label}</text></g>"#,
            Dec(e.t_s * 1000.0),
            Dec(H - BOTTOM),
            Dec(ex + 3.0),
            Dec(TOP + 10.0 + row as f64 * 12.0),
            label = escape(&e.label),
            x = Dec(ex),
            top = Dec(TOP)
        );
    }
    let read = |s: &Series| s.name.contains("sampled") || ["chart-pooler", "chart-server-states"].contains(&d.id);
    for s in d.series {
        let _ = write!(o, r#"<polyline class="line {}" data-series="{}" points=""#, s.class, escape(&s.name));
        // In steps: each value holds until the next point (or `until`, or the chart's end; a
        // sampled line's last reading holds nowhere past itself: 16.1's clients stood flat past
        // PgBouncer's last reading while the requests they were failed).
        let last = s.points.last().map(|p| p.0).filter(|_| read(s));
        let ends = s.points.iter().skip(1).map(|(t, _)| *t).chain(Some(last.or(s.until).unwrap_or(t_max)));
        for ((t, v), end) in s.points.iter().zip(ends.map(Some).chain(std::iter::once(None))) {
            let _ = write!(o, "{:.1},{:.1} ", Dec(x(*t)), Dec(y(*v)));
            if let Some(end) = end {
                let _ = write!(o, "{:.1},{:.1} ", Dec(x(end)), Dec(y(*v)));
            }
        }
        o.push_str(r#""/>"#);
        // A sampled line (so named, or any of the charts of readings only) has a dot at its
        // readings, at the value each read: where it holds flat past one, the reading read the
        // same (11.1's server line held 10 across a reading beside in use rising). Readings of
        // one value closer than a dot's width share its dot (PgBouncer's, every 10 ms in 16.1,
        // drew a black bar over its lines' colours).
        if read(s) {
            o.push_str(r#"<path class="dots" d=""#);
            let mut drawn: Option<(f64, f64)> = None;
            for (t, v) in &s.points {
                let (px, py) = (x(*t), y(*v));
                if drawn.is_some_and(|(dx, dy)| dy == py && px - dx < 6.0) {
                    continue;
                }
                drawn = Some((px, py));
                let _ = write!(o, "M{:.1},{:.1}h0", Dec(px), Dec(py));
            }
            o.push_str(r#""/>"#);
        }
    }
    if let Some(t) = d.cursor {
        let _ = write!(
            o,
            r#"<line class="cursor" x1="{cx:.1}" x2="{cx:.1}" y1="{}" y2="{}"/><text class="cursor-label" x="{cx:.1}" y="{}" text-anchor="middle">the picture</text>"#,
            Dec(TOP - 4.0),
            Dec(H - BOTTOM),
            Dec(TOP - 7.0),
            cx = Dec(x(t))
        );
    }
    o.push_str("</svg><ul class=\"legend\">");
    for s in d.series {
        let _ = write!(o, r#"<li><span class="swatch {}" aria-hidden="true"></span>{}</li>"#, s.class, escape(&s.name));
    }
    if d.series.iter().any(read) {
        o.push_str(r#"<li><span aria-hidden="true">●</span> a reading of a sampled line</li>"#);
    }
    let _ = write!(o, r#"</ul><p class="chart-text">{}"#, escape(d.description));
    for (name, v) in d.figures {
        let _ = write!(o, r#"<data data-figure="{name}" data-value="{}"></data>"#, Dec(*v));
    }
    o.push_str("</p>");
    o
}

/// The chart's data as table rows: at most 40, every k-th point of the first line, newest first;
/// another line's value there is its last point at or before that time (a sampled line's latest
/// reading), or `–` before its first.
fn rows(series: &[Series]) -> String {
    use std::fmt::Write;
    let Some(first) = series.first() else { return String::new() };
    let n = first.points.len();
    let k = n.div_ceil(40).max(1);
    let mut o = String::new();
    for i in (0..n).rev().step_by(k) {
        let t = first.points[i].0;
        let _ = write!(o, "<tr><td>{:.2}</td>", Dec(t));
        for s in series {
            match s.points.iter().take_while(|(at, _)| *at <= t + 1e-9).last() {
                Some((_, v)) => {
                    let _ = write!(o, "<td>{:.1}</td>", Dec(*v));
                }
                None => o.push_str("<td>–</td>"),
            }
        }
        o.push_str("</tr>");
    }
    o
}

/// Lines over time, with axes, a limit, events, a cursor, a legend, a text description and a
/// data table.
#[component]
pub fn LineChart(
    id: &'static str,
    #[prop(into)] title: String,
    unit: &'static str,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into)] limit: Signal<Option<f64>>,
    #[prop(into, optional)] events: Signal<Vec<Event>>,
    #[prop(into, optional)] cursor: Signal<Option<f64>>,
    #[prop(into)] description: Signal<String>,
    #[prop(into, optional)] figures: Signal<Vec<(&'static str, f64)>>,
) -> impl IntoView {
    let heading = title.clone();
    let drawn = move || {
        series.with(|all| {
            svg(&Drawing {
                id,
                title: &title,
                unit,
                series: all,
                limit: limit.get(),
                events: &events.get(),
                cursor: cursor.get(),
                description: &description.get(),
                figures: &figures.get(),
            })
        })
    };
    // A run over in a few tenths of a second has too few frames to draw a line through.
    let too_quick = move || {
        let points = series.with(|s| s.first().map_or(0, |s| s.points.len()));
        if points > 0 && points < 4 {
            r#"<p class="note-quick">A run of a few tenths of a second: the sampled lines have few points; the others are counted from every request's record.</p>"#
        } else {
            ""
        }
    };
    // The data as a table, as HTML text (fewer elements, less code in the page).
    let table = move || {
        series.with(|s| {
            let head: String = s.iter().map(|s| format!("<th scope=\"col\">{}</th>", escape(&s.name))).collect();
            format!(
                "<summary>The chart's data as a table</summary><table><thead><tr><th scope=\"col\">Time (s)</th>{head}</tr></thead><tbody>{}</tbody></table>",
                rows(s)
            )
        })
    };
    view! {
        <figure class="chart">
            <strong class="chart-title">{heading}</strong>
            <div class="chart-frame" inner_html=move || format!("{}{}", too_quick(), drawn())></div>
            <details inner_html=table></details>
        </figure>
    }
}

/// A tick label without float noise (0.6, not 0.6000000000000001).
fn tick(v: f64) -> String {
    Dec((v * 1000.0).round() / 1000.0).to_string()
}

/// The top of an axis: a round number at least `v`.
fn nice_max(v: f64) -> f64 {
    let step = nice_step(v / 4.0);
    (v / step).ceil() * step
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    // A whole power (`powi`, multiplications) rather than `powf`, whose general code the page
    // would carry for this one use. Both give the same `f64` for 10^-22 to 10^22, far beyond any
    // scale a chart has.
    let mag = 10f64.powi(raw.log10().floor() as i32);
    let m = raw / mag;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    (nice * mag).max(if raw < 1.0 { raw } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive request: arrived at `start`, connected for 20 ms, held its connection 10 ms more.
    fn naive(n: u64, start: f64, ok: bool) -> RequestRecord {
        RequestRecord {
            n,
            instance: 0,
            start_ms: start,
            acquire_wait_ms: 0.0,
            connect_ms: 20.0,
            query_ms: 5.0,
            total_ms: 31.0,
            outcome: if ok { "ok" } else { "too_many_clients" }.into(),
            cache_hit: false,
            asked_ms: Some(start),
            held_from_ms: ok.then_some(start + 20.0),
            given_back_ms: ok.then_some(start + 30.0),
        }
    }

    fn frames(at: &[u64]) -> Vec<Frame> {
        at.iter().map(|&ms| Frame { elapsed_ms: ms, interval_ms: 100, ..Frame::default() }).collect()
    }

    /// A chart of `series` alone: no limit, events, cursor or words.
    fn bare(id: &str, series: &[Series]) -> String {
        svg(&Drawing {
            id,
            title: "t",
            unit: "u",
            series,
            limit: None,
            events: &[],
            cursor: None,
            description: "",
            figures: &[],
        })
    }

    #[test]
    fn once_the_records_are_read_the_lines_peak_where_the_picture_does() {
        // 80 requests arriving 1 ms apart: between two frames (100 ms, 200 ms) far more are
        // connecting at once than either frame saw.
        let records: Vec<RequestRecord> = (0..80).map(|n| naive(n, 40.0 + n as f64, n % 10 != 0)).collect();
        let frames = frames(&[100, 200, 300]);
        let peaks = AppPeaks::of(&records);
        let lines = lines(ChartKind::Connections, &frames, &[], &[], Some(&records), 300);
        let most = |name: &str| {
            let s = lines.iter().find(|s| s.name.starts_with(name)).unwrap_or_else(|| panic!("no {name}: {lines:?}"));
            s.points.iter().map(|p| p.1).fold(0.0, f64::max)
        };
        assert_eq!(most("naive: connecting") as u64, peaks.connecting.count);
        assert_eq!(most("naive: connections open") as u64, peaks.holding.count);
        assert!(peaks.connecting.count > 15, "{peaks:?}");
        // The counted lines follow the run in windows of 5 ms (a 200th of 300 ms, at least 5) from
        // the first request at 40 ms, after one window before it where the lines stand at 0.
        let counted = || lines.iter().filter(|s| s.name.contains("most at once"));
        assert!(
            counted().all(|s| s.points.len() == 53 && s.points[0] == (0.0, 0.0) && s.points[1].0 == 0.04),
            "{lines:?}"
        );
        let said = describe(ChartKind::Connections, &frames, &[], Some(&records), 300);
        assert!(
            said.contains(&format!("at its own moment, at most {} requests connecting", peaks.connecting.count)),
            "{said}"
        );
    }

    #[test]
    fn a_caption_says_how_far_apart_the_servers_line_has_its_readings() {
        let records: Vec<RequestRecord> = (0..10).map(|n| naive(n, 5.0 + n as f64 * 10.0, true)).collect();
        let reading = |at: u64| ServerFrame { read_at_ms: Some(at), read_took_ms: 2, ..ServerFrame::default() };
        // Readings shown at 1..31 ms, then not until 91 ms (a busy server answered late), to 291 ms;
        // the frames at 100..300 ms come before the last of them and are not drawn.
        let readings: Vec<ServerFrame> =
            [0, 10, 20, 30, 90, 100, 110].into_iter().chain((12..30).map(|n| n * 10)).map(reading).collect();
        assert_eq!(widest_gap(&readings, &frames(&[100, 200, 300])), Some(60.0));
        let said = describe(ChartKind::Connections, &frames(&[100, 200, 300]), &readings, Some(&records), 300);
        assert!(said.contains("until the next, here up to 60 ms later"), "{said}");
        // Readings every 10 ms say nothing of it, while the frames past them are 100 ms apart.
        let even: Vec<ServerFrame> = (0..30).map(|n| reading(n * 10)).collect();
        let said = describe(ChartKind::Connections, &frames(&[100, 200, 300]), &even, Some(&records), 300);
        assert!(!said.contains("until the next"), "{said}");
        // The frames past the last reading (at 291 ms): 400 and 500 ms.
        assert_eq!(widest_gap(&even, &frames(&[100, 200, 300, 400, 500])), Some(109.0));
        assert_eq!(widest_gap(&[], &frames(&[100])), None);
    }

    #[test]
    fn a_caption_says_which_part_of_the_frames_the_load_took() {
        // The last readings after an 85 ms load from the run's start: the frames span 0.3 s.
        let records: Vec<RequestRecord> = (0..10).map(|n| naive(n, n as f64 * 6.0, true)).collect();
        let said = |run_ms| describe(ChartKind::Connections, &frames(&[100, 200, 300]), &[], Some(&records), run_ms);
        assert!(
            said(85).starts_with("Over the run's 0.3 s (the load took 85 ms of them, from 0 ms to 85 ms): "),
            "{}",
            said(85)
        );
        assert!(said(290).starts_with("Over 0.3 s: "), "{}", said(290));
        // 1246 ms reads 1.2 s, not the frames' 1.3 s, and the load's first request its own start,
        // in whole ms as its end: their difference is the load's time.
        let long: Vec<RequestRecord> = (0..10).map(|n| naive(n, 4.0 + n as f64 * 135.0, true)).collect();
        let late = |run_ms| describe(ChartKind::Churn, &frames(&[100, 1290]), &[], Some(&long), run_ms);
        assert!(
            late(1246).starts_with("Over the run's 1.3 s (the load took 1.2 s of them, from 4 ms to 1250 ms) "),
            "{}",
            late(1246)
        );
        // A load from 828 ms to 2254 ms took 1.4 s: in tenths of a second its ends would read
        // 0.8 and 2.3, which do not.
        let after: Vec<RequestRecord> = (0..10).map(|n| naive(n, 828.0 + n as f64 * 155.0, true)).collect();
        let end = poollab_shared::activity::last_answer_ms(&after).unwrap_or_default();
        let said = describe(ChartKind::Churn, &frames(&[100, 2400]), &[], Some(&after), (end - 828.0).round() as u64);
        assert!(
            said.starts_with("Over the run's 2.4 s (the load took 1.4 s of them, from 828 ms to 2254 ms) "),
            "{said}"
        );
        // 8.3: a load from 0.4 ms to 1296.6 ms that took 1296 ms (as its text prints it) reads
        // from 1 ms to 1297 ms, whose difference is that 1296, not from 0 ms.
        let renewed: Vec<RequestRecord> = (0..10).map(|n| naive(n, 0.4 + n as f64 * 140.6, true)).collect();
        let end = poollab_shared::activity::last_answer_ms(&renewed).unwrap_or_default();
        assert!((end - 1296.8).abs() < 1e-9, "{end}");
        let said = describe(ChartKind::Churn, &frames(&[100, 1400]), &[], Some(&renewed), 1296);
        assert!(
            said.starts_with("Over the run's 1.4 s (the load took 1.3 s of them, from 1 ms to 1297 ms) "),
            "{said}"
        );
        // A load that began after the run did says where it lay on the run's clock, to its last
        // answer as the picture names it, in figures whose printed sum holds: 25.4 to 359.7 ms,
        // which took 334 ms, reads from 26 to 360.
        let later: Vec<RequestRecord> = (0..10).map(|n| naive(n, 25.4 + n as f64 * 33.7, true)).collect();
        assert_eq!(poollab_shared::activity::last_answer_ms(&later), Some(25.4 + 9.0 * 33.7 + 31.0));
        let said = describe(ChartKind::Connections, &frames(&[100, 200, 300, 400]), &[], Some(&later), 334);
        assert!(
            said.starts_with("Over the run's 0.4 s (the load took 334 ms of them, from 26 ms to 360 ms): "),
            "{said}"
        );
    }

    #[test]
    fn a_short_run_charts_answers_as_counts_per_tenth_that_add_up_to_the_run() {
        let records: Vec<RequestRecord> = (0..50).map(|n| naive(n, n as f64 * 6.0, n % 5 != 0)).collect();
        let lines = lines(ChartKind::Throughput, &frames(&[100, 200, 300, 400]), &[], &[], Some(&records), 331);
        let sum = |name: &str| {
            lines.iter().filter(|s| s.name.starts_with(name)).flat_map(|s| s.points.iter().map(|p| p.1)).sum::<f64>()
        };
        assert_eq!(sum("answered"), 40.0);
        assert_eq!(sum("failed"), 10.0);
        assert!(lines.iter().all(|s| s.name.ends_with("per 100 ms")), "{lines:?}");
    }

    #[test]
    fn outage_and_breaker_are_marked_where_the_run_recorded_them_once_it_is_over() {
        use poollab_shared::RunEventKind::{BreakerCloses, BreakerOpens, OutageBegins, OutageEnds};
        // The frames show the outage from the one at 900 ms to the one at 1900 ms, the breaker
        // open in the one at 1100 ms.
        let mut f = frames(&[100, 800, 900, 1000, 1100, 1800, 1900, 2000]);
        for f in &mut f {
            f.app.outage = (900..1900).contains(&f.elapsed_ms);
            f.app.breaker = Some(if f.elapsed_ms == 1100 { BreakerState::Open } else { BreakerState::Closed });
        }
        let at = |at_ms, kind| RunEvent { at_ms, kind };
        let recorded =
            [at(812.5, OutageBegins), at(1013.0, BreakerOpens), at(1812.0, OutageEnds), at(2004.0, BreakerCloses)];
        let marks = |e: Vec<Event>| e.into_iter().map(|e| (e.t_s, e.label)).collect::<Vec<_>>();
        let live = [(0.9, "outage begins"), (1.1, "breaker opens"), (1.8, "breaker closes"), (1.9, "outage ends")];
        assert_eq!(marks(events(&f, &[], None)), live.map(|(t, l)| (t, l.to_owned())));
        // A run stored before its events were recorded keeps the frames' marks.
        assert_eq!(marks(events(&f, &[], Some(&[]))), live.map(|(t, l)| (t, l.to_owned())));
        let exact =
            [(0.8125, "outage begins"), (1.013, "breaker opens"), (1.812, "outage ends"), (2.004, "breaker closes")];
        assert_eq!(marks(events(&f, &[], Some(&recorded))), exact.map(|(t, l)| (t, l.to_owned())));
    }

    #[test]
    fn idle_closes_are_marked_where_the_readings_saw_the_pool_shrink() {
        // A pool of 4 that the frame at 700 ms counts 2 closes in; readings every 10 ms from 500.
        let pool = |size: u64| PoolFrame { size, ..PoolFrame::default() };
        let mut f = frames(&[500, 600, 700, 800]);
        for f in &mut f {
            f.pool = Some(pool(if f.elapsed_ms < 700 { 4 } else { 2 }));
            f.app.totals.connects = 4;
            f.app.totals.closes = if f.elapsed_ms < 700 { 0 } else { 2 };
        }
        let reading = |at: u64, size: u64| ServerFrame {
            read_at_ms: Some(at),
            instances: vec![poollab_shared::InstanceFrame { pool: Some(pool(size)), ..Default::default() }],
            ..ServerFrame::default()
        };
        let marks = |readings: &[ServerFrame]| {
            events(&f, readings, None).into_iter().map(|e| (e.t_s, e.label)).collect::<Vec<_>>()
        };
        let idle = |t: f64| vec![(t, "idle closes begin".to_owned())];
        let shrinks_at =
            |at: u64| (500..=800).step_by(10).map(|t| reading(t, if t < at { 4 } else { 3 })).collect::<Vec<_>>();
        // (the readings, where the mark goes)
        let cases = [(shrinks_at(620), idle(0.62)), (Vec::new(), idle(0.7)), (shrinks_at(750), idle(0.7))];
        for (readings, want) in cases {
            assert_eq!(marks(&readings), want, "{} readings", readings.len());
        }
    }

    #[test]
    fn a_sampled_line_is_drawn_with_a_dot_at_each_reading() {
        let line = |name: &str, class| Series { name: name.into(), class, points: vec![(0.0, 1.0)], until: None };
        let series =
            [line("server backends of this run (sampled)", "s-server"), line("pool: in use (most at once)", "s-inuse")];
        let connections = bare("chart-connections", &series);
        // One dot, at the one reading's instant and value, after the server's line only.
        let (server, rest) = connections.split_once(r#"data-series="pool: in use"#).unwrap_or_default();
        assert_eq!(server.matches(r#"<path class="dots" d="M58.0,"#).count(), 1, "{connections}");
        assert!(!rest.contains("dots"), "{connections}");
        assert!(connections.contains("</span> a reading of a sampled line</li>"), "{connections}");
        // The sampled line ends at its last reading; the counted one holds on to the chart's end.
        let xs = |name: &str| -> Vec<String> {
            let after = connections.split(&format!(r#"data-series="{name}" points=""#)).nth(1).unwrap_or_default();
            after
                .split('"')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .map(|p| p.split(',').next().unwrap_or_default().to_owned())
                .collect()
        };
        assert!(xs("server backends of this run (sampled)").iter().all(|x| x == "58.0"), "{connections}");
        assert!(xs("pool: in use (most at once)").iter().any(|x| x != "58.0"), "{connections}");
        // Readings of one value closer than a dot share it: 1000 readings across the chart's 650
        // units get one dot every 6.5 units or so, about 100, not 1000.
        let dense = [Series {
            name: "(sampled)".into(),
            class: "s-server",
            points: (0..1000).map(|n| (n as f64 / 1000.0, 3.0)).collect(),
            until: None,
        }];
        let dots = bare("chart-connections", &dense).matches("h0").count();
        assert!((80..=110).contains(&dots), "{dots} dots");
        // A chart of readings only (PgBouncer's SHOW POOLS) dots every line.
        let pooler = bare("chart-pooler", &series);
        assert_eq!(pooler.matches(r#"class="dots""#).count(), 2, "{pooler}");
    }

    #[test]
    fn the_time_axis_ends_where_the_runs_lines_do() {
        // A run whose frames end at 0.3 s (7.2's, beside "over the run's 0.3 s"): its axis ends
        // a little past 0.3 s, not at a floor of half a second.
        let series =
            [Series { name: "s".into(), class: "s-server", points: vec![(0.0, 0.0), (0.3, 4.0)], until: None }];
        let drawn = bare("t", &series);
        let ticks: Vec<&str> =
            drawn.split(r#"class="tick""#).skip(1).filter_map(|t| t.split('>').nth(1)?.split('<').next()).collect();
        assert!(ticks.contains(&"0.3") && !ticks.contains(&"0.35") && !ticks.contains(&"0.5"), "{ticks:?}");
    }

    #[test]
    fn a_line_moves_only_at_the_instant_it_was_read_or_counted_from() {
        // Ten answers from 0 to 90 ms, then ten failures from 300 ms (an outage at 300 ms).
        let records: Vec<RequestRecord> =
            (0..20).map(|n| naive(n, if n < 10 { n as f64 * 9.0 } else { 300.0 + n as f64 }, n < 10)).collect();
        let lines = lines(ChartKind::Throughput, &frames(&[100, 200, 300, 400]), &[], &[], Some(&records), 400);
        let failed = lines.iter().find(|s| s.name.starts_with("failed")).unwrap_or_else(|| panic!("{lines:?}"));
        // Each window's count is drawn from its start: none before the window of 300 ms.
        let first_failure = failed.points.iter().find(|p| p.1 > 0.0).map(|p| p.0);
        assert_eq!(first_failure, Some(0.3), "{failed:?}");
        assert!(failed.until.is_some_and(|u| u > 0.3), "{failed:?}");
        // Drawn in steps: a value holds until the next point, then the line goes straight up.
        let drawn = bare(
            "t",
            &[Series { name: "s".into(), class: "s-server", points: vec![(0.0, 0.0), (1.0, 4.0)], until: Some(2.0) }],
        );
        let points = drawn.split(" points=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or_default();
        let xy: Vec<&str> = points.split_whitespace().collect();
        assert_eq!(xy.len(), 4, "{points}");
        let at = |i: usize| xy[i].split_once(',').unwrap_or_default();
        // (0, 0) to (1, 0) flat, then up to (1, 4), then flat to 2.
        assert_eq!((at(0).1, at(1).1), (at(0).1, at(0).1), "{points}");
        assert_eq!(at(1).0, at(2).0, "{points}");
        assert_eq!(at(2).1, at(3).1, "{points}");
    }

    #[test]
    fn pgbouncers_peaks_are_named_as_its_samples() {
        let s = Summary {
            peak_pooler_clients: 101,
            peak_pooler_waiting: 40,
            peak_pooler_servers: 20,
            ..Summary::default()
        };
        assert_eq!(
            pooler_text(&s),
            "PgBouncer's SHOW POOLS, read every 10 ms (a sample, which misses what lasts less): at most 101 clients, 40 of them waiting, and 20 server connections seen. Its readings and the server's are taken at their own instants, a few ms apart, and the server counts a backend only once logged in: while PgBouncer opens connections, its lines can stand above the server's."
        );
    }

    #[test]
    fn before_the_records_are_read_the_lines_are_the_frames() {
        let mut f = frames(&[100, 200]);
        f[1].app.connecting = 7;
        let lines = lines(ChartKind::Connections, &f, &[], &[], None, 200);
        let connecting = lines.iter().find(|s| s.name == "naive: connecting").map(|s| s.points.clone());
        assert_eq!(connecting, Some(vec![(0.1, 0.0), (0.2, 7.0)]));
    }

    #[test]
    fn the_servers_line_reads_the_first_readings_then_the_frames() {
        // Frames at 100, 200 and 300 ms with 9 backends each; the run kept readings at 10 to 30 ms
        // and 140 ms (each took 2 ms: they show the server at 11, 21, 31 and 141 ms).
        let mut f = frames(&[100, 200, 300]);
        for frame in &mut f {
            frame.server.run_backends = 9;
        }
        let readings: Vec<ServerFrame> = [(10, 1), (20, 4), (30, 8), (140, 9)]
            .map(|(at, n)| ServerFrame {
                read_at_ms: Some(at),
                read_took_ms: 2,
                run_backends: n,
                ..ServerFrame::default()
            })
            .to_vec();
        let lines = lines(ChartKind::Connections, &f, &readings, &[], None, 300);
        let server = lines.iter().find(|s| s.class == "s-server").map(|s| s.points.clone());
        // The frame of 200 ms (its interval from 100 ms) is not wholly past the readings: its figure
        // may be a peak of the readings already drawn.
        assert_eq!(server, Some(vec![(0.011, 1.0), (0.021, 4.0), (0.031, 8.0), (0.141, 9.0), (0.3, 9.0)]));
        // The pool's lines stay the frames'.
        let in_use = lines.iter().find(|s| s.name == "naive: connections open").map(|s| s.points.len());
        assert_eq!(in_use, Some(3));
    }

    #[test]
    fn what_was_read_with_the_server_is_drawn_at_its_readings() {
        // A pooled run: frames at 100 and 200 ms; readings at 10 and 20 ms (each shows its instant
        // plus 1 ms), each with an instance whose pool sqlx counted then, and the server's states.
        let mut f = frames(&[100, 200]);
        for frame in &mut f {
            frame.pool = Some(PoolFrame { size: 5, ..PoolFrame::default() });
        }
        let reading = |at: u64, size: u64, in_tx: u64| {
            let by_state = vec![poollab_shared::CountBy { name: "idle in transaction".into(), count: in_tx }];
            let pool = Some(PoolFrame { size, ..PoolFrame::default() });
            let instances = vec![poollab_shared::InstanceFrame { pool, ..Default::default() }];
            ServerFrame { read_at_ms: Some(at), read_took_ms: 2, by_state, instances, ..ServerFrame::default() }
        };
        let readings = [reading(10, 1, 3), reading(20, 4, 8)];
        let line = |kind, name: &str| {
            let all = lines(kind, &f, &readings, &[], None, 200);
            all.into_iter().find(|s| s.name == name).map(|s| s.points)
        };
        // sqlx's pool size as read with each reading, then the frame wholly past them.
        assert_eq!(
            line(ChartKind::Connections, "pool: connections, open or opening (sqlx's size)"),
            Some(vec![(0.011, 1.0), (0.021, 4.0), (0.2, 5.0)])
        );
        // The churn chart's pool size is the same line: the two charts cannot disagree on it.
        assert_eq!(
            line(ChartKind::Churn, "open or opening (sqlx's size)"),
            line(ChartKind::Connections, "pool: connections, open or opening (sqlx's size)")
        );
        // The server's states too: the picture's "idle in transaction" at 21 ms is the chart's.
        let in_tx = line(ChartKind::ServerStates, "idle in transaction");
        assert_eq!(in_tx, Some(vec![(0.011, 3.0), (0.021, 8.0), (0.2, 0.0)]));
    }
}
