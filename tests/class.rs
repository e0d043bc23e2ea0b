//! The classroom over real HTTP and websockets: the instructor's token, the lock, follow mode,
//! and a queue that is fair across learners.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use poollab_shared::{ClassState, FollowStep, RunState, ServerMessage};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, Learner, TestApp, Ws, spawn_app};
use tokio_tungstenite::tungstenite::Message;

/// POSTs JSON as a learner (`Some`), the instructor (`None`), or with a given bearer token.
async fn post(app: &TestApp, path: &str, body: Value, learner: Option<&Learner>, token: Option<&str>) -> (u16, Value) {
    if let Some(learner) = learner {
        return learner.post(path, &body).await;
    }
    let mut req = app.http.post(app.url(path)).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The next classroom state a socket hears.
async fn next_class(ws: &mut Ws) -> ClassState {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        if let Ok(ServerMessage::Class(c)) = serde_json::from_str::<ServerMessage>(&text) {
            return c;
        }
    }
}

/// A run that keeps the runner busy for a while, so others pile up in the line.
fn slow_run() -> Value {
    json!({ "strategy": "naive", "requests": 1, "concurrency": 1, "work": { "query": "sleep", "sleep_ms": 1500 } })
}

fn quick_run() -> Value {
    json!({ "strategy": "pooled", "requests": 5, "concurrency": 5 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_instructor_can_lock_the_lab_and_a_locked_lab_takes_only_their_runs() {
    let app = spawn_app(50).await;
    let ann = app.learner().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    assert_eq!(next_class(&mut ws).await, ClassState::default(), "a new socket hears the class state");

    let lock = json!({ "locked": true });
    let (status, body) = post(&app, "/api/class/lock", lock.clone(), Some(&ann), None).await;
    assert_eq!(status, 403, "a learner cannot lock: {body}");
    let (status, _) = post(&app, "/api/class/lock", lock.clone(), None, Some("guess")).await;
    assert_eq!(status, 401, "a wrong token is refused");
    let (status, body) = post(&app, "/api/class/lock", lock, None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!((status, body["locked"].as_bool()), (200, Some(true)));
    assert!(next_class(&mut ws).await.locked, "every page hears the lock");

    let (status, body) = post(&app, "/api/runs", quick_run(), Some(&ann), None).await;
    assert_eq!(status, 423, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("locked"), "{body}");
    let (status, body) = post(&app, "/api/runs", quick_run(), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.finished(&id).await.state, RunState::Done);

    let (status, _) = post(&app, "/api/class/lock", json!({ "locked": false }), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200);
    let (status, _) = post(&app, "/api/runs", quick_run(), Some(&ann), None).await;
    assert_eq!(status, 202, "unlocked, learners run again");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_hears_the_step_to_follow_and_a_late_one_gets_it_on_connecting() {
    let app = spawn_app(50).await;
    let ann = app.learner().await;
    let (mut first, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let (mut second, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    next_class(&mut first).await;
    next_class(&mut second).await;

    let step = json!({ "follow": { "lesson": "04-enter-the-pool", "step": 1 } });
    let (status, _) = post(&app, "/api/class/follow", step.clone(), Some(&ann), None).await;
    assert_eq!(status, 403, "a learner cannot lead the class");
    let (status, body) = post(&app, "/api/class/follow", step, None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let want = Some(FollowStep { lesson: "04-enter-the-pool".into(), step: 1 });
    assert_eq!(next_class(&mut first).await.follow, want);
    assert_eq!(next_class(&mut second).await.follow, want);
    let (mut late, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    assert_eq!(next_class(&mut late).await.follow, want, "a page that joins later follows too");
    let (status, _) = app.get("/api/class").await;
    assert_eq!(status, 200);

    let bad = json!({ "follow": { "lesson": "04-enter-the-pool", "step": 9 } });
    let (status, body) = post(&app, "/api/class/follow", bad, None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = post(&app, "/api/class/follow", json!({ "follow": null }), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(next_class(&mut first).await.follow, None, "the class is let go");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn learners_runs_interleave_and_each_learner_has_a_limit() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    cfg.max_queued_per_learner = 2;
    cfg.max_queued_runs = 12;
    cfg.learner_max_requests = 50;
    // The same experiment asked twice is two runs here: the line's turns are what is tested.
    cfg.share_runs = false;
    let app = support::spawn_with(cfg, dir).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let (ann, bob, carol, dan, eve) =
        (app.learner().await, app.learner().await, app.learner().await, app.learner().await, app.learner().await);

    // Keep the worker busy, then ann queues two runs before bob queues two.
    let (status, _) = post(&app, "/api/runs", slow_run(), Some(&carol), None).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids = Vec::new();
    for learner in [&ann, &ann, &bob, &bob] {
        let (status, body) = post(&app, "/api/runs", quick_run(), Some(learner), None).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let (a1, a2, b1, b2) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let (status, body) = post(&app, "/api/runs", quick_run(), Some(&ann), None).await;
    assert_eq!(status, 429, "a third waiting run of ann's is refused: {body}");
    assert!(body["error"].as_str().unwrap_or("").contains("2 runs waiting"), "{body}");
    // A sweep goes in line whole: not beside ann's waiting runs (and eve, with none waiting, may
    // queue one of more sizes than her limit of two; see the end).
    let sweep = json!({ "run": quick_run(), "sizes": [1, 2, 4] });
    let (status, body) = post(&app, "/api/sweeps", sweep.clone(), Some(&ann), None).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("a sweep goes in line whole"), "{body}");

    // A run bigger than the class allows is refused, for learners only.
    let big = json!({ "strategy": "pooled", "requests": 51 });
    let (status, body) = post(&app, "/api/runs", big.clone(), Some(&dan), None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("at most 50 requests"), "{body}");
    let (status, body) = post(&app, "/api/runs", big, None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 202, "the instructor's run is not limited: {body}");

    // A learner's sweep leaves a quarter of the line (3 of its 12 places) to the others: with 5
    // runs waiting (6, if carol's is not taken yet), five sizes fit the line's room but not what
    // it leaves for a sweep.
    let five = json!({ "run": quick_run(), "sizes": [1, 2, 3, 4, 5] });
    let (status, body) = post(&app, "/api/sweeps", five, Some(&dan), None).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("a learner's sweep leaves a quarter of the line to the others"),
        "{body}"
    );

    // Each queued run knows its place: ann, bob, ann, bob (the instructor's went first).
    let (_, view) = app.get(&format!("/api/runs/{a2}")).await;
    assert_eq!(view["position"], 4, "{view}");
    let (_, view) = app.get(&format!("/api/runs/{b1}")).await;
    assert_eq!(view["position"], 3, "{view}");

    let mut started = Vec::new();
    while started.len() < 4 {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        if let Ok(ServerMessage::Run(r)) = serde_json::from_str::<ServerMessage>(&text)
            && r.state == RunState::Running
            && ids.contains(&r.id)
            && !started.contains(&r.id)
        {
            started.push(r.id);
        }
    }
    assert_eq!(started, [a1.clone(), b1.clone(), a2.clone(), b2.clone()], "turns alternate between learners");

    let (status, body) = post(&app, "/api/sweeps", sweep, Some(&eve), None).await;
    assert_eq!(status, 202, "a learner with nothing waiting may queue a sweep of three: {body}");
    for run in body["runs"].as_array().expect("runs") {
        let view = app.finished(run.as_str().expect("id")).await;
        assert_eq!(view.state, RunState::Done, "{view:?}");
    }
    app.stop().await;
}

/// A lesson step's preset, as a learner's page sends it.
fn preset(lesson: &str, step: usize) -> Value {
    let course = poollab::lessons::load().expect("the course");
    let step = &course.iter().find(|l| l.id == lesson).expect("lesson").steps[step - 1];
    serde_json::to_value(&step.preset).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_instructor_sees_the_class_predictions_before_the_answer_and_exports_progress() {
    let app = spawn_app(50).await;
    let (ann, bob, cat) = (app.learner().await, app.learner().await, app.learner().await);
    let step = preset("02-connect-per-request", 1);
    // Each runs the step (two who ask while the other's run waits share it).
    let mut runs = Vec::new();
    for learner in [&ann, &bob, &cat] {
        let (status, body) = post(&app, "/api/runs", step.clone(), Some(learner), None).await;
        assert_eq!(status, 202, "{body}");
        runs.push(body["id"].as_str().expect("id").to_owned());
    }
    let mut measured = Vec::new();
    for id in &runs {
        let run = app.finished(id).await;
        assert_eq!(run.state, RunState::Done, "{run:?}");
        measured.push(run.summary.expect("summary").peak_in_use as f64);
    }
    // Ann's 10 is far from her run's peak; Cat predicts her own run's figure exactly (a script
    // can: only what the run measured is the lab's). Bob's 80 is what it is.
    let guesses = [10.0, 80.0, measured[2]];
    let mut held = Vec::new();
    for ((learner, guess), (id, m)) in [&ann, &bob, &cat].into_iter().zip(guesses).zip(runs.iter().zip(&measured)) {
        let report = json!({ "lesson": "02-connect-per-request", "step": 1, "name": "Ann, B.", "prediction": guess,
                             "run": id, "measured": 1, "passed": false });
        let (status, verdict) = post(&app, "/api/class/progress", report, Some(learner), None).await;
        assert_eq!(status, 200, "{verdict}");
        assert_eq!(verdict["measured"], json!(m), "the lab's figure, not the page's: {verdict}");
        assert_eq!(verdict["close"], json!(poollab_shared::lesson::prediction_close(guess, *m)), "{verdict}");
        held.push(verdict["claim_held"].as_bool().expect("claim_held"));
    }

    let path = "/api/class/predictions?lesson=02-connect-per-request&step=1";
    let (status, _) = ann.get(path).await;
    assert_eq!(status, 403, "learners do not see each other's predictions");
    let resp = app.http.get(app.url(path)).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
    let h: poollab_shared::PredictionHistogram = resp.json().await.expect("histogram");
    assert_eq!(h.count, 3);
    assert_eq!(h.bins.iter().map(|b| b.count).sum::<u64>(), 3);
    assert_eq!(h.bins.first().map(|b| b.from), Some(10.0), "{h:?}");
    let mut sorted = measured.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(h.measured_median, Some(sorted[1]), "the median of what the runs measured");
    let close = guesses.iter().zip(&measured).filter(|(g, m)| poollab_shared::lesson::prediction_close(**g, **m));
    assert_eq!(h.close, close.count() as u64, "{h:?}");
    assert!(h.close >= 1, "Cat's was exact");

    let resp =
        app.http.get(app.url("/api/class/progress.csv")).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    let csv = resp.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "learner,name,lesson,step,prediction,measured,passed,close,run");
    // Every learner reported the same name; ann's row is the one whose prediction was 10.
    let ann_row = format!(r#","Ann, B.",02-connect-per-request,1,10,{},{},false,{}"#, measured[0], held[0], runs[0]);
    assert!(lines.iter().any(|l| l.ends_with(&ann_row)), "{csv}");
    assert_eq!(lines.len(), 4);
    let (status, body) = app.get("/api/class/progress").await;
    assert_eq!(status, 403, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_class_burst_gathers_every_learners_click_into_one_run() {
    let app = spawn_app(100).await;
    let (ann, bob, cat) = (app.learner().await, app.learner().await, app.learner().await);
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    next_class(&mut ws).await;
    let arm = json!({ "run": { "strategy": "naive", "work": { "query": "sleep", "sleep_ms": 200 } }, "per_click": 4 });
    let (status, _) = post(&app, "/api/class/burst", arm.clone(), Some(&ann), None).await;
    assert_eq!(status, 403, "only the instructor arms a class burst");
    let (status, _) = post(&app, "/api/class/burst/click", json!({}), Some(&ann), None).await;
    assert_eq!(status, 409, "nothing to click into yet");
    let (status, body) = post(&app, "/api/class/burst", arm, None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_class(&mut ws).await.burst.map(|b| (b.clicks, b.per_click)), Some((0, 4)));

    for learner in [&ann, &bob, &cat, &ann] {
        let (status, _) = post(&app, "/api/class/burst/click", json!({}), Some(learner), None).await;
        assert_eq!(status, 200);
    }
    let mut clicks = 0;
    while clicks < 3 {
        clicks = next_class(&mut ws).await.burst.map_or(0, |b| b.clicks);
    }
    assert_eq!(clicks, 3, "a learner clicks in once");

    let (status, body) = post(&app, "/api/class/burst/fire", json!({}), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["requests"], 12, "three learners times four requests");
    // (Earlier click announcements may still be on their way; the burst is spent after them.)
    while next_class(&mut ws).await.burst.is_some() {}
    let id = body["id"].as_str().expect("id").to_owned();
    let run = support::follow_run(&mut ws, &id, |_| {}).await;
    let s = run.summary.expect("summary");
    assert_eq!((s.completed, s.connections_opened), (12, 12), "one shared naive run: {s:?}");
    assert!(s.peak_server_connections >= 6, "the twelve fired at once: {s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_instructor_cancels_a_waiting_and_a_running_run_and_pauses_a_learner() {
    let app = spawn_app(50).await;
    let (ann, bob, carol) = (app.learner().await, app.learner().await, app.learner().await);
    let long =
        json!({ "strategy": "naive", "requests": 1, "concurrency": 1, "work": { "query": "sleep", "sleep_ms": 8000 } });
    let (_, body) = post(&app, "/api/runs", long, Some(&carol), None).await;
    let running = body["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = post(&app, "/api/runs", quick_run(), Some(&ann), None).await;
    let waiting = body["id"].as_str().expect("id").to_owned();
    // Another experiment than ann's: the same one would join her run, and share its fate.
    let bobs_run = json!({ "strategy": "pooled", "requests": 6, "concurrency": 5 });
    let (_, body) = post(&app, "/api/runs", bobs_run, Some(&bob), None).await;
    let bobs = body["id"].as_str().expect("id").to_owned();

    // Only the instructor cancels.
    let (status, _) = post(&app, &format!("/api/runs/{waiting}/cancel"), json!({}), Some(&ann), None).await;
    assert_eq!(status, 403);
    let (status, _) = post(&app, &format!("/api/runs/{waiting}/cancel"), json!({}), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 202);
    let run = app.finished(&waiting).await;
    assert_eq!(run.state, RunState::Failed);
    assert!(run.error.as_deref().unwrap_or("").contains("cancelled by the instructor before it started"), "{run:?}");

    // Bob is paused: his waiting run keeps its place but does not start, and he cannot add more.
    let line = |app: &TestApp| {
        let req = app.http.get(app.url("/api/class/line")).bearer_auth(INSTRUCTOR_TOKEN);
        async move { req.send().await.expect("GET").json::<poollab_shared::ClassLine>().await.expect("line") }
    };
    let bob_id = line(&app).await.waiting.iter().find(|e| e.id == bobs).and_then(|e| e.learner.clone()).expect("bob");
    let path = format!("/api/class/learners/{bob_id}/pause");
    let (status, _) = post(&app, &path, json!({ "paused": true }), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 204);
    let (status, body) = post(&app, "/api/runs", quick_run(), Some(&bob), None).await;
    assert_eq!(status, 423, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("paused"), "{body}");
    let (status, _) = post(
        &app,
        "/api/class/learners/l-0000000000000000/pause",
        json!({ "paused": true }),
        None,
        Some(INSTRUCTOR_TOKEN),
    )
    .await;
    assert_eq!(status, 404, "no such learner");

    // The running run stops when cancelled, long before its eight seconds.
    let asked = std::time::Instant::now();
    let (status, _) = post(&app, &format!("/api/runs/{running}/cancel"), json!({}), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 202);
    let run = app.finished(&running).await;
    assert!(asked.elapsed() < Duration::from_secs(5), "a cancelled run stops at once");
    assert_eq!(run.state, RunState::Failed);
    assert!(run.error.as_deref().unwrap_or("").contains("cancelled by the instructor while it ran"), "{run:?}");
    let (status, _) = post(&app, &format!("/api/runs/{running}/cancel"), json!({}), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 409, "it has already ended");

    // Nothing else waits, yet Bob's run does not start while he is paused.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let l = line(&app).await;
    assert!(l.running.is_empty(), "{l:?}");
    assert_eq!((l.waiting.len(), l.waiting[0].paused, l.waiting[0].position), (1, true, None), "{l:?}");
    assert_eq!(l.paused, std::slice::from_ref(&bob_id));
    let (status, _) = post(&app, &path, json!({ "paused": false }), None, Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 204);
    assert_eq!(app.finished(&bobs).await.state, RunState::Done, "let go, his run goes");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_line_shares_worker_time_so_quick_runs_pass_a_sweeps_longer_ones() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let (carol, sue, lee) = (app.learner().await, app.learner().await, app.learner().await);

    // Keep the worker busy; then sue queues a sweep of three runs of about 1.2 s of load each, and
    // lee two quick runs (well under a second each), after her.
    let (status, _) = post(&app, "/api/runs", slow_run(), Some(&carol), None).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let long =
        json!({ "strategy": "pooled", "requests": 4, "concurrency": 1, "work": { "query": "sleep", "sleep_ms": 300 } });
    let (status, body) = post(&app, "/api/sweeps", json!({ "run": long, "sizes": [1, 2, 3] }), Some(&sue), None).await;
    assert_eq!(status, 202, "{body}");
    let sweep: Vec<String> =
        body["runs"].as_array().expect("runs").iter().map(|r| r.as_str().expect("id").to_owned()).collect();
    let mut quick = Vec::new();
    for requests in [5, 6] {
        let (status, body) =
            post(&app, "/api/runs", json!({ "strategy": "pooled", "requests": requests }), Some(&lee), None).await;
        assert_eq!(status, 202, "{body}");
        quick.push(body["id"].as_str().expect("id").to_owned());
    }
    // Counted in turns, the line would alternate (sue, lee, sue, lee, sue). Counted in worker
    // time, once sue's first run has cost more than lee's first, lee's second goes before hers.
    let (_, view) = app.get(&format!("/api/runs/{}", quick[1])).await;
    assert_eq!(view["position"], 3, "{view}");
    let mut started = Vec::new();
    let ours: Vec<&String> = sweep.iter().chain(&quick).collect();
    while started.len() < ours.len() {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        if let Ok(ServerMessage::Run(r)) = serde_json::from_str::<ServerMessage>(&text)
            && r.state == RunState::Running
            && ours.contains(&&r.id)
            && !started.contains(&r.id)
        {
            started.push(r.id);
        }
    }
    let want = [&sweep[0], &quick[0], &quick[1], &sweep[1], &sweep[2]].map(|s| s.to_owned());
    assert_eq!(started, want, "the sweep's first, lee's two quick runs, then the rest of the sweep");
    for id in &ours {
        assert_eq!(app.finished(id).await.state, RunState::Done);
    }
    app.stop().await;
}
