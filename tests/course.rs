//! The course in a real browser: every step shows its own view after its run (its figure, the
//! prediction beside it, its model's sum, its charts, the picture of its last frame), and the
//! picture draws exactly the frame it was given.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab_shared::activity::{AppCounts, AppFigure, AppPeaks, Opening, opening, outage_window};
use poollab_shared::expr::{Expr, number};
use poollab_shared::lesson::{ForUsers, for_users};
use poollab_shared::rate::per_second;
use poollab_shared::{ChartName, Frame, Lesson, Moment, RunEventKind, ServerMessage};
use serde::Deserialize;
use support::browser::{Session, save_screenshot, text, wait_for};
use support::spawn_app;
use tokio_tungstenite::tungstenite::Message;

/// The element each chart is drawn in.
fn chart_id(chart: ChartName) -> &'static str {
    match chart {
        ChartName::Connections => "chart",
        ChartName::Waterfall => "waterfall",
        ChartName::Latency => "chart-latency",
        ChartName::Throughput => "chart-throughput",
        ChartName::ServerStates => "chart-server-states",
        ChartName::Instances => "chart-instances",
        ChartName::Churn => "chart-churn",
        ChartName::Sizing => "sweep",
        ChartName::Pooler => "chart-pooler",
    }
}

/// The browser tests of this file take their turns: each runs a lab, its server and a browser on
/// a 2-core machine, and a step's figures (lesson 1.3's TLS against plain connects, a millisecond
/// apart) are the machine's to measure, not to share with another test's burst.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn my_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_step_shows_its_own_view_after_its_run() {
    let _turn = my_turn();
    let app = spawn_app(100).await;
    let (_, body) = app.get("/api/lessons").await;
    let lessons: Vec<Lesson> = serde_json::from_value(body).expect("lessons");
    let session = Session::open(&app, "/").await;
    let page = &session.page;
    wait_for(page, "document.querySelectorAll('[data-testid=lesson-list] li').length === 18", 30).await;
    save_screenshot(page, "course.png").await;

    // Each step's own figure as its page showed it, by lesson and step.
    let mut measured: HashMap<(&str, usize), String> = HashMap::new();
    for lesson in &lessons {
        for (i, step) in lesson.steps.iter().enumerate() {
            let n = i + 1;
            let here = format!("{} step {n}", lesson.id);
            page.evaluate(format!("location.hash = '#/lesson/{}/{n}'; true", lesson.id)).await.expect("go to the step");
            wait_for(
                page,
                &format!(
                    "(() => {{ const s = document.querySelector('[data-testid=step]'); \
                       return s && s.dataset.lesson === '{}' && s.dataset.step === '{n}'; }})()",
                    lesson.id
                ),
                10,
            )
            .await;
            // Before the run the text is filled with the preset's and the server's figures, and
            // the picture shows the empty pool and the server as it is.
            wait_for(page, "document.querySelector('[data-testid=picture]') !== null", 10).await;
            let words = text(page, "document.querySelector('[data-testid=step] .step-text').textContent").await;
            assert!(!words.contains('{') && !words.contains('…'), "{here}: a figure was left unfilled: {words}");
            if step.prediction.is_some() {
                assert_eq!(text(page, "String(document.getElementById('run').disabled)").await, "true", "{here}");
                let input = page.find_element("#prediction").await.expect("prediction input");
                input.focus().await.expect("focus");
                input.type_str("10").await.expect("type").press_key("Enter").await.expect("Enter runs it");
            } else {
                page.find_element("#run").await.expect("Run").click().await.expect("click");
            }
            wait_for(page, "document.querySelector('[data-testid=goal]') !== null", 90).await;
            let passed = "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'";
            if !step.sweep.is_empty() && text(page, &format!("String({passed})")).await != "true" {
                // A sweep's claim compares runs minutes apart, paced to the server's speed before
                // the first: a machine that slowed down between leaves the curve without a shape.
                // A learner would run it again, and so does this test, once (as tests/lessons.rs).
                let claim = text(page, "document.querySelector('[data-testid=goal]').textContent").await;
                println!("{here}: try 1: {claim}");
                page.find_element("#run").await.expect("Run").click().await.expect("run it again");
                wait_for(page, "document.querySelector('[data-testid=goal]') === null", 30).await;
                // (Its verdict, held or not: the assertion below names the claim it read.)
                wait_for(page, "document.querySelector('[data-testid=goal]') !== null", 300).await;
            }
            let claim = text(page, "document.querySelector('[data-testid=goal]').textContent").await;
            assert_eq!(
                text(page, "document.querySelector('[data-testid=goal]').dataset.passed").await,
                "true",
                "{here}: the claim held on the reference run: {claim}"
            );
            assert!(!claim.contains('…') && !claim.contains('{'), "{here}: {claim}");
            // The step's own figure, big, and the prediction beside what was measured.
            let figure = text(page, "document.querySelector('[data-testid=key-figure]')?.dataset.figure ?? ''").await;
            assert_eq!(Some(figure.as_str()), step.figure(), "{here}: the step's figure is shown");
            if step.prediction.is_some() {
                let compare =
                    text(page, "document.querySelector('[data-testid=prediction-compare]').textContent").await;
                assert!(compare.contains("You predicted10") && compare.contains("Measured"), "{here}: {compare}");
                assert!(compare.contains("close") || compare.contains("Close"), "{here}: {compare}");
            }
            if step.model.is_some() {
                let sum = text(page, "document.querySelector('[data-testid=model-sum]').textContent").await;
                assert!(sum.contains("measured") && !sum.contains('?'), "{here}: the model's sum: {sum}");
                // Redone from the numbers it prints, the sum comes to the result it prints.
                let printed = text(page, "document.querySelector('[data-testid=model-sum]').dataset.sum").await;
                let result = text(page, "document.querySelector('[data-testid=model-sum]').dataset.result").await;
                let redone = Expr::parse(&printed.replace('\u{2009}', ""))
                    .and_then(|e| e.eval(&|_| None))
                    .unwrap_or_else(|e| panic!("{here}: the printed sum `{printed}` does not read: {e}"));
                assert_eq!(number(redone), result, "{here}: `{printed}` printed as `{sum}`");
                assert!(sum.contains(&result), "{here}: {sum}");
            }
            if step.sweep.is_empty() {
                // The run as the lab stored it, to judge the page's rates and verdict by.
                let href =
                    text(page, "document.querySelector('[data-testid=run-link]')?.getAttribute('href') ?? ''").await;
                // `/#/run/<id>`: the run's own page.
                let id = href.rsplit('/').next().unwrap_or_default();
                let run: poollab_shared::RunView =
                    serde_json::from_value(app.get(&format!("/api/runs/{id}")).await.1).expect("the step's run");
                let summary = run.summary.expect("a done run has a summary");
                // A run shorter than two seconds has no measured rate per second anywhere: not in
                // the outcome, the charts, the figures of the Details drawer, nor its summary.
                // (A lesson may still say how fast its requests were sent: "200 a second".)
                wait_for(page, "document.querySelector('[data-testid=summary]') !== null", 10).await;
                if !per_second(summary.duration_ms) {
                    for part in ["[data-testid=outcome]", ".charts", "[data-testid=details]", "[data-testid=picture]"] {
                        let words = text(page, &format!("document.querySelector('{part}')?.textContent ?? ''")).await;
                        for rate in ["per second", "req/s"] {
                            assert!(
                                !words.contains(rate),
                                "{here}: a run of {} ms reads '{rate}' in {part}: {words}",
                                summary.duration_ms
                            );
                        }
                    }
                    let throughput = text(page, "document.querySelector('[data-testid=throughput]').textContent").await;
                    assert_eq!(throughput, format!("{} answered in {} ms", summary.completed, summary.duration_ms));
                }
                // Apart from the claim, the page says whether the run was good for its users.
                let good = text(page, "document.querySelector('[data-testid=for-users]')?.dataset.good ?? ''").await;
                let expected = for_users(&summary, &step.targets) == ForUsers::Good;
                assert_eq!(
                    good,
                    expected.to_string(),
                    "{here}: good for users ({} of {} failed)",
                    summary.failed,
                    summary.completed + summary.failed
                );
                if summary.failed * 10 > summary.completed + summary.failed {
                    assert_eq!(
                        good,
                        "false",
                        "{here}: {} of {} failed",
                        summary.failed,
                        summary.completed + summary.failed
                    );
                }
            }
            // A figure shown in two places on the page is one number: every figure the page marks
            // (the texts' figures, the key figure, the model, the summary, the charts) by name.
            let marked: HashMap<String, Vec<String>> =
                serde_json::from_str(&text(page, MARKED_FIGURES).await).expect("the marked figures");
            for (name, values) in &marked {
                let first: f64 = values[0].parse().unwrap_or(f64::NAN);
                assert!(
                    values.iter().all(|v| v.parse::<f64>().is_ok_and(|v| (v - first).abs() < 1e-9)),
                    "{here}: {name} is shown as different numbers: {values:?}"
                );
            }
            // The picture keeps showing the run: a frame of it, not an idle one.
            wait_for(page, "(document.querySelector('[data-testid=picture]')?.dataset.run ?? '') !== ''", 20).await;
            app_side_is_counted_from_the_records(&app, page, step, &here).await;
            if step.preset.pooler.is_some() {
                // PgBouncer stands between the app and the server, with its own figures.
                let clients = text(page, "document.querySelector('[data-testid=pooler]')?.dataset.clients ?? ''").await;
                assert!(clients.parse::<u64>().is_ok_and(|c| c > 0), "{here}: PgBouncer's clients: {clients:?}");
                pgbouncer_is_named_as_its_sampled_view(&app, page, step, &here).await;
            }
            for chart in &step.view.charts {
                let id = chart_id(*chart);
                wait_for(page, &format!("document.querySelector('.charts [data-testid={id}]') !== null"), 20).await;
                if *chart == ChartName::Waterfall {
                    wait_for(
                        page,
                        "Number(document.querySelector('.charts [data-testid=waterfall]')?.dataset.requests) > 0",
                        20,
                    )
                    .await;
                    // The legend names only what the lanes show: no pool in a naive run.
                    let legend =
                        text(page, "document.querySelector('.charts [data-testid=waterfall-legend]').textContent")
                            .await;
                    let naive = step.preset.strategy == poollab_shared::Strategy::Naive;
                    assert!(!naive || !legend.contains("pooled"), "{here}: the waterfall's legend: {legend}");
                    assert!(legend.contains("querying"), "{here}: the waterfall's legend: {legend}");
                    let red = text(
                        page,
                        "String(document.querySelectorAll('.charts [data-testid=waterfall] rect.s-bad').length > 0)",
                    )
                    .await;
                    assert_eq!(
                        red == "true",
                        legend.contains("failed"),
                        "{here}: failed lanes and the legend: {legend}"
                    );
                }
            }
            if step.preset.network.outage.is_some() && step.view.charts.contains(&ChartName::Throughput) {
                marks_are_where_the_run_recorded_them(&app, page, &here).await;
            }
            let shown = text(page, "document.querySelector('[data-testid=key-figure-value]')?.textContent ?? ''").await;
            if let Some(c) = step.compare {
                // Beside the earlier step it answers (the learner ran it just before): both runs'
                // figures as each step showed its own, and both waterfalls on one time axis.
                wait_for(page, BOTH_RUNS_SHOWN, 30).await;
                let axes = text(page, PAIRED_AXES).await;
                let (a, b) = axes.split_once(' ').unwrap_or_default();
                assert!(!a.is_empty() && a == b, "{here}: two waterfalls on one time axis: {axes}");
                let earlier = (lesson.steps[c - 1].figure().unwrap_or_default(), c);
                for (figure, at) in [earlier, (step.figure().unwrap_or_default(), n)] {
                    let cell = format!(
                        "document.querySelector('[data-testid=compare-figures] tr[data-figure=\"{figure}\"] \
                           td[data-step=\"{at}\"]')?.textContent ?? ''"
                    );
                    let own = if at == n { &shown } else { &measured[&(lesson.id.as_str(), c)] };
                    assert_eq!(
                        &text(page, &cell).await,
                        own,
                        "{here}: step {at}'s {figure}, as its own page showed it"
                    );
                }
                let whose = text(page, "document.querySelector('[data-testid=paired-whose]').textContent").await;
                assert!(whose.contains("your own run"), "{here}: the course ran step {c} before: {whose}");
            }
            measured.insert((lesson.id.as_str(), n), shown);
            if step.preset.strategy == poollab_shared::Strategy::Pooled {
                // Every pool knob, named as six libraries name it.
                wait_for(page, LIBRARY_ROWS_SHOWN, 10).await;
            }
            if step.score.is_some() {
                let score = text(page, "document.querySelector('[data-testid=score]').textContent").await;
                assert!(score.starts_with("Your score: ") && score.contains("peak server connections"), "{score}");
            }
            // A step's finer points stand in a box the learner opens (closed at first): opened
            // here, so that the screenshot and the words kept hold every word a learner can read.
            let boxes =
                text(page, "String(document.querySelectorAll('.step-text details.more:not([open]) > summary').length)")
                    .await;
            let titled = poollab_shared::lesson::text_html(&step.text).contains(r#"<details class="more">"#);
            assert_eq!(
                boxes,
                if titled { "1" } else { "0" },
                "{here}: a closed box of finer points where its text has a title"
            );
            page.evaluate("document.querySelectorAll('.step-text details.more').forEach(d => d.open = true); true")
                .await
                .expect("open the step's finer points");
            save_screenshot(page, &format!("step-{}-{n}.png", lesson.id)).await;
            // And its words, for reading the step as a learner would (tests/artifacts/).
            let words = text(page, "document.querySelector('main').innerText").await;
            support::browser::save_text(&format!("step-{}-{n}.txt", lesson.id), &words);
        }
    }

    // The instructor saw this learner's prediction, and whether it was close.
    let h: poollab_shared::PredictionHistogram =
        app.get_as_instructor("/api/class/predictions?lesson=03-server-limit&step=1").await;
    assert_eq!((h.count, h.bins[0].from), (1, 10.0), "{h:?}");
    assert!(h.measured_median.is_some_and(|m| m > 10.0 * 1.25) && h.close == 0, "10 refusals was not close: {h:?}");

    // The sandbox names its pool knobs in the six libraries too, and every row of that table is
    // one of the form's own knobs.
    page.evaluate("location.assign('/sandbox/'); true").await.expect("to the sandbox, a page of its own");
    // (The step's page shows the same table: wait for the sandbox's page to be the one loaded.)
    wait_for(page, &format!("location.pathname === '/sandbox/' && {LIBRARY_ROWS_SHOWN}"), 20).await;
    let unmatched = text(
        page,
        "[...document.querySelectorAll('[data-testid=library-names] tr[data-knob]')] \
           .map(r => r.dataset.knob).filter(id => !document.getElementById(id)).join(',')",
    )
    .await;
    assert_eq!(unmatched, "", "library rows without a knob of that id in the form");
    let hikari =
        text(page, "document.querySelector('[data-testid=library-names] tr[data-knob=pool-min]').textContent").await;
    assert!(hikari.contains("minimumIdle") && hikari.contains("min_size"), "{hikari}");
    page.evaluate("document.querySelector('[data-testid=library-names]').open = true; true").await.expect("open it");
    save_screenshot(page, "library-names.png").await;

    // A new load of the course (from the sandbox's page) keeps the progress, and a done step
    // shows its run again from the store.
    page.evaluate("location.assign('/#/'); true").await.expect("to the course, loaded anew");
    wait_for(page, "document.querySelectorAll('[data-testid=lesson-list] li').length === 18", 30).await;
    for lesson in &lessons {
        let passed =
            text(page, &format!("document.querySelector(\"[data-lesson='{}']\").dataset.passed", lesson.id)).await;
        assert_eq!(passed, lesson.steps.len().to_string(), "{} keeps its progress after a reload", lesson.id);
    }
    page.evaluate("location.hash = '#/lesson/05-pool-full/1'; true").await.expect("open a done step");
    wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'", 10).await;
    wait_for(page, "(document.querySelector('[data-testid=picture]')?.dataset.run ?? '') !== ''", 10).await;
    session.close().await;
    app.stop().await;
}

