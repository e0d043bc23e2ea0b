//! The sizing curve: one load over several pool sizes, drawn as the sweep's runs finish:
//! throughput, p99 latency and the median query by size. Too small: requests queue and throughput
//! is capped. Larger: throughput flattens, and past the server's capacity each query takes longer,
//! because the connections now wait for the server instead of for the pool.

use std::time::Duration;

use leptos::prelude::*;
use poollab_shared::expr::number;
use poollab_shared::{Dec, RunState, SizePoint, SweepPoint, SweepView, by_size};

const W: f64 = 360.0;
const H: f64 = 200.0;
const PAD: f64 = 48.0;

/// A sweep's view, read again every half second until every point's run is done (a sweep is a
/// few runs through the queue).
pub fn watch(id: String) -> (RwSignal<Option<SweepView>>, RwSignal<Option<String>>) {
    let view_of = RwSignal::new(None::<SweepView>);
    let error = RwSignal::new(None::<String>);
    watch_into(id, view_of, error);
    (view_of, error)
}

/// Like [`watch`], into signals the caller owns.
pub fn watch_into(id: String, view_of: RwSignal<Option<SweepView>>, error: RwSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        loop {
            match crate::api::sweep(&id).await {
                Ok(v) => {
                    let done = v.done;
                    view_of.set(Some(v));
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    error.set(Some(e));
                    break;
                }
            }
            sleep(Duration::from_millis(500)).await;
        }
    });
}

