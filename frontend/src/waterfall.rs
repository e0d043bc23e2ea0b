//! Every request of a run as a lane of a waterfall: waiting for a pooled connection, connecting,
//! querying, and the rest of its time. Drawn from the records the lab stored when the run ended.

use leptos::prelude::*;
use poollab_shared::expr::number;
use poollab_shared::{Dec, RequestRecord};
use wasm_bindgen::prelude::*;

use crate::escape;
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
const PARTS: [(&str, &str); 6] = [
    ("s-wait", "waiting for a pooled connection (while the pool opens one, too)"),
    ("s-connecting", "opening its own connection"),
    ("s-inuse", "querying"),
    ("s-cache", "answered by the cache (a request that finds another loading the entry waits for that load)"),
    ("s-rest", "the rest: the app's own steps (a cache lookup if any, closing, answering, between queries)"),
    ("s-bad", "failed"),
];

// The browser does the waterfall's sorting: its sorts are already in the page, and Rust's
// (several KB of wasm) need not be.
/// The positions of `keys` from the smallest key to the largest, equal keys in the order they
/// came, as a stable sort orders them (`Array.prototype.sort` is stable).
fn order_of(keys: &[f64]) -> Vec<usize> {
    let position = |v: &JsValue| v.as_f64().map_or(0, |i| i as usize);
    let order: js_sys::Array = (0..keys.len() as u32).map(JsValue::from).collect();
    order.sort_by(&mut |a, b| keys[position(&a)].total_cmp(&keys[position(&b)]) as i32);
    order.iter().map(|v| position(&v)).collect()
}