/// Every figure the step's page marks with its name and exact value, by name (the other step of
/// a compared pair left out: its figures are its own run's).
const MARKED_FIGURES: &str = "(() => { const m = {}; \
    for (const e of document.querySelectorAll('main [data-figure][data-value]')) { \
      if (e.closest('[data-testid=compare-figures]') || e.closest('[data-testid=paired]')) continue; \
      (m[e.dataset.figure] ??= []).push(e.dataset.value); } \
    return JSON.stringify(m); })()";

/// A compared step's two waterfalls, each with lanes, and its figures, each measured.
const BOTH_RUNS_SHOWN: &str = "(() => { const p = document.querySelector('[data-testid=paired]'); if (!p) return false; \
    const w = [...p.querySelectorAll('svg[data-axis-max]')]; \
    return w.length === 2 && w.every(s => Number(s.dataset.requests) > 0) \
      && [...p.querySelectorAll('[data-testid=compare-figures] td')].every(td => !td.textContent.includes('…')); })()";

/// The ends of a compared step's two time axes.
const PAIRED_AXES: &str =
    "[...document.querySelectorAll('[data-testid=paired] svg[data-axis-max]')].map(s => s.dataset.axisMax).join(' ')";

/// The instant the page names to a thousandth of a millisecond, as the records have it: a
/// moment is often the very instant a request took or gave back a connection, which the rounding
/// can put just before it.
fn exact(records: &[poollab_shared::RequestRecord], at_ms: f64) -> f64 {
    let edges = records.iter().flat_map(|r| AppFigure::ALL.into_iter().filter_map(|f| f.span(r)));
    edges.flat_map(|s| [s.from, s.to]).find(|e| (e - at_ms).abs() <= 0.0005).unwrap_or(at_ms)
}

