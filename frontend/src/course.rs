//! The course: the lesson list, and one step of a lesson: read, predict, run, compare.
//!
//! A step's prediction is asked before its Run button works, and stays on screen beside the
//! measured figure afterwards. Whether the goal was met is decided by the same code the backend's
//! tests use ([`poollab_shared::Goal::check`]) on the run's measured summary.

use leptos::prelude::*;
use poollab_shared::{Lesson, RunSpec, RunState, StepReport};

use crate::chart::Chart;
use crate::live::Live;
use crate::progress::{Progress, StepRecord, step_key};
use crate::replay::RunReplay;
use crate::route::Route;
use crate::summary::SummaryCard;
use crate::tiles::{LiveSummary, Tiles};

/// The list of lessons with the learner's progress.
#[component]
pub fn CourseHome(lessons: RwSignal<Vec<Lesson>>, progress: RwSignal<Progress>) -> impl IntoView {
    view! {
        <section class="card course" aria-labelledby="course-title">
            <h2 id="course-title">"The course"</h2>
            <p class="muted">
                "Fifteen short lessons. Each step explains one idea, asks what you expect, runs the experiment on a real PostgreSQL, and checks what was measured."
            </p>
            <ol class="lessons" data-testid="lesson-list">
                {move || lessons.get().into_iter().map(|l| {
                    let total = l.steps.len();
                    let passed = progress.with(|p| p.passed_in(&l.id));
                    let href = Route::Step { lesson: l.id.clone(), step: 1 }.href();
                    view! {
                        <li data-lesson=l.id.clone() data-passed=passed class:done=passed == total>
                            <a href=href>{l.title.clone()}</a>
                            <span class="progress-note">{format!("{passed} of {total} steps")}</span>
                            <p class="muted">{l.summary.clone()}</p>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="field name">
                <label for="display-name">"Your name for your instructor (optional)"</label>
                <input id="display-name" type="text" maxlength="40" autocomplete="nickname"
                    prop:value=crate::identity::display_name().unwrap_or_default()
                    on:change=move |ev| crate::identity::set_display_name(&event_target_value(&ev)) />
                <small>"No account: your progress stays in this browser; your instructor sees your predictions and results."</small>
            </div>
            <p>
                <a href=move || progress.with(Progress::download_href) download="poollab-progress.json">"Download my progress (JSON)"</a>
            </p>
        </section>
    }
}

/// The lessons down the side of a step, the current one marked.
#[component]
fn LessonNav(lessons: Vec<Lesson>, current: String, progress: RwSignal<Progress>) -> impl IntoView {
    view! {
        <nav class="card lesson-nav" aria-label="Lessons">
            <a href="#/">"All lessons"</a>
            <ol>
                {lessons.into_iter().map(|l| {
                    let here = l.id == current;
                    let done = progress.with_untracked(|p| p.passed_in(&l.id)) == l.steps.len();
                    let href = Route::Step { lesson: l.id.clone(), step: 1 }.href();
                    view! {
                        <li class:here=here class:done=done>
                            <a href=href aria-current=here.then_some("page")>{l.title}</a>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </nav>
    }
}

/// One step of a lesson.
#[component]
pub fn StepView(
    lessons: Vec<Lesson>,
    lesson_id: String,
    index: usize,
    live: Live,
    progress: RwSignal<Progress>,
    sandbox: RwSignal<RunSpec>,
) -> impl IntoView {
    let Some(pos) = lessons.iter().position(|l| l.id == lesson_id) else {
        return view! { <p class="card">"No such lesson. " <a href="#/">"See all lessons"</a></p> }.into_any();
    };
    let lesson = lessons[pos].clone();
    let Some(step) = lesson.steps.get(index).cloned() else {
        return view! { <p class="card">"No such step. " <a href=Route::Step { lesson: lesson.id.clone(), step: 1 }.href()>"Start the lesson"</a></p> }.into_any();
    };
    let key = step_key(&lesson.id, index + 1);
    let record = progress.with_untracked(|p| p.steps.get(&key).cloned().unwrap_or_default());
    let next = if index + 1 < lesson.steps.len() {
        Some(Route::Step { lesson: lesson.id.clone(), step: index + 2 })
    } else {
        lessons.get(pos + 1).map(|l| Route::Step { lesson: l.id.clone(), step: 1 })
    };

    let guess = RwSignal::new(record.prediction.map(|p| p.to_string()).unwrap_or_default());
    let run_id = RwSignal::new(record.run_id.clone());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let needs_guess = step.prediction.is_some();
    let guessed = move || guess.with(|g| g.trim().parse::<f64>().is_ok());

    // The run of this step, as the live feed knows it.
    let run = Memo::new(move |_| {
        let id = run_id.get()?;
        live.runs.with(|runs| runs.iter().find(|r| r.id == id).cloned())
    });

    // When the run ends, record what was measured and whether the goal was met (and tell the
    // instructor).
    let (step_for_effect, key_for_effect) = (step.clone(), key.clone());
    let (lesson_for_report, step_no) = (lesson.id.clone(), index as u32 + 1);
    Effect::new(move |_| {
        let Some(view) = run.get() else { return };
        let Some(summary) = view.summary.as_ref().filter(|_| view.state == RunState::Done) else { return };
        let server = live.latest.with_untracked(|f| f.as_ref().map(|f| f.server.facts()).unwrap_or_default());
        let figures = step_for_effect.figures(server, Some(summary));
        let measured = step_for_effect.prediction.as_ref().and_then(|p| summary.figure(&p.metric));
        let passed = step_for_effect.goal.as_ref().map(|g| g.check(&figures).unwrap_or(false));
        let score = step_for_effect.score.as_ref().and_then(|m| summary.figure(m));
        // A step without a goal is passed by running it.
        let passed = passed.unwrap_or(true);
        let already = progress.with_untracked(|p| {
            p.steps
                .get(&key_for_effect)
                .is_some_and(|r| r.run_id.as_deref() == Some(view.id.as_str()) && r.passed.is_some())
        });
        if !already {
            let report = StepReport {
                lesson: lesson_for_report.clone(),
                step: step_no,
                name: crate::identity::display_name(),
                prediction: None,
                measured,
                passed: Some(passed),
                close: None,
            };
            leptos::task::spawn_local(async move { crate::api::report(&report).await });
            progress.update(|p| {
                let rec = p.steps.entry(key_for_effect.clone()).or_default();
                rec.run_id = Some(view.id.clone());
                rec.measured = measured;
                rec.passed = Some(passed);
                rec.score = score;
            });
        }
    });

    let preset = step.preset.clone();
    let key_for_run = key.clone();
    let lesson_for_run = lesson.id.clone();
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let prediction = guess.with_untracked(|g| g.trim().parse::<f64>().ok());
        if needs_guess && prediction.is_none() {
            error.set(Some("Write down your prediction first: a number.".into()));
            return;
        }
        progress.update(|p| {
            let rec = p.steps.entry(key_for_run.clone()).or_default();
            *rec = StepRecord { prediction, ..StepRecord::default() };
        });
        let report = StepReport {
            lesson: lesson_for_run.clone(),
            step: step_no,
            name: crate::identity::display_name(),
            prediction,
            measured: None,
            passed: None,
            close: None,
        };
        leptos::task::spawn_local(async move { crate::api::report(&report).await });
        let spec = preset.clone();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::api::start_run(&spec).await {
                Ok(id) => {
                    run_id.set(Some(id.clone()));
                    match crate::api::get_run(&id).await {
                        Ok(view) => live.track(view),
                        Err(e) => error.set(Some(e)),
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let record_now = {
        let key = key.clone();
        move || progress.with(|p| p.steps.get(&key).cloned().unwrap_or_default())
    };
    let prediction_view = step.prediction.clone().map(|p| {
        let unit = p.unit.clone();
        view! {
            <div class="field prediction">
                <label for="prediction">{p.question.clone()}</label>
                <input id="prediction" type="number" step="any" inputmode="decimal" required=true
                    prop:value=move || guess.get()
                    on:input=move |ev| guess.set(event_target_value(&ev)) />
                <small>{if unit.is_empty() { "Your prediction, before you run it.".to_owned() } else { format!("Your prediction, in {unit}, before you run it.") }}</small>
            </div>
        }
    });
    let compare = {
        let (step, record_now) = (step.clone(), record_now.clone());
        move || {
            let rec = record_now();
            let p = step.prediction.as_ref()?;
            let measured = rec.measured?;
            let unit = if p.unit.is_empty() { String::new() } else { format!(" {}", p.unit) };
            Some(view! {
                <div class="compare" data-testid="prediction-compare">
                    <div><span class="label">"You predicted"</span><span class="value">{rec.prediction.map_or("–".into(), |v| format!("{v}{unit}"))}</span></div>
                    <div><span class="label">"Measured"</span><span class="value" data-testid="measured">{format!("{}{unit}", round(measured))}</span></div>
                </div>
            })
        }
    };
    let verdict = {
        let step = step.clone();
        move || {
            let rec = record_now();
            let passed = rec.passed?;
            let goal = step.goal.clone();
            let hint = step.hint.clone();
            Some(view! {
                <div class="verdict" class:ok=passed data-testid="goal" data-passed=passed.to_string() role="status">
                    <strong>{if passed { "Goal met." } else { "Goal not met." }}</strong>
                    " "
                    {goal.map(|g| if passed { g.explain } else { format!("The check was: {}", g.check) })}
                    {(!passed && !hint.is_empty()).then(|| view! { <p class="hint">{hint.clone()}</p> })}
                    {rec.score.filter(|_| passed && step.score.is_some()).map(|score| view! {
                        <p class="score" data-testid="score">{format!("Your score: {score} ({}; lower is better). Try a smaller pool in the sandbox.", step.score.clone().unwrap_or_default().replace('_', " "))}</p>
                    })}
                </div>
            })
        }
    };
    let shown = Memo::new(move |_| run.get());
    let max_connections =
        Signal::derive(move || live.latest.with(|l| l.as_ref().map_or(0, |f| f.server.max_connections)));
    let paragraphs = step.text.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect::<Vec<_>>();
    let steps_total = lesson.steps.len();
    let sandbox_spec = step.preset.clone();
    let running =
        move || run.with(|r| r.as_ref().is_some_and(|r| matches!(r.state, RunState::Queued | RunState::Running)));

    view! {
        <div class="course-layout">
            <LessonNav lessons=lessons.clone() current=lesson.id.clone() progress=progress />
            <article class="card step" aria-labelledby="step-title" data-testid="step" data-lesson=lesson.id.clone() data-step=index + 1>
                <p class="crumb">{format!("Lesson {} · step {} of {}", pos + 1, index + 1, steps_total)}</p>
                <h2 id="step-title">{lesson.title.clone()} ": " {step.title.clone()}</h2>
                {paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
                <form class="predict" on:submit=start>
                    {prediction_view}
                    <button id="run" type="submit" prop:disabled=move || busy.get() || running() || (needs_guess && !guessed())>
                        "Run the experiment"
                    </button>
                    <p class="error" role="alert">{move || error.get()}</p>
                    {move || run.get().and_then(|r| r.position).map(|p| view! {
                        <p class="status" data-testid="position">{format!("Waiting in line: you are #{p}. The database serves one run at a time.")}</p>
                    })}
                </form>
                {compare}
                {verdict}
                <p class="step-links">
                    <a href="#/sandbox" on:click=move |_| sandbox.set(sandbox_spec.clone())>"Open this experiment in the sandbox"</a>
                    {next.map(|r| view! { <a class="next" data-testid="next" href=r.href()>"Next step →"</a> })}
                </p>
            </article>
            <section class="card live" aria-labelledby="step-live-title">
                <h2 id="step-live-title">"Live"</h2>
                <Chart points=live.points max_connections=max_connections />
                <Tiles latest=live.latest />
                <LiveSummary latest=live.latest />
            </section>
            <section class="card result" aria-labelledby="step-result-title" aria-live="polite">
                <h2 id="step-result-title">"Result"</h2>
                <SummaryCard run=shown />
            </section>
            <div class="step-replay"><RunReplay run=shown runs=live.runs /></div>
        </div>
    }
    .into_any()
}

/// A measured figure as a person would say it.
fn round(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}