/// The parts of a request's lane, in order, each with its time in ms: waiting for a connection,
/// connecting, querying and the rest, those it had; then, for a failed request, its red end
/// (`None`: a fixed width), however little time was left after its wait (an acquire timeout is
/// all wait). The lanes and the legend both read it.
fn lane(r: &RequestRecord) -> impl Iterator<Item = (Option<f64>, &'static str)> {
    // Its wait begins when it asked (after looking in the cache), so that its query is drawn
    // where it held its connection, as the picture counts it.
    let before = r.asked_ms.map_or(0.0, |a| a - r.start_ms);
    let rest = r.total_ms - before - r.acquire_wait_ms - r.connect_ms - r.query_ms;
    // A cache hit never asks the pool: its time is the cache's (and any wait for another
    // request's load of the entry).
    let rest = (rest, if r.cache_hit { "s-cache" } else { "s-rest" });
    [(before, "s-rest"), (r.acquire_wait_ms, "s-wait"), (r.connect_ms, "s-connecting"), (r.query_ms, "s-inuse"), rest]
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
fn drawn_end(tape: Tape) -> f64 {
    let lanes = in_order(tape.requests());
    axis_end(&lanes[..lanes.len().min(SHOWN)])
}

/// The waterfall as text (the charts' way, which keeps the page small): its title (after `label`,
/// whose run it is), the lanes on a time axis from 0 to `end` ms (the lanes' own end, or one
/// shared with another run's waterfall), `describe` as its description, and a legend of the parts
/// drawn. `id` tells two waterfalls on one page apart; `of` is how many requests the run had.
fn drawing(lanes: &[RequestRecord], of: usize, end: f64, id: &str, label: &str, describe: &str) -> String {
    use std::fmt::Write;
    let y = TOP + lanes.len() as f64 * LANE;
    let describe = escape(describe);
    // A run of more requests than are drawn says so.
    let first = if of > lanes.len() {
        format!(
            " (the {} of {of} whose work began first, after any wait: the longest waits may be among the rest)",
            lanes.len()
        )
    } else {
        String::new()
    };
    let mut o = format!(
        r#"<strong class="chart-title">{label}Every request, one lane each{first}: where its time went</strong>"#
    );
    if lanes.is_empty() {
        o +=
            r#"<p class="muted">The waterfall draws every request once the run is over and the lab has stored it.</p>"#;
    }
    let _ = write!(
        o,
        r#"<svg viewBox="0 0 {} {}" role="img" aria-labelledby="waterfall-title{id} waterfall-desc{id}" data-testid="waterfall{id}" data-requests="{}" data-axis-max="{}"><title id="waterfall-title{id}">Every request: wait, connect, query</title><desc id="waterfall-desc{id}">{describe}</desc>"#,
        Dec(WIDTH),
        Dec(y + AXIS),
        lanes.len(),
        Dec(end)
    );
    let scale = (WIDTH - LEFT * 2.0) / end;
    let step = crate::chart::nice_step(end / 6.0);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let x = Dec(LEFT + t * scale);
        let _ = write!(
            o,
            r#"<line class="grid" x1="{x}" x2="{x}" y1="0" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            Dec(y + 4.0),
            Dec(y + 16.0),
            Dec((t * 10.0).round() / 10.0)
        );
        t += step;
    }
    let _ = write!(
        o,
        r#"<text class="axis" x="{}" y="{}" text-anchor="middle">milliseconds since the run started</text>"#,
        Dec(WIDTH / 2.0),
        Dec(y + 30.0)
    );
    for b in bars(lanes, end) {
        let _ = write!(
            o,
            r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>"#,
            b.class,
            Dec(b.x),
            Dec(b.y),
            Dec(b.w.max(0.5)),
            Dec(LANE - 1.0)
        );
    }
    let _ = write!(o, r#"</svg><ul class="legend" data-testid="waterfall-legend{id}">"#);
    for (class, words) in PARTS {
        if lanes.iter().any(|r| lane(r).any(|(_, drawn)| drawn == class)) {
            let _ = write!(o, r#"<li><span class="swatch {class}" aria-hidden="true"></span>{words}</li>"#);
        }
    }
    let _ = write!(o, r#"</ul><p class="chart-text">{describe}</p>"#);
    o
}

/// Every request of a run as a lane: waiting for a connection, connecting, querying, and the rest
/// of its time (waiting for a slot, holding the connection between queries, answering). Drawn
/// `beside` another run's waterfall, the two share one time axis; `label` says whose run it is,
/// and `id` tells two waterfalls on one page apart.
#[component]
pub fn Waterfall(
    tape: Tape,
    #[prop(optional)] beside: Option<Tape>,
    #[prop(optional, into)] label: String,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    let requests = Signal::derive(move || in_order(tape.requests()));
    let drawn = move || {
        requests.with(|rs| {
            let describe = if rs.is_empty() {
                "No requests were stored for this run.".to_owned()
            } else {
                // The medians are the run's summary's (the figures the headline and the claim
                // show, over the requests each counts), not recounted here.
                // The load's length is the summary's too (the headline's duration), counted from
                // when its first request left.
                let summed = tape.run.with(|r| {
                    let s = r.as_ref()?.summary.as_ref()?;
                    let wait = match r.as_ref()?.spec.strategy {
                        poollab_shared::Strategy::Pooled => format!(
                            "wait for a connection {} ms{}, ",
                            number(s.acquire_wait_ms.p50),
                            match (s.errors.acquire_timeout, s.cache_hits) {
                                (0, 0) => String::new(),
                                // A cache's hits never ask the pool: the waits are its misses'.
                                (0, _) => format!(" (of the {} requests the cache sent on)", s.cache_misses),
                                (n, _) => format!(" (the median of every wait, the {n} that timed out among them)"),
                            }
                        ),
                        // Only connects that succeeded are connects (a refused one is a failure).
                        poollab_shared::Strategy::Naive => format!(
                            "connect {} ms{}, ",
                            number(s.connect_ms.p50),
                            if s.failed > 0 {
                                format!(" (the {} that connected)", s.connections_opened)
                            } else {
                                String::new()
                            }
                        ),
                    };
                    // A query's time is an answered request's: with none answered there is none.
                    let medians = if s.completed == 0 {
                        "No request was answered, so there is no query median (the queries of requests that failed later are drawn, not counted).".to_owned()
                    } else {
                        // As the page prints a figure everywhere else: 0.037 ms, not a misleading 0.0.
                        format!(
                            "Medians (the run's summary: of an even count, the lower of the two middle ones; each part's own, so they need not add up to a request's): {wait}query {} ms (answered requests; from sending to answer, the round trip included).",
                            number(s.query_ms.p50)
                        )
                    };
                    // Where on the run's clock, in the words every caption uses.
                    let span = crate::chart::load_span(rs, s.duration_ms)
                        .map_or(String::new(), |(from, to)| format!(", from {from} to {to} into the run"));
                    Some(format!("the load took {}{span}. {medians}", crate::tape::ms_text(s.duration_ms as f64)))
                });
                format!(
                    "{} requests; {} failed; {}",
                    rs.len(),
                    rs.iter().filter(|r| r.outcome != "ok").count(),
                    summed.unwrap_or_else(|| format!(
                        "the last answer came at {:.0} ms into the run.",
                        Dec(rs.iter().map(|r| r.start_ms + r.total_ms).fold(0.0, f64::max))
                    ))
                )
            };
            let lanes = &rs[..rs.len().min(SHOWN)];
            let end = beside.map_or(axis_end(lanes), |other| axis_end(lanes).max(drawn_end(other)));
            drawing(lanes, rs.len(), end, id, &label, &describe)
        })
    };
    let rows = move || {
        requests.with(|rs| {
            rs.iter()
                .take(50)
                .map(|r| {
                    format!(
                        "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr>",
                        r.n,
                        Dec(r.start_ms),
                        Dec(r.acquire_wait_ms),
                        Dec(r.connect_ms),
                        Dec(r.query_ms),
                        Dec(r.total_ms),
                        escape(&r.outcome)
                    )
                })
                .collect::<String>()
        })
    };
    view! {
        <figure class="chart waterfall">
            <div class="chart-frame" inner_html=drawn></div>
            <details>
                <summary>"The requests as a table"</summary>
                <table>
                    <thead><tr><th scope="col">"#"</th><th scope="col">"start ms"</th><th scope="col">"wait ms"</th><th scope="col">"connect ms"</th><th scope="col">"query ms"</th><th scope="col">"total ms"</th><th scope="col">"outcome"</th></tr></thead>
                    <tbody inner_html=rows></tbody>
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
            asked_ms: None,
            held_from_ms: None,
            given_back_ms: None,
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
        // A cache hit's time is the cache's.
        let hit = RequestRecord { cache_hit: true, ..record(0.0, 0.0, 0.0, 30.0) };
        let classes: Vec<&str> = bars(&[hit], 30.0).iter().map(|b| b.class).collect();
        assert_eq!(classes, ["s-cache"]);
        for pair in drawn[..3].windows(2) {
            assert!(near(pair[0].x + pair[0].w, pair[1].x), "{pair:?}");
        }
        assert_eq!(drawn[4].w, FAILED_CAP);
        // One that looked in the cache first waits from the instant it asked, and queries from
        // the instant it got its connection.
        let miss = RequestRecord { asked_ms: Some(3.0), held_from_ms: Some(8.0), ..record(1.0, 5.0, 2.0, 12.0) };
        let drawn = bars(&[miss], 13.0);
        let parts: Vec<(&str, f64)> =
            drawn.iter().map(|b| (b.class, (b.x - LEFT) * 13.0 / (WIDTH - 2.0 * LEFT))).collect();
        assert_eq!(parts.iter().map(|p| p.0).collect::<Vec<_>>(), ["s-rest", "s-wait", "s-inuse", "s-rest"]);
        assert!(near(parts[1].1, 3.0) && near(parts[2].1, 8.0), "{parts:?}");
        assert_eq!(axis_end(&[]), 1.0);
    }

    #[test]
    fn the_drawing_says_its_axis_and_draws_every_part_with_its_legend() {
        let quick = [record(0.0, 0.0, 1.0, 2.0), record(100.0, 0.0, 1.0, 2.0)];
        let svg = drawing(&quick, quick.len(), 820.0, "-earlier", "Step 1: ", "2 requests & more");
        assert!(svg.contains(r#"data-testid="waterfall-earlier" data-requests="2" data-axis-max="820""#), "{svg}");
        assert!(svg.contains(r#"<desc id="waterfall-desc-earlier">2 requests &amp; more</desc>"#), "{svg}");
        assert_eq!(svg.matches("<rect class=").count(), bars(&quick, 820.0).len());
        // Ticks every 200 ms up to the shared end, whatever this run's own end.
        assert!(svg.contains(">800</text>") && !svg.contains(">1000</text>"), "{svg}");
        assert!(svg.contains("querying") && !svg.contains("waiting for a pooled connection"), "{svg}");
        assert!(
            svg.contains(">Step 1: Every request, one lane each") && !svg.contains("once the run is over"),
            "{svg}"
        );
        assert!(drawing(&[], 0, 1.0, "", "", "").contains("once the run is over and the lab has stored it"));
        // Only a run with more requests than lanes drawn says which it draws.
        assert!(!svg.contains("whose work began first"), "{svg}");
        assert!(drawing(&quick, 3, 820.0, "", "", "").contains("one lane each (the 2 of 3 whose work began first, after any wait: the longest waits may be among the rest):"));
    }
}
