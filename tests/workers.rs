//! A class bigger than one worker: a coordinator and worker processes on one machine, each worker
//! with its own private PostgreSQL, joined over real websockets. Runs land on both; the class
//! reaches learners whichever worker serves them; a worker killed mid-run fails only its run; a
//! worker whose database is down gets no runs; a restarted coordinator keeps its state; one
//! address cannot fill the line with made-up learners; a learner's cookie cannot be forged.
//!
//! The worker link's trust boundaries: each worker joins with a credential of its own, which the
//! instructor issues, lists and revokes (revoking drops the worker and fails its run, whichever
//! coordinator on the class's database it is joined to); a worker
//! (here a websocket client posing as one) may report only on the run it holds, may send no
//! timeline larger than its run could have made nor a message larger than the largest legitimate
//! one, and cannot hold a run past the coordinator's deadline.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab_shared::{ClassLine, LineView, RunState, ServerMessage, WorkerState, WorkerView};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, Learner, TestApp, Ws};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "test-worker-secret";

/// A `poollab worker` process with its own private cluster.
struct WorkerProcess {
    child: Child,
    name: String,
    data_dir: PathBuf,
}

impl WorkerProcess {
    fn start(app: &TestApp, name: &str, data_dir: &Path, extra: &[&str]) -> WorkerProcess {
        WorkerProcess::start_with(app, name, data_dir, extra, SECRET)
    }

