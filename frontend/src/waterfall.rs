//! Every request of a run as a lane of a waterfall: waiting for a pooled connection, connecting,
//! querying, and the rest of its time. Drawn from the records the lab stored when the run ended.

use leptos::prelude::*;
use poollab_shared::RequestRecord;

use crate::tape::Tape;

const LANE: f64 = 4.0;
const WIDTH: f64 = 720.0;
const LEFT: f64 = 8.0;
/// Room under the lanes for the time axis.
const AXIS: f64 = 34.0;
/// Room above the first lane.
const TOP: f64 = 6.0;
/// Requests drawn (the first ones of the run); the table and the CSV have them all.
const SHOWN: usize = 150;

/// Every request of a run as a lane: waiting for a connection, connecting, querying, and the rest
/// of its time (waiting for a slot, holding the connection between queries, answering).
#[component]
pub fn Waterfall(tape: Tape) -> impl IntoView {
    // Lanes in the order the requests' work began (their query, once they had a connection), so
    // waves read as a staircase.
    let requests = Signal::derive(move || {
        let mut all = tape.requests();
        all.sort_by(|a, b| {
            (a.start_ms + a.acquire_wait_ms + a.connect_ms).total_cmp(&(b.start_ms + b.acquire_wait_ms + b.connect_ms))
        });
        all
    });
    let end = move || requests.with(|r| r.iter().take(SHOWN).map(|r| r.start_ms + r.total_ms).fold(1.0, f64::max));
    let lanes_h = move || TOP + requests.with(|r| r.len().min(SHOWN) as f64 * LANE);
    let height = move || lanes_h() + AXIS;
    let axis = move || {
        let (end, y) = (end(), lanes_h());
        let scale = (WIDTH - LEFT * 2.0) / end;
        let step = crate::chart::nice_step(end / 6.0);
        let mut ticks = Vec::new();
        let mut t = 0.0;
        while t <= end + 1e-9 {
            let x = LEFT + t * scale;
            ticks.push(view! {
                <line class="grid" x1=x x2=x y1="0" y2=y + 4.0 />
                <text class="tick" x=x y=y + 16.0 text-anchor="middle">{format!("{}", (t * 10.0).round() / 10.0)}</text>
            });
            t += step;
        }
        view! {
            {ticks}
            <text class="axis" x=WIDTH / 2.0 y=y + 30.0 text-anchor="middle">"milliseconds since the run started"</text>
        }
    };
    let bars = move || {
        let scale = (WIDTH - LEFT * 2.0) / end();
        requests.with(|rs| {
            rs.iter()
                .take(SHOWN)
                .enumerate()
                .flat_map(|(i, r)| {
                    let y = TOP + i as f64 * LANE;
                    let mut x = LEFT + r.start_ms * scale;
                    let mut parts = Vec::new();
                    for (ms, class) in
                        [(r.acquire_wait_ms, "s-wait"), (r.connect_ms, "s-connecting"), (r.query_ms, "s-inuse")]
                    {
                        if ms > 0.0 {
                            parts.push((x, ms * scale, class));
                            x += ms * scale;
                        }
                    }
                    let rest = r.total_ms - r.acquire_wait_ms - r.connect_ms - r.query_ms;
                    if rest > 0.0 {
                        parts.push((x, rest * scale, if r.outcome == "ok" { "s-rest" } else { "s-bad" }));
                    }
                    parts.into_iter().map(move |(x, w, class)| {
                        view! { <rect class=class x=x y=y width=w.max(0.5) height=LANE - 1.0 /> }
                    })
                })
                .collect_view()
        })
    };
    let describe = move || {
        requests.with(|rs| {
            if rs.is_empty() {
                return "No requests were stored for this run.".to_owned();
            }
            let median = |f: fn(&RequestRecord) -> f64| {
                let mut v: Vec<f64> = rs.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            format!(
                "{} requests. Median wait for a connection {:.1} ms, connect {:.1} ms, query {:.1} ms; {} failed; the last answer came at {:.0} ms.",
                rs.len(),
                median(|r| r.acquire_wait_ms),
                median(|r| r.connect_ms),
                median(|r| r.query_ms),
                rs.iter().filter(|r| r.outcome != "ok").count(),
                rs.iter().map(|r| r.start_ms + r.total_ms).fold(0.0, f64::max)
            )
        })
    };
    let waiting = move || {
        (requests.with(Vec::is_empty))
            .then(|| view! { <p class="muted">"The waterfall draws every request once the run is over and the lab has stored it."</p> })
    };
    view! {
        <figure class="chart waterfall">
            <strong class="chart-title">"Every request, one lane each (the first 150): where its time went"</strong>
            {waiting}
            <svg viewBox=move || format!("0 0 {WIDTH} {}", height()) role="img" aria-labelledby="waterfall-title waterfall-desc" data-testid="waterfall"
                data-requests=move || requests.with(|r| r.len().min(SHOWN))>
                <title id="waterfall-title">"Every request: wait, connect, query"</title>
                <desc id="waterfall-desc">{describe}</desc>
                {axis}
                {bars}
            </svg>
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch s-wait" aria-hidden="true"></span>"waiting for a pooled connection (while the pool opens one, too)"</li>
                    <li><span class="swatch s-connecting" aria-hidden="true"></span>"opening its own connection"</li>
                    <li><span class="swatch s-inuse" aria-hidden="true"></span>"querying"</li>
                    <li><span class="swatch s-rest" aria-hidden="true"></span>"the rest: closing, holding between queries, answering"</li>
                    <li><span class="swatch s-bad" aria-hidden="true"></span>"failed"</li>
                </ul>
                <p class="chart-text">{describe}</p>
            </figcaption>
            <details>
                <summary>"The requests as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"#"</th><th scope="col">"start ms"</th><th scope="col">"wait ms"</th><th scope="col">"connect ms"</th><th scope="col">"query ms"</th><th scope="col">"total ms"</th><th scope="col">"outcome"</th></tr></thead>
                    <tbody>
                        {move || requests.get().into_iter().take(50).map(|r| view! {
                            <tr><td>{r.n}</td><td>{format!("{:.1}", r.start_ms)}</td><td>{format!("{:.1}", r.acquire_wait_ms)}</td><td>{format!("{:.1}", r.connect_ms)}</td><td>{format!("{:.1}", r.query_ms)}</td><td>{format!("{:.1}", r.total_ms)}</td><td>{r.outcome}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}
