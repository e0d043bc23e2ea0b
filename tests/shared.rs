//! Shared runs over real HTTP and websockets: learners who ask for the same experiment while it
//! waits in line get one run between them, and each watches it and gets its result.

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use poollab_shared::{ClassLine, RunState};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, Learner, TestApp, spawn_app};
use tokio_tungstenite::tungstenite::Message;

/// A run that keeps the only worker busy for a while, so the next ones wait in line.
fn slow_run() -> Value {
    json!({ "strategy": "naive", "requests": 1, "concurrency": 1, "work": { "query": "sleep", "sleep_ms": 2000 } })
}

fn quick_run() -> Value {
    json!({ "strategy": "pooled", "requests": 5, "concurrency": 5 })
}

/// `quick_run` as another client might write it: fields in another order, a default spelled out.
fn quick_run_reworded() -> Value {
    json!({ "concurrency": 5, "instances": 1, "requests": 5, "strategy": "pooled" })
}

/// Keeps the worker busy with a slow run of `who`'s; returns its id once it has started.
async fn keep_busy(app: &TestApp, who: &Learner) -> String {
    let (status, body) = who.post("/api/runs", &slow_run()).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    for _ in 0..100 {
        let (_, view) = app.get(&format!("/api/runs/{id}")).await;
        if view["state"] == "running" {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the slow run never started");
}

/// Posts a run as `who`: (id, shared, learners on it).
async fn ask(who: &Learner, spec: &Value) -> (String, bool, u64) {
    let (status, body) = who.post("/api/runs", spec).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    (id, body["shared"].as_bool().expect("shared says whether it was"), body["learners"].as_u64().expect("learners"))
}

/// A learner's socket that asks for only what concerns its learner (its own runs, shared ones
/// included), as the page does.
async fn watching_mine(who: &Learner) -> support::Ws {
    let mut ws = who.websocket().await;
    ws.send(Message::Text(r#"{"type":"watch"}"#.into())).await.expect("watch");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn learners_asking_for_the_same_waiting_run_share_it_and_each_watches_it_and_gets_its_result() {
    let app = spawn_app(50).await;
    let (ann, bob, carol, dan) = (app.learner().await, app.learner().await, app.learner().await, app.learner().await);
    let (mut ann_ws, mut bob_ws) = (watching_mine(&ann).await, watching_mine(&bob).await);
    keep_busy(&app, &carol).await;

    let (id, shared, learners) = ask(&ann, &quick_run()).await;
    assert_eq!((shared, learners), (false, 1), "the first to ask has a run of their own");
    let (bobs, shared, learners) = ask(&bob, &quick_run_reworded()).await;
    assert_eq!(bobs, id, "bob asked for the same experiment while it waited: he joins ann's run");
    assert_eq!((shared, learners), (true, 2));
    let (dans, shared, _) = ask(&dan, &json!({ "strategy": "pooled", "requests": 6, "concurrency": 5 })).await;
    assert_ne!(dans, id, "another experiment is a run of its own");
    assert!(!shared);

    // Bob's page knows the run as his: it is in his places in line.
    let (_, line) = bob.get("/api/runs").await;
    let listed = line.as_array().expect("runs").iter().filter(|r| r["id"] == id.as_str()).count();
    assert_eq!(listed, 1, "one run, not two: {line}");

    // Both sockets, each asking only for its own learner's runs, see it live and get its result.
    let (mut ann_frames, mut bob_frames) = (0, 0);
    let (for_ann, for_bob) = tokio::join!(
        support::follow_run(&mut ann_ws, &id, |_| ann_frames += 1),
        support::follow_run(&mut bob_ws, &id, |_| bob_frames += 1),
    );
    for (who, run, frames) in [("ann", &for_ann, ann_frames), ("bob", &for_bob, bob_frames)] {
        assert_eq!(run.state, RunState::Done, "{who}: {run:?}");
        assert_eq!(run.learners, 2, "{who} is told the run is shared: {run:?}");
        assert_eq!(run.summary.as_ref().map(|s| s.completed), Some(5), "{who}: {run:?}");
        assert!(frames > 0, "{who} watched the shared run live");
    }
    let (_, view) = bob.get(&format!("/api/runs/{id}")).await;
    assert_eq!((view["state"].as_str(), view["learners"].as_u64()), (Some("done"), Some(2)), "{view}");
    assert_eq!(app.finished(&dans).await.learners, 1);

    // Once it has run, the same experiment asked again is a new run: only waiting runs are shared.
    let (again, shared, _) = ask(&bob, &quick_run()).await;
    assert_ne!(again, id);
    assert!(!shared);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_share_runs_off_every_click_is_a_run_of_its_own() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    cfg.share_runs = false;
    let app = support::spawn_with(cfg, dir).await;
    let (ann, bob, carol) = (app.learner().await, app.learner().await, app.learner().await);
    keep_busy(&app, &carol).await;
    let (a, shared_a, _) = ask(&ann, &quick_run()).await;
    let (b, shared_b, learners) = ask(&bob, &quick_run()).await;
    assert_ne!(a, b, "with --share-runs off the same experiment is two runs");
    assert_eq!((shared_a, shared_b, learners), (false, false, 1));
    for id in [&a, &b] {
        let run = app.finished(id).await;
        assert_eq!((run.state, run.learners), (RunState::Done, 1), "{run:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_sweep_asked_twice_is_measured_once() {
    let app = spawn_app(50).await;
    let (ann, bob, carol) = (app.learner().await, app.learner().await, app.learner().await);
    keep_busy(&app, &carol).await;
    // Down the sizes and back up, as lesson 7.3 goes: each listing of a size is a run of its own.
    let sweep = json!({ "run": quick_run(), "sizes": [2, 1, 1, 2] });
    let (status, first) = ann.post("/api/sweeps", &sweep).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["shared"], json!([false, false, false, false]), "{first}");
    let runs: Vec<&str> = first["runs"].as_array().expect("runs").iter().filter_map(|r| r.as_str()).collect();
    assert_eq!(runs.iter().collect::<std::collections::HashSet<_>>().len(), 4, "{first}");
    let (status, second) = bob.post("/api/sweeps", &sweep).await;
    assert_eq!(status, 202, "{second}");
    // Each of bob's listings joins its own twin: not the first waiting run of its size twice.
    assert_eq!(second["runs"], first["runs"], "bob's sweep is measured by the runs of ann's");
    assert_eq!(second["shared"], json!([true, true, true, true]), "{second}");
    for body in [&first, &second] {
        let id = body["id"].as_str().expect("sweep id");
        let view = loop {
            let (_, view) = bob.get(&format!("/api/sweeps/{id}")).await;
            if view["done"] == true {
                break view;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let points = view["points"].as_array().expect("points");
        assert!(points.iter().all(|p| p["state"] == "done"), "{view}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_learner_cannot_stop_a_shared_run_for_the_others() {
    let app = spawn_app(50).await;
    let (ann, bob, carol) = (app.learner().await, app.learner().await, app.learner().await);
    keep_busy(&app, &carol).await;
    let (id, _, _) = ask(&ann, &quick_run()).await;
    let (_, shared, _) = ask(&bob, &quick_run()).await;
    assert!(shared);

    // A learner cannot cancel it (only the instructor cancels, for everyone on it).
    let (status, _) = ann.post(&format!("/api/runs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 403);
    // The instructor pauses ann, who put it in line: the run still goes, for bob.
    let line: ClassLine = app
        .http
        .get(app.url("/api/class/line"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("GET line")
        .json()
        .await
        .expect("line");
    let ann_id = line.waiting.iter().find(|e| e.id == id).and_then(|e| e.learner.clone()).expect("ann's run waits");
    let resp = app
        .http
        .post(app.url(&format!("/api/class/learners/{ann_id}/pause")))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .json(&json!({ "paused": true }))
        .send()
        .await
        .expect("pause");
    assert_eq!(resp.status().as_u16(), 204);
    let run = app.finished(&id).await;
    assert_eq!(run.state, RunState::Done, "bob is not paused, so the run he shares goes: {run:?}");

    // Paused, ann can neither start nor join a run.
    let (status, body) = ann.post("/api/runs", &quick_run()).await;
    assert_eq!(status, 423, "{body}");
    app.stop().await;
}
