//! A classroom under load. Two modes; asserts nothing, prints figures.
//!
//! `cargo bench -p poollab --bench classroom` (the fan-out): 100 simulated learners
//! (`POOLLAB_LEARNERS`) on one lab, each with a websocket (as the page has) and two small runs in
//! line. Printed: runs completed and refused, frames delivered per client, how far the slowest
//! client lagged behind the fastest for the same frame (target < 100 ms at 10 Hz frames), and the
//! memory of the lab and its clients.
//!
//! `cargo bench -p poollab --bench classroom -- class` (the class): a class of 300 learners
//! (`POOLLAB_LEARNERS`) on one step (`POOLLAB_STEP`, lesson/step, default
//! `02-connect-per-request/1`), against a `poollab --workers W` of its own (`POOLLAB_WORKERS_LIST`,
//! default 1), with shared runs on and off (`POOLLAB_SHARE_LIST`, default `on,off`). First each
//! learner presses Run at their own pace, at a moment of their own within `POOLLAB_PACE_S`
//! seconds (60); once every result is in, all press Run together. Printed, per lab: time to
//! result (p50, p95, p99), the runs the worker measured for those presses, and its utilisation.
//! With `POOLLAB_COURSE_S` > 0 (seconds; 0 by default) the learners first work through the
//! course's presets, thinking `POOLLAB_THINK_S` seconds (30, at random around it) between steps;
//! with both 1 and 2 workers listed it also prints the speed-up of two workers over one and the
//! arithmetic that carries it to a bigger machine.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab::Config;
use poollab::startup::Application;
use poollab_shared::{Lesson, RunSpec, RunState, ServerMessage, WorkerView};
use tokio::sync::oneshot;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Resident memory of this process, from /proc.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn lab_dir() -> Result<tempfile::TempDir, BoxError> {
    let dir = tempfile::Builder::new().prefix("poollab-classroom-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// Percentile `q` of sorted values (0 when there are none).
fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().any(|a| a == "class") { class().await } else { fan_out().await }
}

/// The fan-out: every frame to every learner's socket, and how far apart they arrive.
async fn fan_out() -> Result<(), BoxError> {
    let dir = lab_dir()?;
    let n: usize = env_or("POOLLAB_LEARNERS", 100);
    let mut config = Config::on_free_port(dir.path().join("lab"));
    config.max_queued_runs = (2 * n) as u32;
    config.max_queued_per_address = (2 * n) as u32;
    // One machine plays the whole class: its address must hold every learner's socket.
    config.max_sockets_per_address = (2 * n) as u32;
    let app = Application::build(config).await?;
    let base = format!("127.0.0.1:{}", app.port());
    let trigger = app.trigger();
    let served = tokio::spawn(app.run_until(std::future::pending()));
    let rss_before = rss_mib();

    // When each client received each frame (by seq), to measure the spread between clients.
    let arrivals: Arc<Mutex<HashMap<u64, (Instant, Instant)>>> = Arc::default();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    let mut refused = 0;
    for _ in 0..n {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{base}/ws")).await?;
        let arrivals = arrivals.clone();
        clients.push(tokio::spawn(async move {
            let mut frames = 0u64;
            while let Some(Ok(msg)) = ws.next().await {
                let Ok(text) = msg.to_text() else { continue };
                if let Ok(ServerMessage::Frame(f)) = serde_json::from_str::<ServerMessage>(text) {
                    frames += 1;
                    let now = Instant::now();
                    let mut a = arrivals.lock().unwrap_or_else(|p| p.into_inner());
                    let e = a.entry(f.seq).or_insert((now, now));
                    e.0 = e.0.min(now);
                    e.1 = e.1.max(now);
                }
            }
            frames
        }));
        // Each learner is a browser of its own: its own cookie, given by its first request.
        let learner = reqwest::Client::builder().cookie_store(true).build()?;
        for _ in 0..2 {
            let spec = serde_json::json!({ "strategy": "pooled", "requests": 20, "concurrency": 10,
                                           "pool": { "max_connections": 5 } });
            let resp = learner.post(format!("http://{base}/api/runs")).json(&spec).send().await?;
            if resp.status().as_u16() == 202 {
                let body: serde_json::Value = resp.json().await?;
                ids.push(body["id"].as_str().unwrap_or_default().to_owned());
            } else {
                refused += 1;
            }
        }
    }
    let queued_at = started.elapsed();
    let (mut done, mut failed) = (0, 0);
    for id in &ids {
        loop {
            let run: poollab_shared::RunView =
                http.get(format!("http://{base}/api/runs/{id}")).send().await?.json().await?;
            match run.state {
                RunState::Done => done += 1,
                RunState::Failed => failed += 1,
                _ => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
            break;
        }
    }
    let elapsed = started.elapsed();
    let rss_peak = rss_mib();
    trigger.fire();
    let mut frames = Vec::new();
    for c in clients {
        frames.push(c.await.unwrap_or(0));
    }
    let _ = served.await;
    let mut spreads: Vec<f64> = arrivals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|(first, last)| last.duration_since(*first).as_secs_f64() * 1000.0)
        .collect();
    spreads.sort_by(f64::total_cmp);
    let (fmin, fmax) = (frames.iter().min().copied().unwrap_or(0), frames.iter().max().copied().unwrap_or(0));

    println!(
        "{n} learners, 2 runs each (20 pooled requests), one lab, {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("runs queued in {:.1} s; all ended after {:.1} s", queued_at.as_secs_f64(), elapsed.as_secs_f64());
    println!("runs done {done}, failed {failed}, refused {refused}");
    println!("frames per client: min {fmin}, max {fmax}");
    println!(
        "slowest client behind the fastest, per frame: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target < 100 ms)",
        pct(&spreads, 0.5),
        pct(&spreads, 0.99),
        pct(&spreads, 1.0)
    );
    println!("memory of this process (lab + {n} clients): {rss_before:.0} MiB at start, {rss_peak:.0} MiB at the end");
    Ok(())
}

/// A `poollab --workers W` of its own, as a process.
struct Lab {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Lab {
    fn start(workers: u32, learners: usize, share: bool) -> Result<Lab, BoxError> {
        use std::io::BufRead;
        let dir = lab_dir()?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_poollab"))
            .args(["--workers", &workers.to_string(), "--listen", "127.0.0.1:0"])
            .args(["--max-queued-runs", &(4 * learners).to_string()])
            // One machine plays the whole class: its address must hold them all.
            .args(["--max-queued-per-address", &(4 * learners).to_string()])
            .args(["--max-sockets-per-address", &(4 * learners).to_string()])
            .args(["--max-learners-per-address", &(4 * learners).to_string()])
            .args(["--share-runs", if share { "on" } else { "off" }])
            .arg("--data-dir")
            .arg(dir.path().join("lab"))
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "poollab=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let line = std::io::BufReader::new(stdout).lines().next().ok_or("the lab said nothing")??;
        let base = line.split("open ").nth(1).and_then(|r| r.split_whitespace().next()).ok_or("no URL")?.to_owned();
        Ok(Lab { child, base, _dir: dir })
    }

    async fn workers(&self, http: &reqwest::Client) -> Result<Vec<WorkerView>, BoxError> {
        Ok(http.get(format!("{}/api/workers", self.base)).send().await?.json().await?)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Runs whose end someone waits for, by id (a shared run, by each of its learners); one websocket
/// hears every run's end.
type Waiting = Arc<Mutex<HashMap<String, Vec<oneshot::Sender<RunState>>>>>;

async fn listen_for_endings(base: &str, waiting: Waiting) -> Result<tokio::task::JoinHandle<()>, BoxError> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/ws", base.replace("http://", "ws://"))).await?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Ok(text) = msg.to_text() else { continue };
            // Only run updates matter here; frames are skipped without being read whole.
            if !text.starts_with(r#"{"type":"run""#) {
                continue;
            }
            if let Ok(ServerMessage::Run(r)) = serde_json::from_str::<ServerMessage>(text)
                && matches!(r.state, RunState::Done | RunState::Failed)
                && let Some(all) = waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&r.id)
            {
                for tx in all {
                    let _ = tx.send(r.state);
                }
            }
        }
    }))
}

