//! The sandbox: every knob of the engine, free to play with, on a page of its own (`/sandbox/`).
//!
//! It is a bundle of its own (like the instructor's), so a learner following the course never
//! downloads the run form's forty knobs. A course step or a stored run opens it with their spec:
//! [`open`] leaves the spec in this tab's `sessionStorage` and goes to `/sandbox/`, which reads it
//! once ([`SandboxPage`]).

use leptos::prelude::*;
use poollab_shared::{Part, Query, RunSpec, RunState, RunView, WorkSpec};

use crate::RunStatus;
use crate::controls::Controls;
use crate::live::Live;
use crate::route::Route;
use crate::stage::{Details, Stage, StepCharts};
use crate::summary::{RecentRuns, SummaryCard};
use crate::sweep::SweepCurve;
use crate::tape::Tape;

/// Where a page leaves the spec the sandbox opens with.
const SPEC_KEY: &str = "poollab.sandbox-spec";

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Leaves `spec` for the sandbox to open with (a link to `/sandbox/` then takes the learner there).
pub fn hand_over(spec: &RunSpec) {
    if let (Some(s), Ok(json)) = (session(), crate::json::stringify(spec)) {
        let _ = s.set_item(SPEC_KEY, &json);
    }
}

/// Opens the sandbox, with `spec` in its form (none: its default).
pub fn open(spec: Option<&RunSpec>) {
    if let Some(spec) = spec {
        hand_over(spec);
    }
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(&Route::Sandbox.href());
    }
}

/// The spec a page left for the sandbox, taken once; otherwise requests that do 50 ms of database
/// work (long enough for connections to be seen).
fn handed_over() -> RunSpec {
    let left = session().and_then(|s| {
        let json = s.get_item(SPEC_KEY).ok().flatten();
        let _ = s.remove_item(SPEC_KEY);
        json
    });
    left.and_then(|json| crate::json::parse::<RunSpec>(&json).ok()).unwrap_or_else(|| RunSpec {
        work: WorkSpec { query: Query::Sleep, sleep_ms: 50, ..WorkSpec::default() },
        ..RunSpec::default()
    })
}

/// The sandbox's page: the lab's header, whether the class is locked, and the sandbox.
#[component]
pub fn SandboxPage() -> impl IntoView {
    let live = Live::connect();
    crate::libraries::provide();
    let class = live.class;
    let initial = handed_over();
    // `#/your-pool` (and a result's `#/your-pool/<id>`) is the page for one's own pool.
    let hash = crate::your_pool::follow_hash();
    let your_pool = Memo::new(move |_| hash.with(|h| crate::your_pool::wanted(h)));
    let shown = Signal::derive(move || your_pool.get().flatten());
    view! {
        <a class="skip" href="#main">"Skip to the content"</a>
        <header class="top">
            <h1>"Pool Lab"</h1>
            <nav class="views" aria-label="Views">
                <a href="/#/">"Course"</a>
                <a href="/sandbox/#/" class:current=move || your_pool.with(Option::is_none)>"Sandbox"</a>
                <a href=crate::your_pool::href(None) class:current=move || your_pool.with(Option::is_some)>"Your own pool"</a>
            </nav>
            <p class="conn" class:ok=move || live.connected.get() role="status">
                {move || if live.connected.get() { "live" } else { "connecting…" }}
            </p>
        </header>
        <div class="class-banner" role="status" data-testid="class-banner">
            {move || class.with(|c| c.locked).then(|| view! {
                <p class="locked">"The lab is locked by your instructor: only their runs go for now. Watch theirs live."</p>
            })}
            {move || class.with(|c| c.follow.clone()).map(|f| view! {
                <p class="following">
                    {format!("Your instructor is on lesson {}, step {}. ", f.lesson, f.step)}
                    <a href=Route::Step { lesson: f.lesson.clone(), step: f.step as usize }.href()>"Go there"</a>
                </p>
            })}
        </div>
        <main id="main">
            {move || match your_pool.with(Option::is_some) {
                true => view! { <crate::your_pool::YourPool live=live shown=shown /> }.into_any(),
                false => view! { <Sandbox live=live initial=initial.clone() /> }.into_any(),
            }}
        </main>
        <footer class="foot">
            "Every figure on this page is measured on a real PostgreSQL server: the pool's own counters and the server's pg_stat_activity."
        </footer>
    }
}

/// Every knob of the engine, free to play with.
#[component]
fn Sandbox(live: Live, initial: RunSpec) -> impl IntoView {
    let sweep = RwSignal::new(None::<(RwSignal<Option<poollab_shared::SweepView>>, RwSignal<Option<String>>)>);
    // The run shown: the one being watched, or the newest finished one.
    let shown_id = Signal::derive(move || {
        live.watching.get().or_else(|| {
            live.runs.with(|runs| {
                runs.iter().find(|r| matches!(r.state, RunState::Done | RunState::Failed)).map(|r| r.id.clone())
            })
        })
    });
    let tape = Tape::new(shown_id, live);
    let run = tape.run;
    view! {
        <div class="layout">
            <section class="card controls" aria-labelledby="controls-title">
                <h2 id="controls-title">"Experiment"</h2>
                <Controls initial=initial on_started=move |view: RunView| live.track(view) on_sweep=move |id| sweep.set(Some(crate::sweep::watch(id))) />
            </section>
            <div class="sandbox-main">
                <RunStatus run=run live=live />
                <Stage tape=tape live=live parts=Part::ALL.to_vec() />
                <section class="card result" aria-labelledby="summary-title" aria-live="polite">
                    <h2 id="summary-title">"Result"</h2>
                    <SummaryCard run=run />
                    {move || run.with(|r| r.as_ref().map(|r| Route::Run(r.id.clone()).href())).map(|href| view! { <p><a href=href>"This run's own page, to share or to change one knob"</a></p> })}
                </section>
                <StepCharts tape=tape charts=vec![poollab_shared::ChartName::Connections, poollab_shared::ChartName::Throughput] />
                {move || sweep.get().map(|(view_of, error)| view! { <SweepCurve view_of=view_of error=error /> })}
                <Details tape=tape live=live shown=vec![poollab_shared::ChartName::Connections, poollab_shared::ChartName::Throughput]>
                    <crate::compare::Compare tape=tape runs=live.runs />
                </Details>
                <crate::libraries::LibraryNames />
                <section class="card history" aria-labelledby="history-title">
                    <h2 id="history-title">"Recent runs"</h2>
                    <RecentRuns runs=live.runs />
                </section>
            </div>
        </div>
    }
}
