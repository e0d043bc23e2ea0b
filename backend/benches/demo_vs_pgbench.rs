//! How fast are the lab's demo endpoints, next to PostgreSQL's own benchmark tool?
//!
//! One private cluster serves everything. pgbench runs the lab's very query
//! (`SELECT id, name, email FROM users WHERE id = $1`) with 10 clients, once over persistent
//! connections and once with a new connection per transaction (`-C`); then 10 HTTP clients drive
//! `GET /demo/pooled` and `GET /demo/naive`. Finally `/demo/pooled` is measured while a run keeps
//! the live view at full speed (sampler at 40 Hz, frames at 10 Hz to a websocket client), and again
//! on a lab started with `--no-live`, to show what watching costs.
//!
//! Targets (issue 3): pooled >= 35% of pgbench persistent, naive >= 95% of pgbench -C, live view
//! < 5% of pooled throughput. Figures are printed, never asserted: this machine's load is not ours.
//!
//! `POOLLAB_BENCH_SECONDS` sets each measurement's length (default 5).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab::cluster::{ClusterOptions, DATABASE, PrivateCluster, find_bin_dir};
use poollab::{Application, Config};

const CLIENTS: usize = 10;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn seconds() -> u64 {
    std::env::var("POOLLAB_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

/// pgbench against the cluster with the lab's demo query; returns transactions per second.
fn pgbench(cluster: &PrivateCluster, script: &Path, extra: &[&str]) -> Result<f64, BoxError> {
    let bin = find_bin_dir(None)?.join("pgbench");
    let bin = if bin.is_file() { bin } else { "pgbench".into() };
    let url = cluster.admin_url();
    let password = url.split(':').nth(2).and_then(|s| s.split('@').next()).unwrap_or_default().to_owned();
    let out = Command::new(bin)
        .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string(), "-U", poollab::cluster::ADMIN_ROLE])
        .args(["-n", "-M", "prepared", "-c", &CLIENTS.to_string(), "-j", "2", "-T", &seconds().to_string()])
        .args(extra)
        .arg("-f")
        .arg(script)
        .arg(DATABASE)
        .env("PGPASSWORD", password)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("pgbench gave no tps: {text}{}", String::from_utf8_lossy(&out.stderr)).into())
}

struct Lab {
    base: String,
    trigger: poollab::shutdown::ShutdownTrigger,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_lab(url: &str, no_live: bool) -> Result<Lab, BoxError> {
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        database_url: Some(url.to_owned()),
        data_dir: std::env::temp_dir().join("poollab-bench-unused"),
        pg_bin_dir: None,
        pg_port: 0,
        max_connections: 100,
        demo_pool_size: CLIENTS as u32,
        max_queued_runs: 4,
        max_queued_per_learner: 4,
        learner_max_requests: 10_000,
        instructor_token: None,
        no_live,
        static_dir: None,
    };
    let app = Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let trigger = app.trigger();
    let served = tokio::spawn(app.run_until(std::future::pending()));
    Ok(Lab { base, trigger, served })
}

impl Lab {
    async fn stop(self) {
        self.trigger.fire();
        let _ = self.served.await;
    }
}

/// Ten keep-alive HTTP/1.1 clients on one thread of their own: a separate, lean load generator
/// (like wrk: a raw request written, the response read by its Content-Length), so the figures
/// measure the lab and not an HTTP client library.
fn http_load(url: String) -> Result<(f64, u64), BoxError> {
    std::thread::spawn(move || -> Result<(f64, u64), BoxError> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async move {
            let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
            let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
            let deadline = Instant::now() + Duration::from_secs(seconds());
            let started = Instant::now();
            let workers: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let (addr, request) = (addr.to_owned(), request.clone());
                    tokio::spawn(async move {
                        let (mut ok, mut failed) = (0u64, 0u64);
                        let mut conn = None;
                        while Instant::now() < deadline {
                            if conn.is_none() {
                                conn = tokio::net::TcpStream::connect(&addr).await.ok().map(tokio::io::BufReader::new);
                            }
                            let Some(stream) = conn.as_mut() else {
                                failed += 1;
                                continue;
                            };
                            match one_request(stream, &request).await {
                                Ok(true) => ok += 1,
                                Ok(false) => failed += 1,
                                Err(_) => {
                                    failed += 1;
                                    conn = None;
                                }
                            }
                        }
                        (ok, failed)
                    })
                })
                .collect();
            let (mut ok, mut failed) = (0, 0);
            for w in workers {
                let (o, f) = w.await?;
                ok += o;
                failed += f;
            }
            Ok((ok as f64 / started.elapsed().as_secs_f64(), failed))
        })
    })
    .join()
    .map_err(|_| "load generator panicked")?
}

