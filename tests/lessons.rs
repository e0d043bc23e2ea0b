//! The course's claims are true on this lab: every lesson parses, no text types a number that a
//! run or the server should say, and every step's reference experiment, run against a real private
//! PostgreSQL configured as `./lab run` configures it, meets the step's goal.

mod support;

use poollab_shared::expr::{Expr, number};
use poollab_shared::givens::INPUTS;
use poollab_shared::lesson::{fill, names_in, typed};
use poollab_shared::{Lesson, RunSpec, RunState, ServerFacts, Step};
use support::spawn_app;

/// Numbers a text may type: names of things, not figures of a run.
const NOT_FIGURES: [&str; 1] = [
    // SQLSTATE of "too many clients".
    "53300",
];

/// The numbers typed in a text, outside its `{…}` placeholders.
fn typed_numbers(text: &str) -> Vec<String> {
    typed(text)
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-'))
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .filter(|w| !NOT_FIGURES.contains(w))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_course_has_every_lesson_and_no_text_types_a_figure() {
    let lessons = poollab::lessons::load().expect("every lesson file is valid");
    assert_eq!(lessons.len(), 18, "the course has eighteen lessons");
    let mut typed = Vec::new();
    for lesson in &lessons {
        assert!(!lesson.title.is_empty() && !lesson.summary.is_empty(), "{}", lesson.id);
        for (i, step) in lesson.steps.iter().enumerate() {
            assert!(step.text.split_whitespace().count() >= 20, "{}: '{}' explains too little", lesson.id, step.title);
            assert!(step.goal.is_some(), "{} step {}: every step checks its claim", lesson.id, i + 1);
            assert!(step.figure().is_some(), "{} step {}: every step names its figure", lesson.id, i + 1);
            for (field, text) in step.texts() {
                for n in typed_numbers(text) {
                    typed.push(format!("{} step {} {field}: `{n}`", lesson.id, i + 1));
                }
            }
        }
    }
    assert!(typed.is_empty(), "texts name figures instead of typing them:\n{}", typed.join("\n"));
    // Steps that exist to be compared say which earlier step they answer (`load` checked that
    // each is an earlier step of its lesson, and one run).
    let pairs: Vec<String> = lessons
        .iter()
        .flat_map(|l| {
            l.steps.iter().enumerate().filter_map(|(i, s)| Some(format!("{} {} answers {}", l.id, i + 1, s.compare?)))
        })
        .collect();
    assert_eq!(
        pairs,
        [
            "01-connection-cost 2 answers 1",
            "10-slow-queries 2 answers 1",
            "11-many-instances 2 answers 1",
            "12-distance 2 answers 1",
            "13-outage 3 answers 2",
            "14-caching 2 answers 1",
            "15-transactions 3 answers 2",
            "16-pgbouncer 2 answers 1",
            "17-prepared-statements 2 answers 1",
            "17-prepared-statements 4 answers 3",
        ]
    );
    assert_eq!(typed_numbers("{requests} requests, 80 at once, SQLSTATE 53300, p99, SHA-256"), ["80"]);
}

/// The server `./lab run` starts: `max_connections` 100, 3 of them reserved for superusers.
const LAB_SERVER: ServerFacts =
    ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, tls: Some(true), pgbouncer: Some(true) };

/// Words that say "none" or "no time": a text with one of them tells a learner whose answer is 0.
const ZERO_WORDS: [&str; 8] = ["none", "nothing", "no one", "not one", "zero", "empty", "at once", "without wait"];

/// What a step shows before Run, as the page fills it then: its title, its text and its question
/// with the spec's and the server's figures (a run's own read `…`).
fn before_run(step: &Step) -> String {
    let figures = step.figures(LAB_SERVER, None);
    let mut shown = vec![fill(&step.title, &figures), fill(&step.text, &figures)];
    shown.extend(step.prediction.iter().map(|p| fill(&p.question, &figures)));
    shown.join("\n")
}