/// What the picture says of the app side once the run is over.
#[derive(Debug, Deserialize, PartialEq)]
struct AppDrawn {
    moment: String,
    at_ms: f64,
    in_flight: u64,
    waiting: u64,
    connecting: u64,
    in_use: u64,
    peak_in_use: u64,
    peak_waiting: u64,
    peak_in_flight: u64,
    peak_connecting: u64,
}

const READ_APP: &str = "(() => { const d = document.querySelector('[data-testid=picture]').dataset; \
    return JSON.stringify({ moment: d.moment, at_ms: Number(d.atMs), in_flight: Number(d.inFlight), \
      waiting: Number(d.waiting), connecting: Number(d.connecting), in_use: Number(d.inUse), \
      peak_in_use: Number(d.peakInUse), peak_waiting: Number(d.peakWaiting), \
      peak_in_flight: Number(d.peakInFlight), peak_connecting: Number(d.peakConnecting) }); })()";

/// After a step's run, the picture's app side is counted from the run's stored records: its peaks
/// are the ones the records give and the summary states, and it opens on the busiest moment the
/// records give (or, for a step about the end, after the last answer, when nothing is in flight).
async fn app_side_is_counted_from_the_records(
    app: &support::TestApp,
    page: &chromiumoxide::Page,
    step: &poollab_shared::Step,
    here: &str,
) {
    wait_for(page, "document.querySelector('[data-testid=picture]')?.dataset.source === 'records'", 20).await;
    let id = text(page, "document.querySelector('[data-testid=picture]').dataset.run").await;
    let drawn: AppDrawn = serde_json::from_str(&text(page, READ_APP).await).expect("the picture's app side");
    let t = app.timeline(&id).await;
    let peaks = AppPeaks::of(&t.requests);
    let (_, body) = app.get(&format!("/api/runs/{id}")).await;
    let run: poollab_shared::RunView = serde_json::from_value(body).expect("run");
    let s = run.summary.expect("a done run has a summary");
    let from_records = (peaks.holding.count, peaks.waiting.count, peaks.in_flight.count, peaks.connecting.count);
    assert_eq!(
        (drawn.peak_in_use, drawn.peak_waiting, drawn.peak_in_flight, drawn.peak_connecting),
        from_records,
        "{here}: the picture's app peaks are the records'"
    );
    assert_eq!(
        (s.peak_in_use, s.peak_waiters, s.peak_in_flight, s.peak_connecting),
        from_records,
        "{here}: the summary's app peaks are the records'"
    );
    let counted = |at: f64| {
        let c = AppCounts::at(&t.requests, at);
        (c.in_flight, c.waiting, c.connecting, c.holding)
    };
    let shown = (drawn.in_flight, drawn.waiting, drawn.connecting, drawn.in_use);
    // The server's side goes with the app's instant: inside the run's first readings (every 10
    // ms), the reading drawn was taken near it, not a frame's of up to 100 ms before or after.
    let read: Vec<f64> = serde_json::from_str(
        &text(
            page,
            "(() => { const s = document.querySelector('[data-testid=picture] [data-testid=server]'); \
                     return JSON.stringify([Number(s.dataset.readAt), Number(s.dataset.readTook)]); })()",
        )
        .await,
    )
    .expect("the server's reading time");
    // A fleet's instances, as the server sees each in the picture and in the bars, add up to the
    // run's backends in the picture's server, all from one reading.
    let fleet: (u64, Vec<u64>, Vec<u64>) = serde_json::from_str(
        &text(
            page,
            "(() => { const s = document.querySelector('[data-testid=picture] [data-testid=server]'); \
                     const bars = [...document.querySelectorAll('[data-testid=instance-bar]')].map(b => Number(b.dataset.backends)); \
                     const sees = [...document.querySelectorAll('[data-testid=picture] .server-sees')].map(n => Number(n.textContent.match(/\\d+/)[0])); \
                     return JSON.stringify([Number(s.dataset.runBackends), bars, sees]); })()",
        )
        .await,
    )
    .expect("the fleet's backends");
    if !fleet.1.is_empty() {
        let bars = fleet.1.iter().sum::<u64>();
        // (16.1 once drew bars of 13 beside 20 backends: at an instant past the run's first
        // readings the picture took the pools from the frame before the instant and the server
        // from a later one. Both come from one frame now.)
        assert_eq!(bars, fleet.0, "{here}: the bars add up to the server's backends: {fleet:?}");
    }
    if !fleet.2.is_empty() {
        assert_eq!(
            fleet.2.iter().sum::<u64>(),
            fleet.0,
            "{here}: the instances add up to the server's backends: {fleet:?}"
        );
    }
    let covered = t.readings.last().and_then(|r| r.read_at_ms).is_some_and(|last| drawn.at_ms <= last as f64);
    let last_answer = poollab_shared::activity::last_answer_ms(&t.requests).unwrap_or(0.0);
    if covered && drawn.at_ms < last_answer {
        let shows = read[0] + read[1] / 2.0;
        // Near it: within 30 ms, or (a busy server answers the sampler late, and its readings
        // thin out) the nearest reading kept that shows the server while the load ran (the
        // page's rule: not the server after the last answer, nor before the first request).
        let first = t.requests.iter().map(|r| r.start_ms).fold(f64::INFINITY, f64::min);
        let while_the_load_ran = t
            .readings
            .iter()
            .filter_map(poollab_shared::ServerFrame::shows_at)
            .filter(|shows| (first..=last_answer).contains(shows));
        let nearest = nearest_to(drawn.at_ms, while_the_load_ran);
        assert!(
            read[0] >= 0.0 && (shows - drawn.at_ms).abs() <= 30.0_f64.max(nearest + 0.5),
            "{here}: the app at {} ms beside the server read at {read:?} (the nearest kept: {nearest} ms away)",
            drawn.at_ms
        );
        // PgBouncer's side too, when the run had one: its reading kept beside the server's.
        let pooler = text(
            page,
            "(() => { const p = document.querySelector('[data-testid=picture] [data-testid=pooler]');                      return p ? JSON.stringify([Number(p.dataset.readAt), Number(p.dataset.readTook)]) : ''; })()",
        )
        .await;
        if let Ok(read) = serde_json::from_str::<[f64; 2]>(&pooler) {
            // It shows PgBouncer at some instant while it was read.
            // Within 40 ms, or the nearest reading the run kept (a busy PgBouncer answers late,
            // and 17.3 read the nearest 41 ms from the picture's instant).
            let shows = read[0] + read[1] / 2.0;
            let nearest = nearest_to(
                drawn.at_ms,
                poollab_shared::frame::pooler_readings(&t.pooler_readings, &t.frames)
                    .iter()
                    .filter_map(|p| p.shows_at()),
            );
            assert!(
                read[0] >= 0.0 && (shows - drawn.at_ms).abs() <= (40.0 + read[1] / 2.0).max(nearest + 0.5),
                "{here}: the app at {} ms beside PgBouncer read at {read:?} (the nearest kept: {nearest} ms away)",
                drawn.at_ms
            );
        }
        // And the pools, as sqlx counted them with that reading: the connections the picture
        // draws opening are the reading's, beside the connections in use counted at the instant.
        let reading =
            t.readings.iter().find(|r| r.read_at_ms == Some(read[0] as u64) && r.read_took_ms == read[1] as u64);
        let pools: Vec<_> = reading.map_or(Vec::new(), |r| r.instances.iter().filter_map(|i| i.pool).collect());
        if !pools.is_empty() {
            let opening: u64 = pools
                .iter()
                .enumerate()
                .map(|(n, p)| {
                    let own = t.requests.iter().filter(|r| r.instance as usize == n);
                    let in_use = AppCounts::at(own, exact(&t.requests, drawn.at_ms)).holding;
                    p.opening_beside(in_use)
                })
                .sum();
            let drawn_opening: u64 =
                text(page, "String(document.querySelectorAll('[data-testid=pool-slots] rect.connecting').length)")
                    .await
                    .parse()
                    .expect("a count");
            assert_eq!(
                drawn_opening, opening,
                "{here}: the pools drawn are the ones read with the server at {read:?}: {pools:?} beside {drawn:?}"
            );
        }
    }
    // A moment counted from the app alone opens where the server was read too, when it was read
    // while the moment's figure stood (the run's first readings, then its frames' after them).
    let readings: Vec<f64> =
        poollab_shared::frame::server_readings(&t.readings, &t.frames).into_iter().map(|(at, _)| at).collect();
    let seen = |o| poollab_shared::activity::seen_with_the_server(&t.requests, &t.events, o, readings.iter().copied());
    match step.view.moment {
        Moment::Busiest => {
            let (figure, count, first) = peaks.busiest().expect("a run with requests has a busiest moment");
            assert_eq!(s.busiest_ms, Some(first), "{here}: the summary's busiest moment is the records' {s:?}");
            // It opens where the server was read while the most were in use, when it was.
            let at = seen(opening(&t.requests, &t.events, Moment::Busiest).expect("one")).at_ms;
            assert_eq!(drawn.moment, "busiest", "{here}: {drawn:?}");
            assert!((drawn.at_ms - at).abs() < 0.001, "{here}: {drawn:?} at {at}");
            assert_eq!(shown, counted(at), "{here}: the app side at the busiest moment");
            assert_eq!(figure.at(&t.requests, at), count, "{here}: the busiest moment's count: {drawn:?}");
        }
        Moment::MostWaiting => {
            let Opening { figure, count, at_ms: at, .. } =
                seen(opening(&t.requests, &t.events, Moment::MostWaiting).expect("a run with requests has one"));
            assert_eq!(figure, AppFigure::Waiting, "{here}: requests waited in this run");
            assert_eq!(drawn.moment, "most-waiting", "{here}: {drawn:?}");
            assert!((drawn.at_ms - at).abs() < 0.001, "{here}: {drawn:?}");
            assert_eq!((shown, drawn.waiting), (counted(at), count), "{here}: the app side when the most waited");
        }
        Moment::Outage => {
            // The picture opens inside the outage the run recorded, where the most waited in it,
            // and its heading says so.
            let o = seen(opening(&t.requests, &t.events, Moment::Outage).expect("a run with requests has one"));
            let window = outage_window(&t.events, &t.requests);
            assert_eq!(o.moment, Moment::Outage, "{here}: the run recorded its outage: {:?}", t.events);
            assert!(window.is_some_and(|w| w.contains(o.at_ms)), "{here}: {o:?} in {window:?}");
            assert_eq!(drawn.moment, "outage", "{here}: {drawn:?}");
            assert!((drawn.at_ms - o.at_ms).abs() < 0.001, "{here}: {drawn:?} {o:?}");
            assert_eq!((shown, drawn.waiting), (counted(o.at_ms), o.count), "{here}: the app side in the outage");
            let heading = text(page, "document.querySelector('[data-testid=stage-title]').textContent").await;
            assert!(
                heading.starts_with("During the outage, at ")
                    && heading.ends_with(&format!(": {} waiting for a connection", o.count)),
                "{here}: {heading} for {o:?}"
            );
        }
        Moment::ServerPeak => {
            // The picture opens on the reading that counted the run's peak of backends (the
            // headline's), when it was kept, with the app counted at its instant.
            let server = |attr: &str| {
                format!("document.querySelector('[data-testid=picture] [data-testid=server]').dataset.{attr}")
            };
            let backends: u64 = text(page, &server("runBackends")).await.parse().expect("the server's backends");
            let kept = poollab_shared::frame::server_readings(&t.readings, &t.frames)
                .into_iter()
                .map(|(at, r)| (at, r.run_backends));
            match poollab_shared::activity::server_peak(kept, s.peak_server_connections) {
                Some(at) => {
                    assert_eq!(drawn.moment, "server-peak", "{here}: {drawn:?}");
                    assert!((drawn.at_ms - at).abs() < 0.001, "{here}: {drawn:?} at {at}");
                    assert_eq!(backends, s.peak_server_connections, "{here}: the picture's server is the peak's");
                    assert_eq!(shown, counted(at), "{here}: the app side at the server's peak");
                }
                None => assert_eq!(drawn.moment, "busiest", "{here}: no kept reading had the peak: {drawn:?}"),
            }
        }
        Moment::FirstRefusal => {
            // The picture opens when the server refused its first connect, beside a full server.
            let at = poollab_shared::activity::first_refusal(&t.requests).expect("the step's run was refused");
            assert_eq!(drawn.moment, "first-refusal", "{here}: {drawn:?}");
            assert!((drawn.at_ms - at).abs() < 0.001, "{here}: {drawn:?} at {at}");
            assert_eq!(shown, counted(at), "{here}: the app side at the first refusal");
            // A reading that shows the server after the app heard its first refusal counts it.
            let refused = text(
                page,
                "document.querySelector('[data-testid=picture] [data-testid=refused]')?.dataset.refused ?? ''",
            )
            .await;
            if read[0] + read[1] / 2.0 >= at {
                assert!(
                    refused.parse::<u64>().is_ok_and(|n| n >= 1),
                    "{here}: the server read at {read:?} has refused {refused}, after the app heard a refusal at {at} ms"
                );
            }
        }
        Moment::End => {
            assert_eq!(drawn.moment, "after-last-answer", "{here}: {drawn:?}");
            assert_eq!((shown.0, shown.1, shown.2), (0, 0, 0), "{here}: nothing goes on after the last answer");
            assert_eq!(shown, counted(drawn.at_ms), "{here}: the app side at the end");
        }
    }
}

