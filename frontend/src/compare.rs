//! Two runs side by side: this run's server line beside another finished run's, on one time
//! axis (naive and pooled, say); and a lesson step beside the earlier step it answers, their
//! figures in one table and their waterfalls on one time axis.

use leptos::prelude::*;
use poollab_shared::figures::info;
use poollab_shared::lesson::compared_figures;
use poollab_shared::{Dec, RunState, RunView, Step, Strategy, Timeline};

use crate::chart::{LineChart, Series};
use crate::escape;
use crate::outcome::with_unit;
use crate::tape::Tape;
use crate::waterfall::Waterfall;

/// A step beside the earlier step it answers (`earlier`, step `earlier_no`): whose the earlier
/// run is (`own`: the learner's own, or one the lab ran for this step), the figures the two are
/// about with each run's in a column headed by a link to its run's page, and both runs'
/// waterfalls on one time axis, each labelled with its step.
pub fn paired<O: Fn() -> Option<bool> + Send + Sync + 'static>(
    earlier: &Step,
    earlier_no: usize,
    step: &Step,
    step_no: usize,
    theirs: Tape,
    mine: Tape,
    own: O,
) -> impl IntoView + use<O> {
    let names: Vec<String> = compared_figures(earlier, step).into_iter().map(str::to_owned).collect();
    let runs = [(theirs, earlier_no), (mine, step_no)];
    // Words and a table as text, the charts' way: it keeps the page small.
    let head = move || {
        let whose = match own() {
            Some(true) => "your own run of it.",
            Some(false) => "run by the lab for this comparison (you have not run it).",
            None => "the lab runs it first when you run this one, unless you have run it.",
        };
        let mut o = format!(
            r#"<h3>Step {step_no} beside step {earlier_no}</h3><p class="muted" data-testid="paired-whose">Step {earlier_no}: {whose}</p><table data-testid="compare-figures"><thead><tr><th scope="col">Figure</th>"#
        );
        for (tape, n) in runs {
            let link = tape.run.with(|r| {
                r.as_ref()
                    .map(|r| format!(r#" <a href="{}">its run</a>"#, crate::route::Route::Run(r.id.clone()).href()))
            });
            o += &format!(r#"<th scope="col">Step {n}{}</th>"#, link.unwrap_or_default());
        }
        o += "</tr></thead><tbody>";
        // When either run had failures, a row says how many: their waits and durations count them.
        let failed = runs.iter().any(|(tape, _)| {
            tape.run.with(|r| r.as_ref().and_then(|r| r.summary.as_ref()).is_some_and(|s| s.failed > 0))
        });
        let failed = (failed && !names.iter().any(|n| n == "failed")).then(|| "failed".to_owned());
        for name in names.iter().chain(failed.iter()) {
            let (label, unit) = info(name).map_or((name.as_str(), ""), |i| (i.label, i.unit));
            o += &format!(r#"<tr data-figure="{name}"><th scope="row">{}</th>"#, escape(label));
            for (tape, n) in runs {
                let value = tape.run.with(|r| {
                    let r = r.as_ref().filter(|r| r.state == RunState::Done)?;
                    let s = r.summary.as_ref()?;
                    // sqlx's pool opens its connections inside a request's wait, and times none.
                    let missing = match r.spec.strategy {
                        Strategy::Pooled if name.starts_with("connect_ms.") => "not timed: part of a wait for the pool",
                        _ => "not measured in this run",
                    };
                    let value = s.figure_of(&r.spec, name).map_or_else(|| missing.to_owned(), |v| with_unit(v, unit));
                    // A wait for a connection counts the waits that ran out, not only the answered.
                    Some(match s.errors.acquire_timeout {
                        n if n > 0 && name.starts_with("acquire_wait_ms.") => format!("{value} ({n} timed out)"),
                        _ => value,
                    })
                });
                o += &format!(r#"<td data-step="{n}">{}</td>"#, value.as_deref().unwrap_or("…"));
            }
            o += "</tr>";
        }
        o + "</tbody></table>"
    };
    view! {
        <section class="card charts paired" data-testid="paired">
            <div inner_html=head></div>
            <Waterfall tape=theirs beside=mine label=format!("Step {earlier_no}: ") id="-earlier" />
            <Waterfall tape=mine beside=theirs label=format!("Step {step_no}, this step: ") />
        </section>
    }
}

/// This run's server line beside another finished run's, on one time axis: naive and pooled side
/// by side.
#[component]
pub fn Compare(tape: Tape, runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    let this = Signal::derive(move || {
        let run = tape.run.get()?;
        let frames = tape.with_frames(<[poollab_shared::Frame]>::to_vec);
        Some((run, Timeline { frames, ..Timeline::default() }))
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
            until: None,
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