/// One press of Run: the run it went to, its time to result, and whether it was done.
struct Outcome {
    run: String,
    ttr: f64,
    done: bool,
}

/// Submits a run as `learner` and waits for its end; `None` when it was refused.
async fn run_one(learner: &reqwest::Client, base: &str, spec: &RunSpec, waiting: &Waiting) -> Option<Outcome> {
    let asked = Instant::now();
    let (tx, rx) = oneshot::channel();
    let resp = learner.post(format!("{base}/api/runs")).json(spec).send().await.ok()?;
    if resp.status().as_u16() != 202 {
        return None;
    }
    let id = resp.json::<serde_json::Value>().await.ok()?["id"].as_str()?.to_owned();
    waiting.lock().unwrap_or_else(|p| p.into_inner()).entry(id.clone()).or_default().push(tx);
    // The end may have been announced before it was registered: ask once, then wait.
    if let Ok(r) = learner.get(format!("{base}/api/runs/{id}")).send().await
        && let Ok(view) = r.json::<poollab_shared::RunView>().await
        && matches!(view.state, RunState::Done | RunState::Failed)
    {
        return Some(Outcome { run: id, ttr: asked.elapsed().as_secs_f64(), done: view.state == RunState::Done });
    }
    let state = tokio::time::timeout(Duration::from_secs(1800), rx).await.ok()?.ok()?;
    Some(Outcome { run: id, ttr: asked.elapsed().as_secs_f64(), done: state == RunState::Done })
}