/// The numbers a filled text shows, as printed (`1\u{2009}500`, `0.5`, `97`).
fn shown_numbers(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '\u{2009}' || c == '−'))
        .map(|w| w.trim_matches(|c| c == '.' || c == '\u{2009}'))
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// Why a step's prediction is not one worth making (none when it is). A prediction is worth making
/// when a learner can reason it out from what the page gives before Run and cannot read it off:
///
/// 1. its model works out the very figure the question asks for (so the model's sum is the
///    reasoned answer), from figures (not a constant: that is a yes-or-no question);
/// 2. every figure the model's sum and the question name is in the step's givens card, and so is
///    every number the preset sets (the inputs the question can depend on): no measured figure
///    and no hidden input (query length, table size, minimum size, run length);
/// 3. the answer, the model's sum worked out from the givens, is not a number the text, the title
///    or the question shows before Run; and an answer of 0 is not said in words ("none",
///    "at once", ...).
fn unreasoned(step: &Step) -> Vec<String> {
    let Some(p) = &step.prediction else { return Vec::new() };
    let Some(m) = &step.model else { return vec!["no model works its answer out".into()] };
    let mut why = Vec::new();
    if m.measured != p.metric {
        why.push(format!("its model works out `{}`, not the `{}` it asks for", m.measured, p.metric));
    }
    let given = step.given_names();
    let formula = Expr::parse(&m.formula).expect("models were checked at load");
    if formula.figures().is_empty() {
        why.push(format!("its model is the constant `{}`: nothing to reason out", m.formula));
    }
    for name in formula.figures() {
        if !given.iter().any(|g| *g == name) {
            why.push(format!("its model needs `{name}`, which is not given before Run"));
        }
    }
    for name in names_in(&p.question) {
        if !given.iter().any(|g| *g == name) {
            why.push(format!("its question names `{name}`, which is not given before Run"));
        }
    }
    let default = RunSpec::default();
    for (name, ..) in INPUTS {
        let set = step.preset.figure(name).filter(|v| *v != 0.0);
        // A paced run's rate is set by the lab from the server's pace (given as `load.busy_pct`);
        // its `rate_per_s` is only the floor that bounds its cost.
        let floor = *name == "load.rate_per_s" && step.preset.load.busy_pct > 0;
        if !floor && set.is_some() && set != default.figure(name) && !given.contains(name) {
            why.push(format!("its preset sets `{name}`, which is not given before Run"));
        }
    }
    if let Some(answer) = step.reasoned_answer(LAB_SERVER) {
        let (text, printed) = (before_run(step), number(answer));
        if shown_numbers(&text).contains(&printed.as_str()) {
            why.push(format!("its answer, {printed}, stands in the text before Run"));
        }
        let lower = text.to_lowercase();
        for word in ZERO_WORDS.iter().filter(|w| answer == 0.0 && lower.contains(**w)) {
            why.push(format!("its answer is 0, and the text before Run says \"{word}\""));
        }
    }
    why
}

/// Every step asks a question its learner can reason out from the givens and the lessons before,
/// and cannot read off the step's own text (see [`unreasoned`] for what is checked).
#[test]
fn every_prediction_is_reasoned_from_the_givens_not_read_off_the_text() {
    let lessons = poollab::lessons::load().expect("every lesson file is valid");
    let mut problems = Vec::new();
    let mut asked = 0;
    for lesson in &lessons {
        for (i, step) in lesson.steps.iter().enumerate() {
            asked += usize::from(step.prediction.is_some());
            for why in unreasoned(step) {
                problems.push(format!("{}.{} ({}): {why}", &lesson.id[..2], i + 1, step.title));
            }
        }
    }
    assert!(asked >= 35, "every step asks for a prediction ({asked} do)");
    assert!(problems.is_empty(), "predictions not worth making:\n{}", problems.join("\n"));
}

