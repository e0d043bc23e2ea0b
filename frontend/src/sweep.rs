//! The sizing curve: one load over several pool sizes, drawn as the sweep's runs finish:
//! throughput, p99 latency and the median query by size. Too small: requests queue and throughput
//! is capped. Larger: throughput flattens, and past the server's capacity each query takes longer,
//! because the connections now wait for the server instead of for the pool.

use std::time::Duration;

use leptos::prelude::*;
use poollab_shared::expr::number;
use poollab_shared::{Dec, SweepPoint, SweepView};

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

/// The sizing curve of a sweep: throughput, p99 latency and the median query by pool size.
#[component]
pub fn SweepCurve(
    #[prop(into)] view_of: Signal<Option<SweepView>>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let points = move || view_of.with(|v| v.as_ref().map(|v| v.points.clone()).unwrap_or_default());
    let describe = move || {
        points()
            .iter()
            .map(|p| {
                if p.throughput_per_s > 0.0 {
                    format!(
                        "pool {}: {} req/s, p99 {} ms, median query {} ms",
                        p.max_connections,
                        number(p.throughput_per_s),
                        number(p.latency_p99_ms),
                        number(p.query_p50_ms)
                    )
                } else {
                    format!("pool {}: {}", p.max_connections, p.state.as_str())
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let panel =
        move |id: &'static str,
              title: &'static str,
              unit: &'static str,
              pick: fn(&SweepPoint) -> f64,
              class: &'static str| { move || curve(id, title, unit, &points(), pick, class, &describe()) };
    // The table as HTML text: far less code in the page than as many elements.
    let table = move || {
        let mut o = String::from("<thead><tr>");
        for h in ["pool size", "state", "req/s", "p50 ms", "p99 ms", "query p50 ms", "failed", "peak server"] {
            o.push_str(&format!(r#"<th scope="col">{h}</th>"#));
        }
        o.push_str("</tr></thead><tbody>");
        for p in points() {
            o.push_str(&format!(
                r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                crate::route::Route::Run(p.run_id.clone()).href(),
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
                <figure class="chart" inner_html=panel("sweep-throughput", "Throughput by pool size", "requests per second", |p| p.throughput_per_s, "s-inuse")></figure>
                <figure class="chart" inner_html=panel("sweep-p99", "p99 latency by pool size", "milliseconds", |p| p.latency_p99_ms, "s-wait")></figure>
                <figure class="chart" inner_html=panel("sweep-query", "Median query by pool size: how long each held its connection", "milliseconds", |p| p.query_p50_ms, "s-size")></figure>
            </div>
            <p class="chart-text" id="sweep-desc">{describe}</p>
            <table class="runs" inner_html=table></table>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

/// One figure of the sweep by pool size, as SVG text: sizes evenly along the bottom, the figure
/// up the side.
fn curve(
    id: &str,
    title: &str,
    unit: &str,
    points: &[SweepPoint],
    pick: fn(&SweepPoint) -> f64,
    class: &str,
    desc: &str,
) -> String {
    use std::fmt::Write;
    let done: Vec<(usize, f64)> =
        points.iter().enumerate().filter(|(_, p)| p.throughput_per_s > 0.0).map(|(i, p)| (i, pick(p))).collect();
    let top = crate::chart::nice_step(done.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-3) / 3.0) * 3.0;
    let top = top.max(done.iter().map(|(_, v)| *v).fold(0.0, f64::max) * 1.05);
    let n = points.len().max(2) as f64;
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
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            o,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            Dec(x(i)),
            Dec(H - 20.0),
            p.max_connections
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
    for (i, v) in &done {
        let _ = write!(o, r#"<circle class="dot {class}" cx="{:.1}" cy="{:.1}" r="3.5"/>"#, Dec(x(*i)), Dec(y(*v)));
    }
    let _ = write!(o, r#"</svg><strong class="chart-title">{}</strong>"#, crate::escape(title));
    let _ = desc;
    o
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