/// PgBouncer's figures say they are its own sampled view (`SHOW POOLS`), apart from the app's
/// figures counted from the records: in the picture (whose words say why the two may differ), and
/// in its chart's words, which quote the run's stored peaks.
async fn pgbouncer_is_named_as_its_sampled_view(
    app: &support::TestApp,
    page: &chromiumoxide::Page,
    step: &poollab_shared::Step,
    here: &str,
) {
    let drawn = text(page, "document.querySelector('[data-testid=picture]').textContent").await;
    // Its heading says it is a sample, or when it was read (beside an instant of the app's).
    assert!(
        drawn.contains("Pooler, sampled") || drawn.contains("PgBouncerread at "),
        "{here}: the pooler's heading: {drawn}"
    );
    let words = text(page, "document.querySelector('[data-testid=picture-text]').textContent").await;
    assert!(words.contains("PgBouncer's SHOW POOLS (") && words.contains("A sample misses"), "{here}: {words}");
    if !step.view.charts.contains(&ChartName::Pooler) {
        return;
    }
    let id = text(page, "document.querySelector('[data-testid=picture]').dataset.run").await;
    let (_, body) = app.get(&format!("/api/runs/{id}")).await;
    let run: poollab_shared::RunView = serde_json::from_value(body).expect("run");
    let s = run.summary.expect("a done run has a summary");
    let said = text(
        page,
        "document.querySelector('.charts [data-testid=chart-pooler]').closest('.chart-frame').querySelector('.chart-text').textContent",
    )
    .await;
    let seen = format!(
        "PgBouncer's SHOW POOLS, read every {} ms (a sample, which misses what lasts less): at most {} clients, {} of them waiting",
        poollab_shared::frame::SHOW_POOLS_EVERY_MS,
        s.peak_pooler_clients,
        s.peak_pooler_waiting
    );
    assert!(said.starts_with(&seen), "{here}: {said}");
}