/// The check above can fail: each kind of step it refuses, refused.
#[test]
fn a_prediction_answered_in_its_text_or_needing_what_is_not_given_is_refused() {
    let step = |text: &str, question: &str, metric: &str, formula: &str, measured: &str| -> Step {
        serde_json::from_value(serde_json::json!({
            "title": "t", "text": text,
            "preset": { "strategy": "pooled", "requests": 50, "concurrency": 1, "pool": { "max_connections": 1 },
                        "work": { "query": "select_user" } },
            "prediction": { "question": question, "metric": metric },
            "model": { "says": "", "formula": formula, "measured": measured },
        }))
        .expect("a step")
    };
    let opened = "connections_opened";
    let fine = step("A pool lends its connections.", "How many will it open?", opened, "pool.max_connections", opened);
    assert_eq!(unreasoned(&fine), Vec::<String>::new());
    // (step, what is wrong)
    let table = [
        // Lesson 1.2 as it was: the pool's size, which is the answer, in the text.
        (
            step("A pool with room for {pool.max_connections}.", "How many?", opened, "pool.max_connections", opened),
            "its answer, 1, stands in the text before Run",
        ),
        // ... or in the question.
        (
            step("A pool.", "With {pool.max_connections}, how many?", opened, "pool.max_connections", opened),
            "its answer, 1, stands in the text before Run",
        ),
        // Lesson 1.1 as it was: a model that needs the run's own connect time.
        (
            step("A pool.", "How long?", "connect_ms.p50", "connect_ms.p50 * 2", "connect_ms.p50"),
            "its model needs `connect_ms.p50`, which is not given before Run",
        ),
        // Lessons 9.2 and 15.3 as they were: the model answers another question.
        (step("A pool.", "How many fail?", "failed", "requests", "completed"), "its model works out `completed`"),
        // Lessons 13.3 and 17.3 as they were: a constant, said in words in the text.
        (step("Requests fail at once.", "How long?", "failed", "0", "failed"), "its model is the constant `0`"),
        (
            step("The pool ends empty.", "How many?", "failed", "pool.min_connections", "failed"),
            "its answer is 0, and the text before Run says \"empty\"",
        ),
    ];
    for (step, wrong) in table {
        let why = unreasoned(&step);
        assert!(why.iter().any(|w| w.starts_with(wrong)), "{}: {why:?}", step.text);
    }
}

