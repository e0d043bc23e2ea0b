//! Charts in plain SVG (plain SVG keeps the wasm small). [`LineChart`] draws any set of series
//! over time with a text description and a table as its text twin; [`Chart`] feeds it a run's
//! frames as one of four views: connections (server backends, pool size, in use, waiting, with
//! the server's `max_connections` line), the whole server's backends by state, throughput and
//! errors, or latency.

use leptos::prelude::*;
use poollab_shared::Frame;

/// The figures of one frame the charts draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_s: f64,
    pub server: u64,
    pub pool_size: u64,
    pub in_use: u64,
    pub waiters: u64,
    pub completed_per_s: f64,
    pub failed_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// All client backends on the server, and those `active`, `idle`, `idle in transaction`.
    pub server_all: u64,
    pub server_active: u64,
    pub server_idle: u64,
    pub server_idle_in_tx: u64,
}

impl From<&Frame> for Point {
    fn from(f: &Frame) -> Self {
        let pool = f.pool.unwrap_or_default();
        let per_s = |n: u64| if f.interval_ms > 0 { n as f64 * 1000.0 / f.interval_ms as f64 } else { 0.0 };
        let state = |name: &str| f.server.by_state.iter().find(|c| c.name == name).map_or(0, |c| c.count);
        Point {
            t_s: f.elapsed_ms as f64 / 1000.0,
            server: f.server.run_backends,
            pool_size: pool.size,
            in_use: pool.in_use,
            waiters: pool.waiters,
            completed_per_s: per_s(f.app.completed_delta),
            failed_per_s: per_s(f.app.failed_delta),
            p50_ms: f.app.latency_p50_ms,
            p99_ms: f.app.latency_p99_ms,
            server_all: f.server.backends,
            server_active: state("active"),
            server_idle: state("idle"),
            server_idle_in_tx: state("idle in transaction"),
        }
    }
}

/// One line: a name for the legend, a CSS class for its colour, and its (time s, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Which view of a run's frames to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Connections,
    ServerStates,
    Throughput,
    Latency,
}

type Pick = fn(&Point) -> Option<f64>;

impl ChartKind {
    fn id(self) -> &'static str {
        match self {
            ChartKind::Connections => "chart",
            ChartKind::ServerStates => "chart-server-states",
            ChartKind::Throughput => "chart-throughput",
            ChartKind::Latency => "chart-latency",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ChartKind::Connections => "Connections over time",
            ChartKind::ServerStates => "The whole server's client backends by state (pg_stat_activity)",
            ChartKind::Throughput => "Requests answered and failed per second",
            ChartKind::Latency => "Latency of the requests answered in each tenth of a second (ms)",
        }
    }

    fn series(self) -> &'static [(&'static str, &'static str, Pick)] {
        match self {
            ChartKind::Connections => &[
                ("Server backends of this run", "s-server", |p| Some(p.server as f64)),
                ("Pool size", "s-size", |p| Some(p.pool_size as f64)),
                ("Pool in use", "s-inuse", |p| Some(p.in_use as f64)),
                ("Waiting for a connection", "s-wait", |p| Some(p.waiters as f64)),
            ],
            ChartKind::ServerStates => &[
                ("All client backends", "s-server", |p| Some(p.server_all as f64)),
                ("active (running a query)", "s-inuse", |p| Some(p.server_active as f64)),
                ("idle (connected, doing nothing)", "s-size", |p| Some(p.server_idle as f64)),
                ("idle in transaction", "s-wait", |p| Some(p.server_idle_in_tx as f64)),
            ],
            ChartKind::Throughput => &[
                ("Answered per second", "s-inuse", |p| Some(p.completed_per_s)),
                ("Failed per second", "s-bad", |p| Some(p.failed_per_s)),
            ],
            ChartKind::Latency => &[("p50", "s-size", |p| p.p50_ms), ("p99", "s-wait", |p| p.p99_ms)],
        }
    }
}

/// A run's frames as one of the [`ChartKind`] views.
#[component]
pub fn Chart(
    points: RwSignal<Vec<Point>>,
    #[prop(into)] max_connections: Signal<u64>,
    #[prop(optional)] kind: Option<ChartKind>,
) -> impl IntoView {
    let kind = kind.unwrap_or(ChartKind::Connections);
    let series = Signal::derive(move || {
        points.with(|pts| {
            kind.series()
                .iter()
                .map(|(name, class, pick)| Series {
                    name: (*name).to_owned(),
                    class,
                    points: pts.iter().filter_map(|p| pick(p).map(|v| (p.t_s, v))).collect(),
                })
                .collect()
        })
    });
    let limit = Signal::derive(move || match kind {
        ChartKind::Connections | ChartKind::ServerStates => Some(max_connections.get() as f64).filter(|l| *l > 0.0),
        _ => None,
    });
    let description = Signal::derive(move || describe(kind, &points.get()));
    view! { <LineChart id=kind.id() title=kind.title() series=series limit=limit description=description /> }
}