/// The throughput chart marks the outage's beginning and end, and the breaker's changes, at the
/// instants the run recorded them (not at the end of the frame that first showed them).
async fn marks_are_where_the_run_recorded_them(app: &support::TestApp, page: &chromiumoxide::Page, here: &str) {
    let id = text(page, "document.querySelector('[data-testid=picture]').dataset.run").await;
    let t = app.timeline(&id).await;
    let kinds: Vec<_> = t.events.iter().map(|e| e.kind).collect();
    assert!(
        kinds.starts_with(&[RunEventKind::OutageBegins]) && kinds.contains(&RunEventKind::OutageEnds),
        "{here}: the run recorded its outage: {:?}",
        t.events
    );
    let marks: Vec<(String, f64)> = serde_json::from_str(
        &text(
            page,
            "JSON.stringify([...document.querySelectorAll('.charts [data-testid=chart-throughput] [data-event]')] \
               .map(g => [g.dataset.event, Number(g.dataset.atMs)]))",
        )
        .await,
    )
    .expect("the chart's marks");
    for e in &t.events {
        assert!(
            marks.iter().any(|(label, at)| label == e.kind.label() && (at - e.at_ms).abs() < 0.06),
            "{here}: {e:?} is marked where it happened: {marks:?}"
        );
    }
    let recorded = |label: &str| t.events.iter().filter(|e| e.kind.label() == label).count();
    for (label, _) in &marks {
        if label.starts_with("outage") || label.starts_with("breaker") {
            assert!(recorded(label) > 0, "{here}: {label} marked, never recorded: {marks:?}");
        }
    }
}

