//! The course: the lesson list, and one step of a lesson: read, predict, run, and see what the run
//! showed.
//!
//! A step shows its own view, declared in its lesson file: the parts of the [`PoolPicture`] that
//! matter to it, its charts, and the one figure it is about; everything else waits behind
//! "Details". The picture and charts follow the step's run live, then keep showing it (its last
//! frame, or wherever the scrubber is) until the next. The texts are filled with the preset's, the
//! server's and the run's own figures, and whether the claim held is decided by the same code the
//! backend's tests use ([`poollab_shared::Goal::check`]).

use leptos::prelude::*;
use poollab_shared::lesson::{fill, fill_marked};
use poollab_shared::{ChartName, Dec, Lesson, RunState, StepReport, SweepSpec, SweepView};

use crate::compare::paired;

use crate::libraries::LibraryNames;
use crate::live::Live;
use crate::outcome::{Measured, Outcome};
use crate::progress::{Progress, StepRecord, step_key};
use crate::route::Route;
use crate::stage::{Details, Stage, StepCharts};
use crate::tape::Tape;

/// The list of lessons with the learner's progress.
#[component]
pub fn CourseHome(lessons: RwSignal<Vec<Lesson>>, progress: RwSignal<Progress>) -> impl IntoView {
    view! {
        <section class="card course" aria-labelledby="course-title">
            <h2 id="course-title">"The course"</h2>
            <p class="muted">
                "Eighteen short lessons. Each step explains one idea, asks what you expect, runs the experiment on a real PostgreSQL, and checks what was measured."
            </p>
            <p class="muted">
                "Words you will meet: a "<strong>"naive"</strong>" app opens a new database connection for every request and closes it afterwards; a "
                <strong>"pooled"</strong>" app borrows one from a pool of connections it keeps open (here a real sqlx pool, the Rust library). A "
                <strong>"backend"</strong>" is the process PostgreSQL runs for each connection. "
                <strong>"p50"</strong>" and "<strong>"p99"</strong>" are the times half of the requests, and ninety-nine in a hundred, took or less. "
                <strong>"SCRAM"</strong>" is the password exchange PostgreSQL asks for when a connection opens. The picture of each step is drawn from the lab's measurements, live while a run goes."
            </p>
            <ol class="lessons" data-testid="lesson-list">
                {move || lessons.get().into_iter().map(|l| {
                    let total = l.steps.len();
                    let passed = progress.with(|p| p.passed_in(&l.id));
                    let href = Route::Step { lesson: l.id.clone(), step: 1 }.href();
                    view! {
                        <li data-lesson=l.id.clone() data-passed=passed class:done=passed == total>
                            <a href=href>{l.title.clone()}</a>
                            <span class="progress-note">{format!("{passed} of {total} step{}", if total == 1 { "" } else { "s" })}</span>
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

/// One step of a lesson.
#[component]
pub fn StepView(
    lessons: Vec<Lesson>,
    lesson_id: String,
    index: usize,
    live: Live,
    progress: RwSignal<Progress>,
) -> impl IntoView {
    let Some(pos) = lessons.iter().position(|l| l.id == lesson_id) else {
        return view! { <p class="card">"No such lesson. " <a href="#/">"See all lessons"</a></p> }.into_any();
    };
    let lesson = lessons[pos].clone();
    let Some(step) = lesson.steps.get(index).cloned() else {
        return view! { <p class="card">"No such step. " <a href=Route::Step { lesson: lesson.id.clone(), step: 1 }.href()>"Start the lesson"</a></p> }.into_any();
    };
    let key = step_key(&lesson.id, index + 1);
    // A step that answers an earlier one is shown beside a run of that step: the learner's own,
    // or one the lab runs of its preset just before this step's.
    let compared = lesson.compared(index).ok().flatten().cloned().zip(step.compare);
    let compare_no = step.compare.filter(|_| compared.is_some());
    let lesson_for_pair = lesson.id.clone();
    let earlier = move || {
        let c = compare_no?;
        progress.with(|p| p.earlier_run(&lesson_for_pair, c, index + 1))
    };
    let earlier_preset = compared.as_ref().map(|(s, _)| s.preset.clone());
    let record = progress.with_untracked(|p| p.steps.get(&key).cloned().unwrap_or_default());
    let next = if index + 1 < lesson.steps.len() {
        Some(Route::Step { lesson: lesson.id.clone(), step: index + 2 })
    } else {
        lessons.get(pos + 1).map(|l| Route::Step { lesson: l.id.clone(), step: 1 })
    };
    let previous = if index > 0 {
        Some(Route::Step { lesson: lesson.id.clone(), step: index })
    } else {
        pos.checked_sub(1).map(|p| Route::Step { lesson: lessons[p].id.clone(), step: lessons[p].steps.len() })
    };

    // The learner's earlier prediction as they would have typed it, written by the browser's own
    // `Number.toString` (the shortest text that reads back as the same number), which keeps
    // core's float printer out of the page.
    let guess = RwSignal::new(
        record
            .prediction
            .and_then(|p| js_sys::Number::from(p).to_string_with_radix(10).ok())
            .map(String::from)
            .unwrap_or_default(),
    );
    let run_id = RwSignal::new(record.run_id.clone());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let needs_guess = step.prediction.is_some();
    let guessed = move || guess.with(|g| number(g).is_some());
    // A sweep step runs its preset once per pool size; the picture follows whichever of its runs
    // is going (or went last).
    let is_sweep = !step.sweep.is_empty();
    let sweep_id = RwSignal::new(record.sweep_id.clone());
    let sweep_view = RwSignal::new(None::<SweepView>);
    Effect::new(move |_| {
        if let Some(id) = sweep_id.get() {
            crate::sweep::watch_into(id, sweep_view, error);
        }
    });
    let shown_run = Signal::derive(move || {
        if !is_sweep {
            return run_id.get();
        }
        sweep_view
            .with(|v| v.as_ref()?.points.iter().rev().find(|p| p.state != RunState::Queued).map(|p| p.run_id.clone()))
    });
    let tape = Tape::new(shown_run, live);
    let run = tape.run;
    // What the step measured, once it is done: its run's summary, or its sweep's points.
    let measured = Memo::new_with_compare(
        move |_| {
            if is_sweep {
                sweep_view.with(|v| v.as_ref().filter(|v| v.done).map(|v| Measured::Sweep(v.points.clone())))
            } else {
                run.with(|r| {
                    r.as_ref()
                        .filter(|r| r.state == RunState::Done)
                        .and_then(|r| r.summary.clone())
                        .map(|s| Measured::Run(Box::new(s)))
                })
            }
        },
        Measured::changed,
    );

    // When the run ends, report it to the lab, which grades it on the stored run (the instructor
    // sees that verdict), and record the lab's verdict: what was measured, whether the prediction
    // was close and whether the claim held. (The outcome shows the page's own until it comes.)
    let (step_for_effect, key_for_effect) = (step.clone(), key.clone());
    let (lesson_for_report, step_no) = (lesson.id.clone(), index as u32 + 1);
    Effect::new(move |_| {
        let Some(outcome) = measured.get() else { return };
        let id =
            if is_sweep { sweep_id.get_untracked() } else { run.with_untracked(|r| r.as_ref().map(|r| r.id.clone())) };
        let Some(id) = id else { return };
        let score = match &outcome {
            Measured::Run(summary) => step_for_effect.score.as_ref().and_then(|m| summary.figure(m)),
            Measured::Sweep(_) => None,
        };
        let recorded = move |r: &StepRecord| if is_sweep { r.sweep_id.clone() } else { r.run_id.clone() };
        let (prediction, already) = progress.with_untracked(|p| {
            let r = p.steps.get(&key_for_effect);
            (r.and_then(|r| r.prediction), r.is_some_and(|r| recorded(r) == Some(id.clone()) && r.passed.is_some()))
        });
        if already {
            return;
        }
        progress.update(|p| {
            let rec = p.steps.entry(key_for_effect.clone()).or_default();
            if is_sweep {
                rec.sweep_id = Some(id.clone());
            } else {
                rec.run_id = Some(id.clone());
            }
            rec.score = score;
        });
        let (run, sweep) = if is_sweep { (None, Some(id.clone())) } else { (Some(id.clone()), None) };
        let report = StepReport {
            lesson: lesson_for_report.clone(),
            step: step_no,
            name: crate::identity::display_name(),
            prediction,
            run,
            sweep,
        };
        let key = key_for_effect.clone();
        leptos::task::spawn_local(async move {
            let Ok(verdict) = crate::api::report(&report).await else { return };
            progress.update(|p| {
                // Unless the learner has run the step again meanwhile.
                if let Some(rec) = p.steps.get_mut(&key).filter(|r| recorded(r) == Some(id)) {
                    rec.measured = verdict.measured;
                    rec.passed = Some(verdict.claim_held);
                    rec.close = verdict.close;
                }
            });
        });
    });

    let preset = step.preset.clone();
    let sweep_sizes = is_sweep.then(|| step.sweep.clone());
    let key_for_run = key.clone();
    let earlier_for_run = earlier.clone();
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let prediction = guess.with_untracked(|g| number(g));
        if needs_guess && prediction.is_none() {
            error.set(Some("Write down your prediction first: a number.".into()));
            return;
        }
        progress.update(|p| {
            let rec = p.steps.entry(key_for_run.clone()).or_default();
            *rec = StepRecord { prediction, ..StepRecord::default() };
        });
        let spec = preset.clone();
        busy.set(true);
        error.set(None);
        if let Some(sizes) = sweep_sizes.clone() {
            let sweep = SweepSpec { run: spec, sizes };
            let key = key_for_run.clone();
            leptos::task::spawn_local(async move {
                match crate::api::start_sweep(&sweep).await {
                    Ok(id) => {
                        progress.update(|p| p.steps.entry(key).or_default().sweep_id = Some(id.clone()));
                        sweep_view.set(None);
                        sweep_id.set(Some(id));
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
            return;
        }
        // Without a run of the earlier step of their own, the lab runs its preset first.
        let earlier_spec = earlier_preset.clone().filter(|_| !earlier_for_run().is_some_and(|e| e.1));
        let key = key_for_run.clone();
        leptos::task::spawn_local(async move {
            if let Some(earlier_spec) = earlier_spec {
                match crate::api::start_run(&earlier_spec).await {
                    Ok(id) => progress.update(|p| p.steps.entry(key).or_default().compare_run_id = Some(id)),
                    Err(e) => {
                        error.set(Some(e));
                        busy.set(false);
                        return;
                    }
                }
            }
            match crate::api::start_run(&spec).await {
                Ok(id) => {
                    // Tracked first, shown after: the step's picture then never asks the store
                    // for a run the live feed has not heard of yet.
                    match crate::api::get_run(&id).await {
                        Ok(view) => live.track(view),
                        Err(e) => error.set(Some(e)),
                    }
                    run_id.set(Some(id));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    // The texts, filled with the preset's and the server's figures (and the run's, once done).
    let figures_text = {
        let step = step.clone();
        move |text: String| {
            let server = tape.server();
            measured.with(|m| match m {
                Some(Measured::Sweep(points)) => fill(&text, &step.sweep_figures(server, points)),
                Some(Measured::Run(summary)) => fill(&text, &step.figures(server, Some(summary))),
                None => fill(&text, &step.figures(server, None)),
            })
        }
    };
    let title = {
        let (f, t) = (figures_text.clone(), step.title.clone());
        move || f(t.clone())
    };
    // The step's text is the lab's own HTML: filled with each figure alone marked with its name
    // and value (`data-figure`), as the outcome's are.
    let figures_html = {
        let step = step.clone();
        move |text: String| {
            let server = tape.server();
            let same = |t: &str| t.to_owned();
            measured.with(|m| match m {
                Some(Measured::Sweep(points)) => fill_marked(&text, &step.sweep_figures(server, points), &same),
                Some(Measured::Run(summary)) => fill_marked(&text, &step.figures(server, Some(summary)), &same),
                None => fill_marked(&text, &step.figures(server, None), &same),
            })
        }
    };
    let paragraphs = {
        let (f, text) = (figures_html, step.text.clone());
        move || poollab_shared::lesson::text_html(&f(text.clone()))
    };
    let prediction_view = step.prediction.clone().map(|p| {
        let unit = p.unit.clone();
        let question = {
            let f = figures_text.clone();
            move || f(p.question.clone())
        };
        view! {
            <div class="field prediction">
                <label for="prediction">{question}</label>
                <input id="prediction" type="number" step="any" inputmode="decimal" required=true
                    prop:value=move || guess.get()
                    on:input=move |ev| guess.set(event_target_value(&ev)) />
                <small>{if unit.is_empty() { "Your prediction, before you run it.".to_owned() } else { format!("Your prediction, in {unit}, before you run it.") }}</small>
            </div>
        }
    });
    // Everything the question and the model need, from the preset and the server: a prediction is
    // reasoned from these, not read off the text.
    let givens = {
        let step = step.clone();
        move || {
            let figures = step.figures(tape.server(), None);
            step.givens()
                .into_iter()
                .map(|g| {
                    let exact = g.figure.and_then(|name| figures.get(name)).map(|v| Dec(v).to_string());
                    let value = match (g.words, g.figure) {
                        (Some(words), _) => words,
                        (None, Some(name)) => figures.get(name).map_or_else(
                            || "unknown".to_owned(),
                            |v| format!("{} {}", Dec(v), g.unit).trim_end().to_owned(),
                        ),
                        (None, None) => String::new(),
                    };
                    view! { <div><dt>{g.label}</dt><dd data-figure=g.figure.unwrap_or("") data-value=exact>{value}</dd></div> }
                })
                .collect_view()
        }
    };
    let steps_total = lesson.steps.len();
    let sandbox_spec = step.preset.clone();
    let sweeping =
        move || is_sweep && sweep_id.with(Option::is_some) && sweep_view.with(|v| v.as_ref().is_none_or(|v| !v.done));
    let running = move || {
        sweeping() || run.with(|r| r.as_ref().is_some_and(|r| matches!(r.state, RunState::Queued | RunState::Running)))
    };
    let status = move || {
        if sweeping() {
            let (done, all) = sweep_view.with(|v| {
                v.as_ref()
                    .map_or((0, 0), |v| (v.points.iter().filter(|p| p.state == RunState::Done).count(), v.points.len()))
            });
            return Some(format!(
                "Sweeping: {done} of {all} pool sizes measured; the picture follows the run going now."
            ));
        }
        run.get().map(|r| {
            let shared = Live::shared_with(&r);
            let text = match r.state {
                RunState::Queued => live.place(&r),
                RunState::Running => match live.worker_of(&r) {
                    Some(w) => format!("Running on {w}: the picture follows it live."),
                    None => "Running: the picture follows it live.".to_owned(),
                },
                RunState::Done => "Done: drag the slider under the picture to move through the run.".to_owned(),
                RunState::Failed => format!("The run failed: {}", r.error.unwrap_or_default()),
            };
            match shared {
                Some(shared) => format!("{text} {shared}"),
                None => text,
            }
        })
    };
    let outcome = {
        let step = step.clone();
        let key = key.clone();
        move || {
            let measured = measured.get()?;
            // The lab's verdict, once it answered the report (the page's own until then).
            let (prediction, verdict) = progress.with(|p| {
                let r = p.steps.get(&key);
                (r.and_then(|r| r.prediction), r.and_then(StepRecord::verdict))
            });
            Some(view! {
                <section class="card outcome" aria-labelledby="outcome-title" data-testid="outcome">
                    <h3 id="outcome-title">"What the run showed"</h3>
                    <Outcome step=step.clone() measured=measured server=tape.server() prediction=prediction verdict=verdict />
                </section>
            })
        }
    };
    // A step whose server lacks what its experiment needs (TLS, PgBouncer) says so, and offers
    // no Run: the lab would refuse it, and its figures would be failures.
    let lacks = {
        let preset = step.preset.clone();
        Signal::derive(move || tape.server().lacks(&preset))
    };
    let lack_note = move || {
        lacks.get().map(|lack| {
            view! {
                <p class="lack" role="note" data-testid="lacks">
                    {format!("This step cannot run on this lab: {lack}. Its text still explains what it would measure.")}
                </p>
            }
        })
    };
    let parts = step.view.picture.clone();
    let mut charts = step.view.charts.clone();
    // A compared step's waterfall is drawn beside the earlier step's, on one time axis.
    let mut shown = charts.clone();
    if compared.is_some() {
        charts.retain(|c| *c != ChartName::Waterfall);
        shown.push(ChartName::Waterfall);
    }
    let beside = compared.map(|(earlier_step, c)| {
        let run_of = earlier.clone();
        let theirs = Tape::new(Signal::derive(move || run_of().map(|e| e.0)), live);
        paired(&earlier_step, c, &step, index + 1, theirs, tape, move || earlier().map(|e| e.1))
    });
    let preset_for_stage = step.preset.clone();
    let pooled = step.preset.strategy == poollab_shared::Strategy::Pooled;

    view! {
        // A step that cannot run here draws no empty charts (the stylesheet hides them).
        <div class="step-page" class:lacks=move || lacks.get().is_some()>
            <nav class="crumbs" aria-label="Where you are">
                <a href="#/">"All lessons"</a>
                <span>{format!("Lesson {} of {}: {}", pos + 1, lessons.len(), lesson.title)}</span>
                <span class="muted">{format!("step {} of {}", index + 1, steps_total)}</span>
                <span class="spacer"></span>
                {previous.map(|r| view! { <a class="prev" href=r.href()>"← Previous"</a> })}
                {next.clone().map(|r| view! { <a class="next" data-testid="next" href=r.href()>"Next step →"</a> })}
            </nav>
            <div class="step-top">
                <article class="card step" aria-labelledby="step-title" data-testid="step" data-lesson=lesson.id.clone() data-step=index + 1>
                    <h2 id="step-title">{title}</h2>
                    {lack_note}
                    <div class="step-text" inner_html=paragraphs></div>
                    <details class="givens" open=true>
                        <summary>"What you are given"</summary>
                        <dl data-testid="givens">{givens}</dl>
                    </details>
                    <form class="predict" on:submit=start>
                        {prediction_view}
                        <button id="run" type="submit" prop:disabled=move || busy.get() || running() || (needs_guess && !guessed()) || lacks.get().is_some()>
                            "Run the experiment"
                        </button>
                        <p class="error" role="alert">{move || error.get()}</p>
                        <p class="status" data-testid="position">{status}</p>
                    </form>
                    <p class="step-links">
                        <a href=Route::Sandbox.href() on:click=move |_| crate::sandbox::hand_over(&sandbox_spec)>"Open this experiment in the sandbox"</a>
                        {move || run.with(|r| r.as_ref().map(|r| Route::Run(r.id.clone()).href())).map(|href| view! { <a href=href data-testid="run-link">"This run's own page"</a> })}
                    </p>
                </article>
                <Stage tape=tape live=live parts=parts preset=preset_for_stage moment=step.view.moment />
            </div>
            {outcome}
            {beside}
            <StepCharts tape=tape charts=charts sweep=Signal::derive(move || sweep_view.get()) />
            {pooled.then(|| view! { <LibraryNames /> })}
            <Details tape=tape live=live shown=shown />
        </div>
    }
    .into_any()
}

/// A number as a learner types it ("12", "0.5", "1e3"), read by the browser's own `parseFloat`
/// (the page then carries no float parser of its own), and only when it is all number.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return None;
    }
    let v = js_sys::Number::parse_float(text);
    v.is_finite().then_some(v)
}