/// What one phase measured.
#[derive(Default)]
struct Phase {
    ttr: Vec<f64>,
    failed: usize,
    refused: usize,
    /// The runs the presses went to: fewer than the presses when runs were shared.
    runs: HashSet<String>,
    wall: f64,
    /// Each worker's utilisation over the phase.
    utilisation: Vec<(String, f64)>,
}

impl Phase {
    /// One press's outcome, `None` when refused.
    fn count(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(o) => {
                if o.done {
                    self.ttr.push(o.ttr);
                } else {
                    self.failed += 1;
                }
                self.runs.insert(o.run);
            }
            None => self.refused += 1,
        }
    }

    fn sorted(&self) -> Vec<f64> {
        let mut s = self.ttr.clone();
        s.sort_by(f64::total_cmp);
        s
    }

    fn runs_per_minute(&self) -> f64 {
        if self.wall > 0.0 { self.runs.len() as f64 * 60.0 / self.wall } else { 0.0 }
    }

    /// Runs finished per minute that a worker was busy: what one worker carries when it never waits.
    fn per_busy_worker_minute(&self) -> f64 {
        let busy_s: f64 = self.utilisation.iter().map(|(_, u)| u * self.wall).sum();
        if busy_s > 0.0 { self.runs.len() as f64 * 60.0 / busy_s } else { 0.0 }
    }

    fn print(&self, what: &str) {
        let s = self.sorted();
        let busy: Vec<String> = self.utilisation.iter().map(|(n, u)| format!("{n} {:.0}%", u * 100.0)).collect();
        println!(
            "  {what}: {} results from {} runs in {:.0} s; time to result p50 {:.1} s, p95 {:.1} s, p99 {:.1} s, \
             last {:.1} s; {} failed, {} refused; busy: {}",
            s.len(),
            self.runs.len(),
            self.wall,
            pct(&s, 0.5),
            pct(&s, 0.95),
            pct(&s, 0.99),
            pct(&s, 1.0),
            self.failed,
            self.refused,
            busy.join(", ")
        );
    }
}

fn utilisation(before: &[WorkerView], after: &[WorkerView]) -> Vec<(String, f64)> {
    after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.name == a.name)?;
            let wall = a.joined_ms_ago.saturating_sub(b.joined_ms_ago) as f64;
            Some((a.name.clone(), if wall > 0.0 { a.busy_ms.saturating_sub(b.busy_ms) as f64 / wall } else { 0.0 }))
        })
        .collect()
}

/// One lab's measurements.
struct Measured {
    workers: u32,
    share: bool,
    course: Option<Phase>,
    own_pace: Phase,
    together: Phase,
}

