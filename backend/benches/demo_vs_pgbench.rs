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
//! Where the pooled request's time goes, it also measures the parts: HTTP alone (an endpoint that
//! touches no database), a sqlx pool alone (in process, no HTTP), and pgbench making the same two
//! round trips a sqlx checkout makes (sqlx pings every connection as it returns to the pool: a
//! `Sync` message and its `ReadyForQuery`, which pgbench sends with an empty pipeline).
//!
//! Throughput on a shared 2-core machine moves by 10% from one run to the next, so the comparisons
//! that make a ratio are measured in alternation, `POOLLAB_BENCH_ROUNDS` times (default 3), and the
//! medians are compared. `POOLLAB_BENCH_SECONDS` sets each measurement's length (default 5).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use poollab::db::cluster::{ClusterOptions, DATABASE, PrivateCluster, find_bin_dir};
use poollab::db::{next_demo_user, run_query};
use poollab::{Application, Config};
use poollab_shared::WorkSpec;

const CLIENTS: usize = 10;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn seconds() -> u64 {
    std::env::var("POOLLAB_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

fn rounds() -> usize {
    std::env::var("POOLLAB_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

/// The lab's demo query, as pgbench runs it.
const QUERY: &str = "\\set id random(1, 5000)\nSELECT id, name, email FROM users WHERE id = :id;\n";
/// Appended to [`QUERY`]: one empty round trip, what a sqlx pool checkout adds on release.
const SYNC: &str = "\\startpipeline\n\\endpipeline\n";

/// pgbench against the cluster with the lab's demo query; returns transactions per second.
fn pgbench(cluster: &PrivateCluster, script: &Path, extra: &[&str]) -> Result<f64, BoxError> {
    let bin = find_bin_dir(None)?.join("pgbench");
    let bin = if bin.is_file() { bin } else { "pgbench".into() };
    let url = cluster.admin_url();
    let password = url.split(':').nth(2).and_then(|s| s.split('@').next()).unwrap_or_default().to_owned();
    let out = Command::new(bin)
        .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string(), "-U", poollab::db::cluster::ADMIN_ROLE])
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
    let mut config = Config::on_free_port(std::env::temp_dir().join("poollab-bench-unused"));
    config.database.database_url = Some(url.to_owned());
    config.database.no_live = no_live;
    config.demo_pool_size = CLIENTS as u32;
    config.max_queued_runs = 4;
    config.max_queued_per_learner = 4;
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

/// Ten tasks that acquire from a sqlx pool of ten, run the demo endpoint's query (the lab's own
/// `run_query`), and release: the pool alone, in process, with no HTTP in front (like the demo
/// pool, no ping before each acquire).
async fn sqlx_pool_alone(url: &str) -> Result<f64, BoxError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(CLIENTS as u32)
        .test_before_acquire(false)
        .connect(url)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let Ok(mut conn) = pool.acquire().await else { continue };
                    let row = run_query(&mut conn, &WorkSpec::default(), next_demo_user()).await;
                    done += u64::from(row.is_ok());
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for w in workers {
        done += w.await?;
    }
    pool.close().await;
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Medians and ranges of repeated measurements.
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, value: f64) {
        self.0.push(value);
    }

    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    fn range(&self) -> String {
        let min = self.0.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if self.0.len() < 2 { String::new() } else { format!("({min:.0} to {max:.0})") }
    }
}

fn row(what: &str, value: f64, unit: &str, note: String) {
    println!("  {what:<50} {value:>8.0} {unit:<6} {note}");
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
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
        tls_only: false,
        tls: true,
    })
    .await?;
    let url = cluster.admin_url();
    let query = dir.path().join("query.sql");
    std::fs::write(&query, QUERY)?;
    let query_and_sync = dir.path().join("query_and_sync.sql");
    std::fs::write(&query_and_sync, format!("{QUERY}{SYNC}"))?;

    let lab = start_lab(&url, false).await?; // creates the demo table pgbench queries
    println!(
        "{CLIENTS} clients, {} s each, medians of {} rounds, one private PostgreSQL (SCRAM auth), {} cores",
        seconds(),
        rounds(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    let mut pg_persistent = Samples::default();
    let mut pg_two_trips = Samples::default();
    let mut pooled = Samples::default();
    let mut http_alone = Samples::default();
    let mut pool_alone = Samples::default();
    let mut pooled_failed = 0;
    for _ in 0..rounds() {
        pg_persistent.push(pgbench(&cluster, &query, &[])?);
        pg_two_trips.push(pgbench(&cluster, &query_and_sync, &[])?);
        let (rate, failed) = http_load(format!("{}/demo/pooled", lab.base))?;
        pooled.push(rate);
        pooled_failed += failed;
        http_alone.push(http_load(format!("{}/api/class", lab.base))?.0);
        pool_alone.push(sqlx_pool_alone(&url).await?);
    }
    let pg_connect = pgbench(&cluster, &query, &["-C"])?;
    let (naive, naive_failed) = http_load(format!("{}/demo/naive", lab.base))?;
    lab.stop().await;

    let (mut with_live, mut without_live) = (Samples::default(), Samples::default());
    let mut frames = 0;
    for _ in 0..rounds() {
        let live = start_lab(&url, false).await?;
        let watching = keep_live(&live).await?;
        with_live.push(http_load(format!("{}/demo/pooled", live.base))?.0);
        live.stop().await;
        frames = watching.await.unwrap_or(0);
        let quiet = start_lab(&url, true).await?;
        let _run = keep_live(&quiet).await?;
        without_live.push(http_load(format!("{}/demo/pooled", quiet.base))?.0);
        quiet.stop().await;
    }

    println!("\nPostgreSQL alone (pgbench, the demo query)");
    row("persistent connections", pg_persistent.median(), "tps", pg_persistent.range());
    row("persistent, plus the round trip of a sqlx release", pg_two_trips.median(), "tps", pg_two_trips.range());
    row("-C, a new connection per transaction", pg_connect, "tps", String::new());

    println!("\nThe parts of a pooled request");
    row("HTTP alone: GET /api/class, no database", http_alone.median(), "req/s", http_alone.range());
    row("sqlx pool alone: in process, no HTTP", pool_alone.median(), "req/s", pool_alone.range());

    // If putting HTTP in front of the pool cost nothing beyond the two parts' own costs.
    let ceiling = 1.0 / (1.0 / http_alone.median() + 1.0 / pool_alone.median());
    row(
        "the two together, if they added no cost",
        ceiling,
        "req/s",
        format!("{:.1}% of pgbench persistent: a ceiling", ceiling / pg_persistent.median() * 100.0),
    );

    println!("\nThe lab's demo endpoints");
    let ratio = pooled.median() / pg_persistent.median() * 100.0;
    let like_for_like = pooled.median() / pg_two_trips.median() * 100.0;
    row("GET /demo/pooled", pooled.median(), "req/s", format!("{} {pooled_failed} failed", pooled.range()));
    println!(
        "    {ratio:.1}% of pgbench persistent (target >= 35%: {}); {like_for_like:.1}% of pgbench making the \
         same round trips",
        verdict(ratio >= 35.0)
    );
    let ratio = naive / pg_connect * 100.0;
    row("GET /demo/naive", naive, "req/s", format!("{naive_failed} failed"));
    println!("    {ratio:.1}% of pgbench -C (target >= 95%: {})", verdict(ratio >= 95.0));

    println!("\nWhat watching costs");
    let cost = (1.0 - with_live.median() / without_live.median()) * 100.0;
    row(
        "GET /demo/pooled, live view at full speed",
        with_live.median(),
        "req/s",
        format!("{} {frames} frames in the last round", with_live.range()),
    );
    row("GET /demo/pooled, --no-live", without_live.median(), "req/s", without_live.range());
    println!("    the live view costs {cost:.1}% (target < 5%: {})", verdict(cost < 5.0));
    drop(cluster);
    Ok(())
}
