//! The sizing curve: one load over several pool sizes, throughput and p99 per size, drawn as the
//! sweep's runs finish. Too small: requests queue and throughput is capped. Larger: throughput
//! flattens (or falls) while the server carries more connections.

use std::time::Duration;

use leptos::prelude::*;
use poollab_shared::{SweepPoint, SweepView};

const W: f64 = 640.0;
const H: f64 = 220.0;
const PAD: f64 = 48.0;

#[component]
pub fn SweepCurve(id: String) -> impl IntoView {
    let view_of = RwSignal::new(None::<SweepView>);
    let error = RwSignal::new(None::<String>);
    let poll_id = id.clone();
    // Poll until every point's run is done (a sweep is a few runs through the queue).
    leptos::task::spawn_local(async move {
        loop {
            match crate::api::sweep(&poll_id).await {
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
    let points = move || view_of.with(|v| v.as_ref().map(|v| v.points.clone()).unwrap_or_default());
    let curve = move |pick: fn(&SweepPoint) -> f64, class: &'static str| {
        let pts = points();
        let done: Vec<&SweepPoint> = pts.iter().filter(|p| p.throughput_per_s > 0.0).collect();
        let max = done.iter().map(|p| pick(p)).fold(1.0, f64::max) * 1.1;
        let n = pts.len().max(2) as f64;
        let x = |i: usize| PAD + i as f64 / (n - 1.0) * (W - 2.0 * PAD);
        let y = |v: f64| H - 28.0 - v / max * (H - 40.0);
        let line = pts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.throughput_per_s > 0.0)
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p))))
            .collect::<Vec<_>>()
            .join(" ");
        let labels = pts
            .iter()
            .enumerate()
            .map(|(i, p)| view! { <text class="tick" x=x(i) y=H - 8.0 text-anchor="middle">{p.max_connections}</text> })
            .collect_view();
        view! {
            <polyline class=format!("line {class}") points=line />
            {labels}
            <text class="tick" x=PAD - 6.0 y=y(max / 1.1) + 4.0 text-anchor="end">{format!("{:.0}", max / 1.1)}</text>
        }
    };
    let describe = move || {
        points()
            .iter()
            .map(|p| {
                if p.throughput_per_s > 0.0 {
                    format!(
                        "pool {}: {:.0} req/s, p99 {:.1} ms",
                        p.max_connections, p.throughput_per_s, p.latency_p99_ms
                    )
                } else {
                    format!("pool {}: {}", p.max_connections, p.state.as_str())
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    view! {
        <section class="card sweep" aria-labelledby="sweep-title" data-testid="sweep" data-done=move || view_of.with(|v| v.as_ref().is_some_and(|v| v.done).to_string())>
            <h2 id="sweep-title">"Sizing curve"</h2>
            <figure class="chart">
                <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby="sweep-chart-title sweep-desc">
                    <title id="sweep-chart-title">"Throughput by pool size"</title>
                    <desc id="sweep-desc">{describe}</desc>
                    {move || curve(|p| p.throughput_per_s, "s-inuse")}
                </svg>
                <figcaption><strong class="chart-title">"Throughput (req/s) by pool size"</strong></figcaption>
            </figure>
            <figure class="chart">
                <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby="sweep-p99-title sweep-desc">
                    <title id="sweep-p99-title">"p99 latency by pool size"</title>
                    {move || curve(|p| p.latency_p99_ms, "s-wait")}
                </svg>
                <figcaption><strong class="chart-title">"p99 latency (ms) by pool size"</strong><p class="chart-text">{describe}</p></figcaption>
            </figure>
            <table class="runs">
                <thead><tr><th scope="col">"pool size"</th><th scope="col">"state"</th><th scope="col">"req/s"</th><th scope="col">"p50 ms"</th><th scope="col">"p99 ms"</th><th scope="col">"failed"</th><th scope="col">"peak server"</th></tr></thead>
                <tbody>
                    {move || points().into_iter().map(|p| view! {
                        <tr><td>{p.max_connections}</td><td>{p.state.as_str()}</td><td>{format!("{:.0}", p.throughput_per_s)}</td><td>{format!("{:.1}", p.latency_p50_ms)}</td><td>{format!("{:.1}", p.latency_p99_ms)}</td><td>{p.failed}</td><td>{p.peak_server_connections}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

/// Waits in the browser without blocking it (a `setTimeout` as a future).
async fn sleep(d: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, d.as_millis() as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
