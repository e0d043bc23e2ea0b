//! Test helpers: start the whole lab (its own private PostgreSQL, on free ports) and talk to it
//! over real HTTP and websockets.
#![allow(dead_code)]

pub mod browser;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use poollab::shutdown::ShutdownTrigger;
use poollab::{Application, Config};
use poollab_shared::{RunState, RunView};
use serde_json::Value;
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub pg_pid: Option<u32>,
    pub pg_dir: Option<PathBuf>,
    trigger: ShutdownTrigger,
    served: JoinHandle<std::io::Result<()>>,
    _dir: Option<TempDir>,
}

/// The instructor token test labs start with.
pub const INSTRUCTOR_TOKEN: &str = "test-instructor-token";

/// A temp dir the `postgres` user can enter (tempfile makes them 0700).
pub fn lab_dir() -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("poollab-test-").tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

pub fn config(dir: &TempDir, max_connections: u32) -> Config {
    let mut cfg = Config::on_free_port(dir.path().join("lab"));
    cfg.database.max_connections = max_connections;
    cfg.max_queued_per_learner = 16;
    cfg.max_queued_per_address = 1_000;
    cfg.instructor_token = Some(INSTRUCTOR_TOKEN.into());
    cfg.static_dir = Some(dist());
    cfg
}

/// Where Trunk builds the page.
pub fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist")
}

/// A private cluster of a test's own, under `dir`: on a free port, offering TLS but not asking it.
pub fn cluster_options(dir: PathBuf, max_connections: u32) -> poollab::db::cluster::ClusterOptions {
    poollab::db::cluster::ClusterOptions { dir, bin_dir: None, port: 0, max_connections, tls_only: false, tls: true }
}

/// The whole lab with a private cluster whose `max_connections` is given.
pub async fn spawn_app(max_connections: u32) -> TestApp {
    let dir = lab_dir();
    let cfg = config(&dir, max_connections);
    spawn_with(cfg, dir).await
}

pub async fn spawn_with(cfg: Config, dir: TempDir) -> TestApp {
    let mut app = spawn_in(cfg).await;
    app._dir = Some(dir);
    app
}

