//! The instructor's page (`/instructor/`, a page of its own, so learners never download it): sign in
//! with the lab's token, lock the lab so only your runs go, lead every page to a lesson step
//! (learners can leave follow mode and rejoin), watch the line and the workers, cancel runs and
//! pause learners, issue and revoke workers' credentials, arm a class burst, see the class's
//! predictions and progress.

use leptos::prelude::*;
use poollab_shared::{ClassState, Dec, FollowStep, Lesson, PredictionHistogram, Query, RunSpec, Strategy, WorkSpec};

use crate::identity::set_instructor_token;

/// A request to the backend on its way, its answer already put where it goes.
type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// The instructor's page: the lab's header, whether the class is locked, and the panel.
#[component]
pub fn InstructorPage() -> impl IntoView {
    let live = crate::live::Live::connect();
    let lessons = RwSignal::new(Vec::<Lesson>::new());
    leptos::task::spawn_local(async move {
        if let Ok(l) = crate::api::lessons().await {
            lessons.set(l);
        }
    });
    let signed_in = RwSignal::new(crate::identity::instructor_token().is_some());
    let class = live.class;
    view! {
        <header class="top">
            <h1>"Pool Lab: instructor"</h1>
            <nav class="views" aria-label="Views"><a href="/#/">"The course, as learners see it"</a></nav>
            <p class="conn" class:ok=move || live.connected.get() role="status">
                {move || if live.connected.get() { "live" } else { "connecting…" }}
            </p>
        </header>
        <div class="class-banner" role="status" data-testid="class-banner">
            {move || class.with(|c| c.locked).then(|| view! {
                <p class="locked">"You locked the lab: only your runs go, and the class watches them live."</p>
            })}
        </div>
        <main id="main" class="layout-one">
            <InstructorPanel lessons=lessons class=class line=live.line signed_in=signed_in />
        </main>
    }
}