/// The library-names table, with a row for each of the seven pool knobs and a cell per library.
const LIBRARY_ROWS_SHOWN: &str = "document.querySelectorAll('[data-testid=library-names] tr[data-knob]').length === 7 \
    && document.querySelectorAll('[data-testid=library-names] tbody td').length === 42";

/// What the page drew, read back from the picture.
#[derive(Debug, Deserialize)]
struct Drawn {
    seq: u64,
    in_use: u64,
    connecting: u64,
    idle: u64,
    waiters: u64,
    server: u64,
    /// The pooler's box: clients waiting, server connections lent, and open.
    pooler_waiting: u64,
    pooler_lent: u64,
    pooler_open: u64,
}

const READ_PICTURE: &str = "(() => { const p = document.querySelector('[data-testid=picture]'); \
    if (!p || !p.dataset.run) return ''; \
    const n = (sel) => p.querySelectorAll(sel).length; \
    if (p.dataset.source === 'records') return ''; \
    return JSON.stringify({ seq: Number(p.dataset.seq), \
      in_use: n('[data-testid=pool-slots] rect.in-use'), connecting: n('[data-testid=pool-slots] rect.connecting'), \
      idle: n('[data-testid=pool-slots] rect.idle'), waiters: n('[data-testid=line] circle.waiter'), \
      server: n('[data-testid=server] rect.cell[data-state^=run]'), \
      pooler_waiting: n('[data-testid=pooler] circle.waiter'), pooler_lent: n('[data-testid=pooler] rect.in-use'), \
      pooler_open: n('[data-testid=pooler] rect.slot:not(.unopened)') }); })()";

