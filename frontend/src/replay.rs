//! A finished run, replayed from what the lab stored: its frames under a time scrubber (the chart
//! and the tiles show the run as it was at that moment), every request as a waterfall of its wait,
//! connect and query, and its server line beside another run's on one time axis.

use leptos::prelude::*;
use poollab_shared::{RequestRecord, RunState, RunView, Timeline};

use crate::chart::{Chart, LineChart, Point, Series};
use crate::tiles::Tiles;

#[component]
pub fn RunReplay(#[prop(into)] run: Signal<Option<RunView>>, runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    let loaded = RwSignal::new(None::<(RunView, Timeline)>);
    let at = RwSignal::new(0usize);
    let error = RwSignal::new(None::<String>);
    let points = RwSignal::new(Vec::<Point>::new());
    let frame = RwSignal::new(None);
    // A different run shown: forget the previous replay.
    Effect::new(move |_| {
        let id = run.with(|r| r.as_ref().map(|r| r.id.clone()));
        if loaded.with_untracked(|l| l.as_ref().map(|(r, _)| r.id.clone())) != id {
            loaded.set(None);
        }
    });
    // The scrubber moves: the chart shows the frames up to it, the tiles that frame.
    Effect::new(move |_| {
        let i = at.get();
        loaded.with(|l| {
            if let Some((_, t)) = l {
                let end = i.min(t.frames.len().saturating_sub(1));
                points.set(t.frames.iter().take(end + 1).map(Point::from).collect());
                frame.set(t.frames.get(end).cloned());
            }
        });
    });
    let load = move |_| {
        let Some(id) = run.with_untracked(|r| r.as_ref().map(|r| r.id.clone())) else { return };
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::api::timeline(&id).await {
                Ok(mut view) => {
                    let t = view.timeline.take().unwrap_or_default();
                    at.set(t.frames.len().saturating_sub(1));
                    loaded.set(Some((view, t)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let done = move || run.with(|r| r.as_ref().is_some_and(|r| r.state == RunState::Done));
    let frames = move || loaded.with(|l| l.as_ref().map_or(0, |(_, t)| t.frames.len()));
    let time_at = move || frame.with(|f| f.as_ref().map_or(0.0, |f| f.elapsed_ms as f64 / 1000.0));
    let max_connections = Signal::derive(move || frame.with(|f| f.as_ref().map_or(0, |f| f.server.max_connections)));

    view! {
        <section class="card replay" aria-labelledby="replay-title">
            <h2 id="replay-title">"Replay"</h2>
            <Show when=done fallback=|| view! { <p class="muted">"When a run is done, replay it here: every frame, and every request."</p> }>
                <Show when=move || loaded.with(Option::is_some) fallback=move || view! {
                    <button type="button" class="secondary" data-testid="replay" on:click=load>"Replay this run, request by request"</button>
                }>
                    <div class="field scrub">
                        <label for="scrubber">{move || format!("Time: {:.1} s", time_at())}</label>
                        <input id="scrubber" type="range" min="0" max=move || frames().saturating_sub(1) step="1"
                            prop:value=move || at.get().to_string()
                            on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { at.set(v) } } />
                        <small>"Drag, or use the arrow keys, to move through the run's frames."</small>
                    </div>
                    <Chart points=points max_connections=max_connections />
                    <Tiles latest=frame />
                    <Waterfall requests=Signal::derive(move || loaded.with(|l| l.as_ref().map(|(_, t)| t.requests.clone()).unwrap_or_default())) />
                    <Compare this=Signal::derive(move || loaded.get()) runs=runs />
                </Show>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}

const LANE: f64 = 4.0;
const WIDTH: f64 = 640.0;
const LEFT: f64 = 8.0;
/// Requests drawn (the first ones of the run); the table and the CSV have them all.
const SHOWN: usize = 150;

/// Every request of a run as a lane: waiting for a connection, connecting, querying, and the rest
/// of its time (waiting for a slot, holding the connection between queries, answering).
#[component]
fn Waterfall(#[prop(into)] requests: Signal<Vec<RequestRecord>>) -> impl IntoView {
    let end = move || requests.with(|r| r.iter().take(SHOWN).map(|r| r.start_ms + r.total_ms).fold(1.0, f64::max));
    let height = move || requests.with(|r| r.len().min(SHOWN) as f64 * LANE + 24.0);
    let bars = move || {
        let scale = (WIDTH - LEFT * 2.0) / end();
        requests.with(|rs| {
            rs.iter()
                .take(SHOWN)
                .enumerate()
                .flat_map(|(i, r)| {
                    let y = i as f64 * LANE;
                    let mut x = LEFT + r.start_ms * scale;
                    let mut parts = Vec::new();
                    for (ms, class) in
                        [(r.acquire_wait_ms, "s-wait"), (r.connect_ms, "s-server"), (r.query_ms, "s-inuse")]
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
    view! {
        <figure class="chart waterfall">
            <svg viewBox=move || format!("0 0 {WIDTH} {}", height()) role="img" aria-labelledby="waterfall-title waterfall-desc" data-testid="waterfall"
                data-requests=move || requests.with(|r| r.len().min(SHOWN))>
                <title id="waterfall-title">"Every request: wait, connect, query"</title>
                <desc id="waterfall-desc">{describe}</desc>
                {bars}
            </svg>
            <figcaption>
                <strong class="chart-title">"Every request, one lane each (the first 150)"</strong>
                <ul class="legend">
                    <li><span class="swatch s-wait" aria-hidden="true"></span>"waiting for a connection"</li>
                    <li><span class="swatch s-server" aria-hidden="true"></span>"connecting"</li>
                    <li><span class="swatch s-inuse" aria-hidden="true"></span>"querying"</li>
                    <li><span class="swatch s-rest" aria-hidden="true"></span>"the rest (a slot, holding, answering)"</li>
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

/// This run's server line beside another finished run's, on one time axis: naive and pooled side
/// by side.
#[component]
fn Compare(#[prop(into)] this: Signal<Option<(RunView, Timeline)>>, runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    let other = RwSignal::new(None::<(RunView, Timeline)>);
    let error = RwSignal::new(None::<String>);
    let choices = move || {
        let this_id = this.with(|t| t.as_ref().map(|(r, _)| r.id.clone()));
        runs.get()
            .into_iter()
            .filter(|r| r.state == RunState::Done && Some(&r.id) != this_id.as_ref())
            .take(12)
            .collect::<Vec<_>>()
    };
    let pick = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        if id.is_empty() {
            other.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api::timeline(&id).await {
                Ok(mut view) => {
                    let t = view.timeline.take().unwrap_or_default();
                    other.set(Some((view, t)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let label = |r: &RunView| {
        format!("{:?}, {} requests, pool {}", r.spec.strategy, r.spec.requests, r.spec.pool.max_connections)
            .to_lowercase()
    };
    let series = Signal::derive(move || {
        let line = |(r, t): &(RunView, Timeline), class: &'static str| Series {
            name: format!("server backends: {}", label(r)),
            class,
            points: t.frames.iter().map(|f| (f.elapsed_ms as f64 / 1000.0, f.server.run_backends as f64)).collect(),
        };
        let mut out = Vec::new();
        if let Some(t) = this.get() {
            out.push(line(&t, "s-server"));
        }
        if let Some(o) = other.get() {
            out.push(line(&o, "s-size"));
        }
        out
    });
    let limit = Signal::derive(move || {
        this.with(|t| t.as_ref().and_then(|(_, t)| t.frames.last()).map(|f| f.server.max_connections as f64))
    });
    let description = Signal::derive(move || {
        series.with(|s| {
            s.iter()
                .map(|s| format!("{}: peak {:.0}.", s.name, s.points.iter().map(|p| p.1).fold(0.0, f64::max)))
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    view! {
        <div class="compare-runs">
            <div class="field">
                <label for="compare-with">"Compare the server's view with another run"</label>
                <select id="compare-with" on:change=pick>
                    <option value="">"(none)"</option>
                    {move || choices().into_iter().map(|r| view! { <option value=r.id.clone()>{label(&r)}</option> }).collect_view()}
                </select>
            </div>
            <Show when=move || other.with(Option::is_some)>
                <LineChart id="chart-compare" title="Server backends over time, two runs" series=series limit=limit description=description />
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}