fn describe(kind: ChartKind, pts: &[Point]) -> String {
    let Some(p) = pts.last() else { return "No frames yet: the chart draws the next run live.".to_owned() };
    match kind {
        ChartKind::Connections => format!(
            "At {:.1} s: {} server backends of this run, pool size {}, {} in use, {} waiting. Peak server backends: {}.",
            p.t_s,
            p.server,
            p.pool_size,
            p.in_use,
            p.waiters,
            pts.iter().map(|p| p.server).max().unwrap_or(0)
        ),
        ChartKind::ServerStates => format!(
            "At {:.1} s the server had {} client backends: {} active, {} idle, {} idle in transaction. Peak: {}.",
            p.t_s,
            p.server_all,
            p.server_active,
            p.server_idle,
            p.server_idle_in_tx,
            pts.iter().map(|p| p.server_all).max().unwrap_or(0)
        ),
        ChartKind::Throughput => format!(
            "At {:.1} s: {:.0} answered and {:.0} failed per second. Peak: {:.0} answered per second.",
            p.t_s,
            p.completed_per_s,
            p.failed_per_s,
            pts.iter().map(|p| p.completed_per_s).fold(0.0, f64::max)
        ),
        ChartKind::Latency => format!(
            "Highest p99 of a tenth of a second: {:.1} ms; lowest p50: {:.1} ms.",
            pts.iter().filter_map(|p| p.p99_ms).fold(0.0, f64::max),
            pts.iter().filter_map(|p| p.p50_ms).fold(f64::INFINITY, f64::min).min(1e9)
        ),
    }
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 10.0;

/// Lines over time, with a limit line, a legend, a text description and a data table.
#[component]
pub fn LineChart(
    id: &'static str,
    #[prop(into)] title: String,
    #[prop(into)] series: Signal<Vec<Series>>,
    #[prop(into)] limit: Signal<Option<f64>>,
    #[prop(into)] description: Signal<String>,
) -> impl IntoView {
    // The scale: the data, and the limit when it is close enough to matter.
    let scale = Memo::new(move |_| {
        let all = series.get();
        let data_max = all.iter().flat_map(|s| s.points.iter().map(|(_, v)| *v)).fold(0.0, f64::max);
        let limit = limit.get().unwrap_or(0.0);
        let y_max =
            if limit > 0.0 && limit <= data_max.max(5.0) * 2.0 { limit.max(data_max) } else { data_max.max(5.0) };
        let t_max = all.iter().flat_map(|s| s.points.last().map(|(t, _)| *t)).fold(1.0, f64::max);
        (y_max * 1.1, t_max, limit)
    });
    let x = move |t: f64| LEFT + t / scale.get().1 * (W - LEFT - RIGHT);
    let y = move |v: f64| H - BOTTOM - v / scale.get().0 * (H - BOTTOM - TOP);
    let lines = move || {
        series
            .get()
            .into_iter()
            .map(|s| {
                let d =
                    s.points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect::<Vec<_>>().join(" ");
                view! { <polyline class=format!("line {}", s.class) points=d data-series=s.name /> }
            })
            .collect_view()
    };
    let ticks = move || {
        let (y_max, t_max, _) = scale.get();
        let step = nice_step(y_max / 4.0);
        let mut out = Vec::new();
        let mut v = 0.0;
        while v <= y_max {
            out.push(view! {
                <line class="grid" x1=LEFT x2=W - RIGHT y1=y(v) y2=y(v) />
                <text class="tick" x=LEFT - 6.0 y=y(v) + 4.0 text-anchor="end">{tick(v)}</text>
            });
            v += step;
        }
        let t_step = nice_step(t_max / 5.0);
        let mut t = 0.0;
        let mut xs = Vec::new();
        while t <= t_max + 1e-9 {
            xs.push(
                view! { <text class="tick" x=x(t) y=H - 8.0 text-anchor="middle">{format!("{}s", tick(t))}</text> },
            );
            t += t_step;
        }
        (out, xs)
    };
    let limit_line = move || {
        let (y_max, _, limit) = scale.get();
        (limit > 0.0 && limit <= y_max).then(|| {
            view! {
                <line class="limit" x1=LEFT x2=W - RIGHT y1=y(limit) y2=y(limit) />
                <text class="limit-label" x=W - RIGHT - 4.0 y=y(limit) - 5.0 text-anchor="end">
                    {format!("server max_connections = {limit}")}
                </text>
            }
        })
    };
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    let labelled_by = format!("{title_id} {desc_id}");
    let points_count = move || series.with(|s| s.first().map_or(0, |s| s.points.len()));
    let table = move || {
        let all = series.get();
        let Some(first) = all.first() else { return Vec::new() };
        let n = first.points.len();
        // At most 40 rows: every k-th point, newest first.
        let k = n.div_ceil(40).max(1);
        (0..n)
            .rev()
            .step_by(k)
            .map(|i| {
                let t = first.points[i].0;
                let cells = all
                    .iter()
                    .map(|s| {
                        let v = s.points.get(i).map_or("–".to_owned(), |(_, v)| format!("{v:.1}"));
                        view! { <td>{v}</td> }
                    })
                    .collect_view();
                view! { <tr><td>{format!("{t:.1}")}</td>{cells}</tr> }
            })
            .collect::<Vec<_>>()
    };
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby=labelled_by data-testid=id data-points=points_count>
                <title id=title_id>{title.clone()}</title>
                <desc id=desc_id>{move || description.get()}</desc>
                {ticks}
                {limit_line}
                {lines}
            </svg>
            <figcaption>
                <strong class="chart-title">{title}</strong>
                <ul class="legend">
                    {move || series.get().into_iter().map(|s| view! { <li><span class=format!("swatch {}", s.class) aria-hidden="true"></span>{s.name}</li> }).collect_view()}
                </ul>
                <p class="chart-text">{move || description.get()}</p>
            </figcaption>
            <details>
                <summary>"The chart's data as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"Time (s)"</th>{move || series.get().into_iter().map(|s| view! { <th scope="col">{s.name}</th> }).collect_view()}</tr></thead>
                    <tbody>{table}</tbody>
                </table>
            </details>
        </figure>
    }
}

/// A tick label without float noise (0.6, not 0.6000000000000001).
fn tick(v: f64) -> String {
    format!("{}", (v * 1000.0).round() / 1000.0)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
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
