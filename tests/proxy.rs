//! The lab behind a real Caddy (Debian's package, with the repository's `deploy/Caddyfile`): HTTPS
//! for a class.
//!
//! Caddy terminates TLS with a certificate from its own authority (`tls internal`), whose root
//! these clients trust, read from Caddy's storage (a temp dir); it proxies to a lab started with
//! `--trusted-proxy 127.0.0.1`. Clients dial from different loopback addresses (127.0.0.x), so
//! Caddy forwards different clients, and the lab's per-address limits must tell them apart; a
//! client that reaches the lab directly cannot choose its address with a header.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use poollab_shared::{RunState, ServerMessage};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// Caddy in front of the lab, on free ports, with its state in a temp dir; stopped when dropped.
struct Caddy {
    _child: tokio::process::Child,
    dir: TempDir,
    port: u16,
    tls: TlsConnector,
}

/// Whether Caddy can run here: installed, or installed now from Debian's package (as `./lab
/// test` does).
fn caddy_available() -> bool {
    let runs = || std::process::Command::new("caddy").arg("version").output().is_ok_and(|o| o.status.success());
    if runs() {
        return true;
    }
    eprintln!("caddy is not installed: trying Debian's package (apt-get install caddy)");
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status()
    };
    let _ = apt(&["update", "-qq"]);
    let _ = apt(&["install", "-y", "-qq", "caddy"]);
    runs()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A TCP connection to `port` on 127.0.0.1 from the loopback address `from`: another client.
/// Refused while nothing listens there yet (Caddy writes its root certificate before it binds
/// its HTTPS port: a CI run dialled between the two).
async fn dial(from: [u8; 4], port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((from, 0))).expect("bind a loopback source address");
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// TLS that trusts only the authority whose root certificate is at `root` (none until Caddy has
/// written it whole).
fn trusting(root: &Path) -> Option<TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(root).ok()? {
        roots.add(cert.ok()?).ok()?;
    }
    if roots.is_empty() {
        return None;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(TlsConnector::from(Arc::new(config)))
}