#[component]
pub fn InstructorPanel(
    lessons: RwSignal<Vec<Lesson>>,
    class: RwSignal<ClassState>,
    /// The line as every page hears it; the panel reloads its own view whenever it changes.
    line: RwSignal<poollab_shared::LineView>,
    /// Whether this page holds the token; the whole page reads it (banners, follow mode).
    signed_in: RwSignal<bool>,
) -> impl IntoView {
    let token = RwSignal::new(String::new());
    let lesson = RwSignal::new(String::new());
    let step = RwSignal::new(1u32);
    let error = RwSignal::new(None::<String>);
    // Every button asks the backend one thing; what it answers lands in a signal, or the error
    // under the panel.
    let call = move |task: Call| {
        leptos::task::spawn_local(async move {
            match task.await {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let class_call = move |task: std::pin::Pin<Box<dyn std::future::Future<Output = Result<ClassState, String>>>>| {
        call(Box::pin(async move {
            class.set(task.await?);
            Ok(())
        }))
    };
    let sign_in = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_instructor_token(Some(token.get_untracked().trim()));
        signed_in.set(true);
    };
    let set_lock = move |locked: bool| class_call(Box::pin(crate::api::lock(locked)));
    let lead = move |_| {
        let mut chosen = lesson.get_untracked();
        if chosen.is_empty() {
            chosen = lessons.with_untracked(|l| l.first().map(|l| l.id.clone()).unwrap_or_default());
        }
        let target = FollowStep { lesson: chosen, step: step.get_untracked() };
        class_call(Box::pin(crate::api::follow(Some(target))));
    };
    let release = move |_| class_call(Box::pin(crate::api::follow(None)));
    // The class's predictions for the step the class is on, and (on request) what was measured.
    let histogram = RwSignal::new(None::<PredictionHistogram>);
    let revealed = RwSignal::new(false);
    let load_predictions = move |_| {
        let Some(f) = class.with_untracked(|c| c.follow.clone()) else {
            error.set(Some("Lead the class to a step first.".into()));
            return;
        };
        revealed.set(false);
        call(Box::pin(async move {
            histogram.set(Some(crate::api::predictions(&f.lesson, f.step).await?));
            Ok(())
        }));
    };
    let rows = RwSignal::new(None::<Vec<crate::api::LearnerRow>>);
    let refresh = move |_| {
        call(Box::pin(async move {
            rows.set(Some(crate::api::class_progress().await?));
            Ok(())
        }))
    };
    let csv_href = RwSignal::new(None::<String>);
    let export = move |_| {
        call(Box::pin(async move {
            let csv = crate::api::class_csv().await?;
            csv_href.set(Some(format!("data:text/csv;charset=utf-8,{}", js_sys::encode_uri_component(&csv))));
            Ok(())
        }))
    };
    // A class burst: naive requests of 200 ms, five per learner who clicks in.
    let arm = move |_| {
        let run = RunSpec {
            strategy: Strategy::Naive,
            work: WorkSpec { query: Query::Sleep, sleep_ms: 200, ..WorkSpec::default() },
            ..RunSpec::default()
        };
        class_call(Box::pin(async move { crate::api::arm_burst(&run, 5).await }));
    };
    let fired = RwSignal::new(None::<String>);
    let fire = move |_| {
        call(Box::pin(async move {
            let f = crate::api::fire_burst().await?;
            fired.set(Some(format!(
                "Fired: one run of {} requests ({}). Everyone is watching it live.",
                f.requests, f.id
            )));
            Ok(())
        }))
    };
    let sign_out = move |_| {
        set_instructor_token(None);
        signed_in.set(false);
    };

    view! {
        <section class="card instructor" aria-labelledby="instructor-title">
            <h2 id="instructor-title">"Instructor"</h2>
            <Show when=move || signed_in.get() fallback=move || view! {
                <form on:submit=sign_in>
                    <div class="field">
                        <label for="token">"Instructor token"</label>
                        <input id="token" type="password" autocomplete="off" prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev)) />
                        <small>"The token the lab was started with (--instructor-token). Kept in this tab only."</small>
                    </div>
                    <button type="submit" class="secondary">"Sign in"</button>
                </form>
            }>
                <p>{move || if class.with(|c| c.locked) { "The lab is locked: only your runs go." } else { "The lab is open: everyone's runs take turns." }}</p>
                <p>
                    <button type="button" class="secondary" data-testid="lock" on:click=move |_| set_lock(true)>"Lock the lab"</button>
                    " "
                    <button type="button" class="secondary" data-testid="unlock" on:click=move |_| set_lock(false)>"Unlock"</button>
                </p>
                <div class="field">
                    <label for="lead-lesson">"Lead the class to"</label>
                    <select id="lead-lesson" on:change=move |ev| lesson.set(event_target_value(&ev))>
                        {move || lessons.get().into_iter().map(|l| view! { <option value=l.id.clone()>{l.title}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="lead-step">"Step"</label>
                    <input id="lead-step" type="number" min="1" prop:value=move || step.get().to_string()
                        on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<u32>() { step.set(v.max(1)) } } />
                </div>
                <p data-testid="leading">{move || class.with(|c| c.follow.as_ref().map_or(
                    "The class roams: each learner goes where they like.".to_owned(),
                    |f| format!("The class follows you to {}, step {}.", f.lesson, f.step),
                ))}</p>
                <p>
                    <button type="button" class="secondary" data-testid="lead" on:click=lead>"Everyone to this step"</button>
                    " "
                    <button type="button" class="secondary" on:click=release>"Let the class roam"</button>
                    " "
                    <button type="button" class="secondary" on:click=sign_out>"Sign out"</button>
                </p>
                <crate::line::InstructorLine changed=line />
                <crate::credentials::WorkerCredentials changed=line />
                <h3>"Class burst"</h3>
                <p>{move || class.with(|c| c.burst.as_ref().map_or("No class burst armed.".to_owned(), |b| format!("{} learners are in ({} requests each).", b.clicks, b.per_click)))}</p>
                <p>
                    <button type="button" class="secondary" on:click=arm>"Arm a class burst (naive, 5 requests per learner)"</button>
                    " "
                    <button type="button" class="secondary" on:click=fire>"Fire it"</button>
                </p>
                <p role="status">{move || fired.get()}</p>
                <h3>"The class's predictions"</h3>
                <p>
                    <button type="button" class="secondary" data-testid="show-predictions" on:click=load_predictions>"Show predictions for the class's step"</button>
                    " "
                    <button type="button" class="secondary" on:click=move |_| revealed.set(true)>"Reveal what was measured"</button>
                </p>
                {move || histogram.get().map(|h| {
                    let most = h.bins.iter().map(|b| b.count).max().unwrap_or(1).max(1);
                    view! {
                        <p data-testid="prediction-count">{format!("{} predictions", h.count)}</p>
                        <ul class="histogram" aria-label="Predictions by range">
                            {h.bins.iter().map(|b| view! {
                                <li>
                                    <span class="range">{format!("{:.0}–{:.0}", Dec(b.from), Dec(b.to))}</span>
                                    <span class="bar" style=format!("width: {}%", b.count * 100 / most)></span>
                                    <span class="n">{b.count}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                        {move || revealed.get().then(|| view! {
                            <p class="verdict ok" data-testid="reveal">
                                {h.measured_median.map_or("Nobody has measured it yet.".to_owned(), |m| format!("Measured (median of the class's runs): {:.1}. ", Dec(m)))}
                                {format!("{} of {} predicted within a quarter of what their own run measured.", h.close, h.count)}
                            </p>
                        })}
                    }
                })}
                <h3>"Progress"</h3>
                <p><button type="button" class="secondary" data-testid="refresh-progress" on:click=refresh>"Show the class's progress"</button></p>
                {move || rows.get().map(|rows| view! {
                    <table class="runs" data-testid="class-progress">
                        <thead><tr><th scope="col">"learner"</th><th scope="col">"steps run"</th><th scope="col">"claims held"</th><th scope="col">"predictions close"</th><th scope="col">"latest step"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let met = r.steps.iter().filter(|s| s.passed).count();
                                let close = r.steps.iter().filter(|s| s.close == Some(true)).count();
                                let latest = r.steps.last().map(|s| format!("{} / {}", s.lesson, s.step)).unwrap_or_default();
                                let who = if r.name.is_empty() { r.learner.clone() } else { r.name.clone() };
                                view! { <tr><td>{who}</td><td>{r.steps.len()}</td><td>{met}</td><td>{close}</td><td>{latest}</td></tr> }
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
                <p>
                    <button type="button" class="secondary" on:click=export>"Prepare the class's progress as CSV"</button>
                    " "
                    {move || csv_href.get().map(|href| view! { <a href=href download="poollab-class.csv">"Download poollab-class.csv"</a> })}
                </p>
            </Show>
            <p class="error" role="alert">{move || error.get()}</p>
        </section>
    }
}
