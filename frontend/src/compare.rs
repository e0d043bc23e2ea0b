//! Two runs side by side: this run's server line beside another finished run's, on one time
//! axis (naive and pooled, say).

use leptos::prelude::*;
use poollab_shared::{Dec, RunState, RunView, Timeline};

use crate::chart::{LineChart, Series};
use crate::tape::Tape;

/// This run's server line beside another finished run's, on one time axis: naive and pooled side
/// by side.
#[component]
pub fn Compare(tape: Tape, runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    let this = Signal::derive(move || {
        let run = tape.run.get()?;
        let frames = tape.with_frames(<[poollab_shared::Frame]>::to_vec);
        Some((run, Timeline { requests: Vec::new(), frames }))
    });
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
        format!("{}, {} requests, pool {}", r.spec.strategy.as_str(), r.spec.requests, r.spec.pool.max_connections)
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
                .map(|s| format!("{}: peak {:.0}.", s.name, Dec(s.points.iter().map(|p| p.1).fold(0.0, f64::max))))
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
                <LineChart id="chart-compare" title="Server backends over time, two runs" unit="connections" series=series limit=limit description=description />
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
}
