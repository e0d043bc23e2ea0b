//! A class bigger than one worker: a coordinator and worker processes on one machine, each worker
//! with its own private PostgreSQL, joined over real websockets. Runs land on both; the class
//! reaches learners whichever worker serves them; a worker killed mid-run fails only its run; a
//! worker whose database is down gets no runs; a restarted coordinator keeps its state; one
//! address cannot fill the line with made-up learners; a learner's cookie cannot be forged.

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
            .env("POOLLAB_WORKER_SECRET", SECRET)
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
    let opts = ClusterOptions {
        dir: dir.path().join("w1-db"),
        bin_dir: None,
        port: 0,
        max_connections: 50,
        tls_only: false,
        tls: true,
    };
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
