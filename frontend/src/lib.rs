//! Pool Lab's page: a Leptos app (client-side rendered, built to wasm by Trunk).
//!
//! The page holds no business logic: the backend measures, the page draws what the frames say.
//!
//! # The data path on this side
//! A learner follows the [`course`] (a lesson step's preset) or fills in [`controls`] in the
//! sandbox, and presses Run: [`api`] posts the run spec. The backend's frames and run updates
//! arrive over the websocket ([`live`]) and land in signals owned by [`App`]; the [`chart`], the
//! live [`tiles`] and the [`summary`] read those signals. [`route`] says which view is shown, and
//! [`progress`] keeps the learner's predictions and results in the browser.
//!
//! # Layout
//! - [`api`]: HTTP calls (lessons, start a run, list runs).
//! - [`live`]: the `/ws` connection, reconnecting, turning messages into signal updates.
//! - [`route`]: one URL per view (`#/`, `#/lesson/<id>/<step>`, `#/sandbox`).
//! - [`course`]: the lesson list and a step: read, predict, run, compare, goal checked.
//! - [`progress`]: each step's prediction and result, in `localStorage`, downloadable.
//! - [`identity`]: this browser's anonymous learner id, or the instructor's token.
//! - [`instructor`]: the instructor's controls (lock the lab, lead the class to a step).
//! - [`controls`]: the sandbox's run form, every knob of the engine.
//! - [`chart`]: SVG line charts (connections, throughput and errors, latency), each with a text
//!   description and a table as its text twin.
//! - [`replay`]: a stored run replayed under a time scrubber, its requests as a waterfall, and its
//!   server line beside another run's.
//! - [`sweep`]: the sizing curve of a sweep over pool sizes.
//! - [`tiles`]: the latest figures of both sides, as numbers.
//! - [`summary`]: a finished run's measured result.

mod api;
mod chart;
mod controls;
mod course;
mod identity;
mod instructor;
mod live;
mod progress;
mod replay;
mod route;
mod summary;
mod sweep;
mod tiles;

use leptos::prelude::*;
use poollab_shared::{Frame, Lesson, Query, RunSpec, RunState, RunView, WorkSpec};

