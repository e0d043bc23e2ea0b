//! The curious student: everything a learner with `curl` and a loop might try on a hosted class,
//! over real HTTP and websockets. Each attempt gets a clear 4xx (or is simply absorbed), and no
//! other learner's run is harmed.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poollab_shared::RunState;
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestApp};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn lab(tune: impl FnOnce(&mut poollab::Config)) -> TestApp {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    tune(&mut cfg);
    support::spawn_with(cfg, dir).await
}

/// GET with an optional bearer token: (status, Retry-After, JSON answer).
async fn get_as(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
    let mut req = app.http.get(app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// The class's progress as the instructor reads it, and its rows: each one learner's graded step.
async fn read_progress(app: &TestApp) -> (Value, Vec<Value>) {
    let (status, _, progress) = get_as(app, "/api/class/progress", Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200, "{progress}");
    let rows = progress["learners"]
        .as_array()
        .expect("learners")
        .iter()
        .flat_map(|l| l["steps"].as_array().expect("steps").iter().cloned())
        .collect();
    (progress, rows)
}

/// Opens a websocket with extra headers; the HTTP status it was refused with, if it was.
async fn open_ws(app: &TestApp, headers: &[(&str, &str)]) -> Result<support::Ws, u16> {
    let mut request = app.ws_url().into_client_request().expect("request");
    for (name, value) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = name.parse().expect("header name");
        request.headers_mut().insert(name, value.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("the websocket failed without an HTTP answer: {e}"),
    }
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_timeline_reads_does_not_fail_another_learners_run() {
    // The flood queues in the pages' read pool, never in the line's.
    let app = lab(|cfg| cfg.exports_per_minute = 1_000_000).await;
    let (ann, eve) = (app.learner().await, app.learner().await);
    // Eve's run leaves a long timeline to ask for.
    let (status, body) =
        eve.post("/api/runs", &json!({ "strategy": "pooled", "requests": 10000, "concurrency": 100 })).await;
    assert_eq!(status, 202, "{body}");
    let big = body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.finished(&big).await.state, RunState::Done);

    // Ann's run outlasts a lease (10 s) several times over renewals.
    let slow = json!({ "strategy": "naive", "requests": 14, "concurrency": 1,
                       "work": { "query": "sleep", "sleep_ms": 1000 } });
    // Ann watches her run on her page's websocket: what the flood does to reads is not in the way.
    let mut ws = ann.websocket().await;
    let (status, body) = ann.post("/api/runs", &slow).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();

    // Eve reads her timeline in 150 loops at once until Ann's run has ended.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let floods: Vec<_> = (0..150)
        .map(|_| {
            let (http, url, stop, answered) =
                (eve.http.clone(), app.url(&format!("/api/runs/{big}?timeline=true")), stop.clone(), answered.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(resp) = http.get(&url).send().await {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        if ok {
                            answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    let ended = support::follow_run(&mut ws, &id, |_| {}).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for f in floods {
        let _ = f.await;
    }
    assert_eq!(ended.state, RunState::Done, "the flood failed a run in progress: {:?}", ended.error);
    let run = app.finished(&id).await;
    assert_eq!(run.summary.expect("summary").completed, 14);
    assert!(answered.load(std::sync::atomic::Ordering::Relaxed) > 0, "the reads were served too, slowly");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_endpoints_are_off_while_a_class_is_hosted() {
    let app = lab(|_| {}).await;
    for path in ["/demo/naive", "/demo/pooled"] {
        let (status, _, body) = get_as(&app, path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(error_of(&body).contains("--demo"), "the answer says how to turn it on: {body}");
    }
    app.stop().await;
}

/// A lesson step's preset, as a learner's page sends it.
fn preset(lesson: &str, step: usize) -> Value {
    let course = poollab::lessons::load().expect("the course");
    let step = &course.iter().find(|l| l.id == lesson).expect("lesson").steps[step - 1];
    serde_json::to_value(&step.preset).expect("JSON")
}

/// A learner runs `spec` (or joins an identical waiting run): the run's id.
async fn submit(learner: &support::Learner, spec: &Value) -> String {
    let (status, body) = learner.post("/api/runs", spec).await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn progress_reports_name_real_steps_and_made_up_learners_cannot_fill_the_class() {
    let app = lab(|cfg| {
        cfg.max_learners = 10;
        cfg.max_learners_per_address = 2;
        cfg.stale_learner_secs = 2;
    })
    .await;
    let (ann, bob, cat) = (app.learner().await, app.learner().await, app.learner().await);
    let connect = preset("02-connect-per-request", 1);
    let mut runs = Vec::new();
    for learner in [&ann, &bob, &cat] {
        runs.push(submit(learner, &connect).await);
    }
    for id in &runs {
        assert_eq!(app.finished(id).await.state, RunState::Done);
    }
    let step = |lesson: &str, step: u32, prediction: Value, run: &str| json!({ "lesson": lesson, "step": step, "prediction": prediction, "run": run });
    let (a, b, c) = (runs[0].as_str(), runs[1].as_str(), runs[2].as_str());

    for (bad, why) in [
        (step("made-up", 1, json!(10), a), "a lesson that does not exist"),
        (step("02-connect-per-request", 0, json!(10), a), "step 0"),
        (step("02-connect-per-request", 999, json!(10), a), "a step past the last"),
        (step("02-connect-per-request", 1, json!(-5), a), "a negative prediction"),
        (step("02-connect-per-request", 1, json!(1e12), a), "a prediction no run measures"),
        (json!({ "lesson": "02-connect-per-request", "step": 1, "prediction": 10 }), "no run named"),
    ] {
        let (status, body) = ann.post("/api/class/progress", &bad).await;
        assert_eq!(status, 422, "{why}: {body}");
    }
    // Reported again and again, a step is one row, and the prediction first reported with a run
    // stands: seeing what the run measured and guessing again changes nothing.
    for guess in [10, 20, 30] {
        let (status, body) = ann.post("/api/class/progress", &step("02-connect-per-request", 1, json!(guess), a)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (progress, rows) = read_progress(&app).await;
    assert_eq!(rows.len(), 1, "{progress}");
    assert_eq!(rows[0]["prediction"], 10.0, "{progress}");
    let mut named = step("02-connect-per-request", 1, json!(50), b);
    named["name"] = json!("=HYPERLINK(\"http://evil\",\"Bob\")");
    let (status, _) = bob.post("/api/class/progress", &named).await;
    assert_eq!(status, 200);

    // Both places of this address are taken by learners heard from just now: Cat must wait.
    let (status, body) = cat.post("/api/class/progress", &step("02-connect-per-request", 1, json!(70), c)).await;
    assert_eq!(status, 429, "{body}");
    assert!(error_of(&body).contains("--max-learners-per-address"), "{body}");

    // Ann goes quiet; Bob keeps reporting. Cat takes Ann's place, and Ann's progress goes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _) = bob.post("/api/class/progress", &step("02-connect-per-request", 1, json!(5), b)).await;
    assert_eq!(status, 200);
    let (status, body) = cat.post("/api/class/progress", &step("02-connect-per-request", 1, json!(70), c)).await;
    assert_eq!(status, 200, "a quiet learner gives way: {body}");

    let (progress, rows) = read_progress(&app).await;
    assert_eq!(progress["learners"].as_array().map(Vec::len), Some(2), "{progress}");
    assert_eq!(rows.len(), 2, "Bob's step and Cat's: {progress}");

    let resp =
        app.http.get(app.url("/api/class/progress.csv")).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    let csv = resp.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("a CSV reader reads it");
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows.iter().any(|r| &r[1] == "'=HYPERLINK(\"http://evil\",\"Bob\")"), "a name is never a formula: {csv}");
    assert!(rows.iter().all(|r| !r[1].starts_with('=')), "{csv}");
    app.stop().await;
}

/// Whether a prediction was close and whether the claim held are the lab's, worked out from a run
/// the learner may report: theirs (or shared with them), of that step, done. Anything else is a
/// clear 4xx and changes nothing; a figure the page claims is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_step_is_graded_only_on_the_learners_own_done_run_of_it() {
    let app = lab(|_| {}).await;
    let (ann, bob, eve) = (app.learner().await, app.learner().await, app.learner().await);
    let connect = preset("02-connect-per-request", 1);
    let report =
        |run: &str, lesson: &str, step: u32| json!({ "lesson": lesson, "step": step, "prediction": 60, "run": run });

    // The instructor's long run holds the worker, so Ann's run of the step waits, and Bob, asking
    // for the same experiment meanwhile, shares it.
    let blocker = json!({ "strategy": "naive", "requests": 1, "work": { "query": "sleep", "sleep_ms": 2000 } });
    let resp = app.http.post(app.url("/api/runs")).bearer_auth(INSTRUCTOR_TOKEN).json(&blocker).send().await;
    assert_eq!(resp.expect("POST").status().as_u16(), 202);
    let run = submit(&ann, &connect).await;
    let (status, body) = bob.post("/api/runs", &connect).await;
    assert_eq!(
        (status, body["id"].as_str(), body["shared"].as_bool()),
        (202, Some(run.as_str()), Some(true)),
        "{body}"
    );

    // Not done yet: 409, and nothing is kept.
    let (status, body) = ann.post("/api/class/progress", &report(&run, "02-connect-per-request", 1)).await;
    assert_eq!(status, 409, "{body}");
    assert!(error_of(&body).contains("queued"), "{body}");
    let done = app.finished(&run).await;
    assert_eq!(done.state, RunState::Done, "{done:?}");
    // Lesson 2's prediction is of the most connections open at once, counted from every
    // request's record (the server's sampled peak can read one fewer: a CI run read 40 beside 41).
    let peak = done.summary.expect("summary").peak_in_use as f64;

    // Someone else's run: 403.
    let (status, body) = eve.post("/api/class/progress", &report(&run, "02-connect-per-request", 1)).await;
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).contains("not yours"), "{body}");
    // A made-up run, and a made-up sweep: 404.
    let (status, body) =
        ann.post("/api/class/progress", &report("0000000000000000", "02-connect-per-request", 1)).await;
    assert_eq!(status, 404, "{body}");
    let sweep = preset_sweep_step();
    let made_up_sweep = json!({ "lesson": sweep.0, "step": sweep.1, "sweep": "0000000000000000" });
    let (status, body) = ann.post("/api/class/progress", &made_up_sweep).await;
    assert_eq!(status, 404, "{body}");
    // Her run, reported as another step's: 422; as a sweep step's: 422.
    let (status, body) = ann.post("/api/class/progress", &report(&run, "04-enter-the-pool", 1)).await;
    assert_eq!(status, 422, "{body}");
    assert!(error_of(&body).contains("not a run of step 1"), "{body}");
    let (status, body) = ann.post("/api/class/progress", &report(&run, &sweep.0, sweep.1)).await;
    assert_eq!(status, 422, "{body}");

    // A run still running: 409. (Lesson 11's first step holds its connections for 2 s.)
    let long = submit(&eve, &preset("11-many-instances", 1)).await;
    loop {
        let (_, view) = app.get(&format!("/api/runs/{long}")).await;
        if view["state"] == "running" {
            break;
        }
        assert_eq!(view["state"], "queued", "{view}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = eve.post("/api/class/progress", &report(&long, "11-many-instances", 1)).await;
    assert_eq!(status, 409, "{body}");
    assert!(error_of(&body).contains("running"), "{body}");

    // None of that was kept.
    let (progress, _) = read_progress(&app).await;
    assert_eq!(progress["learners"], json!([]), "{progress}");

    // Ann's own run, with figures her page claims: the lab's are kept, hers are ignored.
    let mut claimed = report(&run, "02-connect-per-request", 1);
    claimed["measured"] = json!(60);
    claimed["passed"] = json!(true);
    claimed["close"] = json!(true);
    let (status, verdict) = ann.post("/api/class/progress", &claimed).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["measured"], json!(peak), "{verdict}");
    assert_eq!(verdict["close"], json!(poollab_shared::lesson::prediction_close(60.0, peak)), "{verdict}");
    assert!(verdict["claim_held"].is_boolean(), "{verdict}");
    // Bob shared it: it is his to report too.
    let (status, body) = bob.post("/api/class/progress", &report(&run, "02-connect-per-request", 1)).await;
    assert_eq!(status, 200, "{body}");

    let (progress, rows) = read_progress(&app).await;
    assert_eq!(rows.len(), 2, "Ann's and Bob's, nobody else's: {progress}");
    for row in rows {
        assert_eq!((row["run"].as_str(), &row["measured"]), (Some(run.as_str()), &json!(peak)), "{progress}");
        assert_eq!(row["passed"], verdict["claim_held"], "{progress}");
    }
    let (_, _, h) =
        get_as(&app, "/api/class/predictions?lesson=02-connect-per-request&step=1", Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!((h["count"].as_u64(), &h["measured_median"]), (Some(2), &json!(peak)), "{h}");
    assert_eq!(app.finished(&long).await.state, RunState::Done, "Eve's run was not harmed");
    app.stop().await;
}

/// The course's sweep step: (lesson, step number).
fn preset_sweep_step() -> (String, u32) {
    let course = poollab::lessons::load().expect("the course");
    course
        .iter()
        .find_map(|l| l.steps.iter().position(|s| !s.sweep.is_empty()).map(|i| (l.id.clone(), i as u32 + 1)))
        .expect("a sweep step")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_tokens_and_secrets_are_slowed_down_then_refused_even_when_right() {
    let app = lab(|cfg| {
        cfg.credential_failures_per_minute = 3;
        cfg.worker_secret = Some("worker-secret".into());
    })
    .await;
    for guess in ["a", "b"] {
        let (status, _, _) = get_as(&app, "/api/class/line", Some(guess)).await;
        assert_eq!(status, 401, "a wrong token is a 401 at first");
    }
    let (status, _, _) = get_as(&app, "/api/class/line", Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 200, "the right one still works");
    // A wrong worker secret counts against the same address.
    let refused = open_ws_at(&app, "/api/workers/connect", "Bearer wrong").await;
    assert_eq!(refused, Err(401));
    let (status, retry, body) = get_as(&app, "/api/class/line", Some("c")).await;
    assert_eq!(status, 429, "one guess too many: {body}");
    assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)), "Retry-After says when");
    assert!(error_of(&body).contains("too many wrong tokens"), "{body}");
    let (status, _, _) = get_as(&app, "/api/class/line", Some(INSTRUCTOR_TOKEN)).await;
    assert_eq!(status, 429, "locked out: a right guess looks like any other");
    assert_eq!(open_ws_at(&app, "/api/workers/connect", "Bearer worker-secret").await, Err(429));
    // Learners, who show no token, are not touched.
    let ann = app.learner().await;
    let (status, body) = ann.post("/api/runs", &json!({ "strategy": "pooled", "requests": 5 })).await;
    assert_eq!(status, 202, "{body}");
    app.stop().await;
}

/// Opens a websocket at `path` with an `Authorization` header: the status it was refused with.
async fn open_ws_at(app: &TestApp, path: &str, auth: &str) -> Result<(), u16> {
    let url = format!("{}{path}", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("authorization", auth.parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("no HTTP answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymous_routes_and_exports_are_rate_limited_per_address() {
    let app = lab(|cfg| {
        cfg.anonymous_per_second = 1;
        cfg.anonymous_burst = 3;
        cfg.exports_per_minute = 2;
    })
    .await;
    let answers = futures_util::future::join_all((0..6).map(|_| get_as(&app, "/healthz", None))).await;
    let limited: Vec<_> = answers.iter().filter(|(status, _, _)| *status == 429).collect();
    assert!(!limited.is_empty(), "a loop on /healthz is slowed down: {answers:?}");
    assert!(answers.iter().any(|(status, _, _)| *status == 200), "the first ones are answered");
    let (_, retry, body) = limited[0];
    assert!(error_of(body).contains("too many requests"), "a JSON answer: {body}");
    assert!(retry.is_some(), "with Retry-After");
    let (status, _, body) = get_as(&app, "/api/no-such-route", None).await;
    assert_eq!(status, 429, "unknown /api/ paths count too: {body}");

    let run = app.run(json!({ "strategy": "pooled", "requests": 20 })).await;
    let export = format!("/api/runs/{}?timeline=true", run.id);
    for _ in 0..2 {
        let (status, _, body) = get_as(&app, &export, None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, body) = get_as(&app, &format!("/api/runs/{}/requests.csv", run.id), None).await;
    assert_eq!(status, 429, "exports share a rate: {body}");
    let (status, _, body) = get_as(&app, &format!("/api/runs/{}", run.id), None).await;
    assert_eq!(status, 200, "reading a run without its timeline is not an export: {body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websockets_need_the_labs_own_page_fit_in_their_frames_and_each_address_has_a_share() {
    let app = lab(|cfg| cfg.max_sockets_per_address = 3).await;
    let host = app.base.trim_start_matches("http://").to_owned();

    // A page of another site cannot open a socket with a learner's cookie.
    assert_eq!(open_ws(&app, &[("origin", "https://evil.example")]).await.err(), Some(403));
    let own = format!("http://{host}");
    let mut watcher = open_ws(&app, &[("origin", &own)]).await.expect("the lab's own page opens one");

    // A message larger than 4 KiB closes only the socket that sent it.
    let mut big = open_ws(&app, &[]).await.expect("a second socket");
    big.send(Message::Text("x".repeat(8 * 1024).into())).await.ok();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), big.next()).await.expect("an answer") {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert!(closed.is_none_or(|code| code == 1009), "closed as too big: {closed:?}");

    // The address's share: three sockets at once, the fourth is refused until one closes.
    let mut open = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        match open_ws(&app, &[]).await {
            Ok(ws) => open.push(ws),
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    assert_eq!(refused, Some(429), "{} sockets opened", open.len() + 1);
    watcher.send(Message::Text(r#"{"type":"ping"}"#.into())).await.expect("send");
    let pong = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), watcher.next()).await.expect("a message");
        if let Some(Ok(Message::Text(text))) = msg
            && text.contains("pong")
        {
            break true;
        }
    };
    assert!(pong, "the other sockets go on");
    drop(open);
    let mut reopened = false;
    for _ in 0..50 {
        if open_ws(&app, &[]).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened, "a closed socket gives its place back");

    // And nobody's run was harmed by any of it.
    let run = app.run(json!({ "strategy": "pooled", "requests": 10 })).await;
    assert_eq!(run.state, RunState::Done);
    app.stop().await;
}
