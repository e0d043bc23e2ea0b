//! The lab over real HTTP and websockets, against real private PostgreSQL clusters.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poollab_shared::{RunState, ServerMessage};
use serde_json::json;
use support::spawn_app;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_naive_burst_opens_a_server_backend_per_request() {
    let app = spawn_app(100).await;
    // Each request holds its connection for 500 ms of database work, as a slow request would.
    let run = app
        .run(json!({ "strategy": "naive", "requests": 60, "concurrency": 60,
                     "work": { "query": "sleep", "sleep_ms": 500 } }))
        .await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 60, "{s:?}");
    assert_eq!(s.connections_opened, 60, "one real connect per request: {s:?}");
    assert!(
        s.peak_server_connections >= 40,
        "pg_stat_activity saw only {} backends at once",
        s.peak_server_connections
    );
    assert_eq!(s.peak_pool_size, 0);
    assert!(s.latency_ms.p50 > 0.0 && s.latency_ms.p50 <= s.latency_ms.p99 && s.latency_ms.p99 <= s.latency_ms.max);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_of_five_never_shows_more_than_five_app_connections() {
    let app = spawn_app(100).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({
            "strategy": "pooled", "requests": 200, "concurrency": 50,
            "pool": { "max_connections": 5 }, "work": { "query": "sleep", "sleep_ms": 20 }
        }))
        .await;
    let (mut frames, mut most_waiters, mut longest_wait) = (0, 0, 0);
    let run = support::follow_run(&mut ws, &id, |f| {
        frames += 1;
        assert!(f.server.run_backends <= 5, "server showed {} pool backends", f.server.run_backends);
        let pool = f.pool.expect("a pooled run's frames show the pool");
        assert!(pool.size <= 5 && pool.in_use <= pool.size, "{pool:?}");
        most_waiters = most_waiters.max(pool.waiters);
        longest_wait = longest_wait.max(pool.oldest_wait_ms);
    })
    .await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!((s.completed, s.failed), (200, 0), "{s:?}");
    assert!(s.peak_server_connections >= 1 && s.peak_server_connections <= 5, "{s:?}");
    assert!(s.peak_pool_size <= 5 && s.connections_opened <= 5, "{s:?}");
    assert!(frames >= 2, "only {frames} frames during the run");
    assert!(most_waiters > 0, "50 concurrent requests on 5 connections must wait in line");
    assert!(longest_wait > 0, "frames show how long the oldest waiter has waited");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_naive_burst_past_max_connections_meets_too_many_clients_and_the_lab_keeps_working() {
    let app = spawn_app(20).await;
    let run = app
        // Each holds its connection 3 s, longer than the connects take even with this binary's
        // other tests on the same cores, so the ones let in are on the server together.
        .run(json!({ "strategy": "naive", "requests": 120, "concurrency": 120,
                     "work": { "query": "sleep", "sleep_ms": 3000 } }))
        .await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert!(s.errors.too_many_clients > 0, "no too_many_clients: {s:?}");
    assert_eq!(s.completed + s.failed, 120, "{s:?}");
    assert!(s.completed > 0, "{s:?}");
    // The server is full only for the app role: the sampler's reserved slot kept looking, and
    // saw every connection that got in. (How many get in is the server's race: 120 backends
    // authenticate at once, each holding a slot, and those that find the app's slots gone by
    // then are refused.)
    assert!(s.peak_server_connections >= s.completed, "{s:?}");

    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health["database"].as_str()), (200, Some("up")));
    // The next run meets a server the burst has left: every backend of the burst is gone.
    let run = app.run(json!({ "strategy": "pooled", "requests": 50, "concurrency": 50 })).await;
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 50, "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn websocket_frames_add_up_to_the_runs_summary() {
    let app = spawn_app(100).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let first = ws.next().await.expect("hello").expect("ok");
    assert!(first.to_text().expect("text").contains(r#""type":"hello""#));

    let id = app.start_run(json!({ "strategy": "naive", "requests": 80, "concurrency": 20 })).await;
    let (mut completed, mut failed, mut connects, mut closes, mut last_seq) = (0, 0, 0, 0, None::<u64>);
    let mut peak = 0;
    let mut states = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next()).await.expect("a message").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        match serde_json::from_str::<ServerMessage>(&text).expect("valid message") {
            ServerMessage::Frame(f) => {
                if let Some(prev) = last_seq {
                    assert_eq!(f.seq, prev + 1, "frames arrive in order, none lost");
                }
                last_seq = Some(f.seq);
                if f.run_id.as_deref() == Some(id.as_str()) {
                    completed += f.app.completed_delta;
                    failed += f.app.failed_delta;
                    connects += f.app.connects_delta;
                    closes += f.app.closes_delta;
                    peak = peak.max(f.server.run_backends_peak);
                    assert!(f.server.run_backends_peak >= f.server.run_backends, "{:?}", f.server);
                }
            }
            ServerMessage::Run(r) if r.id == id => {
                states.push(r.state);
                if r.state == RunState::Done {
                    let s = r.summary.expect("summary");
                    assert_eq!((completed, failed, connects), (s.completed, s.failed, s.connections_opened));
                    assert_eq!(s.completed, 80);
                    assert_eq!(closes, connects, "every naive connection was closed, and the frames say so");
                    assert_eq!(peak, s.peak_server_connections, "the frames carry the peak the summary has");
                    break;
                }
            }
            _ => {}
        }
    }
    // A queued run may be announced again as it moves up the line; and a run a free worker takes
    // at once can be running by the time its submission reads it back to announce it (the page
    // keeps a run from going back, and the contract says states only move forward).
    states.dedup();
    assert!(
        states == [RunState::Queued, RunState::Running, RunState::Done]
            || states == [RunState::Running, RunState::Done],
        "{states:?}"
    );

    // Unknown messages get an error answer and the socket stays usable.
    ws.send(Message::Text(r#"{"type":"shout"}"#.into())).await.expect("send");
    ws.send(Message::Text("not json".into())).await.expect("send");
    ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await.expect("send");
    let mut answers = Vec::new();
    while answers.len() < 3 {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("answer").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        match serde_json::from_str::<ServerMessage>(&text).expect("valid") {
            ServerMessage::Frame(_) => {}
            other => answers.push(other),
        }
    }
    assert!(matches!(answers[0], ServerMessage::Error { .. }) && matches!(answers[1], ServerMessage::Error { .. }));
    assert_eq!(answers[2], ServerMessage::Pong);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_run_specs_get_a_4xx_that_names_the_field() {
    let app = spawn_app(50).await;
    let cases: &[(&str, u16, &str)] = &[
        (r#"{"strategy":"naive","requests":0}"#, 422, "requests must be between 1 and 10000"),
        (r#"{"strategy":"naive","requests":10001}"#, 422, "requests must be between 1 and 10000"),
        (r#"{"strategy":"naive","concurrency":5000}"#, 422, "concurrency must be between 1 and 1000"),
        (
            r#"{"strategy":"pooled","pool":{"max_connections":0}}"#,
            422,
            "pool.max_connections must be between 1 and 500",
        ),
        (r#"{"strategy":"pooled","pool":{"acquire_timeout_ms":0}}"#, 422, "pool.acquire_timeout_ms"),
        (r#"{"strategy":"naive","work":{"query":"sleep","sleep_ms":60000}}"#, 422, "work.sleep_ms"),
        (r#"{"strategy":"naive","requests":-5}"#, 422, "requests"),
        (r#"{"strategy":"warp"}"#, 422, "unknown variant `warp`"),
        (r#"{"strategy":"naive","request":5}"#, 422, "unknown field `request`"),
        (r#"{"requests":5}"#, 422, "missing field `strategy`"),
        (r#"{"strategy":"naive""#, 400, "EOF"),
        ("this is not json", 400, "expected"),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = app.post_run(body).await;
        let message = answer["error"].as_str().unwrap_or_default();
        assert_eq!(got, *status, "{body} -> {answer}");
        assert!(message.contains(needle), "{body} -> {message:?} should mention {needle:?}");
    }

    // Wrong content type, oversized body, unknown run.
    let resp = app.http.post(app.url("/api/runs")).body(r#"{"strategy":"naive"}"#).send().await.expect("POST");
    assert_eq!(resp.status().as_u16(), 415);
    // On a client of its own: the server answers 413 before reading the whole body and then
    // closes that connection, which a shared client would try to reuse.
    let huge = format!(r#"{{"strategy":"naive","pad":"{}"}}"#, "x".repeat(64 * 1024));
    let resp = reqwest::Client::new()
        .post(app.url("/api/runs"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 413);
    let (status, answer) = app.get("/api/runs/does-not-exist").await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("no run"));

    // None of it hurt the lab.
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200);
    let (status, runs) = app.get("/api/runs").await;
    assert_eq!((status, runs.as_array().map(Vec::len)), (200, Some(0)), "no bad spec became a run");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn demo_endpoints_answer_with_a_real_row_and_metrics_count_them() {
    // The test lab hosts a class (it has an instructor): the demo is on only with --demo.
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    cfg.demo = true;
    let app = support::spawn_with(cfg, dir).await;
    for path in ["/demo/naive", "/demo/pooled", "/demo/pooled"] {
        let (status, row) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {row}");
        assert!(row["id"].as_i64().is_some() && row["email"].as_str().is_some_and(|e| e.contains('@')), "{row}");
    }
    let text = app.http.get(app.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(text.contains(r#"poollab_demo_requests_total{strategy="naive",outcome="ok"} 1"#), "{text}");
    assert!(text.contains(r#"poollab_demo_requests_total{strategy="pooled",outcome="ok"} 2"#), "{text}");
    // Each worker's server is labelled with the worker (here the one built into the lab).
    assert!(text.contains(r#"poollab_server_max_connections{worker="built-in"} 50"#), "{text}");
    assert!(text.contains(r#"poollab_pool_connections{state="idle"}"#), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_database_goes_down_the_lab_says_so_and_recovers_when_it_is_back() {
    use poollab::db::cluster::{ClusterOptions, PrivateCluster};
    let dir = support::lab_dir();
    let cluster_opts = ClusterOptions {
        dir: dir.path().join("db"),
        bin_dir: None,
        port: 0,
        max_connections: 50,
        tls_only: false,
        tls: true,
    };
    let cluster = PrivateCluster::start(cluster_opts.clone()).await.expect("cluster");
    let port = cluster.port();
    let mut cfg = support::config(&dir, 50);
    cfg.database.database_url = Some(cluster.admin_url());
    cfg.demo = true;
    let app = support::spawn_with(cfg, support::lab_dir()).await;
    assert!(app.pg_pid.is_none(), "with DATABASE_URL the lab starts no cluster of its own");
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200);
    // Requests at once make the shared demo pool open several connections, all of which the
    // outage will kill.
    let before = futures_util::future::join_all((0..5).map(|_| app.get("/demo/pooled"))).await;
    assert!(before.iter().all(|(status, _)| *status == 200), "{before:?}");

    drop(cluster); // the server goes away

    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health["database"].as_str()), (503, Some("down")), "{health}");
    let (status, answer) = app.get("/demo/naive").await;
    assert_eq!((status, answer["kind"].as_str()), (503, Some("database_down")), "{answer}");
    let (status, answer) = app.get("/demo/pooled").await;
    assert_eq!(status, 503, "{answer}");
    // The line lives in that database too: a run cannot even join it, and says why.
    let (status, answer) = app.post_run(&json!({ "strategy": "naive", "requests": 10 }).to_string()).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("unreachable"), "{answer}");

    // The server comes back on the same port: the lab recovers without a restart.
    let _cluster = PrivateCluster::start(ClusterOptions { port, ..cluster_opts }).await.expect("restart");
    let mut healthy = false;
    for _ in 0..50 {
        if app.get("/healthz").await.0 == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healthy, "/healthz never came back");
    // Its dead connections were idle for more than a second, so each is pinged, found dead and
    // replaced: every request after the outage succeeds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..5 {
        let (status, answer) = app.get("/demo/pooled").await;
        assert_eq!(status, 200, "{answer}");
    }
    let run = app.run(json!({ "strategy": "naive", "requests": 10 })).await;
    assert_eq!(run.summary.expect("summary").completed, 10);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_acquire_timeout_fails_fast_when_the_pool_is_busy() {
    let app = spawn_app(50).await;
    // Two connections, each held 400 ms, twenty requests at once, 100 ms patience.
    let run = app
        .run(json!({ "strategy": "pooled", "requests": 20, "concurrency": 20,
                     "pool": { "max_connections": 2, "acquire_timeout_ms": 100 },
                     "work": { "query": "sleep", "sleep_ms": 400 } }))
        .await;
    let s = run.summary.expect("summary");
    assert!(s.errors.acquire_timeout >= 10, "most requests give up quickly: {s:?}");
    assert_eq!(s.completed + s.errors.acquire_timeout, 20, "{s:?}");
    assert!(s.completed >= 2, "the ones that got a connection finished: {s:?}");
    // They gave up after ~100 ms of waiting instead of queueing for seconds.
    assert!(s.acquire_wait_ms.p50 < 400.0, "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warm_pool_has_its_connections_before_the_burst_and_time_is_split_by_phase() {
    let app = spawn_app(50).await;
    let run = app
        .run(json!({ "strategy": "pooled", "requests": 4, "concurrency": 1,
                     "pool": { "max_connections": 8, "min_connections": 6 },
                     "work": { "query": "sleep", "sleep_ms": 20 } }))
        .await;
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 4);
    // One request at a time needs one connection; the other five were opened up front.
    assert!(s.connections_opened >= 6 && s.peak_pool_size >= 6, "{s:?}");
    assert!(s.query_ms.p50 >= 20.0, "the query slept 20 ms on the server: {s:?}");
    assert_eq!(s.connect_ms.max, 0.0, "pooled requests do not connect themselves");

    let run = app.run(json!({ "strategy": "naive", "requests": 5, "concurrency": 1 })).await;
    let s = run.summary.expect("summary");
    assert!(s.connect_ms.p50 > 0.0, "a naive request pays for its own connect: {s:?}");
    assert!(s.latency_ms.p50 >= s.connect_ms.p50, "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_lifetime_recycles_connections_and_frames_show_the_closes() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    // Connections may live 100 ms; the run lasts well over a second.
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 150, "concurrency": 10,
                           "pool": { "max_connections": 5, "max_lifetime_ms": 100 },
                           "work": { "query": "sleep", "sleep_ms": 30 } }))
        .await;
    let mut closes = 0;
    let run = support::follow_run(&mut ws, &id, |f| closes += f.app.closes_delta).await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 150, "{s:?}");
    assert!(s.connections_opened > 5, "old connections were replaced by new ones: {s:?}");
    assert!(closes > 0, "frames showed the pool retiring connections");
    // The pool never holds more than its size, however often it renews its connections.
    assert!(s.peak_pool_size <= 5 && s.peak_in_use <= 5, "{s:?}");
    // The server may list a retired connection's backend for the moment it takes to exit, beside
    // its replacement (a fresh clone's CI read 6): never more than one extra per connection.
    assert!(s.peak_server_connections <= 2 * 5, "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leak_drains_the_pool_and_the_detector_names_the_requests_that_hold_connections() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    // Every fourth request (3, 7, 11, ...) keeps its connection; four connections in all.
    let leaky = json!({ "strategy": "pooled", "requests": 40, "concurrency": 4,
        "pool": { "max_connections": 4, "acquire_timeout_ms": 300 },
        "work": { "query": "sleep", "sleep_ms": 10 },
        "leak": { "percent": 25, "detect_after_ms": 100 } });
    let id = app.start_run(leaky.clone()).await;
    let mut named = std::collections::BTreeSet::new();
    let mut drained = false;
    let run = support::follow_run(&mut ws, &id, |f| {
        named.extend(f.app.held_too_long.iter().map(|h| h.request));
        let pool = f.pool.expect("pool");
        drained |= pool.size == 4 && pool.idle == 0 && f.app.held_too_long_count == 4;
    })
    .await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!(s.leaked, 4, "the pool had four connections to lose: {s:?}");
    assert!(s.errors.acquire_timeout > 0, "once drained, everyone else times out: {s:?}");
    assert_eq!(s.leak_suspects, 4, "{s:?}");
    assert_eq!(named, [3, 7, 11, 15].into(), "the detector names exactly the leaking requests");
    assert!(drained, "a frame showed the pool full of leaked connections");

    // The same run without the bug: every connection comes back, every request completes.
    let mut fixed = leaky;
    fixed["leak"]["percent"] = json!(0);
    let s = app.run(fixed).await.summary.expect("summary");
    assert_eq!((s.completed, s.failed, s.leaked, s.leak_suspects), (40, 0, 0, 0), "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_is_served_from_the_binary_itself() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 20);
    cfg.static_dir = None;
    let app = support::spawn_with(cfg, dir).await;
    let resp = app.http.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(resp.status().as_u16(), 200, "run `./lab test`, which builds the page first");
    assert!(resp.headers()["content-type"].to_str().unwrap_or("").starts_with("text/html"));
    let html = resp.text().await.expect("html");
    assert!(html.contains("<title>Pool Lab"), "{html}");
    // The wasm the page loads comes from the binary too, with the type browsers insist on.
    let wasm = attribute_values(&html).find(|s| s.ends_with("_bg.wasm")).expect("index.html names its wasm").to_owned();
    let wasm_url = app.url(&format!("/{}", wasm.trim_start_matches('/')));
    let resp = app.http.get(&wasm_url).send().await.expect("GET wasm");
    assert_eq!(resp.status().as_u16(), 200, "{wasm}");
    assert_eq!(resp.headers()["content-type"], "application/wasm");
    let plain = resp.bytes().await.expect("wasm");
    assert!(plain.starts_with(b"\0asm"), "a client that does not ask for gzip gets the wasm as is");
    // A client that takes gzip only gets the gzip twin the build made, a third of the bytes.
    let resp = app.http.get(&wasm_url).header("accept-encoding", "gzip").send().await.expect("GET wasm, gzip");
    assert_eq!(resp.headers().get("content-encoding").map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert_eq!(resp.headers()["content-type"], "application/wasm");
    assert_eq!(resp.headers()["vary"], "accept-encoding");
    let gzipped = resp.bytes().await.expect("gzipped wasm");
    assert!(gzipped.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(gzipped.len() * 2 < plain.len(), "{} gzipped vs {} plain", gzipped.len(), plain.len());
    // Browsers take brotli too, and get the brotli twin, smaller still.
    let resp = app.http.get(&wasm_url).header("accept-encoding", "gzip, deflate, br, zstd").send().await.expect("GET");
    assert_eq!(resp.headers().get("content-encoding").map(|v| v.as_bytes()), Some(&b"br"[..]));
    let brotli = resp.bytes().await.expect("brotli wasm");
    let built =
        std::fs::read(support::dist().join(format!("{}.br", wasm.trim_start_matches('/')))).expect("the .br twin");
    assert_eq!(brotli.as_ref(), built.as_slice(), "the twin the build made");
    assert!(brotli.len() < gzipped.len(), "{} brotli vs {} gzip", brotli.len(), gzipped.len());
    let resp = app.http.get(app.url("/api/lessons")).header("accept-encoding", "gzip").send().await.expect("GET");
    assert!(resp.headers().get("content-encoding").is_none(), "the API is not compressed");
    // The glossary is a page of its own, which the lessons' words link to (and never stale).
    let resp = app.http.get(app.url("/words.html")).send().await.expect("GET");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let words = resp.text().await.expect("html");
    assert!(words.contains(r#"<dt id="w-p99">"#) && words.contains("test_before_acquire"), "{words}");
    // Any other path is the page (its own routes live after '#'); /instructor/ is the instructor's
    // page, whose own files come from under it.
    let resp = app.http.get(app.url("/lesson/whatever")).send().await.expect("GET");
    assert!(resp.text().await.expect("html").contains("<title>Pool Lab: database"));
    let resp = app.http.get(app.url("/instructor/")).send().await.expect("GET");
    let html = resp.text().await.expect("html");
    assert!(html.contains("<title>Pool Lab: instructor"), "{html}");
    let wasm = attribute_values(&html).find(|s| s.ends_with("_bg.wasm")).expect("its wasm").to_owned();
    assert!(wasm.starts_with("/instructor/poollab-instructor-"), "{wasm}");
    let resp = app.http.get(app.url(&wasm)).send().await.expect("GET");
    assert_eq!(resp.headers()["content-type"], "application/wasm");
    app.stop().await;
}

/// A script that misspells a route hears so: any path under /api/ that no route serves, with any
/// method, is a JSON 404 naming the method and path, whether the page is embedded or served from a
/// folder; page paths still get the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_api_route_is_a_json_404_and_page_paths_still_serve_the_page() {
    for embedded in [true, false] {
        let dir = support::lab_dir();
        let mut cfg = support::config(&dir, 20);
        if embedded {
            cfg.static_dir = None;
        }
        let app = support::spawn_with(cfg, dir).await;
        let cases = [
            (reqwest::Method::POST, "/api/run"),
            (reqwest::Method::GET, "/api/nothing/here"),
            (reqwest::Method::DELETE, "/api/class/nope"),
            (reqwest::Method::GET, "/api/runs/some-id/nope"),
            (reqwest::Method::PUT, "/api"),
            (reqwest::Method::GET, "/api/"),
        ];
        for (method, path) in cases {
            let resp = app
                .http
                .request(method.clone(), app.url(&format!("{path}?x=1")))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            assert!(
                resp.headers()["content-type"].to_str().unwrap_or("").starts_with("application/json"),
                "{method} {path} (embedded page: {embedded})"
            );
            let body: serde_json::Value = resp.json().await.expect("a JSON body");
            assert_eq!(status, 404, "{method} {path} (embedded page: {embedded}): {body}");
            assert_eq!(body, json!({ "error": format!("no such route: {method} {path}") }));
        }
        // Known routes and page paths are untouched.
        assert_eq!(app.get("/api/lessons").await.0, 200);
        for path in ["/", "/lesson", "/lesson/whatever"] {
            let resp = app.http.get(app.url(path)).send().await.expect("GET");
            assert_eq!(resp.status().as_u16(), 200, "{path} (embedded page: {embedded})");
            assert!(resp.text().await.expect("html").contains("<title>Pool Lab"), "{path}");
        }
        app.stop().await;
    }
}

/// The values in a built page's HTML, quoted or not (Trunk minifies it: `href=/style-….css`, and
/// the script's `'/poollab-frontend-…_bg.wasm'`).
fn attribute_values(html: &str) -> impl Iterator<Item = &str> {
    html.split(|c: char| c == '"' || c == '\'' || c == '=' || c == '>' || c.is_whitespace()).filter(|s| !s.is_empty())
}

/// The page's weight: its wasm stays under 700 KB as built, and what a learner on a classroom's
/// Wi-Fi downloads (brotli, which every browser takes) stays under 217 KB. The build prints both, counted alike
/// (`frontend/compress.mjs`; README, "The page's weight").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_is_light_on_the_wire() {
    let app = support::spawn_app(20).await;
    let get = |path: String| {
        let req = app.http.get(app.url(&path)).header("accept-encoding", "gzip, deflate, br");
        async move { req.send().await.expect("GET").bytes().await.expect("body").len() }
    };
    let html = std::fs::read_to_string(support::dist().join("index.html")).expect("the page is built");
    let mut on_the_wire = get("/".into()).await;
    let assets: Vec<&str> = attribute_values(&html)
        .filter(|s| s.starts_with('/') && [".wasm", ".js", ".css"].iter().any(|e| s.ends_with(e)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(assets.iter().any(|a| a.ends_with(".wasm")) && assets.len() >= 3, "{assets:?}");
    for asset in &assets {
        on_the_wire += get((*asset).to_owned()).await;
    }
    let wasm = assets.iter().find(|a| a.ends_with(".wasm")).expect("a wasm");
    let wasm_size = std::fs::metadata(support::dist().join(wasm.trim_start_matches('/'))).expect("wasm").len();
    println!("page: {} KB on the wire, wasm {} KB as built", on_the_wire / 1024, wasm_size / 1024);
    assert!(on_the_wire <= 217 * 1024, "the page weighs {on_the_wire} bytes on the wire (budget 217 KB)");
    assert!(wasm_size <= 700 * 1024, "the wasm is {wasm_size} bytes (budget 700 KB)");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pool_knob_is_named_in_six_libraries_with_its_source() {
    let app = spawn_app(20).await;
    let (status, body) = app.get("/api/libraries").await;
    assert_eq!(status, 200);
    let libs: poollab_shared::Libraries = serde_json::from_value(body).expect("libraries");
    assert_eq!(libs.libraries, ["sqlx", "node-postgres", "HikariCP", "pgx", "psycopg_pool", "SQLAlchemy"]);
    assert_eq!(libs.knobs.len(), 7);
    let name =
        |knob: &str, lib: usize| libs.knob(knob).map(|k| (k.names[lib].name.clone(), k.names[lib].default.clone()));
    assert_eq!(name("pool-max", 0), Some(("max_connections".into(), "10".into())));
    assert_eq!(name("idle-timeout", 1), Some(("idleTimeoutMillis".into(), "10000 ms".into())));
    assert!(libs.knob("idle-timeout").is_some_and(|k| k.differs.contains("min_connections")));
    assert_eq!(libs.sources.len(), 6, "every library says where its names were read");

    let resp = app.http.get(app.url("/api/libraries/table")).send().await.expect("GET");
    assert!(resp.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));
    let html = resp.text().await.expect("body");
    assert_eq!(html.matches("<tr data-knob=").count(), 7);
    app.stop().await;
}

/// The issue's spec: twenty app instances, each warming a pool of 500 for up to a minute before
/// a single request. It held the only worker for twenty minutes; the budget refuses it now.
const TWENTY_WARM_POOLS: &str = r#"{"strategy":"pooled","requests":1,"instances":20,"pool":{"max_connections":500,"min_connections":500,"acquire_timeout_ms":60000}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_warm_up_cannot_fit_the_budget_is_refused_naming_its_fields() {
    let app = spawn_app(20).await;
    let (status, answer) = app.post_run(TWENTY_WARM_POOLS).await;
    assert_eq!(status, 422, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    for words in [
        "instances (20) x pool.acquire_timeout_ms (60000)",
        "pool.min_connections (500)",
        "budget of 120000 ms",
        "pool.acquire_timeout_ms between 1 and 6000",
    ] {
        assert!(message.contains(words), "{message:?} should say {words:?}");
    }

    // As a sweep, every size counts: it is refused at its first size, with the same reason.
    let run: serde_json::Value = serde_json::from_str(TWENTY_WARM_POOLS).expect("json");
    let resp = app
        .http
        .post(app.url("/api/sweeps"))
        .json(&json!({ "run": run, "sizes": [1, 10, 500] }))
        .send()
        .await
        .expect("POST sweep");
    assert_eq!(resp.status().as_u16(), 422);
    let answer: serde_json::Value = resp.json().await.expect("JSON");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(message.starts_with("run with pool.max_connections = 1: warming the pools"), "{message:?}");
    assert!(message.contains("instances (20) x pool.acquire_timeout_ms (60000)"), "{message:?}");

    let (status, runs) = app.get("/api/runs").await;
    assert_eq!((status, runs.as_array().map(Vec::len)), (200, Some(0)), "nothing was queued");
    app.stop().await;
}

/// Polls run `id` until it has left the line (its worker took it); returns when it was seen so.
async fn taken(app: &support::TestApp, id: &str) -> std::time::Instant {
    let asked = std::time::Instant::now();
    loop {
        let (status, run) = app.get(&format!("/api/runs/{id}")).await;
        assert_eq!(status, 200, "{run}");
        if run["state"] != "queued" {
            return std::time::Instant::now();
        }
        assert!(asked.elapsed() < Duration::from_secs(30), "run {id} never left the line: {run}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Cancels run `id` as the instructor; returns when the lab answered `202`.
async fn cancel(app: &support::TestApp, id: &str) -> std::time::Instant {
    let resp = app
        .http
        .post(app.url(&format!("/api/runs/{id}/cancel")))
        .bearer_auth(support::INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("POST cancel");
    assert_eq!(resp.status().as_u16(), 202, "the run was still going");
    std::time::Instant::now()
}

/// Starts `long`, queues a two-request naive run behind it, cancels `long` after `after`, and
/// checks what the instructor and the next learner see: `long` failed as cancelled, and the
/// worker took the next run within a second of the cancel's answer, and carried it out.
async fn cancel_frees_the_worker(app: &support::TestApp, long: serde_json::Value, after: Duration) {
    let long = app.start_run(long).await;
    taken(app, &long).await;
    let next = app.start_run(json!({ "strategy": "naive", "requests": 2, "concurrency": 2 })).await;
    tokio::time::sleep(after).await;
    let (_, run) = app.get(&format!("/api/runs/{next}")).await;
    assert_eq!(run["state"], "queued", "the next run waits behind the long one: {run}");

    let answered = cancel(app, &long).await;
    let freed = taken(app, &next).await.duration_since(answered);
    eprintln!("the worker took the next run {freed:?} after the cancel's answer");
    assert!(freed < Duration::from_secs(1), "the worker took the next run {freed:?} after the cancel");
    let run = app.finished(&long).await;
    assert_eq!(run.state, RunState::Failed, "{run:?}");
    assert!(run.error.as_deref().unwrap_or("").contains("cancelled by the instructor while it ran"), "{run:?}");
    let frames = app.timeline(&long).await.frames;
    assert!(!frames.is_empty(), "the cancelled run keeps the frames of what it did");
    assert!(frames.iter().all(|f| f.run_id.as_deref() == Some(long.as_str())), "only its own frames");
    let run = app.finished(&next).await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 2, "the cancelled run left the server room for the next: {s:?}");
    // The server as the next run ended: nothing of the cancelled run's connections is left on it
    // (its queries were ended, not left to sleep on).
    let last = app.timeline(&next).await.frames.pop().expect("the next run's frames");
    let left: u64 =
        last.server.by_application.iter().filter(|a| a.name.starts_with("poollab-pool")).map(|a| a.count).sum();
    assert_eq!(left, 0, "the cancelled run's backends are gone: {:?}", last.server.by_application);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_run_frees_its_worker_within_a_second() {
    let app = spawn_app(50).await;
    // Ten connections for 300 requests that each sleep 2 s on the server: about a minute of
    // work (its least, one wave of 2 s, is well within the budget). Cancelled in its first
    // wave, while ten queries sleep and 290 requests wait for a connection.
    let long = json!({ "strategy": "pooled", "requests": 300, "concurrency": 300,
                       "pool": { "max_connections": 10, "acquire_timeout_ms": 60000 },
                       "work": { "query": "sleep", "sleep_ms": 2000 } });
    cancel_frees_the_worker(&app, long, Duration::from_millis(1200)).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_cancelled_while_it_warms_its_pools_frees_its_worker_within_a_second() {
    let app = spawn_app(20).await;
    // Two pools of 100 to warm against a server that takes about 17 app connections: the
    // refused connects are retried until the acquire timeout, so the warm-up would last two
    // minutes, which the budget accepts (2 x 60 s).
    let warm = json!({ "strategy": "pooled", "requests": 1, "instances": 2,
                       "pool": { "max_connections": 100, "min_connections": 100, "acquire_timeout_ms": 60000 } });
    cancel_frees_the_worker(&app, warm, Duration::from_millis(1500)).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_without_tls_refuses_tls_runs_with_a_422_and_tells_the_page() {
    use poollab_shared::Lesson;

    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 30);
    cfg.database.pg_no_tls = true;
    let app = support::spawn_with(cfg, dir).await;

    // The page learns it from the server facts every frame carries.
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let facts = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a frame").expect("open");
        let Ok(Message::Text(text)) = msg else { continue };
        if let Ok(ServerMessage::Frame(f)) = serde_json::from_str::<ServerMessage>(&text) {
            break f.server.facts();
        }
    };
    assert_eq!(facts.tls, Some(false), "{facts:?}");
    assert!(facts.pgbouncer.is_some(), "the lab says whether it can start a PgBouncer: {facts:?}");

    // Lesson 1, step 3 needs TLS: the lab refuses its experiment rather than report failures.
    let (_, lessons) = app.get("/api/lessons").await;
    let lessons: Vec<Lesson> = serde_json::from_value(lessons).expect("lessons JSON");
    let tls_step = &lessons[0].steps[2];
    assert_eq!(facts.lacks(&tls_step.preset), Some(poollab_shared::Lack::Tls), "the page disables its Run");
    let preset = serde_json::to_string(&tls_step.preset).expect("preset JSON");
    for body in [r#"{"strategy":"naive","requests":5,"tls":"on"}"#, r#"{"strategy":"naive","tls":"both"}"#, &preset] {
        let (status, answer) = app.post_run(body).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains("offers no TLS"), "{body} -> {message}");
    }
    let sweep = json!({ "run": { "strategy": "pooled", "tls": "on" }, "sizes": [1, 2] });
    let resp = app.http.post(app.url("/api/sweeps")).json(&sweep).send().await.expect("POST sweep");
    assert_eq!(resp.status().as_u16(), 422, "a sweep that needs TLS is refused too");

    // Plain runs go on as ever; none of the refused ones became a run.
    let run = app.run(json!({ "strategy": "naive", "requests": 5, "tls": "off", "nodelay": "on" })).await;
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let s = run.summary.expect("summary");
    assert_eq!((s.completed, s.tls_connections), (5, 0), "{s:?}");
    let (_, runs) = app.get("/api/runs").await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    app.stop().await;
}

async fn translate(app: &support::TestApp, body: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = app.http.post(app.url("/api/your-pool/translate")).json(&body).send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_pool_config_becomes_a_run_spec_the_lab_runs_or_a_422_naming_its_line() {
    let app = spawn_app(50).await;
    let hikari = "jdbcUrl=jdbc:postgresql://db:5432/app\nmaximumPoolSize=20\nminimumIdle=5\nconnectionTimeout=5000\npoolSize=3\n";
    let (status, answer) = translate(&app, json!({"library": "HikariCP", "config": hikari})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["library"].as_str(), answer["syntax"].as_str()), (Some("HikariCP"), Some("properties")));
    let pool = &answer["spec"]["pool"];
    assert_eq!((pool["max_connections"].as_u64(), pool["min_connections"].as_u64()), (Some(20), Some(5)));
    assert_eq!(pool["acquire_timeout_ms"].as_u64(), Some(5_000));
    assert_eq!(answer["spec"]["strategy"], "pooled");
    assert_eq!(answer["unknown"], json!([{"key": "poolSize", "line": 5}]));
    let notes: Vec<&str> = answer["notes"].as_array().expect("notes").iter().filter_map(|n| n.as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("minimumIdle")), "{notes:?}");
    let paste = answer["paste"].as_str().unwrap_or_default();
    assert!(paste.contains("maximumPoolSize=20\nminimumIdle=5\nconnectionTimeout=5000"), "{paste}");

    // The spec is one the lab runs as it is.
    let id = app.start_run(answer["spec"].clone()).await;
    let run = app.finished(&id).await;
    assert_eq!(run.state, RunState::Done, "{:?}", run.error);

    // A default filled from the library's own: node-postgres waits forever, said in a note.
    let (status, answer) = translate(&app, json!({"library": "pg", "config": "new Pool({ max: 4 })"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["spec"]["pool"]["acquire_timeout_ms"].as_u64(), Some(60_000));
    assert!(answer["notes"].to_string().contains("wait forever"), "{answer}");

    // Broken snippets: 422 with the line and what was expected there.
    let yaml = "spring:\n  datasource:\n    hikari:\n      maximum-pool-size: 10\n     minimum-idle: 2\n";
    let cases = [
        (json!({"library": "HikariCP", "config": yaml}), Some(5), "YAML"),
        (
            json!({"library": "node-postgres", "config": "new Pool({\n  max: Number(process.env.MAX),\n})"}),
            Some(2),
            "a number",
        ),
        (
            json!({"library": "sqlx", "config": "PgPoolOptions::new()\n  .max_connections(ten)"}),
            Some(2),
            "a whole number",
        ),
        (json!({"library": "Django", "config": "CONN_MAX_AGE = 60"}), None, "HikariCP"),
    ];
    for (body, line, expected) in cases {
        let (status, answer) = translate(&app, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["line"].as_u64(), line, "{body} -> {answer}");
        assert!(answer["expected"].as_str().is_some_and(|e| e.contains(expected)), "{body} -> {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    let (status, answer) = translate(&app, json!({"library": "sqlx"})).await;
    assert_eq!(status, 422, "a missing config: {answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("config"), "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_pool_at_your_traffic_is_measured_by_a_sweep_around_it() {
    let app = spawn_app(50).await;
    let body = json!({
        "library": "HikariCP",
        "config": "spring.datasource.hikari.maximum-pool-size=2\nspring.datasource.hikari.minimum-idle=1\n",
        "deployment": {"instances": 2, "max_connections": 3},
        "traffic": {"requests_per_second": 20, "shape": "steady", "hold_ms": {"p50": 5, "p99": 40}, "target": {"p99_ms": 200, "error_rate": 0.01}}
    });
    let resp = app.http.post(app.url("/api/your-pool")).json(&body).send().await.expect("POST");
    let status = resp.status().as_u16();
    let answer: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["plan"]["sweep"]["sizes"], json!([1, 2, 3, 4]), "{answer}");
    assert_eq!(answer["plan"]["scale"], 1.0);
    let notes = answer["plan"]["notes"].to_string();
    assert!(notes.contains("2 × 2 = 4") && notes.contains("more than it allows"), "{notes}");
    assert!(notes.contains("median (5 ms) and p99 (40 ms)"), "{notes}");
    assert_eq!(answer["translation"]["syntax"], "spring properties");
    let own = answer["run"].as_str().expect("the run at the pool's own size").to_owned();
    assert_eq!(answer["runs"].as_array().map(Vec::len), Some(4));
    let run = app.finished(&own).await;
    assert_eq!(run.state, RunState::Done, "{:?}", run.error);
    assert_eq!((run.spec.instances, run.spec.pool.max_connections, run.spec.pool.min_connections), (2, 2, 1));
    assert_eq!((run.spec.work.sleep_ms, run.spec.load.rate_per_s, run.spec.requests), (5, 20, 200));
    // The p99 hold is played: its requests' queries spread from a few ms to tens of them.
    assert_eq!(run.spec.work.sleep_p99_ms, 40);
    let slowest = run.summary.as_ref().map_or(0.0, |s| s.query_ms.max);
    assert!(slowest > 20.0, "the slow tail of the holds was played: slowest query {slowest} ms");

    // The result has its own address: what was pasted, and once every size has run, the verdict
    // with the smallest pool that met the target, written back in the snippet's syntax.
    let sweep = answer["sweep"].as_str().expect("sweep id").to_owned();
    for id in answer["runs"].as_array().expect("runs").iter().filter_map(|r| r.as_str()) {
        app.finished(id).await;
    }
    let (status, result) = app.get(&format!("/api/your-pool/{sweep}")).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["deployment"], json!({"instances": 2, "max_connections": 3}));
    assert_eq!(result["run"].as_str(), Some(own.as_str()));
    assert_eq!(result["view"]["done"], true, "{result}");
    let verdict = &result["verdict"];
    assert_eq!((verdict["fits"].as_bool(), verdict["fleet_connections"].as_u64()), (Some(false), Some(4)), "{verdict}");
    let sentences = verdict["sentences"].to_string();
    assert!(sentences.contains("does not fit: 2 instances × a pool of 2 = 4 connections"), "{sentences}");
    assert!(sentences.contains("99% of users had their answer within"), "{sentences}");
    // 20 requests a second holding 5 ms each is light work: some size meets a 200 ms p99.
    let smallest = verdict["smallest"]["size"].as_u64().expect("a size met the target");
    let paste = result["paste"].as_str().expect("paste");
    assert!(paste.contains(&format!("spring.datasource.hikari.maximum-pool-size={smallest}")), "{paste}");
    let (status, missing) = app.get("/api/your-pool/nope").await;
    assert_eq!(status, 404, "{missing}");

    let bad = json!({"library": "HikariCP", "config": "maximumPoolSize=2", "deployment": {"instances": 0, "max_connections": 3}, "traffic": {"requests_per_second": 20}});
    let resp = app.http.post(app.url("/api/your-pool")).json(&bad).send().await.expect("POST");
    assert_eq!(resp.status().as_u16(), 422);
    let answer: serde_json::Value = resp.json().await.expect("JSON");
    assert!(answer["error"].as_str().unwrap_or_default().contains("deployment.instances"), "{answer}");
    app.stop().await;
}