/// The class mode: the step at the learners' own pace, then all together, sharing on and off.
async fn class() -> Result<(), BoxError> {
    let n: usize = env_or("POOLLAB_LEARNERS", 300);
    let pace_s: f64 = env_or("POOLLAB_PACE_S", 60.0);
    let think: f64 = env_or("POOLLAB_THINK_S", 30.0);
    let course_s: f64 = env_or("POOLLAB_COURSE_S", 0.0);
    let step: String = std::env::var("POOLLAB_STEP")
        .or_else(|_| std::env::var("POOLLAB_TOGETHER"))
        .unwrap_or_else(|_| "02-connect-per-request/1".to_owned());
    let list: String = env_or("POOLLAB_WORKERS_LIST", "1".to_owned());
    let shares: String = env_or("POOLLAB_SHARE_LIST", "on,off".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let course_note = if course_s > 0.0 {
        format!("the course for {course_s:.0} s (thinking ~{think:.0} s between steps), then ")
    } else {
        String::new()
    };
    println!(
        "a class of {n}: {course_note}each presses Run on {step} at their own pace (within {pace_s:.0} s), then all \
         together; {cores} cores"
    );
    let mut results: Vec<Measured> = Vec::new();
    for share in shares.split(',').map(|s| s.trim() != "off") {
        for workers in list.split(',').filter_map(|w| w.trim().parse::<u32>().ok()) {
            results.push(one_lab(workers, share, n, &step, pace_s, course_s, think).await?);
        }
    }
    println!();
    println!("| {n} learners on {step} | time to result p50 / p95 / p99 | runs measured | workers busy |");
    println!("|---|---|---|---|");
    for m in &results {
        let share = if m.share { "on" } else { "off" };
        for (what, phase) in [("at their own pace", &m.own_pace), ("together", &m.together)] {
            let s = phase.sorted();
            let busy: Vec<String> = phase.utilisation.iter().map(|(_, u)| format!("{:.0}%", u * 100.0)).collect();
            println!(
                "| {what}, sharing {share}, {} worker(s) | {:.1} / {:.1} / {:.1} s | {} for {} presses | {} |",
                m.workers,
                pct(&s, 0.5),
                pct(&s, 0.95),
                pct(&s, 0.99),
                phase.runs.len(),
                s.len() + phase.failed + phase.refused,
                busy.join(", ")
            );
        }
    }
    arithmetic(&results, n, think, cores);
    Ok(())
}

/// One lab: `workers` local workers, sharing on or off.
async fn one_lab(
    workers: u32,
    share: bool,
    n: usize,
    step: &str,
    pace_s: f64,
    course_s: f64,
    think: f64,
) -> Result<Measured, BoxError> {
    let lab = Lab::start(workers, n, share)?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    while lab.workers(&http).await.map_or(0, |w| w.len()) < workers as usize {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the workers never joined".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lessons: Vec<Lesson> = http.get(format!("{}/api/lessons", lab.base)).send().await?.json().await?;
    // Every step's experiment, in course order (sweeps are many runs each: left out).
    let steps: Vec<(String, RunSpec)> = lessons
        .iter()
        .flat_map(|l| l.steps.iter().enumerate().map(move |(i, s)| (format!("{}/{}", l.id, i + 1), s)))
        .filter(|(_, s)| s.sweep.is_empty())
        .map(|(k, s)| (k, s.preset.clone()))
        .collect();
    let Some(chosen) = steps.iter().find(|(k, _)| *k == step).map(|(_, s)| s.clone()) else {
        return Err(format!("no step {step}").into());
    };
    let waiting: Waiting = Arc::default();
    let listener = listen_for_endings(&lab.base, waiting.clone()).await?;
    let mut learners = Vec::with_capacity(n);
    for _ in 0..n {
        let client = reqwest::Client::builder().cookie_store(true).build()?;
        client.get(format!("{}/api/class", lab.base)).send().await?;
        learners.push(client);
    }

    // The course (when asked for): each learner thinks, runs the next step, waits for its result.
    let mut course = None;
    if course_s > 0.0 {
        let before = lab.workers(&http).await?;
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs_f64(course_s);
        let steps = Arc::new(steps);
        let mut tasks = Vec::new();
        for (i, learner) in learners.iter().cloned().enumerate() {
            let (steps, waiting, base) = (steps.clone(), waiting.clone(), lab.base.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                // Learners start at different moments, and think for different times.
                let mut k = i % steps.len();
                loop {
                    let pause = think * (0.5 + rand::random::<f64>());
                    if Instant::now() + Duration::from_secs_f64(pause) >= deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs_f64(pause)).await;
                    out.push(run_one(&learner, &base, &steps[k].1, &waiting).await);
                    k = (k + 1) % steps.len();
                }
                out
            }));
        }
        let mut phase = Phase::default();
        for t in tasks {
            for r in t.await.unwrap_or_default() {
                phase.count(r);
            }
        }
        phase.wall = t0.elapsed().as_secs_f64();
        phase.utilisation = utilisation(&before, &lab.workers(&http).await?);
        course = Some(phase);
    }

    // At their own pace: each learner presses Run on the step at a moment of their own.
    let before = lab.workers(&http).await?;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for learner in &learners {
        let (learner, waiting, base, spec) = (learner.clone(), waiting.clone(), lab.base.clone(), chosen.clone());
        let at = Duration::from_secs_f64(pace_s * rand::random::<f64>());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(at).await;
            run_one(&learner, &base, &spec, &waiting).await
        }));
    }
    let mut own_pace = Phase::default();
    for t in tasks {
        own_pace.count(t.await.unwrap_or(None));
    }
    own_pace.wall = t0.elapsed().as_secs_f64();
    own_pace.utilisation = utilisation(&before, &lab.workers(&http).await?);

    // Together: everyone presses Run on the same step at once.
    let before = lab.workers(&http).await?;
    let t1 = Instant::now();
    let presses = learners.iter().map(|l| run_one(l, &lab.base, &chosen, &waiting));
    let mut together = Phase::default();
    for r in futures_util::future::join_all(presses).await {
        together.count(r);
    }
    together.wall = t1.elapsed().as_secs_f64();
    together.utilisation = utilisation(&before, &lab.workers(&http).await?);
    listener.abort();
    println!(
        "{workers} local worker(s), sharing {}, pinned: {:?}",
        if share { "on" } else { "off" },
        lab.workers(&http).await?.iter().map(|w| w.cpus.clone()).collect::<Vec<_>>()
    );
    if let Some(course) = &course {
        course.print("the course");
    }
    own_pace.print("at their own pace");
    together.print("all together");
    drop(lab);
    Ok(Measured { workers, share, course, own_pace, together })
}

