//! Every request of a run as a lane of a waterfall: waiting for a pooled connection, connecting,
//! querying, and the rest of its time. Drawn from the records the lab stored when the run ended.

use leptos::prelude::*;
use poollab_shared::{Dec, RequestRecord};
use wasm_bindgen::prelude::*;

use crate::coord;
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
/// The red end of a failed request's lane, in the chart's units.
const FAILED_CAP: f64 = 4.0;
/// Each part of a lane and its words, in the legend only when some lane has it.
const PARTS: [(&str, &str); 5] = [
    ("s-wait", "waiting for a pooled connection (while the pool opens one, too)"),
    ("s-connecting", "opening its own connection"),
    ("s-inuse", "querying"),
    ("s-rest", "the rest: closing, holding between queries, answering"),
    ("s-bad", "failed"),
];

// The browser does the waterfall's sorting: its sorts are already in the page, and Rust's
// (about 7 KB of wasm for these two uses) need not be.
#[wasm_bindgen]
extern "C" {
    /// A `Float64Array`, for its `sort`: numbers in ascending order, in place.
    #[wasm_bindgen(extends = js_sys::Float64Array)]
    type Numbers;
    #[wasm_bindgen(method)]
    fn sort(this: &Numbers);
}

/// The positions of `keys` from the smallest key to the largest, equal keys in the order they
/// came, as a stable sort orders them (`Array.prototype.sort` is stable).
fn order_of(keys: &[f64]) -> Vec<usize> {
    let position = |v: &JsValue| v.as_f64().map_or(0, |i| i as usize);
    let order: js_sys::Array = (0..keys.len() as u32).map(JsValue::from).collect();
    order.sort_by(&mut |a, b| keys[position(&a)].total_cmp(&keys[position(&b)]) as i32);
    order.iter().map(|v| position(&v)).collect()
}

/// The middle one of `values` (the upper middle of an even count). A typed array sorts numbers
/// in the order `f64::total_cmp` does (`-0` before `0`); the lab's times are never NaN.
fn median(values: &[f64]) -> f64 {
    let sorted: Numbers = js_sys::Float64Array::from(values).unchecked_into();
    sorted.sort();
    sorted.get_index((values.len() / 2) as u32)
}

/// The parts of a request's lane, in order, each with its time in ms: waiting for a connection,
/// connecting, querying and the rest, those it had; then, for a failed request, its red end
/// (`None`: a fixed width), however little time was left after its wait (an acquire timeout is
/// all wait). The lanes and the legend both read it.
fn lane(r: &RequestRecord) -> impl Iterator<Item = (Option<f64>, &'static str)> {
    let rest = r.total_ms - r.acquire_wait_ms - r.connect_ms - r.query_ms;
    [(r.acquire_wait_ms, "s-wait"), (r.connect_ms, "s-connecting"), (r.query_ms, "s-inuse"), (rest, "s-rest")]
        .into_iter()
        .filter(|(ms, _)| *ms > 0.0)
        .map(|(ms, class)| (Some(ms), class))
        .chain((r.outcome != "ok").then_some((None, "s-bad")))
}

/// Every request of a run as a lane: waiting for a connection, connecting, querying, and the rest
/// of its time (waiting for a slot, holding the connection between queries, answering).
#[component]
pub fn Waterfall(tape: Tape) -> impl IntoView {
    // Lanes in the order the requests' work began (their query, once they had a connection), so
    // waves read as a staircase.
    let requests = Signal::derive(move || {
        let all = tape.requests();
        let began: Vec<f64> = all.iter().map(|r| r.start_ms + r.acquire_wait_ms + r.connect_ms).collect();
        let mut all: Vec<Option<RequestRecord>> = all.into_iter().map(Some).collect();
        order_of(&began).into_iter().filter_map(|i| all[i].take()).collect::<Vec<_>>()
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
                <line class="grid" x1=coord(x) x2=coord(x) y1="0" y2=coord(y + 4.0) />
                <text class="tick" x=coord(x) y=coord(y + 16.0) text-anchor="middle">{Dec((t * 10.0).round() / 10.0).to_string()}</text>
            });
            t += step;
        }
        view! {
            {ticks}
            <text class="axis" x=coord(WIDTH / 2.0) y=coord(y + 30.0) text-anchor="middle">"milliseconds since the run started"</text>
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
                    lane(r).map(move |(ms, class)| {
                        let (at, w) = (x, ms.map_or(FAILED_CAP, |ms| ms * scale));
                        x += w;
                        view! { <rect class=class x=coord(at) y=coord(y) width=coord(w.max(0.5)) height=coord(LANE - 1.0) /> }
                    })
                })
                .collect_view()
        })
    };
    let legend = move || {
        requests.with(|rs| {
            let rs = &rs[..rs.len().min(SHOWN)];
            PARTS
                .iter()
                .filter(|(class, _)| rs.iter().any(|r| lane(r).any(|(_, drawn)| drawn == *class)))
                .map(|(class, words)| view! { <li><span class=format!("swatch {class}") aria-hidden="true"></span>{*words}</li> })
                .collect_view()
        })
    };
    let describe = move || {
        requests.with(|rs| {
            if rs.is_empty() {
                return "No requests were stored for this run.".to_owned();
            }
            let median = |f: fn(&RequestRecord) -> f64| median(&rs.iter().map(f).collect::<Vec<_>>());
            format!(
                "{} requests. Median wait for a connection {:.1} ms, connect {:.1} ms, query {:.1} ms; {} failed; the last answer came at {:.0} ms.",
                rs.len(),
                Dec(median(|r| r.acquire_wait_ms)),
                Dec(median(|r| r.connect_ms)),
                Dec(median(|r| r.query_ms)),
                rs.iter().filter(|r| r.outcome != "ok").count(),
                Dec(rs.iter().map(|r| r.start_ms + r.total_ms).fold(0.0, f64::max))
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
            <svg viewBox=move || format!("0 0 {} {}", Dec(WIDTH), Dec(height())) role="img" aria-labelledby="waterfall-title waterfall-desc" data-testid="waterfall"
                data-requests=move || requests.with(|r| r.len().min(SHOWN))>
                <title id="waterfall-title">"Every request: wait, connect, query"</title>
                <desc id="waterfall-desc">{describe}</desc>
                {axis}
                {bars}
            </svg>
            <figcaption>
                <ul class="legend" data-testid="waterfall-legend">{legend}</ul>
                <p class="chart-text">{describe}</p>
            </figcaption>
            <details>
                <summary>"The requests as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"#"</th><th scope="col">"start ms"</th><th scope="col">"wait ms"</th><th scope="col">"connect ms"</th><th scope="col">"query ms"</th><th scope="col">"total ms"</th><th scope="col">"outcome"</th></tr></thead>
                    <tbody>
                        {move || requests.get().into_iter().take(50).map(|r| view! {
                            <tr><td>{r.n}</td><td>{format!("{:.1}", Dec(r.start_ms))}</td><td>{format!("{:.1}", Dec(r.acquire_wait_ms))}</td><td>{format!("{:.1}", Dec(r.connect_ms))}</td><td>{format!("{:.1}", Dec(r.query_ms))}</td><td>{format!("{:.1}", Dec(r.total_ms))}</td><td>{r.outcome}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}
