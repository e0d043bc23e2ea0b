//! A live line chart in plain SVG: the server's backends for this run (from `pg_stat_activity`)
//! beside the pool's size, connections in use, and requests waiting. Plain SVG keeps the wasm
//! small; a table under the chart gives the same numbers as text.

use leptos::prelude::*;
use poollab_shared::Frame;

/// The figures of one frame the chart draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_s: f64,
    pub server: u64,
    pub pool_size: u64,
    pub in_use: u64,
    pub waiters: u64,
}

impl From<&Frame> for Point {
    fn from(f: &Frame) -> Self {
        let pool = f.pool.unwrap_or_default();
        Point {
            t_s: f.elapsed_ms as f64 / 1000.0,
            server: f.server.run_backends,
            pool_size: pool.size,
            in_use: pool.in_use,
            waiters: pool.waiters,
        }
    }
}

struct Series {
    name: &'static str,
    class: &'static str,
    value: fn(&Point) -> u64,
}

const SERIES: [Series; 4] = [
    Series { name: "Server backends of this run", class: "s-server", value: |p| p.server },
    Series { name: "Pool size", class: "s-size", value: |p| p.pool_size },
    Series { name: "Pool in use", class: "s-inuse", value: |p| p.in_use },
    Series { name: "Waiting for a connection", class: "s-wait", value: |p| p.waiters },
];

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 10.0;

#[component]
pub fn Chart(points: RwSignal<Vec<Point>>, #[prop(into)] max_connections: Signal<u64>) -> impl IntoView {
    // The scale: the data, and the server's limit when it is close enough to matter.
    let scale = Memo::new(move |_| {
        let pts = points.get();
        let data_max = pts.iter().flat_map(|p| SERIES.iter().map(move |s| (s.value)(p))).max().unwrap_or(0);
        let limit = max_connections.get();
        let y_max = if limit > 0 && limit <= data_max.max(5) * 2 { limit.max(data_max) } else { data_max.max(5) };
        let t_max = pts.last().map(|p| p.t_s).unwrap_or(0.0).max(1.0);
        (y_max as f64 * 1.1, t_max, limit)
    });
    let x = move |t: f64| LEFT + t / scale.get().1 * (W - LEFT - RIGHT);
    let y = move |v: f64| H - BOTTOM - v / scale.get().0 * (H - BOTTOM - TOP);

    let lines = move || {
        let pts = points.get();
        SERIES
            .iter()
            .map(|s| {
                let d = pts
                    .iter()
                    .map(|p| format!("{:.1},{:.1}", x(p.t_s), y((s.value)(p) as f64)))
                    .collect::<Vec<_>>()
                    .join(" ");
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
                <text class="tick" x=LEFT - 6.0 y=y(v) + 4.0 text-anchor="end">{format!("{v}")}</text>
            });
            v += step;
        }
        let t_step = nice_step(t_max / 5.0);
        let mut t = 0.0;
        let mut xs = Vec::new();
        while t <= t_max + 1e-9 {
            xs.push(view! { <text class="tick" x=x(t) y=H - 8.0 text-anchor="middle">{format!("{t}s")}</text> });
            t += t_step;
        }
        (out, xs)
    };
    let limit_line = move || {
        let (y_max, _, limit) = scale.get();
        (limit > 0 && (limit as f64) <= y_max).then(|| {
            view! {
                <line class="limit" x1=LEFT x2=W - RIGHT y1=y(limit as f64) y2=y(limit as f64) />
                <text class="limit-label" x=W - RIGHT - 4.0 y=y(limit as f64) - 5.0 text-anchor="end">
                    {format!("server max_connections = {limit}")}
                </text>
            }
        })
    };
    let description = move || {
        let pts = points.get();
        match pts.last() {
            None => "No frames yet: the chart draws the next run live.".to_owned(),
            Some(p) => format!(
                "At {:.1} s: {} server backends of this run, pool size {}, {} in use, {} waiting. Peak server backends: {}.",
                p.t_s,
                p.server,
                p.pool_size,
                p.in_use,
                p.waiters,
                pts.iter().map(|p| p.server).max().unwrap_or(0)
            ),
        }
    };

    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby="chart-title chart-desc" data-testid="chart" data-points=move || points.with(Vec::len)>
                <title id="chart-title">"Connections over time"</title>
                <desc id="chart-desc">{description}</desc>
                {ticks}
                {limit_line}
                {lines}
            </svg>
            <figcaption>
                <ul class="legend">
                    {SERIES.iter().map(|s| view! { <li><span class=format!("swatch {}", s.class) aria-hidden="true"></span>{s.name}</li> }).collect_view()}
                </ul>
                <p class="chart-text">{description}</p>
            </figcaption>
            <details>
                <summary>"The chart's data as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"Time (s)"</th>{SERIES.iter().map(|s| view! { <th scope="col">{s.name}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {move || points.get().iter().rev().step_by(5).take(40).map(|p| view! {
                            <tr><td>{format!("{:.1}", p.t_s)}</td>{SERIES.iter().map(|s| view! { <td>{(s.value)(p)}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
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
    (nice * mag).max(1.0)
}