/// What the measurements say about two workers against one, and about a bigger machine (when the
/// course ran on labs of one and of two workers without sharing).
fn arithmetic(results: &[Measured], n: usize, think: f64, cores: usize) {
    let of = |w: u32| results.iter().find(|m| m.workers == w && !m.share && m.course.is_some());
    let (Some(one), Some(two)) = (of(1), of(2)) else {
        return;
    };
    let Some(two_course) = &two.course else { return };
    let speedup = two.together.runs_per_minute() / one.together.runs_per_minute().max(f64::EPSILON);
    println!();
    println!(
        "two workers against one, all pressing together: {:.1} vs {:.1} runs/min = {speedup:.2}x (target 1.7x where cores are not shared)",
        two.together.runs_per_minute(),
        one.together.runs_per_minute()
    );
    if cores < 4 {
        println!(
            "  on {cores} cores the workers are not alone: one worker gets both cores, two get one each, and besides \
             them the coordinator, its own PostgreSQL and this benchmark's {n} clients share the same cores, so a \
             second worker adds less than a worker's worth; the speed-up above is what that sharing leaves."
        );
    }
    // A worker on a core of its own: the two-worker runs, where each worker was pinned to one core,
    // counted per second that a worker was busy.
    let (course, together) = (two_course.per_busy_worker_minute(), two.together.per_busy_worker_minute());
    let demand = n as f64 * 60.0 / think;
    let for_course = (demand / course.max(f64::EPSILON)).ceil();
    // Enough workers that the last of the class to press Run together has its result within 30 s.
    let for_together = (n as f64 / (together.max(f64::EPSILON) / 2.0)).ceil();
    println!(
        "a bigger machine: a worker on a core of its own carries {course:.0} runs a busy minute of the course's mix of \
         steps, and {together:.0} of the step pressed together. {n} learners thinking ~{think:.0} s between steps ask \
         for up to {demand:.0} runs/min: {for_course} workers keep up with them. For the last of {n} pressing Run \
         together to see their result within 30 s: {for_together} workers. Each wants a core (and its PostgreSQL) \
         of its own, plus a core or two for the coordinator and its database: a machine of {} cores, or workers \
         spread over several machines (`poollab worker --coordinator ...`).",
        for_course.max(for_together) as usize + 2
    );
}