/// The lab on a data directory the caller keeps (to restart a lab on the same one).
pub async fn spawn_in(cfg: Config) -> TestApp {
    let app = Application::build(cfg).await.expect("the lab starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pg_pid = app.cluster().and_then(|c| c.pid());
    let pg_dir = app.cluster().map(|c| c.data_dir());
    let trigger = app.trigger();
    let served = tokio::spawn(app.run_until(std::future::pending()));
    TestApp { base, http: reqwest::Client::new(), pg_pid, pg_dir, trigger, served, _dir: None }
}

impl TestApp {
    /// A lab this test did not start in-process (a `poollab` it ran as a program), at `base`.
    pub fn at(base: &str) -> TestApp {
        let trigger = ShutdownTrigger::new();
        TestApp {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            pg_pid: None,
            pg_dir: None,
            trigger,
            served: tokio::spawn(async { Ok(()) }),
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replace("http://", "ws://"))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a raw body to /api/runs: (status, JSON answer).
    pub async fn post_run(&self, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url("/api/runs"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Starts a run that must be accepted; returns its id.
    pub async fn start_run(&self, spec: Value) -> String {
        let (status, body) = self.post_run(&spec.to_string()).await;
        assert_eq!(status, 202, "run refused: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Waits until the run is done or failed (bounded: a run has a deadline of its own).
    pub async fn finished(&self, id: &str) -> RunView {
        let started = Instant::now();
        loop {
            let resp = self.http.get(self.url(&format!("/api/runs/{id}"))).send().await.expect("GET run");
            let run: RunView = resp.json().await.expect("run JSON");
            if matches!(run.state, RunState::Done | RunState::Failed) {
                return run;
            }
            assert!(started.elapsed() < Duration::from_secs(200), "run {id} never finished");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A finished run's stored frames and requests.
    pub async fn timeline(&self, id: &str) -> poollab_shared::Timeline {
        let (status, body) = self.get(&format!("/api/runs/{id}?timeline=true")).await;
        assert_eq!(status, 200, "{body}");
        let run: RunView = serde_json::from_value(body).expect("run JSON");
        run.timeline.expect("asked for the timeline")
    }

    /// GETs `path` as the instructor (with the token test labs start with): its `200` answer, read
    /// as a `T`.
    pub async fn get_as_instructor<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.http.get(self.url(path)).bearer_auth(INSTRUCTOR_TOKEN).send().await.expect("GET");
        let status = resp.status().as_u16();
        let body = resp.text().await.expect("an answer");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Runs a sizing sweep of `run` over `sizes` to the end and returns it.
    pub async fn sweep(&self, run: &poollab_shared::RunSpec, sizes: &[u32]) -> poollab_shared::SweepView {
        let body = serde_json::json!({ "run": run, "sizes": sizes });
        let resp = self.http.post(self.url("/api/sweeps")).json(&body).send().await.expect("POST sweep");
        assert_eq!(resp.status().as_u16(), 202, "sweep refused");
        let id = resp.json::<Value>().await.expect("JSON")["id"].as_str().expect("id").to_owned();
        let started = Instant::now();
        loop {
            let (_, view) = self.get(&format!("/api/sweeps/{id}")).await;
            let view: poollab_shared::SweepView = serde_json::from_value(view).expect("sweep JSON");
            if view.done {
                return view;
            }
            assert!(started.elapsed() < Duration::from_secs(300), "sweep {id} never finished");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs a spec to the end and returns it.
    pub async fn run(&self, spec: Value) -> RunView {
        let id = self.start_run(spec).await;
        self.finished(&id).await
    }

    /// Shuts the lab down as Ctrl-C would, and waits for it (PostgreSQL included).
    pub async fn stop(self) {
        self.trigger.fire();
        let _ = self.served.await;
    }
}

/// A learner: a browser-like client that keeps the cookie the lab gives it.
pub struct Learner {
    pub http: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    base: String,
}

impl TestApp {
    /// A new learner, already known to the lab (it holds the lab's signed cookie).
    pub async fn learner(&self) -> Learner {
        learner_of(&self.base).await
    }
}

/// A new learner of the lab at `base`.
pub async fn learner_of(base: &str) -> Learner {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder().cookie_provider(jar.clone()).build().expect("client");
    let resp = http.get(format!("{base}/api/class")).send().await.expect("GET /api/class");
    assert!(resp.headers().contains_key("set-cookie"), "a new browser is given its learner cookie");
    Learner { http, jar, base: base.to_owned() }
}

impl Learner {
    /// The `Cookie` header this learner's browser sends.
    pub fn cookie(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("url");
        self.jar.cookies(&url).and_then(|h| h.to_str().ok().map(str::to_owned)).unwrap_or_default()
    }

    /// A websocket to the lab, from this learner's browser (its cookie goes along).
    pub async fn websocket(&self) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/ws", self.base.replace("http://", "ws://"));
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("cookie", self.cookie().parse().expect("cookie header"));
        tokio_tungstenite::connect_async(request).await.expect("ws").0
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// Whether any process still has `needle` in its command line (e.g. a data directory).
pub fn process_with_arg(needle: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        String::from_utf8_lossy(&cmdline).contains(needle).then_some(pid)
    })
}

/// The effective uid of a process, from /proc.
pub fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("Uid:"))?.split_whitespace().nth(2)?.parse().ok()
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads the websocket until run `id` ends (done or failed), handing each of its frames to
/// `on_frame`; returns the run as the last update described it.
pub async fn follow_run(ws: &mut Ws, id: &str, mut on_frame: impl FnMut(&poollab_shared::Frame)) -> RunView {
    use futures_util::StreamExt;
    use poollab_shared::ServerMessage;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        match serde_json::from_str::<ServerMessage>(&text).expect("valid message") {
            ServerMessage::Frame(f) if f.run_id.as_deref() == Some(id) => on_frame(&f),
            ServerMessage::Run(r) if r.id == id && matches!(r.state, RunState::Done | RunState::Failed) => return r,
            _ => {}
        }
    }
}