/// Starts `spec` and, until it ends, compares what the picture draws with the frame it says it
/// draws (the test hears the same frames on a websocket of its own). Returns how many frames were
/// compared, and how many of them were busy (connections in use and a line).
async fn compare_drawn_with_frames(
    app: &support::TestApp,
    page: &chromiumoxide::Page,
    spec: serde_json::Value,
) -> (u32, u32) {
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app.start_run(spec).await;
    let mut frames: HashMap<u64, Frame> = HashMap::new();
    let mut drawn = Vec::new();
    let started = Instant::now();
    let mut done = false;
    while !done {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never ended");
        // Between two looks at the page, take what the websocket has.
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_millis(20), ws.next()).await {
            match serde_json::from_str::<ServerMessage>(&t).expect("a message") {
                ServerMessage::Frame(f) if f.run_id.as_deref() == Some(id.as_str()) => {
                    frames.insert(f.seq, f);
                }
                ServerMessage::Run(r) if r.id == id && r.summary.is_some() => done = true,
                _ => {}
            }
        }
        let json = text(page, READ_PICTURE).await;
        if !json.is_empty() {
            drawn.push(serde_json::from_str::<Drawn>(&json).expect("drawn"));
        }
    }
    let (mut compared, mut busy) = (0, 0);
    for d in drawn {
        let Some(f) = frames.get(&d.seq) else { continue };
        let pool = f.pool.expect("a pooled run's frame has its pool");
        assert_eq!(
            (d.in_use, d.connecting, d.idle, d.waiters, d.server),
            (pool.in_use, pool.connecting, pool.idle, pool.waiters, f.server.run_backends),
            "frame {} drawn as {d:?}, sent as {pool:?} with {} server backends",
            d.seq,
            f.server.run_backends
        );
        let pooler = f.pooler.unwrap_or_default();
        assert_eq!(
            (d.pooler_waiting, d.pooler_lent, d.pooler_open),
            (pooler.cl_waiting, pooler.sv_active, pooler.servers()),
            "frame {} drawn as {d:?}, sent with the pooler {pooler:?}",
            d.seq
        );
        compared += 1;
        busy += u32::from(pool.in_use > 0 && (pool.waiters > 0 || pooler.cl_waiting > 0));
    }
    (compared, busy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_picture_draws_the_frame_it_was_given() {
    let _turn = my_turn();
    let app = spawn_app(50).await;
    let session = Session::open(&app, "/sandbox/").await;
    let page = &session.page;
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    let (compared, busy) = compare_drawn_with_frames(
        &app,
        page,
        serde_json::json!({ "strategy": "pooled", "requests": 40, "concurrency": 40,
                            "pool": { "max_connections": 5 }, "work": { "query": "sleep", "sleep_ms": 150 } }),
    )
    .await;
    assert!(compared >= 5 && busy >= 3, "compared {compared} frames, {busy} with connections in use and a line");
    // With PgBouncer between the pools and the server, its box draws its own figures.
    let (compared, busy) = compare_drawn_with_frames(
        &app,
        page,
        serde_json::json!({ "strategy": "pooled", "requests": 80, "concurrency": 40, "instances": 2,
                            "pool": { "max_connections": 20, "min_connections": 20 },
                            "work": { "query": "sleep", "sleep_ms": 100, "transaction": true, "statements": "unnamed" },
                            "pooler": { "mode": "transaction", "pool_size": 4 } }),
    )
    .await;
    assert!(compared >= 5 && busy >= 3, "with a pooler: compared {compared} frames, {busy} busy");
    save_screenshot(page, "picture-live.png").await;
    session.close().await;
    app.stop().await;
}

/// Lesson 1's TLS step in a real browser: on a server without TLS it says so and offers no Run
/// (rather than show failures as figures); where TLS is offered its run tells TLS's own price
/// from the missing socket option's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tls_step_says_when_the_server_offers_no_tls_and_measures_where_it_does() {
    let _turn = my_turn();
    const STEP: &str = "(() => { const s = document.querySelector('[data-testid=step]'); \
                        return s && s.dataset.lesson === '01-connection-cost' && s.dataset.step === '3'; })()";
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 30);
    cfg.database.pg_no_tls = true;
    let app = support::spawn_with(cfg, dir).await;
    let session = Session::open(&app, "/#/lesson/01-connection-cost/3").await;
    let page = &session.page;
    wait_for(page, STEP, 20).await;
    wait_for(page, "document.querySelector('[data-testid=lacks]') !== null", 20).await;
    let note = text(page, "document.querySelector('[data-testid=lacks]').textContent").await;
    assert!(note.contains("offers no TLS"), "{note}");
    assert_eq!(text(page, "String(document.getElementById('run').disabled)").await, "true", "no Run without TLS");
    // A step that cannot run draws no empty charts, offers no figures of a run, and asks for no
    // prediction of a run it cannot make.
    let hidden = "['.charts', '[data-testid=details]', '.prediction'].map(q => document.querySelector(q)) \
                  .every(e => !e || getComputedStyle(e).display === 'none')";
    assert_eq!(
        text(page, &format!("String({hidden})")).await,
        "true",
        "no empty waterfall, details or prediction without TLS"
    );
    save_screenshot(page, "step-01-connection-cost-3-no-tls.png").await;
    session.close().await;
    app.stop().await;

    let app = spawn_app(30).await;
    let session = Session::open(&app, "/#/lesson/01-connection-cost/3").await;
    let page = &session.page;
    wait_for(page, STEP, 20).await;
    wait_for(page, "document.querySelector('[data-testid=picture]') !== null", 10).await;
    assert_eq!(text(page, "String(document.querySelector('[data-testid=lacks]') === null)").await, "true");
    let input = page.find_element("#prediction").await.expect("prediction input");
    input.focus().await.expect("focus");
    input.type_str("10").await.expect("type").press_key("Enter").await.expect("Enter runs it");
    wait_for(page, "document.querySelector('[data-testid=goal]') !== null", 90).await;
    let claim = text(page, "document.querySelector('[data-testid=goal]').textContent").await;
    assert_eq!(text(page, "document.querySelector('[data-testid=goal]').dataset.passed").await, "true", "{claim}");
    assert!(claim.contains("TLS itself costs") && claim.contains("TCP_NODELAY costs"), "{claim}");
    wait_for(page, "Number(document.querySelector('.charts [data-testid=waterfall]')?.dataset.requests) > 0", 20).await;
    println!("{claim}");
    // Its own name: the course test keeps step 1.3 as its run left it, screenshot beside text.
    save_screenshot(page, "tls-step-with-tls.png").await;
    session.close().await;
    app.stop().await;
}

/// How far the nearest of `instants` is from `at` (infinitely far when there is none).
fn nearest_to(at: f64, instants: impl Iterator<Item = f64>) -> f64 {
    instants.map(|i| (i - at).abs()).fold(f64::INFINITY, f64::min)
}