impl Caddy {
    /// Starts Caddy with `deploy/Caddyfile` in front of the lab on `upstream`, and waits until it
    /// answers over HTTPS.
    async fn start(upstream: u16) -> Caddy {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, http_port) = (free_port(), free_port());
        let caddyfile = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/Caddyfile");
        let log = std::fs::File::create(dir.path().join("caddy.log")).expect("log file");
        let child = tokio::process::Command::new("caddy")
            .arg("run")
            .arg("--config")
            .arg(&caddyfile)
            .args(["--adapter", "caddyfile"])
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("POOLLAB_SITE", "localhost")
            .env("POOLLAB_TLS", "internal")
            .env("POOLLAB_UPSTREAM", format!("127.0.0.1:{upstream}"))
            .env("POOLLAB_HTTPS_PORT", port.to_string())
            .env("POOLLAB_HTTP_PORT", http_port.to_string())
            .env_remove("POOLLAB_CADDY_ADMIN")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("caddy starts");
        let root = dir.path().join("data/caddy/pki/authorities/local/root.crt");
        let started = Instant::now();
        let tls = loop {
            if let Some(tls) = trusting(&root) {
                break tls;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "Caddy made no root certificate in {}",
                root.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let caddy = Caddy { _child: child, dir, port, tls };
        while caddy.try_get("/healthz").await != Some(200) {
            assert!(started.elapsed() < Duration::from_secs(30), "Caddy never answered: {}", caddy.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        caddy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    /// TLS to Caddy from `from`, checking its certificate for `localhost`.
    async fn tls(&self, from: [u8; 4]) -> std::io::Result<TlsStream<TcpStream>> {
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        self.tls.connect(name, dial(from, self.port).await?).await
    }

    async fn try_get(&self, path: &str) -> Option<u16> {
        let tls = self.tls([127, 0, 0, 1]).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.ok()?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header("host", format!("localhost:{}", self.port))
            .body(Full::new(Bytes::new()))
            .ok()?;
        Some(sender.send_request(req).await.ok()?.status().as_u16())
    }

    /// One HTTPS request through Caddy from the client at `from`.
    async fn https(
        &self,
        from: [u8; 4],
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let tls = self.tls(from).await.expect("TLS with a certificate of Caddy's authority");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("HTTP/1.1");
        tokio::spawn(conn);
        let mut req =
            hyper::Request::builder().method(method).uri(path).header("host", format!("localhost:{}", self.port));
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        let body = match body {
            Some(json) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(json.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = sender.send_request(req.body(body).expect("request")).await.expect("an answer");
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.expect("the body").to_bytes();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// A websocket through Caddy (`wss://`) from the client at `from`, as a page of the lab opens
    /// it; the refusal's status if the lab refuses it.
    async fn wss(&self, from: [u8; 4], cookie: Option<&str>) -> Result<WebSocketStream<TlsStream<TcpStream>>, u16> {
        let tls = self.tls(from).await.expect("TLS");
        let mut request = format!("wss://localhost:{}/ws", self.port).into_client_request().expect("request");
        let headers = request.headers_mut();
        headers.insert("origin", format!("https://localhost:{}", self.port).parse().expect("origin"));
        if let Some(cookie) = cookie {
            headers.insert("cookie", cookie.parse().expect("cookie"));
        }
        opened(tokio_tungstenite::client_async(request, tls).await)
    }
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn opened<S>(
    result: Result<(WebSocketStream<S>, tungstenite::handshake::client::Response), tungstenite::Error>,
) -> Result<WebSocketStream<S>, u16> {
    match result {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("the websocket handshake failed: {e}"),
    }
}

/// A websocket straight to the lab (around Caddy) from `from`, with a forged `X-Forwarded-For`.
async fn ws_around(lab_port: u16, from: [u8; 4], forwarded_for: &str) -> Result<WebSocketStream<TcpStream>, u16> {
    let tcp = dial(from, lab_port).await.expect("connect to the lab");
    let mut request = format!("ws://127.0.0.1:{lab_port}/ws").into_client_request().expect("request");
    request.headers_mut().insert("x-forwarded-for", forwarded_for.parse().expect("header"));
    opened(tokio_tungstenite::client_async(request, tcp).await)
}

/// A plain HTTP request straight to the lab from `from`, with the headers a proxy would add.
async fn http_around(lab_port: u16, from: [u8; 4], path: &str, headers: &[(&str, &str)]) -> Answer {
    let tcp = dial(from, lab_port).await.expect("connect to the lab");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("HTTP/1.1");
    tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("host", format!("127.0.0.1:{lab_port}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = sender.send_request(req.body(Full::new(Bytes::new())).expect("request")).await.expect("an answer");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.expect("the body").to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// The `name=value` part of a `Set-Cookie`.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

const ANN: [u8; 4] = [127, 0, 0, 3];
const BOB: [u8; 4] = [127, 0, 0, 4];
const AROUND: [u8; 4] = [127, 0, 0, 2];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_class_over_https_behind_caddy_counts_each_forwarded_client_as_its_own_address() {
    if !caddy_available() {
        eprintln!(
            "SKIPPED: caddy is not installed and Debian's package could not be installed (apt-get install caddy)"
        );
        return;
    }
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    cfg.trusted_proxy = vec![poollab::web::client::parse_proxy("127.0.0.1").expect("an address")];
    // One socket per address: whose address a socket counts against is what is tested.
    cfg.max_sockets_per_address = 1;
    let app = support::spawn_with(cfg, dir).await;
    let lab_port: u16 = app.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the lab's port");
    let caddy = Caddy::start(lab_port).await;

    // The page and the API over HTTPS; a new browser's learner cookie is Secure there.
    let page = caddy.https(ANN, "GET", "/", None, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.header("content-type").starts_with("text/html"), "{}", page.header("content-type"));
    let lessons = caddy.https(ANN, "GET", "/api/lessons", None, None).await;
    assert_eq!(lessons.status, 200, "{}", lessons.body);
    assert!(lessons.json().as_array().is_some_and(|l| !l.is_empty()), "the course, over HTTPS");
    let set_cookie = lessons.header("set-cookie");
    assert!(set_cookie.starts_with("poollab_learner="), "{set_cookie}");
    assert!(set_cookie.contains("; Secure") && set_cookie.contains("HttpOnly"), "{set_cookie}");
    let ann = cookie_pair(&set_cookie);

    // Over plain HTTP the cookie is not Secure (the browser would never send it back), and a
    // client around Caddy cannot claim HTTPS.
    let plain = http_around(lab_port, [127, 0, 0, 1], "/api/class", &[]).await;
    assert!(!plain.header("set-cookie").contains("Secure"), "{}", plain.header("set-cookie"));
    let forged = http_around(lab_port, AROUND, "/api/class", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(forged.status, 200);
    assert!(!forged.header("set-cookie").contains("Secure"), "{}", forged.header("set-cookie"));

    // Ann's page opens its websocket through Caddy and watches her run to the end over it.
    let mut ann_ws = caddy.wss(ANN, Some(&ann)).await.expect("a websocket through Caddy");
    let run =
        caddy.https(ANN, "POST", "/api/runs", Some(&ann), Some(json!({ "strategy": "pooled", "requests": 20 }))).await;
    assert_eq!(run.status, 202, "{}", run.body);
    let id = run.json()["id"].as_str().expect("id").to_owned();
    let (mut frames, started) = (0, Instant::now());
    loop {
        assert!(started.elapsed() < Duration::from_secs(60), "the run never ended on the socket");
        let msg = tokio::time::timeout(Duration::from_secs(30), ann_ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        match serde_json::from_str::<ServerMessage>(&text).expect("a message of the lab") {
            ServerMessage::Frame(f) if f.run_id.as_deref() == Some(id.as_str()) => frames += 1,
            ServerMessage::Run(r) if r.id == id && matches!(r.state, RunState::Done | RunState::Failed) => {
                assert_eq!(r.state, RunState::Done, "{r:?}");
                break;
            }
            _ => {}
        }
    }
    assert!(frames > 0, "the run's frames came through Caddy");

    // Each client Caddy forwards is its own address: ann holds her address's one socket, so her
    // second is refused, and bob, from another address behind the same Caddy, gets his.
    assert_eq!(caddy.wss(ANN, Some(&ann)).await.err(), Some(429), "ann's address holds its one socket");
    let bob_ws = caddy.wss(BOB, None).await.expect("bob's address is another address");

    // Around Caddy, X-Forwarded-For is not believed: two sockets from one address with two forged
    // clients are one address's two sockets.
    let around = ws_around(lab_port, AROUND, "198.51.100.1").await.expect("one socket");
    assert_eq!(
        ws_around(lab_port, AROUND, "198.51.100.2").await.err(),
        Some(429),
        "a forged X-Forwarded-For from an untrusted peer is ignored"
    );
    drop((ann_ws, bob_ws, around));
    drop(caddy);
    app.stop().await;
}
