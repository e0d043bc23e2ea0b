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

/// One part of a lane, placed: where it starts and how wide it is in the chart's units, which
/// lane (its top), and its class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub class: &'static str,
}

/// The end of the time axis for these lanes: when the last of them was answered (at least 1 ms).
/// Two runs drawn one above the other share the larger of their two ends.
pub fn axis_end(lanes: &[RequestRecord]) -> f64 {
    lanes.iter().map(|r| r.start_ms + r.total_ms).fold(1.0, f64::max)
}

/// Every part of every lane, placed on a time axis from 0 to `end` ms: the lanes' own end, or one
/// shared with another run's waterfall, so that a moment is at the same x in both.
pub fn bars(lanes: &[RequestRecord], end: f64) -> Vec<Bar> {
    let scale = (WIDTH - LEFT * 2.0) / end;
    lanes
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let y = TOP + i as f64 * LANE;
            let mut x = LEFT + r.start_ms * scale;
            lane(r).map(move |(ms, class)| {
                let w = ms.map_or(FAILED_CAP, |ms| ms * scale);
                x += w;
                Bar { x: x - w, y, w, class }
            })
        })
        .collect()
}

/// The lanes a waterfall draws: the run's requests in the order their work began (their query,
/// once they had a connection), so waves read as a staircase; the first [`SHOWN`] are drawn.
fn in_order(all: Vec<RequestRecord>) -> Vec<RequestRecord> {
    let began: Vec<f64> = all.iter().map(|r| r.start_ms + r.acquire_wait_ms + r.connect_ms).collect();
    let mut all: Vec<Option<RequestRecord>> = all.into_iter().map(Some).collect();
    order_of(&began).into_iter().filter_map(|i| all[i].take()).collect()
}

/// The end of the time axis a run's waterfall draws on by itself.
pub fn drawn_end(tape: Tape) -> f64 {
    let lanes = in_order(tape.requests());
    axis_end(&lanes[..lanes.len().min(SHOWN)])
}

/// Every request of a run as a lane: waiting for a connection, connecting, querying, and the rest
/// of its time (waiting for a slot, holding the connection between queries, answering). With
/// `end`, on a time axis that long (shared with another run's waterfall); `label` says whose run
/// it is, and `id` tells two waterfalls on one page apart.
#[component]
pub fn Waterfall(
    tape: Tape,
    #[prop(optional)] end: Option<Signal<f64>>,
    #[prop(optional, into)] label: Option<String>,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    let requests = Signal::derive(move || in_order(tape.requests()));
    let own_end = move || requests.with(|r| axis_end(&r[..r.len().min(SHOWN)]));
    let end = move || end.map_or_else(own_end, |e| e.get().max(own_end()));
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
    let drawn = move || {
        requests.with(|rs| {
            bars(&rs[..rs.len().min(SHOWN)], end())
                .into_iter()
                .map(|b| view! { <rect class=b.class x=coord(b.x) y=coord(b.y) width=coord(b.w.max(0.5)) height=coord(LANE - 1.0) /> })
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
            <strong class="chart-title">{label.map(|l| format!("{l}: "))}"Every request, one lane each (the first 150): where its time went"</strong>
            {waiting}
            <svg viewBox=move || format!("0 0 {} {}", Dec(WIDTH), Dec(height())) role="img" aria-labelledby=format!("waterfall-title{id} waterfall-desc{id}") data-testid=format!("waterfall{id}")
                data-requests=move || requests.with(|r| r.len().min(SHOWN)) data-axis-max=move || Dec(end()).to_string()>
                <title id=format!("waterfall-title{id}")>"Every request: wait, connect, query"</title>
                <desc id=format!("waterfall-desc{id}")>{describe}</desc>
                {axis}
                {drawn}
            </svg>
            <figcaption>
                <ul class="legend" data-testid=format!("waterfall-legend{id}")>{legend}</ul>
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(start_ms: f64, acquire_wait_ms: f64, query_ms: f64, total_ms: f64) -> RequestRecord {
        RequestRecord {
            n: 0,
            instance: 0,
            start_ms,
            acquire_wait_ms,
            connect_ms: 0.0,
            query_ms,
            total_ms,
            outcome: "ok".into(),
            cache_hit: false,
        }
    }

    fn right_edge(bars: &[Bar]) -> f64 {
        bars.iter().map(|b| b.x + b.w).fold(0.0, f64::max)
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn two_runs_on_one_axis_put_the_same_moment_at_the_same_place() {
        // A slow run (two waves of scans) and a quick one (a request at 0 ms, one at 100 ms).
        let slow = [record(0.0, 0.0, 400.0, 410.0), record(0.0, 410.0, 400.0, 820.0)];
        let quick = [record(0.0, 0.0, 1.0, 2.0), record(100.0, 0.0, 1.0, 2.0)];
        let end = axis_end(&slow).max(axis_end(&quick));
        assert_eq!(end, 820.0);
        let (a, b) = (bars(&slow, end), bars(&quick, end));
        // The slow run's last answer is at the right edge; the quick run's is where 102 ms is.
        let ms = |t: f64| LEFT + t * (WIDTH - 2.0 * LEFT) / 820.0;
        assert!(near(right_edge(&a), WIDTH - LEFT), "{a:?}");
        assert!(near(right_edge(&b), ms(102.0)), "{b:?}");
        // The quick run's second lane starts at 100 ms, where the slow run's is 100 ms into its wait.
        let second = b.iter().find(|bar| bar.y == TOP + LANE).expect("a second lane");
        assert!(near(second.x, ms(100.0)));
        assert!(a.iter().any(|bar| bar.y == TOP + LANE && bar.class == "s-wait" && bar.x < ms(100.0)));
        // Drawn on its own axis, the quick run fills the width.
        assert!(near(right_edge(&bars(&quick, axis_end(&quick))), WIDTH - LEFT));
    }

    #[test]
    fn a_lane_is_its_parts_end_to_end_and_a_failure_ends_red() {
        let mut failed = record(10.0, 500.0, 0.0, 500.0);
        failed.outcome = "acquire_timeout".into();
        let lanes = [record(0.0, 5.0, 20.0, 30.0), failed];
        let drawn = bars(&lanes, axis_end(&lanes));
        let classes: Vec<&str> = drawn.iter().map(|b| b.class).collect();
        assert_eq!(classes, ["s-wait", "s-inuse", "s-rest", "s-wait", "s-bad"]);
        for pair in drawn[..3].windows(2) {
            assert!(near(pair[0].x + pair[0].w, pair[1].x), "{pair:?}");
        }
        assert_eq!(drawn[4].w, FAILED_CAP);
        assert_eq!(axis_end(&[]), 1.0);
    }
}