/// Sends one request on a kept-alive connection and reads its response; true for a 2xx.
async fn one_request(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    request: &[u8],
) -> std::io::Result<bool> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    stream.get_mut().write_all(request).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let ok = line.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2'));
    let mut length = 0usize;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(ok)
}

/// A light run that keeps the live view at full speed for the whole measurement, and a websocket
/// client receiving its frames.
async fn keep_live(lab: &Lab) -> Result<tokio::task::JoinHandle<u64>, BoxError> {
    let spec = serde_json::json!({ "strategy": "pooled", "requests": 10000, "concurrency": 1,
        "pool": { "max_connections": 1 }, "work": { "query": "sleep", "sleep_ms": 10 } });
    reqwest::Client::new().post(format!("{}/api/runs", lab.base)).json(&spec).send().await?.error_for_status()?;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/ws", lab.base.replace("http", "ws"))).await?;
    Ok(tokio::spawn(async move {
        let mut frames = 0;
        while let Some(Ok(_)) = ws.next().await {
            frames += 1;
        }
        frames
    }))
}

fn row(what: &str, value: f64, unit: &str, note: String) {
    println!("{what:<46} {value:>10.0} {unit:<6} {note}");
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = tempfile::Builder::new().prefix("poollab-bench-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let cluster = PrivateCluster::start(ClusterOptions {
        dir: dir.path().join("lab"),
        bin_dir: None,
        port: 0,
        max_connections: 100,
    })
    .await?;
    let url = cluster.admin_url();
    let script = dir.path().join("demo.sql");
    std::fs::write(&script, "\\set id random(1, 5000)\nSELECT id, name, email FROM users WHERE id = :id;\n")?;

    let lab = start_lab(&url, false).await?; // creates the demo table pgbench queries
    println!(
        "{CLIENTS} clients, {} s each, one private PostgreSQL (SCRAM auth), {} cores\n",
        seconds(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let pg_persistent = pgbench(&cluster, &script, &[])?;
    row("pgbench, persistent connections", pg_persistent, "tps", String::new());
    let pg_connect = pgbench(&cluster, &script, &["-C"])?;
    row("pgbench -C, a new connection per transaction", pg_connect, "tps", String::new());

    let (pooled, failed) = http_load(format!("{}/demo/pooled", lab.base))?;
    let ratio = pooled / pg_persistent * 100.0;
    row(
        "GET /demo/pooled",
        pooled,
        "req/s",
        format!("{ratio:5.1}% of pgbench persistent (target >= 35%), {failed} failed"),
    );
    let (naive, failed) = http_load(format!("{}/demo/naive", lab.base))?;
    let ratio = naive / pg_connect * 100.0;
    row("GET /demo/naive", naive, "req/s", format!("{ratio:5.1}% of pgbench -C (target >= 95%), {failed} failed"));

    let frames = keep_live(&lab).await?;
    let (with_live, _) = http_load(format!("{}/demo/pooled", lab.base))?;
    lab.stop().await;
    let frames = frames.await.unwrap_or(0);
    let quiet = start_lab(&url, true).await?;
    let _run = keep_live(&quiet).await?;
    let (without_live, _) = http_load(format!("{}/demo/pooled", quiet.base))?;
    quiet.stop().await;
    let cost = (1.0 - with_live / without_live) * 100.0;
    row("GET /demo/pooled, live view at full speed", with_live, "req/s", format!("{frames} frames received"));
    row("GET /demo/pooled, --no-live", without_live, "req/s", format!("live view costs {cost:4.1}% (target < 5%)"));
    drop(cluster);
    Ok(())
}
