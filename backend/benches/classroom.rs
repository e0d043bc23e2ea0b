//! A classroom under load: 100 simulated learners on one lab.
//!
//! Each learner opens the websocket (as the page does) and queues two small runs under its own
//! learner id; the lab runs them one at a time, fairly. Meanwhile every socket receives every
//! frame. Printed at the end: runs completed and refused, frames delivered per client, how far the
//! slowest client lagged behind the fastest for the same frame (target < 100 ms at 10 Hz frames),
//! and the lab's memory (this process: the lab, its clients, not PostgreSQL). Asserts nothing.
//!
//! `cargo bench -p poollab --bench classroom`; `POOLLAB_LEARNERS` changes the class size.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab::{Application, Config};
use poollab_shared::{RunState, ServerMessage};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn learners() -> usize {
    std::env::var("POOLLAB_LEARNERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100)
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

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = tempfile::Builder::new().prefix("poollab-classroom-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let n = learners();
    let mut config = Config::on_free_port(dir.path().join("lab"));
    config.max_queued_runs = (2 * n) as u32;
    config.max_queued_per_learner = 2;
    config.max_queued_per_address = (2 * n) as u32;
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
    for learner in 0..n {
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
        for _ in 0..2 {
            let spec = serde_json::json!({ "strategy": "pooled", "requests": 20, "concurrency": 10,
                                           "pool": { "max_connections": 5 } });
            let resp = http
                .post(format!("http://{base}/api/runs"))
                .header("x-poollab-learner", format!("learner-{learner}"))
                .json(&spec)
                .send()
                .await?;
            if resp.status().as_u16() == 202 {
                let body: serde_json::Value = resp.json().await?;
                ids.push(body["id"].as_str().unwrap_or_default().to_owned());
            } else {
                refused += 1;
            }
        }
    }
    let queued_at = started.elapsed();
    // Wait for every run to end.
    let mut done = 0;
    let mut failed = 0;
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
    let spreads: Vec<f64> = arrivals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|(first, last)| last.duration_since(*first).as_secs_f64() * 1000.0)
        .collect();
    let mut sorted = spreads.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
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
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("memory of this process (lab + {n} clients): {rss_before:.0} MiB at start, {rss_peak:.0} MiB at the end");
    Ok(())
}
