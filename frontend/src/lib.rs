//! Pool Lab's page: a Leptos app (client-side rendered, built to wasm by Trunk).
//!
//! The page holds no business logic: the backend measures, the page draws what the frames say.
//!
//! # The data path on this side
//! A learner follows the [`course`] (a lesson step's preset) or fills in [`controls`] in the
//! sandbox, and presses Run: [`api`] posts the run spec. The backend's frames and run updates
//! arrive over the websocket ([`live`]); a [`tape`] holds the frames of the run a view shows (live
//! while it runs, the stored ones after), and the [`picture`], the [`chart`]s and the [`tiles`]
//! all draw the tape's frame. [`route`] says which view is shown, and [`progress`] keeps the
//! learner's predictions and results in the browser.
//!
//! # Layout
//! - [`api`]: HTTP calls (lessons, start a run, read runs back).
//! - [`live`]: the `/ws` connection, reconnecting, turning messages into signals.
//! - [`json`] and [`from_js`]: JSON read and written by the browser; `from_js` reads the parsed
//!   values as the wire types (without ever formatting a float, which keeps core's float printer
//!   out of the page).
//! - [`tape`]: one run's frames and requests, and the scrubber that moves through them.
//! - [`picture`]: the pool drawn: instances and their slots, the line, the link, the server.
//! - [`stage`]: the picture with its scrubber, a set of charts, and the Details drawer.
//! - [`route`]: one URL per view (`#/`, `#/lesson/<id>/<step>`, `#/run/<id>`; `#/sandbox` opens
//!   the sandbox's page).
//! - [`course`]: the lesson list and a step: read, predict, run, see what it showed.
//! - [`outcome`]: a step's figure, the prediction beside it, its model's sum, its claim.
//! - [`run_page`]: one stored run at its own address, to share and to fork.
//! - [`progress`]: each step's prediction and result, in `localStorage`, downloadable.
//! - [`identity`]: this browser's anonymous learner id, or the instructor's token.
//! - [`instructor`]: the instructor's page, a bundle of its own (`/instructor/`): lock the lab,
//!   lead the class to a step, bursts, predictions, progress.
//! - [`line`]: the line for the instructor: workers, who runs where, who waits; cancel, pause.
//! - [`credentials`]: the workers' credentials for the instructor: issue, list, revoke.
//! - [`sandbox`]: every knob of the engine, a page of its own (`/sandbox/`), so learners of the
//!   course download it only when they open it; [`controls`] is its run form.
//! - [`chart`]: SVG line charts with units, limits and events, each with a text twin.
//! - [`waterfall`]: every request as a lane: wait, connect, query.
//! - [`instances`]: each app instance's connections against the server's limit.
//! - [`compare`]: a run's server line beside another run's; a step beside the step it answers.
//! - [`sweep`]: the sizing curve of a sweep over pool sizes.
//! - [`tiles`]: every figure of one frame, as numbers.
//! - [`summary`]: a finished run's measured result, and the list of recent runs.

mod api;
mod chart;
mod compare;
mod controls;
mod course;
mod credentials;
mod from_js;
mod identity;
mod instances;
pub mod instructor;
mod json;
mod libraries;
mod line;
mod live;
mod outcome;
mod picture;
mod progress;
mod route;
mod run_page;
pub mod sandbox;
mod stage;
mod summary;
mod sweep;
mod tape;
mod tiles;
mod waterfall;
mod your_pool;

use leptos::prelude::*;
use poollab_shared::{Lesson, RunState, RunView};

use crate::course::{CourseHome, StepView};
use crate::live::Live;
use crate::route::Route;

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let live = Live::connect();
    let route = route::follow();
    let progress = progress::keep();
    libraries::provide();
    let lessons = RwSignal::new(Vec::<Lesson>::new());
    let load_error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match api::lessons().await {
            Ok(l) => lessons.set(l),
            Err(e) => load_error.set(Some(e)),
        }
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
                <a href="/sandbox/">"Sandbox"</a>
                <a href="/sandbox/#/your-pool">"Your own pool"</a>
                <a href="/words.html" target="words">"Words used here"</a>
            </nav>
            <p class="conn" class:ok=move || connected.get() role="status">
                {move || if connected.get() { "live" } else { "connecting…" }}
            </p>
        </header>
        <div class="class-banner" role="status" data-testid="class-banner">
            {move || live.line.with(|l| l.stalled().filter(|_| l.waiting > 0)).map(|why| view! {
                <p class="locked" data-testid="stalled">{format!("Runs are waiting, and none can start now: {why}.")}</p>
            })}
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
                        {format!("Class burst: {} in so far, {} {} requests each. ", b.clicks, b.per_click, b.strategy.as_str())}
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
                Route::Sandbox => {
                    // The sandbox is a page of its own, which a learner downloads only to use it.
                    sandbox::open(None);
                    view! { <p class="card muted">"Opening the sandbox…"</p> }.into_any()
                }
                Route::Run(id) => view! { <run_page::RunPage id=id live=live /> }.into_any(),
                Route::Instructor => {
                    // The instructor's page is a page of its own, which learners never download.
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().assign("/instructor/");
                    }
                    view! { <p class="card muted">"Opening the instructor's page…"</p> }.into_any()
                }
                Route::Step { lesson, step } => {
                    let all = lessons.get();
                    if all.is_empty() {
                        view! { <p class="card muted">"Loading the lessons…"</p> }.into_any()
                    } else {
                        view! { <StepView lessons=all lesson_id=lesson index=step - 1 live=live progress=progress /> }.into_any()
                    }
                }
            }}
        </main>
        <footer class="foot">
            "Every figure on this page is measured on a real PostgreSQL server: the pool's own counters and the server's pg_stat_activity."
        </footer>
    }
}

/// One line on where the shown run is.
#[component]
pub(crate) fn RunStatus(run: Memo<Option<RunView>>, live: Live) -> impl IntoView {
    let text = move || match run.get() {
        None => "No run yet: choose a strategy and press Run.".to_owned(),
        Some(r) => {
            let shared = Live::shared_with(&r).map(|s| format!(" ({s})")).unwrap_or_default();
            let what = format!("{} run of {} requests{shared}", r.spec.strategy.as_str(), r.spec.requests);
            match r.state {
                RunState::Queued => format!("{what}. {}", live.place(&r)),
                RunState::Running => match live.worker_of(&r) {
                    Some(w) => format!("Running on {w}: {what}"),
                    None => format!("Running: {what}"),
                },
                RunState::Done => format!("Done: {what}"),
                RunState::Failed => format!("Failed: {what}: {}", r.error.unwrap_or_default()),
            }
        }
    };
    let state = move || run.get().map(|r| r.state.as_str()).unwrap_or_default();
    view! { <p class="status" data-testid="run-status" data-state=state>{text}</p> }
}

/// A number for an SVG attribute a view sets (`x=coord(x)`), with at most three decimals.
/// (Written by [`poollab_shared::Dec`]: a bare `f64` in a view would be printed by core's float
/// printer, which the page does without.)
pub(crate) fn coord(v: f64) -> String {
    poollab_shared::Dec(v).to_string()
}

/// Text made safe to put inside SVG or HTML written as text (the picture and the charts).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