/// A word's first use in a lesson links to the glossary (`frontend/words.html`), and its title is
/// the glossary's own definition of it, word for word: one word, one definition.
#[test]
fn every_word_a_lesson_links_is_in_the_glossary_with_the_same_definition() {
    let glossary = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/words.html"))
        .expect("frontend/words.html");
    let unescape = |s: &str| s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let definition = |id: &str| {
        let dt = glossary.find(&format!("<dt id=\"w-{id}\">"))?;
        let dd = &glossary[dt..][glossary[dt..].find("<dd>")? + 4..];
        Some(unescape(&dd[..dd.find("</dd>")?]))
    };
    let lessons = poollab::lessons::load().expect("every lesson file is valid");
    let mut links = 0;
    for lesson in &lessons {
        for (i, step) in lesson.steps.iter().enumerate() {
            for link in step.text.split("<a class=\"term\" ").skip(1) {
                let here = format!("{} step {}: {}", lesson.id, i + 1, &link[..link.len().min(80)]);
                let id = link.strip_prefix("href=\"/words.html#w-").and_then(|l| l.split('"').next()).expect(&here);
                let title = link.split("title=\"").nth(1).and_then(|t| t.split('"').next()).expect(&here);
                assert_eq!(definition(id).as_deref(), Some(unescape(title).as_str()), "{here}");
                assert!(link.contains("target=\"words\""), "{here}: the glossary opens beside the lesson");
                links += 1;
            }
        }
    }
    assert!(links >= 20, "lessons link their words to the glossary ({links} links)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_steps_reference_experiment_meets_its_goal() {
    // The lab's default server: max_connections 100, as `./lab run` starts it.
    let app = spawn_app(100).await;
    let (status, body) = app.get("/api/lessons").await;
    assert_eq!(status, 200);
    let lessons: Vec<Lesson> = serde_json::from_value(body).expect("lessons JSON");
    assert_eq!(lessons.len(), 18);
    let mut failures = Vec::new();
    // `POOLLAB_LESSONS=07,16` runs only the lessons whose ids start with those (while writing one).
    let only = std::env::var("POOLLAB_LESSONS").ok();
    let chosen = |id: &str| only.as_deref().is_none_or(|o| o.split(',').any(|p| id.starts_with(p.trim())));
    for lesson in lessons.iter().filter(|l| chosen(&l.id)) {
        for (i, step) in lesson.steps.iter().enumerate() {
            let where_ = format!("{} step {} ({})", lesson.id, i + 1, step.title);
            if !step.sweep.is_empty() {
                // A sweep's claim compares runs minutes apart, and the arrivals are paced to the
                // server's speed measured before the first: when the machine slows down between
                // (another tenant of the host, say), every size queues alike and the curve has no
                // shape. A learner would run it again, and so does this test, once; a sweep that
                // fails twice fails the test.
                let mut tries = 0;
                loop {
                    tries += 1;
                    let sweep = app.sweep(&step.preset, &step.sweep).await;
                    for p in &sweep.points {
                        println!(
                            "{where_}: size {}: {} req/s, p50 {} ms, p99 {} ms, query p50 {} ms, {} failed",
                            p.max_connections,
                            p.throughput_per_s,
                            p.latency_p50_ms,
                            p.latency_p99_ms,
                            p.query_p50_ms,
                            p.failed
                        );
                    }
                    let server = app.timeline(&sweep.points[0].run_id).await.frames[0].server.facts();
                    let figures = step.sweep_figures(server, &sweep.points);
                    if let Some(model) = &step.model {
                        let r = model.apply(&figures).expect("the model can be worked out");
                        println!("{where_}: model {} = {}, measured {}", r.sum, r.expected, r.measured);
                    }
                    match &step.goal {
                        Some(goal) if !goal.check(&figures).expect("goals were validated") => {
                            println!("{where_}: try {tries}: `{}` does not hold", goal.check);
                            if tries < 2 {
                                continue;
                            }
                            failures.push(format!("{where_}: `{}` does not hold: {:?}", goal.check, sweep.points));
                        }
                        Some(goal) => println!("{where_}: {}", fill(&goal.explain, &figures)),
                        None => {}
                    }
                    break;
                }
                continue;
            }
            let id = app.start_run(serde_json::to_value(&step.preset).expect("preset JSON")).await;
            let run = app.finished(&id).await;
            let Some(summary) = run.summary.filter(|_| run.state == RunState::Done) else {
                failures.push(format!("{where_}: the run did not finish: {:?}", run.error));
                continue;
            };
            // The server's limits as the run's own frames carried them, as the page reads them.
            let timeline = app.timeline(&id).await;
            let server = timeline.frames.last().expect("a run has frames").server.facts();
            assert_eq!((server.max_connections, server.reserved_connections), (100, 3));
            let figures = step.figures(server, Some(&summary));
            if let Some(model) = &step.model {
                let r = model.apply(&figures).expect("the model can be worked out");
                println!(
                    "{where_}: model {} = {} {}, measured {} ({}; {})",
                    r.sum,
                    r.expected,
                    model.unit,
                    r.measured,
                    if r.holds { "holds" } else { "departs" },
                    fill(&model.why, &figures)
                );
            }
            if let Some(goal) = &step.goal
                && !goal.check(&figures).expect("goals were validated")
            {
                failures.push(format!("{where_}: `{}` does not hold: {summary:?}", goal.check));
            } else if let Some(goal) = &step.goal {
                let claim = fill(&goal.explain, &figures);
                assert!(
                    !claim.contains('…') && !claim.contains('?'),
                    "{where_}: the claim names a figure the run lacks: {claim}"
                );
                println!("{where_}: {claim}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}