    /// A worker that shows `secret` (its own credential, or the lab's shared secret).
    fn start_with(app: &TestApp, name: &str, data_dir: &Path, extra: &[&str], secret: &str) -> WorkerProcess {
        // Its log goes beside its data (kept with the test's temp dir), not into the test's output.
        std::fs::create_dir_all(data_dir).expect("worker dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.with_extension("log"))
            .expect("worker log");
        let child = Command::new(env!("CARGO_BIN_EXE_poollab"))
            .args(["worker", "--coordinator", &app.base, "--name", name, "--max-connections", "50"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("POOLLAB_WORKER_SECRET", secret)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a worker");
        WorkerProcess { child, name: name.to_owned(), data_dir: data_dir.to_owned() }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL: the worker gets no chance to say goodbye.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an operator would: it stops its PostgreSQL and leaves.
    fn stop(mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A coordinator with no worker of its own, that workers may join with [`SECRET`].
async fn coordinator(dir: &TempDir) -> TestApp {
    let mut cfg = support::config(dir, 50);
    // The same experiment asked twice is two runs here: the line and its caps are what is tested.
    cfg.share_runs = false;
    cfg.workers = Some(0);
    cfg.worker_secret = Some(SECRET.into());
    support::spawn_in(cfg).await
}

async fn workers(app: &TestApp) -> Vec<WorkerView> {
    let (status, body) = app.get("/api/workers").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("workers")
}

/// Waits until the coordinator lists these workers, each in a state `ok` accepts.
async fn wait_for_workers(app: &TestApp, names: &[&str], ok: impl Fn(&WorkerView) -> bool) -> Vec<WorkerView> {
    let started = Instant::now();
    loop {
        let all = workers(app).await;
        if names.iter().all(|n| all.iter().any(|w| w.name == *n && ok(w))) {
            return all;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "workers {names:?} never got there: {all:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn slow(ms: u64) -> Value {
    json!({ "strategy": "naive", "requests": 2, "concurrency": 2, "work": { "query": "sleep", "sleep_ms": ms } })
}

async fn as_instructor(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app.http.post(app.url(path)).bearer_auth(INSTRUCTOR_TOKEN).json(&body).send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn class_line(app: &TestApp) -> ClassLine {
    let resp = app.http.get(app.url("/api/class/line")).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET line");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("line")
}

async fn submit(learner: &Learner, spec: &Value) -> String {
    let (status, body) = learner.post("/api/runs", spec).await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// The next message of a kind from a socket.
async fn next<T>(ws: &mut Ws, pick: impl Fn(ServerMessage) -> Option<T>) -> T {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        if let Some(t) = serde_json::from_str::<ServerMessage>(&text).ok().and_then(&pick) {
            return t;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_land_on_both_workers_and_the_class_reaches_learners_on_either() {
    let dir = support::lab_dir();
    let app = coordinator(&dir).await;
    let _w1 = WorkerProcess::start(&app, "w1", &dir.path().join("w1"), &[]);
    let _w2 = WorkerProcess::start(&app, "w2", &dir.path().join("w2"), &[]);
    wait_for_workers(&app, &["w1", "w2"], |w| w.state == WorkerState::Idle).await;

    let (ann, bob) = (app.learner().await, app.learner().await);
    let (mut ann_ws, mut bob_ws) = (ann.websocket().await, bob.websocket().await);
    for ws in [&mut ann_ws, &mut bob_ws] {
        use futures_util::SinkExt;
        ws.send(Message::Text(r#"{"type":"watch"}"#.into())).await.expect("watch");
    }
    let a = submit(&ann, &slow(1500)).await;
    let b = submit(&bob, &slow(1500)).await;

    // Both run at once, one on each worker.
    let started = Instant::now();
    let line = loop {
        let line = class_line(&app).await;
        if line.running.len() == 2 {
            break line;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never two at once: {line:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut on: Vec<String> = line.running.iter().filter_map(|r| r.worker.clone()).collect();
    on.sort();
    assert_eq!(on, ["w1", "w2"], "{line:?}");

    // The class reaches both learners, whichever worker serves them.
    let (status, _) = as_instructor(&app, "/api/class/lock", json!({ "locked": true })).await;
    assert_eq!(status, 200);
    let (status, _) =
        as_instructor(&app, "/api/class/follow", json!({ "follow": { "lesson": "04-enter-the-pool", "step": 1 } }))
            .await;
    assert_eq!(status, 200);
    for ws in [&mut ann_ws, &mut bob_ws] {
        let class = next(ws, |m| match m {
            ServerMessage::Class(c) if c.locked && c.follow.is_some() => Some(c),
            _ => None,
        })
        .await;
        assert_eq!(class.follow.map(|f| f.step), Some(1));
    }
    for learner in [&ann, &bob] {
        let (status, body) = learner.post("/api/runs", &slow(10)).await;
        assert_eq!(status, 423, "a locked lab refuses every learner: {body}");
    }

    // A page that watches hears its own run's frames, not the other learner's.
    let mut ann_frames = Vec::new();
    let ended = loop {
        let msg = next(&mut ann_ws, Some).await;
        match msg {
            ServerMessage::Frame(f) if f.run_id.is_some() => ann_frames.push(f),
            ServerMessage::Run(r) if r.id == a && r.state == RunState::Done => break r,
            _ => {}
        }
    };
    assert!(!ann_frames.is_empty(), "ann saw her run live");
    assert!(ann_frames.iter().all(|f| f.run_id.as_deref() == Some(a.as_str())), "only her own run's frames");
    assert!(ann_frames.iter().all(|f| f.worker == ended.worker), "frames name the worker that measured them");
    let bob_run = app.finished(&b).await;
    assert_eq!(bob_run.state, RunState::Done);
    let mut measured_on = vec![ended.worker.expect("a worker"), bob_run.worker.expect("a worker")];
    measured_on.sort();
    assert_eq!(measured_on, ["w1", "w2"], "every run records the worker that measured it");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_run_fails_only_its_run_the_line_goes_on_and_it_rejoins() {
    let dir = support::lab_dir();
    let app = coordinator(&dir).await;
    let mut procs = vec![
        WorkerProcess::start(&app, "w1", &dir.path().join("w1"), &[]),
        WorkerProcess::start(&app, "w2", &dir.path().join("w2"), &[]),
    ];
    wait_for_workers(&app, &["w1", "w2"], |w| w.state == WorkerState::Idle).await;
    let learners = [app.learner().await, app.learner().await, app.learner().await];
    let mut ids = Vec::new();
    for l in &learners {
        ids.push(submit(l, &slow(2500)).await);
    }
    // The first two run; the third waits.
    let started = Instant::now();
    let line = loop {
        let line = class_line(&app).await;
        if line.running.len() == 2 {
            break line;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{line:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(line.waiting.len(), 1, "{line:?}");
    let victim = line.running[0].clone();
    let survivor = line.running[1].clone();
    let name = victim.worker.clone().expect("a worker");
    let index = procs.iter().position(|p| p.name == name).expect("its process");
    procs[index].kill();

    let failed = app.finished(&victim.id).await;
    assert_eq!(failed.state, RunState::Failed, "{failed:?}");
    let why = failed.error.unwrap_or_default();
    assert!(why.contains(&name) && why.contains("left before it finished"), "{why}");
    let done = app.finished(&survivor.id).await;
    assert_eq!(done.state, RunState::Done, "the other worker's run is untouched: {done:?}");
    let third = ids.iter().find(|id| **id != victim.id && **id != survivor.id).expect("the third run");
    let third = app.finished(third).await;
    assert_eq!(third.state, RunState::Done, "the line went on: {third:?}");
    assert_eq!(third.worker, survivor.worker, "on the worker that is left");
    assert!(!workers(&app).await.iter().any(|w| w.name == name), "the dead worker is no longer listed");

    // Its PostgreSQL was told to stop when it died; once gone, the worker starts again and rejoins.
    let data = procs[index].data_dir.to_string_lossy().into_owned();
    let started = Instant::now();
    while support::process_with_arg(&format!("{data}/pgdata")).is_some() {
        assert!(started.elapsed() < Duration::from_secs(30), "the killed worker's PostgreSQL never stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    procs[index] = WorkerProcess::start(&app, &name, &procs[index].data_dir.clone(), &[]);
    wait_for_workers(&app, &["w1", "w2"], |w| w.state == WorkerState::Idle).await;
    let (a, b) = (submit(&learners[0], &slow(800)).await, submit(&learners[1], &slow(800)).await);
    let mut on = vec![app.finished(&a).await.worker, app.finished(&b).await.worker];
    on.sort();
    assert_eq!(on, [Some("w1".to_owned()), Some("w2".to_owned())], "the rejoined worker takes runs again");
    for p in procs {
        p.stop();
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_whose_database_is_down_gets_no_runs_and_pages_are_told() {
    use poollab::db::cluster::{ClusterOptions, PrivateCluster};
    let dir = support::lab_dir();
    let opts = support::cluster_options(dir.path().join("w1-db"), 50);
    let cluster = PrivateCluster::start(opts.clone()).await.expect("w1's server");
    let port = cluster.port();
    let app = coordinator(&dir).await;
    let w1 = WorkerProcess::start(&app, "w1", &dir.path().join("w1"), &["--database-url", &cluster.admin_url()]);
    let w2 = WorkerProcess::start(&app, "w2", &dir.path().join("w2"), &[]);
    wait_for_workers(&app, &["w1", "w2"], |w| w.state == WorkerState::Idle).await;
    let ann = app.learner().await;
    let mut ws = ann.websocket().await;

    drop(cluster); // w1's server goes away
    let all = wait_for_workers(&app, &["w1"], |w| w.state == WorkerState::Down).await;
    let w1_view = all.iter().find(|w| w.name == "w1").expect("w1");
    assert!(w1_view.reason.as_deref().unwrap_or_default().contains("unreachable"), "{w1_view:?}");
    let line: LineView = next(&mut ws, |m| match m {
        ServerMessage::Line(l) if l.workers.iter().any(|w| w.name == "w1" && w.state == WorkerState::Down) => Some(l),
        _ => None,
    })
    .await;
    assert_eq!(line.stalled(), None, "w2 is still up");

    // Every run goes to w2 meanwhile.
    for _ in 0..3 {
        let id = submit(&ann, &slow(50)).await;
        let run = app.finished(&id).await;
        assert_eq!((run.state, run.worker.as_deref()), (RunState::Done, Some("w2")), "{run:?}");
    }

    // With w2 gone too, a run waits (it does not fail), and the page is told why.
    w2.stop();
    let id = submit(&ann, &slow(50)).await;
    let line: LineView = next(&mut ws, |m| match m {
        ServerMessage::Line(l) if l.mine.iter().any(|p| p.id == id) && l.stalled().is_some() => Some(l),
        _ => None,
    })
    .await;
    let why = line.stalled().unwrap_or_default();
    assert!(why.contains("w1: its PostgreSQL is unreachable"), "{why}");
    let (_, run) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(run["state"], "queued", "{run}");

    // w1's server comes back: w1 is up again and takes the waiting run.
    let _cluster = PrivateCluster::start(ClusterOptions { port, ..opts }).await.expect("restart");
    let run = app.finished(&id).await;
    assert_eq!((run.state, run.worker.as_deref()), (RunState::Done, Some("w1")), "{run:?}");
    w1.stop();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_coordinator_still_has_progress_predictions_and_the_line() {
    let dir = support::lab_dir();
    let app = coordinator(&dir).await;
    let (ann, bob) = (app.learner().await, app.learner().await);
    // No worker is joined yet: the runs wait.
    let a = submit(&ann, &slow(50)).await;
    let b = submit(&bob, &slow(50)).await;
    let a2 = submit(&ann, &slow(50)).await;
    let before = class_line(&app).await;
    let order: Vec<&str> = before.waiting.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order, [a.as_str(), b.as_str(), a2.as_str()]);
    let (ann_cookie, base) = (ann.cookie(), app.base.clone());
    app.stop().await;

    // A new coordinator process on the same data dir (on a new port: the state is in its database).
    let app = coordinator(&dir).await;
    assert_ne!(app.base, base);
    let after = class_line(&app).await;
    let order_after: Vec<&str> = after.waiting.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(order_after, order, "the line, in its order");
    assert_eq!(after.waiting.iter().map(|e| e.position).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
    // Ann's browser is still Ann: her cookie (signed with the key in the data dir) still names her.
    let resp =
        app.http.post(app.url("/api/runs")).header("cookie", &ann_cookie).json(&slow(50)).send().await.expect("POST");
    assert_eq!(resp.status().as_u16(), 202);
    let mine: Vec<_> =
        class_line(&app).await.waiting.into_iter().filter(|e| e.learner == after.waiting[0].learner).collect();
    assert_eq!(mine.len(), 3, "her third waiting run is counted as hers");

    // A worker joins, and the line it left runs to the end.
    let w = WorkerProcess::start(&app, "w1", &dir.path().join("w1"), &[]);
    for id in [&a, &b, &a2] {
        assert_eq!(app.finished(id).await.state, RunState::Done);
    }

    // Two learners run a lesson step and report it (graded on their runs); the next coordinator
    // still has their predictions.
    let course = poollab::lessons::load().expect("the course");
    let step = serde_json::to_value(&course.iter().find(|l| l.id == "05-pool-full").expect("lesson").steps[0].preset)
        .expect("JSON");
    let (cat, dan) = (support::learner_of(&app.base).await, support::learner_of(&app.base).await);
    for (learner, prediction) in [(&cat, 900.0), (&dan, 300.0)] {
        let run = submit(learner, &step).await;
        assert_eq!(app.finished(&run).await.state, RunState::Done);
        let report =
            json!({ "lesson": "05-pool-full", "step": 1, "name": "Ann", "prediction": prediction, "run": run });
        let (status, body) = learner.post("/api/class/progress", &report).await;
        assert_eq!(status, 200, "{body}");
    }
    w.stop();
    app.stop().await;
    let app = coordinator(&dir).await;
    let resp = app
        .http
        .get(app.url("/api/class/predictions?lesson=05-pool-full&step=1"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("GET");
    let h: poollab_shared::PredictionHistogram = resp.json().await.expect("histogram");
    assert_eq!(h.count, 2, "both predictions are still there: {h:?}");
    let resp =
        app.http.get(app.url("/api/class/progress.csv")).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
    let csv = resp.text().await.expect("csv");
    assert!(csv.contains(",900,") && csv.contains(",300,"), "{csv}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_made_up_learners_from_one_address_get_no_more_than_its_cap() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    // The same experiment asked twice is two runs here: the line and its caps are what is tested.
    cfg.share_runs = false;
    cfg.workers = Some(0); // nothing runs, so everything accepted stays in line
    cfg.max_queued_per_address = 5;
    let app = support::spawn_in(cfg).await;
    let mut accepted = 0;
    for i in 0..40 {
        let resp = app
            .http
            .post(app.url("/api/runs"))
            .header("x-poollab-learner", format!("made-up-{i}"))
            .json(&slow(10))
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match status {
            202 => accepted += 1,
            429 => assert!(body["error"].as_str().unwrap_or("").contains("from your address"), "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted, 5, "the address's cap, however many learners it claims to be");
    let line = class_line(&app).await;
    assert_eq!(line.waiting.len(), 5);
    assert!(
        line.waiting.iter().all(|e| e.learner.as_deref().is_some_and(|l| l.starts_with("l-"))),
        "a header names nobody: each of these is a learner the lab itself named: {line:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learners_cookie_cannot_be_forged() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    // The same experiment asked twice is two runs here: the line and its caps are what is tested.
    cfg.share_runs = false;
    cfg.workers = Some(0);
    let app = support::spawn_in(cfg).await;
    let ann = app.learner().await;
    let id = submit(&ann, &slow(10)).await;
    let line = class_line(&app).await;
    let ann_id = line.waiting.iter().find(|e| e.id == id).and_then(|e| e.learner.clone()).expect("ann's id");

    // Ann's cookie is `poollab_learner=<signature><id>`: keep the signature, claim another id;
    // or send Ann's bare id with no signature at all.
    let genuine = ann.cookie();
    let forged_id = "l-0123456789abcdef";
    let forged = genuine.replace(&ann_id, forged_id);
    assert_ne!(forged, genuine);
    for cookie in [forged, format!("poollab_learner={ann_id}"), format!("poollab_learner={forged_id}")] {
        let resp =
            app.http.post(app.url("/api/runs")).header("cookie", &cookie).json(&slow(10)).send().await.expect("POST");
        assert_eq!(resp.status().as_u16(), 202);
        assert!(resp.headers().contains_key("set-cookie"), "a cookie the lab did not sign gets a new learner");
        let run: Value = resp.json().await.expect("JSON");
        let line = class_line(&app).await;
        let learner = line.waiting.iter().find(|e| e.id == run["id"]).and_then(|e| e.learner.clone()).expect("learner");
        assert_ne!(learner, ann_id, "{cookie} is not Ann");
        assert_ne!(learner, forged_id, "{cookie} names nobody it claims");
    }
    app.stop().await;
}

/// The cores a process (or one of its threads) may run on, from /proc.
fn cpus_allowed(status_path: &str) -> String {
    let status = std::fs::read_to_string(status_path).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(|v| v.trim().to_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_n_starts_local_workers_each_pinned_with_its_postgres_to_its_own_cores() {
    use std::io::BufRead;
    let dir = support::lab_dir();
    let data = dir.path().join("lab");
    let mut lab = Command::new(env!("CARGO_BIN_EXE_poollab"))
        .args(["--workers", "2", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("lab.log")).expect("log"))
        .spawn()
        .expect("start the lab");
    let stdout = lab.stdout.take().expect("stdout");
    let line = std::io::BufReader::new(stdout).lines().next().expect("a line").expect("utf-8");
    let base = line.split("open ").nth(1).and_then(|r| r.split_whitespace().next()).expect("the URL").to_owned();
    let app = TestApp::at(&base);
    let all = wait_for_workers(&app, &["worker-1", "worker-2"], |w| w.state == WorkerState::Idle).await;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pinned: Vec<Vec<u32>> = all.iter().map(|w| w.cpus.clone()).collect();
    pinned.sort();
    if cores >= 2 {
        assert!(pinned.iter().all(|c| !c.is_empty()), "{all:?}");
        assert!(pinned[0].iter().all(|c| !pinned[1].contains(c)), "each worker has cores of its own: {pinned:?}");
    }
    // The worker and the PostgreSQL it started (and each of their threads) are held to those cores.
    for (n, cpus) in [(1, &all[0].cpus), (2, &all[1].cpus)] {
        let cpus = cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let worker_dir = data.join("workers").join(n.to_string());
        let worker = support::process_with_arg(&format!("--name\0worker-{n}\0")).expect("the worker process");
        let postgres = support::process_with_arg(&format!("{}/pgdata", worker_dir.display())).expect("its postgres");
        for pid in [worker, postgres] {
            let allowed = cpus_allowed(&format!("/proc/{pid}/status"));
            let want = all.iter().find(|w| w.name == format!("worker-{n}")).map(|w| w.cpus.clone()).unwrap_or_default();
            assert_eq!(poollab::worker::affinity::parse_cpus(&allowed).ok(), Some(want), "pid {pid} ({cpus})");
            for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("threads").flatten() {
                let t = cpus_allowed(&format!("{}/status", task.path().display()));
                assert_eq!(t, allowed, "every thread of {pid} is pinned alike");
            }
        }
    }
    // Two learners' runs go at once, one on each.
    let (ann, bob) = (app.learner().await, app.learner().await);
    let (a, b) = (submit(&ann, &slow(1000)).await, submit(&bob, &slow(1000)).await);
    let mut on = vec![app.finished(&a).await.worker, app.finished(&b).await.worker];
    on.sort();
    assert_eq!(on, [Some("worker-1".to_owned()), Some("worker-2".to_owned())]);

    // SIGTERM stops the lab, its workers and every PostgreSQL.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(lab.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .expect("kill");
    let status = lab.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert_eq!(support::process_with_arg(&data.display().to_string()), None, "nothing is left behind");
}

// The worker link's trust boundaries.

/// Issues a worker credential as the instructor: (status, answer).
async fn issue(app: &TestApp, name: &str) -> (u16, Value) {
    as_instructor(app, "/api/workers/credentials", json!({ "name": name })).await
}

async fn credentials(app: &TestApp) -> Vec<poollab_shared::WorkerCredential> {
    let resp =
        app.http.get(app.url("/api/workers/credentials")).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("credentials")
}

async fn revoke(app: &TestApp, name: &str) -> (u16, Value) {
    let resp = app
        .http
        .delete(app.url(&format!("/api/workers/credentials/{name}")))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("DELETE");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn run_view(app: &TestApp, id: &str) -> poollab_shared::RunView {
    let (status, body) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("run")
}

/// A websocket client posing as a worker: it says hello, keeps its link alive with a status every
/// second (whatever else it does), and sends whatever the test makes it.
struct FakeWorker {
    out: tokio::sync::mpsc::Sender<Message>,
    orders: tokio::sync::mpsc::Receiver<Value>,
}

impl FakeWorker {
    /// Dials the coordinator's door with `secret`: the worker, or the HTTP status it was refused.
    async fn dial(app: &TestApp, secret: &str, says_its_name_is: &str) -> Result<FakeWorker, u16> {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/api/workers/connect", app.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("authorization", format!("Bearer {secret}").parse().expect("header"));
        let (ws, _) = match tokio_tungstenite::connect_async(request).await {
            Ok(ok) => ok,
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => return Err(resp.status().as_u16()),
            Err(e) => panic!("no HTTP answer: {e}"),
        };
        let (out, mut outgoing) = tokio::sync::mpsc::channel::<Message>(16);
        let (heard, orders) = tokio::sync::mpsc::channel::<Value>(16);
        let (mut sink, mut stream) = ws.split();
        let hello = json!({
            "type": "hello", "name": says_its_name_is, "version": env!("CARGO_PKG_VERSION"),
            "server": { "max_connections": 50 }, "cpus": [], "database_up": true,
        });
        let status = Message::Text(json!({ "type": "status", "database_up": true }).to_string().into());
        tokio::spawn(async move {
            if sink.send(Message::Text(hello.to_string().into())).await.is_err() {
                return;
            }
            let mut beat = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    msg = outgoing.recv() => {
                        let Some(msg) = msg else { break };
                        if sink.send(msg).await.is_err() {
                            break;
                        }
                    }
                    _ = beat.tick() => {
                        if sink.send(status.clone()).await.is_err() {
                            break;
                        }
                    }
                    got = stream.next() => match got {
                        Some(Ok(Message::Text(text))) => {
                            if heard.send(serde_json::from_str(&text).expect("an order")).await.is_err() {
                                break;
                            }
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                        Some(Ok(_)) => {}
                    },
                }
            }
        });
        Ok(FakeWorker { out, orders })
    }

    async fn send(&mut self, msg: Value) {
        self.send_text(msg.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        // A link the coordinator closed takes nothing more: the test then sees it closed.
        let _ = self.out.send(Message::Text(text.into())).await;
    }

    /// The next order from the coordinator; none once the link is closed.
    async fn order(&mut self) -> Option<Value> {
        tokio::time::timeout(Duration::from_secs(60), self.orders.recv()).await.expect("an order, or the link closed")
    }

    /// The next `run` order's run id.
    async fn run_order(&mut self) -> String {
        let order = self.order().await.expect("the link is open");
        assert_eq!(order["type"], "run", "{order}");
        order["id"].as_str().expect("id").to_owned()
    }
}

/// A request's record as a worker sends it.
fn record(n: u64) -> Value {
    json!({ "n": n, "instance": 0, "start_ms": 0.0, "acquire_wait_ms": 0.0, "connect_ms": 1.0, "query_ms": 1.0,
            "total_ms": 2.0, "outcome": "ok", "cache_hit": false })
}

/// A `done` for `run` with `requests` records.
fn done(run: &str, requests: u64) -> Value {
    json!({ "type": "done", "run": run, "summary": { "completed": requests },
            "timeline": { "requests": (0..requests).map(record).collect::<Vec<_>>(), "frames": [] } })
}

/// A coordinator with no worker of its own and no shared secret: workers join with credentials.
async fn credentialled(dir: &TempDir, tune: impl FnOnce(&mut poollab::Config)) -> TestApp {
    let mut cfg = support::config(dir, 50);
    cfg.share_runs = false;
    cfg.workers = Some(0);
    tune(&mut cfg);
    support::spawn_in(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_worker_joins_with_its_own_credential_which_the_instructor_issues_lists_and_revokes() {
    let dir = support::lab_dir();
    let app = credentialled(&dir, |_| {}).await;
    let ann = app.learner().await;
    let (status, body) = ann.post("/api/workers/credentials", &json!({ "name": "lab-a" })).await;
    assert_eq!(status, 403, "only the instructor issues credentials: {body}");

    let (status, issued) = issue(&app, "lab-a").await;
    assert_eq!(status, 201, "{issued}");
    let secret = issued["secret"].as_str().expect("the secret, shown this once").to_owned();
    assert_eq!((issued["name"].as_str(), secret.len()), (Some("lab-a"), 64), "{issued}");
    assert_eq!(issue(&app, "lab-a").await.0, 409, "one credential per name");
    let (status, body) = issue(&app, "no spaces please").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("letters, digits")), "{body}");
    let listed = credentials(&app).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].name.as_str(), listed[0].connected, listed[0].last_seen_ms), ("lab-a", false, None));
    let (_, raw) = app.get("/api/workers").await;
    let text = app
        .http
        .get(app.url("/api/workers/credentials"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    assert!(!text.contains(&secret) && !raw.to_string().contains(&secret), "the secret is never listed");

    // A worker dials with it: it is known by the credential's name, whatever it calls itself.
    let mut worker = WorkerProcess::start_with(&app, "someone-else", &dir.path().join("a"), &[], &secret);
    wait_for_workers(&app, &["lab-a"], |w| w.state == WorkerState::Idle).await;
    assert!(!workers(&app).await.iter().any(|w| w.name == "someone-else"), "its own say does not name it");
    let listed = credentials(&app).await;
    assert!(listed[0].connected && listed[0].last_seen_ms.is_some(), "{listed:?}");
    // One worker per credential, and a wrong credential gets nowhere.
    assert_eq!(FakeWorker::dial(&app, &secret, "lab-a").await.err(), Some(409));
    assert_eq!(FakeWorker::dial(&app, &"0".repeat(64), "lab-b").await.err(), Some(401));

    // Revoked while it runs a learner's run: dropped at once, the run failed and the learner told.
    let id = submit(&ann, &slow(8000)).await;
    let started = Instant::now();
    while run_view(&app, &id).await.state != RunState::Running {
        assert!(started.elapsed() < Duration::from_secs(20), "the run never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = revoke(&app, "lab-a").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dropped"], true, "{body}");
    let failed = app.finished(&id).await;
    assert_eq!(failed.state, RunState::Failed);
    let why = failed.error.unwrap_or_default();
    assert!(why.contains("lab-a") && why.contains("revoked"), "{why}");
    assert!(!workers(&app).await.iter().any(|w| w.name == "lab-a"), "no longer listed among the workers");
    assert!(credentials(&app).await.is_empty(), "nor among the credentials");
    assert_eq!(revoke(&app, "lab-a").await.0, 404);
    // The worker dials again, is refused, and says so as it stops.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = worker.child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "a worker whose credential was revoked never stopped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.path().join("a").with_extension("log")).unwrap_or_default();
    assert!(log.contains("refused this worker's credential"), "{log}");
    worker.kill();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_credential_revoked_on_one_coordinator_drops_its_worker_from_another() {
    // One class, two coordinators on its one database.
    let dir = support::lab_dir();
    let opts = support::cluster_options(dir.path().join("db"), 50);
    let cluster = poollab::db::cluster::PrivateCluster::start(opts).await.expect("the class's database");
    let on_it = |cfg: &mut poollab::Config| cfg.database.database_url = Some(cluster.admin_url());
    let (dir_a, dir_b) = (support::lab_dir(), support::lab_dir());
    let first = credentialled(&dir_a, on_it).await;
    let second = credentialled(&dir_b, on_it).await;

    // Issued on the first, the credential lets a worker join the second, which hands it a run.
    let (status, issued) = issue(&first, "lab-a").await;
    assert_eq!(status, 201, "{issued}");
    let secret = issued["secret"].as_str().expect("secret");
    let mut worker = FakeWorker::dial(&second, secret, "lab-a").await.expect("joins the second");
    wait_for_workers(&second, &["lab-a"], |w| w.state == WorkerState::Idle).await;
    let ann = second.learner().await;
    let id = submit(&ann, &slow(8000)).await;
    assert_eq!(worker.run_order().await, id);

    // Revoked on the first: the second drops it at once, and its run fails saying why.
    let (status, body) = revoke(&first, "lab-a").await;
    assert_eq!((status, &body["dropped"]), (200, &json!(false)), "not joined to the first: {body}");
    assert_eq!(worker.order().await, None, "the second closed its link");
    let failed = second.finished(&id).await;
    assert_eq!(failed.state, RunState::Failed, "{failed:?}");
    let why = failed.error.unwrap_or_default();
    assert!(why.contains("lab-a") && why.contains("its credential was revoked"), "{why}");
    assert!(!workers(&second).await.iter().any(|w| w.name == "lab-a"), "no longer listed");
    assert_eq!(FakeWorker::dial(&second, secret, "lab-a").await.err(), Some(401), "nor let in again");
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_may_report_only_on_the_run_it_holds_within_the_bounds_of_that_run() {
    let dir = support::lab_dir();
    let app = credentialled(&dir, |_| {}).await;
    let (_, one) = issue(&app, "one").await;
    let (_, two) = issue(&app, "two").await;
    let mut one = FakeWorker::dial(&app, one["secret"].as_str().expect("secret"), "one").await.expect("joins");
    let mut two = FakeWorker::dial(&app, two["secret"].as_str().expect("secret"), "two").await.expect("joins");
    wait_for_workers(&app, &["one", "two"], |w| w.state == WorkerState::Idle).await;
    let (ann, bob) = (app.learner().await, app.learner().await);
    let spec = json!({ "strategy": "naive", "requests": 2, "concurrency": 2 });
    submit(&ann, &spec).await;
    submit(&bob, &spec).await;
    let (held_by_one, held_by_two) = (one.run_order().await, two.run_order().await);

    // Two claims the end of one's run, fails it, and sends a frame of it: none of it is heard.
    let mut frame = serde_json::to_value(poollab_shared::Frame::default()).expect("frame");
    frame["run_id"] = json!(held_by_one);
    two.send(json!({ "type": "frame", "frame": frame })).await;
    two.send(done(&held_by_one, 2)).await;
    two.send(json!({ "type": "failed", "run": held_by_one, "error": "faked" })).await;
    // ...and a run that does not exist, and then its own, rightly. The link keeps its order, so
    // once its own run is done, everything before it was heard.
    two.send(done("no-such-run", 2)).await;
    two.send(done(&held_by_two, 1)).await;
    let theirs = app.finished(&held_by_two).await;
    assert_eq!((theirs.state, theirs.worker.as_deref()), (RunState::Done, Some("two")), "{theirs:?}");
    let completed = theirs.summary.map(|s| s.completed);
    assert_eq!(completed, Some(1), "its own run holds its own result, not what it said of another");
    assert_eq!(app.timeline(&held_by_two).await.requests.len(), 1);
    let untouched = run_view(&app, &held_by_one).await;
    assert_eq!(untouched.state, RunState::Running, "another worker cannot end it: {untouched:?}");
    assert_eq!(untouched.worker.as_deref(), Some("one"));

    // One's result holds more requests than its run fires: refused, and the run failed, not stored.
    one.send(done(&held_by_one, 3)).await;
    let refused = app.finished(&held_by_one).await;
    assert_eq!(refused.state, RunState::Failed, "{refused:?}");
    let why = refused.error.unwrap_or_default();
    assert!(why.contains("holds 3 requests") && why.contains("at most 2"), "{why}");
    assert!(app.timeline(&held_by_one).await.requests.is_empty(), "none of it is stored");

    // A message larger than the largest legitimate timeline closes the link of the worker that
    // sent it: its run fails like a lost worker's, and the other worker carries on.
    let next = submit(&ann, &spec).await;
    let (big, other) = tokio::select! {
        id = one.run_order() => { assert_eq!(id, next); (one, two) }
        id = two.run_order() => { assert_eq!(id, next); (two, one) }
    };
    let mut big = big;
    big.send_text(format!(r#"{{"type":"status","database_up":true,"reason":"{}"}}"#, "x".repeat(MAX_LINK + 1))).await;
    let lost = app.finished(&next).await;
    assert_eq!(lost.state, RunState::Failed, "{lost:?}");
    assert!(lost.error.unwrap_or_default().contains("left before it finished"));
    assert_eq!(big.order().await, None, "its link is closed");
    let listed: Vec<_> = workers(&app).await.into_iter().map(|w| w.name).collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let mut other = other;
    let last = submit(&bob, &spec).await;
    assert_eq!(other.run_order().await, last, "the other worker takes the next run");
    other.send(done(&last, 2)).await;
    assert_eq!(app.finished(&last).await.state, RunState::Done);
    app.stop().await;
}

/// The coordinator's limit on a worker's message, as the contract gives it.
const MAX_LINK: usize = poollab::worker::protocol::MAX_LINK_MESSAGE;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_cannot_hold_a_run_past_the_coordinators_deadline() {
    let dir = support::lab_dir();
    let app = credentialled(&dir, |cfg| cfg.claim_deadline_secs = 2).await;
    let (_, issued) = issue(&app, "slowpoke").await;
    let mut slowpoke =
        FakeWorker::dial(&app, issued["secret"].as_str().expect("secret"), "slowpoke").await.expect("joins");
    wait_for_workers(&app, &["slowpoke"], |w| w.state == WorkerState::Idle).await;
    let ann = app.learner().await;
    let id = submit(&ann, &json!({ "strategy": "naive", "requests": 2 })).await;
    assert_eq!(slowpoke.run_order().await, id);
    // It heartbeats, but never ends the run: past the deadline the run is failed, and it is told
    // to cancel.
    let order = slowpoke.order().await.expect("an order");
    assert_eq!(order, json!({ "type": "cancel", "id": id }));
    let failed = app.finished(&id).await;
    assert_eq!(failed.state, RunState::Failed);
    let why = failed.error.unwrap_or_default();
    assert!(why.contains("slowpoke") && why.contains("within 2 s"), "{why}");
    // While it still holds the run it gets no other; it ignores the cancel too, so it is dropped.
    let waiting = submit(&ann, &json!({ "strategy": "naive", "requests": 3 })).await;
    assert_eq!(slowpoke.order().await, None, "dropped: its link is closed");
    assert!(!workers(&app).await.iter().any(|w| w.name == "slowpoke"));
    assert_eq!(run_view(&app, &waiting).await.state, RunState::Queued, "the waiting run was never handed to it");

    // An honest worker lets go when told: it gets the next run.
    let mut honest =
        FakeWorker::dial(&app, issued["secret"].as_str().expect("secret"), "slowpoke").await.expect("rejoins");
    assert_eq!(honest.run_order().await, waiting);
    assert_eq!(honest.order().await, Some(json!({ "type": "cancel", "id": waiting })));
    honest.send(json!({ "type": "failed", "run": waiting, "error": "cancelled" })).await;
    let third = submit(&ann, &json!({ "strategy": "naive", "requests": 4 })).await;
    assert_eq!(honest.run_order().await, third, "free again after letting go");
    honest.send(done(&third, 4)).await;
    assert_eq!(app.finished(&third).await.state, RunState::Done);
    let waiting = run_view(&app, &waiting).await;
    assert!(waiting.error.unwrap_or_default().contains("within 2 s"), "its own ending came after the deadline's");
    app.stop().await;
}
