//! Charts in plain SVG (plain SVG keeps the wasm small). [`LineChart`] draws series over the
//! run's time, with units on both axes, the server's limit as a line (or a marker when it is far
//! off the scale), the run's events marked on the time axis, a cursor where the picture is, and a
//! text description and a table as its text twins. [`Chart`] feeds it a run's frames as one of
//! four views: connections, the whole server by state, throughput and errors, or latency.

use leptos::prelude::*;
use poollab_shared::rate::rate;
use poollab_shared::{BreakerState, Dec, Frame};

use crate::escape;
use crate::tape::Tape;

/// One line: a name for the legend, a CSS class for its colour, and its (time s, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Something that happened at a moment of the run, marked on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub t_s: f64,
    pub label: String,
}

/// The moments of a run worth marking, read from its frames: the outage beginning and ending, the
/// breaker opening and closing, the leak detector first flagging a request, idle connections
/// closed.
pub fn events(frames: &[Frame]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut prev: Option<&Frame> = None;
    let mut leak_seen = false;
    let mut idle_marked = false;
    // A pool's closes during or after an outage are broken connections, not idle ones.
    let mut broken_seen = false;
    let mut lifetime_so_far = 0;
    for f in frames {
        let t_s = f.elapsed_ms as f64 / 1000.0;
        let mut mark = |label: &str| out.push(Event { t_s, label: label.to_owned() });
        if let Some(p) = prev {
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
            mark("leak detected");
        }
        // A pool's closes that are not retirements are idle closes, or broken connections.
        // Failures that break connections: the server ending sessions, PgBouncer giving up on a
        // client. (A pool's acquire timeouts and a breaker's refusals break none.)
        let e = &f.app.totals.errors;
        broken_seen |= f.app.outage || f.app.totals.failed > e.acquire_timeout + e.circuit_open;
        // Retirements are counted as they are decided and closes once they are done, so compare
        // what the run has done so far, not one frame's deltas.
        lifetime_so_far += f.app.closes_lifetime_delta;
        let idle_closes = f.app.totals.closes.saturating_sub(lifetime_so_far);
        if f.pool.is_some() && idle_closes > 0 && !idle_marked {
            idle_marked = true;
            mark(if broken_seen { "broken connections closed" } else { "idle closes begin" });
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

/// A frame's count as a rate for a run that has lasted `run_ms`: per second, or per 100 ms for a
/// run shorter than two seconds ([`rate`], the lab's one rule).
fn rate_of(f: &Frame, n: u64, run_ms: u64) -> f64 {
    rate(n as f64, f.interval_ms, run_ms).0
}

fn pool(f: &Frame, pick: fn(&poollab_shared::PoolFrame) -> u64) -> Option<f64> {
    f.pool.as_ref().map(|p| pick(p) as f64)
}

fn state(f: &Frame, name: &str) -> f64 {
    f.server.by_state.iter().filter(|c| c.name == name).map(|c| c.count).sum::<u64>() as f64
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
            ChartKind::Pooler => "PgBouncer's clients and server connections (SHOW POOLS)",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            ChartKind::Connections => "connections, or requests waiting",
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
                ("pool: size", "s-size", |f| pool(f, |p| p.size)),
                ("waiting for a connection", "s-wait", |f| pool(f, |p| p.waiters)),
                ("naive: connections open", "s-inuse", |f| f.pool.is_none().then_some(f.app.holding as f64)),
                ("naive: connecting", "s-connecting", |f| f.pool.is_none().then_some(f.app.connecting as f64)),
            ],
            ChartKind::ServerStates => &[
                ("all client backends", "s-server", |f| Some(f.server.backends as f64)),
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
                ("opened so far", "s-inuse", |f| Some(f.app.totals.connects as f64)),
                ("closed so far", "s-closed", |f| Some(f.app.totals.closes as f64)),
                ("open now (pool size)", "s-size", |f| pool(f, |p| p.size)),
            ],
            ChartKind::Pooler => &[
                ("client connections", "s-clients", |f| f.pooler.map(|p| p.clients() as f64)),
                ("clients waiting for a server connection", "s-wait", |f| f.pooler.map(|p| p.cl_waiting as f64)),
                ("its server connections", "s-size", |f| f.pooler.map(|p| p.servers() as f64)),
                ("lent to a client", "s-inuse", |f| f.pooler.map(|p| p.sv_active as f64)),
                ("server backends of this run", "s-server", |f| {
                    f.pooler.is_some().then_some(f.server.run_backends as f64)
                }),
            ],
        }
    }
}

/// A run's frames as one of the [`ChartKind`] views.
#[component]
pub fn Chart(tape: Tape, kind: ChartKind) -> impl IntoView {
    let series = Signal::derive(move || {
        tape.with_frames(|frames| {
            // Throughput is a rate over what the run has lasted so far: per second only from 2 s.
            let run_ms = run_ms(&tape, frames);
            let throughput = kind == ChartKind::Throughput;
            kind.series()
                .iter()
                .map(|(name, class, pick)| Series {
                    name: if throughput { format!("{name} {}", rate(0.0, 0, run_ms).1) } else { (*name).to_owned() },
                    class,
                    points: frames
                        .iter()
                        .filter_map(|f| {
                            let v = pick(f)?;
                            Some((
                                f.elapsed_ms as f64 / 1000.0,
                                if throughput { rate(v, f.interval_ms, run_ms).0 } else { v },
                            ))
                        })
                        .collect(),
                })
                // The legend lists only what is drawn: a naive run has no pool lines.
                .filter(|s| !s.points.is_empty())
                .collect()
        })
    });
    let limit = Signal::derive(move || match kind {
        ChartKind::Connections | ChartKind::ServerStates | ChartKind::Churn => {
            Some(tape.server().max_connections as f64).filter(|l| *l > 0.0)
        }
        _ => None,
    });
    let events = Signal::derive(move || tape.with_frames(events));
    let cursor =
        Signal::derive(move || tape.cursor.get().and_then(|_| tape.frame()).map(|f| f.elapsed_ms as f64 / 1000.0));
    let description = Signal::derive(move || tape.with_frames(|frames| describe(kind, frames, run_ms(&tape, frames))));
    view! {
        <LineChart id=kind.id() title=kind.title() unit=kind.unit() series=series limit=limit events=events cursor=cursor description=description />
    }
}