/// The sizing curve of a sweep: throughput, p99 latency and the median query by pool size. A size
/// that ran more than once is drawn as its better run, the one with the lower p99 (the line and its
/// dot, [`by_size`]), each run a ring.
#[component]
pub fn SweepCurve(
    #[prop(into)] view_of: Signal<Option<SweepView>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let points = move || view_of.with(|v| v.as_ref().map(|v| v.points.clone()).unwrap_or_default());
    let describe = move || describe(&points());
    let panel =
        move |id: &'static str,
              title: &'static str,
              unit: &'static str,
              point: fn(&SizePoint) -> f64,
              run: fn(&SweepPoint) -> f64,
              class: &'static str| { move || curve(id, title, unit, &points(), point, run, class) };
    // The table as HTML text: far less code in the page than as many elements.
    let table = move || {
        let mut o = String::from("<thead><tr>");
        for h in ["run", "pool size", "state", "req/s", "p50 ms", "p99 ms", "query p50 ms", "failed", "peak server"] {
            o.push_str(&format!(r#"<th scope="col">{h}</th>"#));
        }
        o.push_str("</tr></thead><tbody>");
        for (i, p) in points().iter().enumerate() {
            o.push_str(&format!(
                r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                crate::route::Route::Run(p.run_id.clone()).href(),
                i + 1,
                p.max_connections,
                p.state.as_str(),
                number(p.throughput_per_s),
                number(p.latency_p50_ms),
                number(p.latency_p99_ms),
                number(p.query_p50_ms),
                p.failed,
                p.peak_server_connections
            ));
        }
        o.push_str("</tbody>");
        o
    };
    view! {
        <section class="card sweep" aria-labelledby="sweep-title" data-testid="sweep" data-done=move || view_of.with(|v| v.as_ref().is_some_and(|v| v.done).to_string())>
            <h2 id="sweep-title">"Sizing curve"</h2>
            <div class="sweep-panels">
                <figure class="chart" inner_html=panel("sweep-throughput", "Throughput by pool size", "requests per second", |p| p.throughput_per_s, |p| p.throughput_per_s, "s-inuse")></figure>
                <figure class="chart" inner_html=panel("sweep-p99", "p99 latency by pool size", "milliseconds", |p| p.latency_p99_ms, |p| p.latency_p99_ms, "s-wait")></figure>
                <figure class="chart" inner_html=panel("sweep-query", "Median query by pool size: how long each held its connection", "milliseconds", |p| p.query_p50_ms, |p| p.query_p50_ms, "s-size")></figure>
            </div>
            <p class="chart-text" id="sweep-desc">{describe}</p>
            <table class="runs" inner_html=table></table>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

/// The curve in words, size by size, smallest first; a size that ran more than once says its
/// figures are its better run's, the one with the lower p99 (the table lists each run).
pub fn describe(points: &[SweepPoint]) -> String {
    let mut out = String::new();
    for s in by_size(points) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&format!("pool {}: ", s.max_connections));
        if s.answered == 0 {
            let state = points.iter().find(|p| p.max_connections == s.max_connections && p.state != RunState::Done);
            out.push_str(state.map_or(RunState::Done, |p| p.state).as_str());
            continue;
        }
        if s.answered > 1 {
            out.push_str(&format!("the better of {} runs by p99, ", s.answered));
        }
        out.push_str(&format!(
            "{} req/s, p99 {} ms, median query {} ms",
            number(s.throughput_per_s),
            number(s.latency_p99_ms),
            number(s.query_p50_ms)
        ));
    }
    out
}

/// One figure of the sweep by pool size, as SVG text: sizes evenly along the bottom, smallest
/// first, each size's point up the side (a size that ran more than once: its better run, each run
/// a ring).
fn curve(
    id: &str,
    title: &str,
    unit: &str,
    points: &[SweepPoint],
    point: fn(&SizePoint) -> f64,
    run: fn(&SweepPoint) -> f64,
    class: &str,
) -> String {
    use std::fmt::Write;
    let sizes = by_size(points);
    let done: Vec<(usize, f64)> =
        sizes.iter().enumerate().filter(|(_, s)| s.answered > 0).map(|(i, s)| (i, point(s))).collect();
    // Each answered run, at its size's place, when its size ran more than once.
    let mut rings: Vec<(usize, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.answered()) {
        if let Some(i) = sizes.iter().position(|s| s.max_connections == p.max_connections && s.answered > 1) {
            rings.push((i, run(p)));
        }
    }
    let highest = done.iter().chain(&rings).map(|(_, v)| *v).fold(0.0, f64::max);
    let top = crate::chart::nice_step(highest.max(1e-3) / 3.0) * 3.0;
    let top = top.max(highest * 1.05);
    let n = sizes.len().max(2) as f64;
    let x = |i: usize| PAD + i as f64 / (n - 1.0) * (W - PAD - 16.0);
    let y = |v: f64| H - 36.0 - v / top * (H - 56.0);
    let mut o = format!(
        r#"<svg viewBox="0 0 {} {}" role="img" aria-label="{} " data-testid="{id}"><title>{}</title>"#,
        Dec(W),
        Dec(H),
        crate::escape(title),
        crate::escape(title)
    );
    for k in 0..=3 {
        let v = top * k as f64 / 3.0;
        let _ = write!(
            o,
            r#"<line class="grid" x1="{pad}" x2="{}" y1="{yv:.1}" y2="{yv:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            Dec(W - 16.0),
            Dec(PAD - 6.0),
            Dec(y(v) + 4.0),
            number(v),
            pad = Dec(PAD),
            yv = Dec(y(v))
        );
    }
    for (i, s) in sizes.iter().enumerate() {
        let _ = write!(
            o,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            Dec(x(i)),
            Dec(H - 20.0),
            s.max_connections
        );
    }
    let _ = write!(
        o,
        r#"<text class="axis" x="{}" y="{}" text-anchor="middle">pool size (connections)</text><text class="axis" x="4" y="12">{}</text>"#,
        Dec((W + PAD) / 2.0),
        Dec(H - 4.0),
        crate::escape(unit)
    );
    let line: String = done.iter().map(|(i, v)| format!("{:.1},{:.1} ", Dec(x(*i)), Dec(y(*v)))).collect();
    let _ = write!(o, r#"<polyline class="line {class}" points="{line}"/>"#);
    for (i, v) in &rings {
        let _ = write!(o, r#"<circle class="ring {class}" cx="{:.1}" cy="{:.1}" r="3"/>"#, Dec(x(*i)), Dec(y(*v)));
    }
    for (i, v) in &done {
        let _ = write!(o, r#"<circle class="dot {class}" cx="{:.1}" cy="{:.1}" r="3.5"/>"#, Dec(x(*i)), Dec(y(*v)));
    }
    let _ = write!(o, r#"</svg><strong class="chart-title">{}</strong>"#, crate::escape(title));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(size: u32, p99: f64, run: &str) -> SweepPoint {
        SweepPoint {
            throughput_per_s: 100.0,
            latency_p99_ms: p99,
            ..SweepPoint::of(size, run.to_owned(), RunState::Done, None)
        }
    }

    #[test]
    fn a_size_run_twice_reads_as_its_better_run_and_draws_each_run() {
        let down_and_up = [point(4, 30.0, "a"), point(1, 10.0, "b"), point(1, 14.0, "c"), point(4, 50.0, "d")];
        // Smallest first, whatever order the runs went in.
        assert_eq!(
            describe(&down_and_up),
            "pool 1: the better of 2 runs by p99, 100 req/s, p99 10 ms, median query 0 ms; \
             pool 4: the better of 2 runs by p99, 100 req/s, p99 30 ms, median query 0 ms"
        );
        let svg = curve("c", "p99", "ms", &down_and_up, |s| s.latency_p99_ms, |p| p.latency_p99_ms, "k");
        assert_eq!(svg.matches("<circle class=\"ring").count(), 4, "{svg}");
        assert_eq!(svg.matches("<circle class=\"dot").count(), 2, "{svg}");
        // A sweep of sizes run once each draws no rings and says nothing of a better run.
        let once = [point(1, 10.0, "a"), point(4, 30.0, "b")];
        assert_eq!(
            describe(&once),
            "pool 1: 100 req/s, p99 10 ms, median query 0 ms; pool 4: 100 req/s, p99 30 ms, median query 0 ms"
        );
        let svg = curve("c", "p99", "ms", &once, |s| s.latency_p99_ms, |p| p.latency_p99_ms, "k");
        assert_eq!(svg.matches("<circle class=\"ring").count(), 0, "{svg}");
    }
}

/// Waits in the browser without blocking it (a `setTimeout` as a future).
pub(crate) async fn sleep(d: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, d.as_millis() as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