use crate::chart::{Chart, ChartKind, Point};
use crate::controls::Controls;
use crate::course::{CourseHome, StepView};
use crate::live::Live;
use crate::replay::RunReplay;
use crate::route::Route;
use crate::summary::{RecentRuns, SummaryCard};
use crate::sweep::SweepCurve;
use crate::tiles::{LiveSummary, Tiles};

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let live = Live::connect();
    let route = route::follow();
    let progress = progress::keep();
    let lessons = RwSignal::new(Vec::<Lesson>::new());
    let load_error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match api::lessons().await {
            Ok(l) => lessons.set(l),
            Err(e) => load_error.set(Some(e)),
        }
    });
    // The sandbox starts from requests that do 50 ms of database work (long enough for
    // connections to be seen), or from the lesson experiment a learner opened in it.
    let sandbox = RwSignal::new(RunSpec {
        work: WorkSpec { query: Query::Sleep, sleep_ms: 50, ..WorkSpec::default() },
        ..RunSpec::default()
    });
    let connected = live.connected;
    let class = live.class;
    // Whether this page holds the instructor's token: the banners then speak to the instructor,
    // and follow mode leaves their page alone (they lead; they do not follow themselves).
    let instructor = RwSignal::new(identity::instructor_token().is_some());
    // Follow mode: when the instructor leads the class to a step, go there (a learner can leave
    // follow mode, and rejoin).
    let following = RwSignal::new(true);
    Effect::new(move |_| {
        if instructor.get() {
            return;
        }
        if let (Some(step), true) = (class.with(|c| c.follow.clone()), following.get()) {
            let target = Route::Step { lesson: step.lesson, step: step.step as usize };
            if route.get_untracked() != target {
                route::go(&target);
            }
        }
    });
    let here = move |r: Route| move || std::mem::discriminant(&route.get()) == std::mem::discriminant(&r);

    view! {
        <a class="skip" href="#main">"Skip to the content"</a>
        <header class="top">
            <h1>"Pool Lab"</h1>
            <p class="tagline">
                "Database connection pooling, measured on a real PostgreSQL: open a connection per request, or borrow from a pool, and watch both sides."
            </p>
            <nav class="views" aria-label="Views">
                <a href="#/" class:current=here(Route::Course)>"Course"</a>
                <a href="#/sandbox" class:current=here(Route::Sandbox)>"Sandbox"</a>
            </nav>
            <p class="conn" class:ok=move || connected.get() role="status">
                {move || if connected.get() { "live" } else { "connecting…" }}
            </p>
        </header>
        <div class="class-banner" role="status" data-testid="class-banner">
            {move || class.with(|c| c.locked).then(|| view! {
                <p class="locked">{if instructor.get() {
                    "You locked the lab: only your runs go, and the class watches them live."
                } else {
                    "The lab is locked by your instructor: only their runs go for now. Watch theirs live."
                }}</p>
            })}
            {move || class.with(|c| c.burst.clone()).map(|b| {
                let joined = RwSignal::new(false);
                view! {
                    <p class="following" data-testid="class-burst">
                        {format!("Class burst: {} in so far, {} {} requests each. ", b.clicks, b.per_click, format!("{:?}", b.strategy).to_lowercase())}
                        <button type="button" class="secondary" prop:disabled=move || joined.get()
                            on:click=move |_| { joined.set(true); leptos::task::spawn_local(async move { let _ = api::click_burst().await; }); }>
                            {move || if joined.get() { "You are in" } else { "I'm in!" }}
                        </button>
                    </p>
                }
            })}
            {move || class.with(|c| c.follow.clone()).filter(|_| !instructor.get()).map(|f| view! {
                <p class="following">
                    {move || if following.get() {
                        format!("Following your instructor: lesson {}, step {}.", f.lesson, f.step)
                    } else {
                        format!("Your instructor is on lesson {}, step {}.", f.lesson, f.step)
                    }}
                    " "
                    <button type="button" class="secondary" data-testid="follow-toggle" on:click=move |_| following.update(|f| *f = !*f)>
                        {move || if following.get() { "Leave follow mode" } else { "Follow again" }}
                    </button>
                </p>
            })}
        </div>
        <main id="main">
            <p class="error" role="alert">{move || load_error.get().map(|e| format!("The lessons could not be loaded: {e}"))}</p>
            {move || match route.get() {
                Route::Course => view! { <div class="layout-one"><CourseHome lessons=lessons progress=progress /></div> }.into_any(),
                Route::Sandbox => view! { <Sandbox live=live initial=sandbox.get_untracked() /> }.into_any(),
                Route::Instructor => view! { <div class="layout-one"><instructor::InstructorPanel lessons=lessons class=class signed_in=instructor /></div> }.into_any(),
                Route::Step { lesson, step } => {
                    let all = lessons.get();
                    if all.is_empty() {
                        view! { <p class="card muted">"Loading the lessons…"</p> }.into_any()
                    } else {
                        view! { <StepView lessons=all lesson_id=lesson index=step - 1 live=live progress=progress sandbox=sandbox /> }.into_any()
                    }
                }
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
    let Live { latest, points, watching, runs, .. } = live;
    let sweep = RwSignal::new(None::<String>);
    // The run whose summary is shown: the one being watched, or the newest finished one.
    let shown = Memo::new(move |_| {
        let runs = runs.get();
        watching
            .get()
            .and_then(|id| runs.iter().find(|r| r.id == id).cloned())
            .or_else(|| runs.into_iter().find(|r| matches!(r.state, RunState::Done | RunState::Failed)))
    });
    view! {
        <div class="layout">
            <section class="card controls" aria-labelledby="controls-title">
                <h2 id="controls-title">"Experiment"</h2>
                <Controls initial=initial on_started=move |view: RunView| live.track(view) on_sweep=move |id| sweep.set(Some(id)) />
            </section>
            <section class="card live" aria-labelledby="live-title">
                <h2 id="live-title">"Live"</h2>
                <RunStatus run=shown />
                <Chart points=points max_connections=Signal::derive(move || latest.get().map(|f: Frame| f.server.max_connections).unwrap_or(0)) />
                <Tiles latest=latest />
                <LiveSummary latest=latest />
                <Chart points=points max_connections=Signal::derive(move || latest.get().map(|f: Frame| f.server.max_connections).unwrap_or(0)) kind=ChartKind::ServerStates />
                <Chart points=points max_connections=0u64 kind=ChartKind::Throughput />
                <Chart points=points max_connections=0u64 kind=ChartKind::Latency />
            </section>
            <section class="card result" aria-labelledby="summary-title" aria-live="polite">
                <h2 id="summary-title">"Result"</h2>
                <SummaryCard run=shown />
            </section>
            {move || sweep.get().map(|id| view! { <SweepCurve id=id /> })}
            <RunReplay run=shown runs=runs />
            <section class="card history" aria-labelledby="history-title">
                <h2 id="history-title">"Recent runs"</h2>
                <RecentRuns runs=runs />
            </section>
        </div>
    }
}

/// One line on where the shown run is.
#[component]
fn RunStatus(run: Memo<Option<RunView>>) -> impl IntoView {
    let text = move || match run.get() {
        None => "No run yet: choose a strategy and press Run.".to_owned(),
        Some(r) => {
            let what = format!("{:?} run of {} requests", r.spec.strategy, r.spec.requests).to_lowercase();
            match r.state {
                RunState::Queued => match r.position {
                    Some(p) => format!("Queued, #{p} in line: {what}"),
                    None => format!("Queued: {what}"),
                },
                RunState::Running => format!("Running: {what}"),
                RunState::Done => format!("Done: {what}"),
                RunState::Failed => format!("Failed: {what}: {}", r.error.unwrap_or_default()),
            }
        }
    };
    let state = move || run.get().map(|r| format!("{:?}", r.state).to_lowercase()).unwrap_or_default();
    view! { <p class="status" data-testid="run-status" data-state=state>{text}</p> }
}

/// Keeps a point per frame for the chart: only the frames of one run at a time.
pub(crate) fn push_point(points: RwSignal<Vec<Point>>, frame: &Frame) {
    points.update(|p| {
        p.push(Point::from(frame));
        // A minute at ten frames a second is plenty for a burst; older points scroll away.
        if p.len() > 1200 {
            p.drain(..p.len() - 1200);
        }
    });
}