fn describe(kind: ChartKind, frames: &[Frame], run_ms: u64) -> String {
    let Some(f) = frames.last() else { return "No frames yet: the chart draws the next run live.".to_owned() };
    let t = Dec(f.elapsed_ms as f64 / 1000.0);
    let most = |pick: fn(&Frame) -> f64| Dec(frames.iter().map(pick).fold(0.0, f64::max));
    match kind {
        ChartKind::Connections => format!(
            "Over {t:.1} s: at most {} server backends of this run{}.",
            most(|f| f.server.run_backends_peak.max(f.server.run_backends) as f64),
            match f.pool {
                Some(_) => format!(
                    ", {} pool connections in use and {} requests waiting at once",
                    most(|f| f.pool.map_or(0.0, |p| p.in_use as f64)),
                    most(|f| f.pool.map_or(0.0, |p| p.waiters as f64))
                ),
                None => format!(", {} requests connecting at once", most(|f| f.app.connecting as f64)),
            }
        ),
        ChartKind::ServerStates => format!(
            "Over {t:.1} s the server had at most {} client backends; at the end {} active and {} idle.",
            most(|f| f.server.backends as f64),
            Dec(state(f, "active")),
            Dec(state(f, "idle"))
        ),
        ChartKind::Throughput => {
            let most = |n: fn(&Frame) -> u64| Dec(frames.iter().map(|g| rate_of(g, n(g), run_ms)).fold(0.0, f64::max));
            format!(
                "Over {t:.1} s: {} answered and {} failed; at most {:.0} answered and {:.0} failed {}.",
                f.app.totals.completed,
                f.app.totals.failed,
                most(|g| g.app.completed_delta),
                most(|g| g.app.failed_delta),
                rate(0.0, 0, run_ms).1
            )
        }
        ChartKind::Churn => format!(
            "Over {t:.1} s the app opened {} connections and closed {}.",
            f.app.totals.connects, f.app.totals.closes
        ),
        ChartKind::Pooler => format!(
            "Over {t:.1} s PgBouncer had at most {} clients waiting at once, and {} server connections.",
            most(|f| f.pooler.map_or(0.0, |p| p.cl_waiting as f64)),
            most(|f| f.pooler.map_or(0.0, |p| p.servers() as f64)),
        ),
        ChartKind::Latency => format!(
            "Over {t:.1} s: the highest p99 of a tenth of a second was {:.1} ms.",
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
}

/// The chart as SVG text (redrawn whole at every frame, which text does with little code).
fn svg(d: &Drawing) -> String {
    use std::fmt::Write;
    let data_max = d.series.iter().flat_map(|s| s.points.iter().map(|(_, v)| *v)).fold(0.0, f64::max);
    // The scale fits the lines drawn; the limit joins it only when it is near them.
    let limit = d.limit.unwrap_or(0.0);
    let fits = limit > 0.0 && limit <= data_max.max(4.0) * 1.5;
    let y_max = nice_max(if fits { limit.max(data_max) } else { data_max.max(4.0) } * 1.08);
    let t_max = d.series.iter().flat_map(|s| s.points.last().map(|(t, _)| *t)).fold(0.5, f64::max);
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
            r#"<g class="event" data-event="{label}"><line class="event-line" x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}"/><text class="event-label" x="{:.1}" y="{}">{label}</text></g>"#,
            Dec(H - BOTTOM),
            Dec(ex + 3.0),
            Dec(TOP + 10.0 + row as f64 * 12.0),
            label = escape(&e.label),
            x = Dec(ex),
            top = Dec(TOP)
        );
    }
    for s in d.series {
        let _ = write!(o, r#"<polyline class="line {}" data-series="{}" points=""#, s.class, escape(&s.name));
        for (t, v) in &s.points {
            let _ = write!(o, "{:.1},{:.1} ", Dec(x(*t)), Dec(y(*v)));
        }
        o.push_str(r#""/>"#);
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
    let _ = write!(o, r#"</ul><p class="chart-text">{}</p>"#, escape(d.description));
    o
}

/// The chart's data as table rows: at most 40, every k-th point, newest first.
fn rows(series: &[Series]) -> String {
    use std::fmt::Write;
    let Some(first) = series.first() else { return String::new() };
    let n = first.points.len();
    let k = n.div_ceil(40).max(1);
    let mut o = String::new();
    for i in (0..n).rev().step_by(k) {
        let _ = write!(o, "<tr><td>{:.1}</td>", Dec(first.points[i].0));
        for s in series {
            match s.points.get(i) {
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
            })
        })
    };
    // A run over in a few tenths of a second has too few frames to draw a line through.
    let too_quick = move || {
        let points = series.with(|s| s.first().map_or(0, |s| s.points.len()));
        if points > 0 && points < 4 {
            r#"<p class="note-quick">This run was over in a few tenths of a second, quicker than the chart's ten frames a second can draw: its figures are in the result above.</p>"#
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
