//! One stored run at its own address, `#/run/<id>`: what it was, its picture and replay, its
//! result and charts. A learner can send the address to someone else, or change one knob and run
//! it again (the sandbox opens with this run's spec).

use leptos::prelude::*;
use poollab_shared::{ChartName, Part, RunSpec, Strategy};

use crate::RunStatus;
use crate::live::Live;
use crate::route::Route;
use crate::stage::{Details, Stage, StepCharts};
use crate::summary::SummaryCard;
use crate::tape::Tape;

/// The run's spec in a few words: "pooled, 150 requests at once, pool of 10, 50 ms queries".
fn described(spec: &RunSpec) -> String {
    let mut parts = vec![format!("{}, {} requests", spec.strategy.as_str(), spec.requests)];
    if spec.instances > 1 {
        parts.push(format!("{} app instances", spec.instances));
    }
    if spec.strategy == Strategy::Pooled {
        parts.push(format!("pool of {}", spec.pool.max_connections));
    }
    if spec.work.sleep_ms > 0 && spec.work.query == poollab_shared::Query::Sleep {
        parts.push(format!("{} ms queries", spec.work.sleep_ms));
    }
    if spec.network.delay_ms > 0 {
        parts.push(format!("{} ms away", spec.network.delay_ms));
    }
    parts.join(", ")
}

#[component]
pub fn RunPage(id: String, live: Live) -> impl IntoView {
    let tape = Tape::new(Signal::stored(Some(id.clone())), live);
    let run = tape.run;
    let charts = move || {
        run.with(|r| {
            let several = r.as_ref().is_some_and(|r| r.spec.instances > 1);
            let mut c = vec![ChartName::Connections, ChartName::Waterfall];
            if several {
                c.push(ChartName::Instances);
            }
            c
        })
    };
    let fork = move |_| {
        if let Some(spec) = run.with_untracked(|r| r.as_ref().map(|r| r.spec.clone())) {
            crate::sandbox::open(Some(&spec));
        }
    };
    let address = move || web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    view! {
        <div class="step-page" data-testid="run-page" data-run=id.clone()>
            <nav class="crumbs" aria-label="Where you are">
                <a href="#/">"All lessons"</a>
                <a href=Route::Sandbox.href()>"Sandbox"</a>
                <span>{format!("Run {id}")}</span>
            </nav>
            <div class="step-top">
                <article class="card step" aria-labelledby="run-title">
                    <h2 id="run-title">{move || run.with(|r| r.as_ref().map_or_else(|| "Loading the run…".to_owned(), |r| described(&r.spec)))}</h2>
                    <RunStatus run=run live=live />
                    <SummaryCard run=run />
                    <p class="step-links">
                        <button type="button" class="secondary" data-testid="fork" on:click=fork prop:disabled=move || run.with(Option::is_none)>
                            "Change one knob and run again"
                        </button>
                    </p>
                    <p class="muted share">"This run's address, to share: " <code>{address}</code></p>
                </article>
                <Stage tape=tape live=live parts=Part::ALL.to_vec() />
            </div>
            {move || view! { <StepCharts tape=tape charts=charts() /> }}
            <Details tape=tape live=live shown=vec![ChartName::Connections, ChartName::Waterfall] />
        </div>
    }
}
