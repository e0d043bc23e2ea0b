//! The page in a real browser (headless Chromium over CDP), served by the real backend.
//!
//! Needs the page built (`./lab test` builds it first) and Chromium (`./lab test` installs it).

mod support;

use std::path::Path;

use support::browser::{Session, save_screenshot, set_choice, set_number, text, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learner_runs_a_naive_burst_then_a_pooled_one_and_sees_both_measured() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist/index.html");
    assert!(dist.is_file(), "the page is not built: run `./lab test`, which builds it first");
    let app = support::spawn_app(100).await;
    let session = Session::open(&app, "/sandbox/").await;
    let page = &session.page;

    // The page loads, and its websocket connects.
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    assert_eq!(text(page, "document.querySelector('h1').textContent").await, "Pool Lab");
    assert_eq!(text(page, "document.querySelector('[data-testid=chart]').dataset.points").await, "0");

    // Naive: 60 requests at once, each holding its connection in a 600 ms query, so their
    // backends overlap however long the connects queue on the server's CPUs.
    set_number(page, "requests", 60).await;
    set_number(page, "concurrency", 60).await;
    set_choice(page, "query", "slow (pg_sleep)").await;
    set_number(page, "sleep-ms", 600).await;
    page.find_element("#run").await.expect("Run button").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=summary]')?.dataset.completed === '60'", 60).await;
    let points: u32 = text(page, "document.querySelector('[data-testid=chart]').dataset.points").await.parse().unwrap();
    assert!(points >= 1, "the chart drew the run's frames");
    let peak: u32 =
        text(page, "document.querySelector('[data-testid=peak-server]').textContent").await.parse().unwrap();
    assert!(peak >= 10, "a naive burst of 60 shows many server backends, page said {peak}");
    let desc = text(page, "document.getElementById('chart-desc').textContent").await;
    assert!(desc.contains("server backends of this run"), "the chart has a text alternative: {desc}");
    save_screenshot(page, "browser-naive.png").await;
    // Screen readers hear a short summary of the live figures (a polite live region).
    wait_for(page, "document.querySelector('[data-testid=live-summary]').textContent.length > 0", 10).await;

    // The pooled run's queries sleep 50 ms: 60 requests on 5 connections take 12 waves, about
    // 600 ms, so its stored run has frames to scrub through.
    set_number(page, "sleep-ms", 50).await;

    // Pooled, with the keyboard only: arrow to the next radio button, type a pool size, press
    // Enter to submit. The server line stays low.
    let naive_radio = page.find_element("input[name=strategy][value=naive]").await.expect("radio");
    naive_radio.focus().await.expect("focus").press_key("ArrowDown").await.expect("arrow");
    wait_for(page, "document.querySelector('input[name=strategy][value=pooled]').checked", 5).await;
    let pool_max = page.find_element("#pool-max").await.expect("pool max input");
    pool_max.focus().await.expect("focus");
    page.evaluate("document.getElementById('pool-max').select()").await.expect("select");
    pool_max.type_str("5").await.expect("type").press_key("Enter").await.expect("Enter submits");
    wait_for(
        page,
        "(() => { const s = document.querySelector('[data-testid=run-status]'); \
           return s.dataset.state === 'done' && s.textContent.includes('pooled'); })()",
        60,
    )
    .await;
    let peak: u32 =
        text(page, "document.querySelector('[data-testid=peak-server]').textContent").await.parse().unwrap();
    assert!((1..=5).contains(&peak), "a pool of 5 never shows more than 5 backends, page said {peak}");
    let rows = text(page, "String(document.querySelectorAll('table.runs tbody tr').length)").await;
    assert_eq!(rows, "2", "both runs are listed");
    save_screenshot(page, "browser-pooled.png").await;

    // The stored run is read back by itself: every request is a lane of the waterfall, and the
    // scrubber takes the picture back to the run's first frame and the chart's cursor with it.
    wait_for(page, "document.querySelector('[data-testid=waterfall]')?.dataset.requests === '60'", 20).await;
    page.find_element("[data-testid=scrubber-box] button").await.expect("To the end").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=chart] .cursor') === null", 5).await;
    let last_seq = text(page, "document.querySelector('[data-testid=picture]').dataset.seq").await;
    page.evaluate(
        "(() => { const s = document.getElementById('scrubber'); s.value = '0'; \
           s.dispatchEvent(new Event('input', { bubbles: true })); return true; })()",
    )
    .await
    .expect("scrub");
    wait_for(page, "document.querySelector('[data-testid=chart] .cursor') !== null", 5).await;
    let first_seq = text(page, "document.querySelector('[data-testid=picture]').dataset.seq").await;
    assert!(first_seq.parse::<u64>().unwrap() < last_seq.parse::<u64>().unwrap(), "{first_seq} then {last_seq}");
    let desc = text(page, "document.getElementById('waterfall-desc').textContent").await;
    assert!(desc.starts_with("60 requests;"), "the waterfall has a text alternative: {desc}");
    save_screenshot(page, "browser-replay.png").await;

    // The run has its own address, and from there one knob can change before running it again.
    page.find_element("a[href^='/#/run/']").await.expect("the run's link").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=run-page]') !== null", 10).await;
    wait_for(page, "(document.querySelector('[data-testid=picture]')?.dataset.run ?? '') !== ''", 20).await;
    save_screenshot(page, "browser-run-page.png").await;
    page.find_element("[data-testid=fork]").await.expect("fork").click().await.expect("click");
    wait_for(page, "location.pathname === '/sandbox/' && document.getElementById('pool-max')?.value === '5'", 10).await;
    assert_eq!(text(page, "document.getElementById('requests').value").await, "60", "the sandbox has the run's spec");

    // The same load over two pool sizes: the sizing curve fills in as the runs finish.
    let sizes = page.find_element("#sweep-sizes").await.expect("sizes");
    sizes.focus().await.expect("focus");
    page.evaluate("document.getElementById('sweep-sizes').select()").await.expect("select");
    sizes.type_str("1, 4").await.expect("type");
    page.find_element("#sweep").await.expect("sweep button").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=sweep]')?.dataset.done === 'true'", 60).await;
    let rows = text(page, "String(document.querySelectorAll('[data-testid=sweep] tbody tr').length)").await;
    assert_eq!(rows, "2");
    let curve = text(page, "document.getElementById('sweep-desc').textContent").await;
    assert!(curve.contains("pool 1:") && curve.contains("pool 4:") && curve.contains("req/s"), "{curve}");
    save_screenshot(page, "browser-sweep.png").await;

    session.close().await;
    app.stop().await;
}

/// The instructor leads the class to a step: a learner's page follows, until the learner leaves
/// follow mode. A locked lab says so on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learners_page_follows_the_instructor_until_it_leaves_follow_mode() {
    let app = support::spawn_app(50).await;
    let session = Session::open(&app, "/#/").await;
    let page = &session.page;
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    let instructor = |path: &'static str, body: serde_json::Value| {
        let req = app.http.post(app.url(path)).bearer_auth(support::INSTRUCTOR_TOKEN).json(&body);
        async move { assert_eq!(req.send().await.expect("POST").status().as_u16(), 200) }
    };
    instructor("/api/class/follow", serde_json::json!({ "follow": { "lesson": "05-pool-full", "step": 1 } })).await;
    wait_for(page, "location.hash === '#/lesson/05-pool-full/1'", 10).await;
    wait_for(page, "document.querySelector('[data-testid=step]')?.dataset.lesson === '05-pool-full'", 10).await;
    instructor("/api/class/lock", serde_json::json!({ "locked": true })).await;
    wait_for(
        page,
        "document.querySelector('[data-testid=class-banner]').textContent.includes('locked by your instructor')",
        10,
    )
    .await;
    save_screenshot(page, "browser-following.png").await;

    page.find_element("[data-testid=follow-toggle]").await.expect("toggle").click().await.expect("click");
    instructor("/api/class/follow", serde_json::json!({ "follow": { "lesson": "06-fail-fast", "step": 1 } })).await;
    wait_for(page, "document.querySelector('[data-testid=class-banner]').textContent.includes('06-fail-fast')", 10)
        .await;
    assert_eq!(text(page, "location.hash").await, "#/lesson/05-pool-full/1", "a learner who left stays put");
    page.find_element("[data-testid=follow-toggle]").await.expect("toggle").click().await.expect("click");
    wait_for(page, "location.hash === '#/lesson/06-fail-fast/1'", 10).await;

    // A class burst: the learner clicks in from the banner, and the count goes up for everyone.
    let arm = serde_json::json!({ "run": { "strategy": "naive" }, "per_click": 5 });
    instructor("/api/class/burst", arm).await;
    wait_for(page, "document.querySelector('[data-testid=class-burst]')?.textContent.includes('0 in so far')", 10)
        .await;
    page.find_element("[data-testid=class-burst] button").await.expect("I'm in").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=class-burst]')?.textContent.includes('1 in so far')", 10)
        .await;

    session.close().await;
    app.stop().await;
}

/// The instructor signs in on the page, locks the lab, and sees the class's progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_instructor_panel_signs_in_locks_the_lab_and_shows_progress() {
    let app = support::spawn_app(50).await;
    // Ann runs the first step and reports it: the lab grades it on her run.
    let course = poollab::lessons::load().expect("the course");
    let first = &course[0];
    let ann = app.learner().await;
    let (status, body) = ann.post("/api/runs", &serde_json::to_value(&first.steps[0].preset).expect("JSON")).await;
    assert_eq!(status, 202, "{body}");
    let run = body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.finished(&run).await.state, poollab_shared::RunState::Done);
    let report = serde_json::json!({ "lesson": first.id, "step": 1, "name": "Ann", "run": run });
    let (status, body) = ann.post("/api/class/progress", &report).await;
    assert_eq!(status, 200, "{body}");
    // The old address leads to the instructor's page, a page of its own.
    let session = Session::open(&app, "/#/instructor").await;
    let page = &session.page;
    wait_for(page, "document.getElementById('token') !== null", 30).await;
    let token = page.find_element("#token").await.expect("token field");
    token.focus().await.expect("focus");
    token.type_str(support::INSTRUCTOR_TOKEN).await.expect("type").press_key("Enter").await.expect("sign in");
    wait_for(page, "document.querySelector('[data-testid=lock]') !== null", 10).await;
    page.find_element("[data-testid=lock]").await.expect("lock").click().await.expect("click");
    // The banner speaks to the instructor, not of them.
    wait_for(
        page,
        "document.querySelector('[data-testid=class-banner]').textContent.includes('You locked the lab')",
        10,
    )
    .await;
    let (_, class) = app.get("/api/class").await;
    assert_eq!(class["locked"], true, "{class}");
    // Leading the class moves the learners' pages, not the instructor's own.
    page.find_element("[data-testid=lead]").await.expect("lead").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=leading]')?.textContent.includes('step 1')", 10).await;
    let (_, class) = app.get("/api/class").await;
    assert_eq!(class["follow"]["step"], 1, "{class}");
    // Give a wrongly following page time to move before checking that it did not.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(text(page, "location.pathname").await, "/instructor/", "the instructor's page stays on the panel");
    let banner = text(page, "document.querySelector('[data-testid=class-banner]').textContent").await;
    assert!(!banner.contains("Following your instructor"), "{banner}");
    page.find_element("[data-testid=refresh-progress]").await.expect("progress").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=class-progress] tbody')?.textContent.includes('Ann')", 10)
        .await;
    save_screenshot(page, "browser-instructor.png").await;
    session.close().await;
    app.stop().await;
}

/// With no worker to carry runs out, a learner's page says why nothing starts; the instructor's
/// page shows the line, and cancels a run from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_line_is_on_the_instructors_page_and_a_stalled_line_is_on_every_page() {
    let dir = support::lab_dir();
    let mut cfg = support::config(&dir, 50);
    cfg.workers = Some(0);
    let app = support::spawn_with(cfg, dir).await;
    let ann = app.learner().await;
    let mut ids = Vec::new();
    // Two different runs (an identical one would join the first: shared runs).
    for requests in [5, 6] {
        let spec = serde_json::json!({ "strategy": "naive", "requests": requests });
        let (status, body) = ann.post("/api/runs", &spec).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let session = Session::open(&app, "/#/").await;
    let page = &session.page;
    wait_for(
        page,
        "document.querySelector('[data-testid=stalled]')?.textContent.includes('no worker is connected')",
        20,
    )
    .await;
    save_screenshot(page, "browser-stalled.png").await;
    session.close().await;

    let session = Session::open(&app, "/instructor/").await;
    let page = &session.page;
    wait_for(page, "document.getElementById('token') !== null", 30).await;
    let token = page.find_element("#token").await.expect("token field");
    token.focus().await.expect("focus");
    token.type_str(support::INSTRUCTOR_TOKEN).await.expect("type").press_key("Enter").await.expect("sign in");
    wait_for(page, "document.querySelectorAll('[data-testid=line] tbody tr').length === 2", 10).await;
    let first = text(page, "document.querySelector('[data-testid=line] tbody tr').textContent").await;
    assert!(first.contains("#1") && first.contains("naive × 5"), "{first}");
    let row = format!("[data-testid=line] tr[data-run='{}'] button", ids[0]);
    page.find_element(row.as_str()).await.expect("cancel").click().await.expect("click");
    wait_for(page, "document.querySelectorAll('[data-testid=line] tbody tr').length === 1", 10).await;
    let (_, run) = app.get(&format!("/api/runs/{}", ids[0])).await;
    assert_eq!(run["state"], "failed", "{run}");
    save_screenshot(page, "browser-instructor-line.png").await;

    // The instructor issues a worker its credential from the panel: its secret is shown once, as
    // the command that starts the worker.
    fill(page, "worker-name", "lab-z").await;
    page.find_element("[data-testid=issue-credential]").await.expect("issue").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=issued-secret]') !== null", 10).await;
    let shown = text(page, "document.querySelector('[data-testid=issued-secret] code').textContent").await;
    let secret = shown
        .strip_prefix("POOLLAB_WORKER_SECRET=")
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the command names the secret")
        .to_owned();
    assert!(shown.contains("poollab worker --coordinator http://"), "{shown}");
    let row = "document.querySelector(\"[data-credential='lab-z']\")?.textContent ?? ''";
    wait_for(page, &format!("({row}).includes('never')"), 10).await;
    // A worker joins with it: the panel says so.
    let mut worker = join_as_worker(&app, &secret).await;
    wait_for(page, &format!("({row}).includes('yes')"), 20).await;
    save_screenshot(page, "browser-instructor-credentials.png").await;
    // Revoked from the panel: the row goes, and so does the worker (its link is closed).
    let revoke = "[data-credential='lab-z'] button";
    page.find_element(revoke).await.expect("revoke").click().await.expect("click");
    wait_for(page, &format!("({row}) === ''"), 10).await;
    use futures_util::StreamExt;
    let closed = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), worker.next()).await.expect("an answer") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_)) | None => break true,
            Some(Ok(_)) => continue,
        }
    };
    assert!(closed, "the revoked worker's link is closed");
    assert!(app.get("/api/workers").await.1.as_array().is_some_and(|w| w.is_empty()));
    session.close().await;
    app.stop().await;
}

/// A websocket client that joins as a worker with `secret` (it says hello, and nothing more).
async fn join_as_worker(
    app: &support::TestApp,
    secret: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/api/workers/connect", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {secret}").parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("the worker joins");
    let hello = serde_json::json!({ "type": "hello", "name": "whoever", "version": env!("CARGO_PKG_VERSION"),
                                    "server": { "max_connections": 50 }, "cpus": [], "database_up": true });
    ws.send(tokio_tungstenite::tungstenite::Message::Text(hello.to_string().into())).await.expect("hello");
    ws
}

/// A step that answers an earlier one, opened by a learner who never ran the earlier one: Run
/// runs that step's preset first, then its own, and the page sets the two side by side, each
/// column linked to its run, both waterfalls on one time axis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_compared_step_runs_the_earlier_step_too_and_draws_both_on_one_axis() {
    let app = support::spawn_app(100).await;
    let session = Session::open(&app, "/#/lesson/14-caching/2").await;
    let page = &session.page;
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    wait_for(page, "document.querySelector('[data-testid=step]')?.dataset.step === '2'", 10).await;
    let whose = text(page, "document.querySelector('[data-testid=paired-whose]').textContent").await;
    assert!(whose.contains("the lab runs it first"), "{whose}");

    let input = page.find_element("#prediction").await.expect("prediction input");
    input.focus().await.expect("focus");
    input.type_str("10").await.expect("type").press_key("Enter").await.expect("Enter runs it");
    wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'", 60).await;
    // The verdicts shown are the lab's, which graded the run the page reported.
    wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.graded === 'lab'", 10).await;
    let close = text(page, "document.querySelector('[data-testid=prediction-compare]').dataset.graded").await;
    assert_eq!(close, "lab", "whether the prediction was close is the lab's too");
    wait_for(
        page,
        "(() => { const w = [...document.querySelectorAll('[data-testid=paired] svg[data-axis-max]')]; \
           return w.length === 2 && w.every(s => s.dataset.requests === '150') \
             && !document.querySelector('[data-testid=compare-figures]').textContent.includes('…'); })()",
        30,
    )
    .await;
    let axes = text(
        page,
        "[...document.querySelectorAll('[data-testid=paired] svg[data-axis-max]')].map(s => s.dataset.axisMax).join(' ')",
    )
    .await;
    let (earlier_axis, this_axis) = axes.split_once(' ').expect("two waterfalls");
    assert_eq!(earlier_axis, this_axis, "the two waterfalls share one time axis");
    assert!(earlier_axis.parse::<f64>().is_ok_and(|ms| ms > 1.0), "{axes}");
    let titles = text(
        page,
        "[...document.querySelectorAll('[data-testid=paired] .chart-title')].map(t => t.textContent).join('|')",
    )
    .await;
    assert!(titles.starts_with("Step 1: ") && titles.contains("|Step 2, this step: "), "{titles}");
    let whose = text(page, "document.querySelector('[data-testid=paired-whose]').textContent").await;
    assert!(whose.contains("run by the lab for this comparison"), "{whose}");

    // Each column is a run, linked to its own page: step 1's preset (no cache), then step 2's.
    let links = text(page, "[...document.querySelectorAll('[data-testid=compare-figures] thead a')].map(a => a.getAttribute('href')).join(' ')").await;
    let ids: Vec<&str> = links.split(' ').filter_map(|h| h.strip_prefix("/#/run/")).collect();
    assert_eq!(ids.len(), 2, "{links}");
    let (earlier, this) = (app.finished(ids[0]).await, app.finished(ids[1]).await);
    assert!(!earlier.spec.cache.enabled && this.spec.cache.enabled, "{:?} then {:?}", earlier.spec, this.spec);
    assert!(earlier.submitted_at_ms <= this.submitted_at_ms, "the earlier step's run went in line first");
    // The page reported this step's run, and the lab graded it (not the lab's own run of step 1).
    let progress: serde_json::Value = app.get_as_instructor("/api/class/progress").await;
    let steps = &progress["learners"][0]["steps"];
    assert_eq!(steps.as_array().map(Vec::len), Some(1), "{progress}");
    assert_eq!((steps[0]["lesson"].as_str(), steps[0]["step"].as_u64()), (Some("14-caching"), Some(2)), "{progress}");
    assert_eq!(
        (steps[0]["run"].as_str(), steps[0]["passed"].as_bool()),
        (Some(this.id.as_str()), Some(true)),
        "{progress}"
    );
    // Both runs' figures: without a cache, every request was sent on to the database.
    let cell = |figure: &str, step: u32| {
        format!(
            "document.querySelector('[data-testid=compare-figures] tr[data-figure=\"{figure}\"] td[data-step=\"{step}\"]').textContent"
        )
    };
    let all = earlier.summary.as_ref().map(|s| s.completed + s.failed).expect("a summary");
    assert_eq!(text(page, &cell("cache_misses", 1)).await, all.to_string());
    let misses = this.summary.as_ref().expect("a summary").cache_misses;
    assert_eq!(text(page, &cell("cache_misses", 2)).await, misses.to_string());
    for step in [1, 2] {
        let median = text(page, &cell("latency_ms.p50", step)).await;
        assert!(median.ends_with(" ms") && median != "– ms", "step {step}: {median}");
    }
    save_screenshot(page, "step-compared.png").await;
    session.close().await;
    app.stop().await;
}

/// Types `value` into the field `id` as a user would leave it (its `input` event fired).
async fn fill(page: &chromiumoxide::Page, id: &str, value: &str) {
    let js = format!(
        "(() => {{ const el = document.getElementById('{id}'); el.value = {}; \
         el.dispatchEvent(new Event('input', {{ bubbles: true }})); return true; }})()",
        serde_json::to_string(value).expect("a JSON string")
    );
    page.evaluate(js).await.expect("fill");
}

/// Your own pool: a HikariCP properties file pasted, translated (a broken one is refused naming
/// its line; an unknown key is listed with its line), run at the app's traffic; the verdict says
/// what the pool did and gives the smallest pool that met the target back as properties. The
/// result has its own address, which shows the same answer when opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn your_own_pool_pasted_as_hikari_properties_is_measured_and_written_back() {
    let app = support::spawn_app(100).await;
    let session = Session::open(&app, "/sandbox/#/your-pool").await;
    let page = &session.page;
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    wait_for(page, "document.getElementById('yp-config') !== null", 10).await;
    assert_eq!(text(page, "document.getElementById('yp-library').value").await, "HikariCP");
    let label = text(page, "document.querySelector('label[for=yp-config]').textContent").await;
    assert!(label.contains("Your pool settings"), "the snippet's box has a label: {label}");

    // A broken snippet: the lab names the line and what it expected there.
    fill(page, "yp-config", "maximumPoolSize=20\nconnectionTimeout=soon\n").await;
    page.find_element("#yp-translate").await.expect("Translate").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=yp-refusal]').textContent.includes('line 2')", 10).await;

    let snippet = "jdbcUrl=jdbc:postgresql://db:5432/shop\nusername=shop\nmaximumPoolSize=20\nminimumIdle=5\n\
                   connectionTimeout=3000\nidleTimeout=600000\nmaxLifetime=1800000\ncachePrepStmts=true\n";
    fill(page, "yp-config", snippet).await;
    page.find_element("#yp-translate").await.expect("Translate").click().await.expect("click");
    wait_for(
        page,
        "document.querySelector('[data-testid=yp-translation]').textContent.includes('Read as HikariCP')",
        10,
    )
    .await;
    assert_eq!(text(page, "document.querySelector('[data-testid=yp-refusal]').textContent").await, "");
    let read = text(page, "document.querySelector('[data-testid=yp-translation]').textContent").await;
    assert!(read.contains("at most 20 connections") && read.contains("minimumIdle"), "{read}");
    let unknown = text(page, "document.querySelector('[data-testid=yp-unknown]').textContent").await;
    assert!(unknown.contains("cachePrepStmts (line 8)"), "{unknown}");

    // Four instances, a server of 50 connections, 100 requests a second holding 20 ms each.
    for (id, value) in [
        ("yp-instances", "4"),
        ("yp-max-connections", "50"),
        ("yp-rps", "100"),
        ("yp-p50", "20"),
        ("yp-p99", "60"),
        ("yp-target-p99", "250"),
        ("yp-error-rate", "0.1"),
    ] {
        fill(page, id, value).await;
    }
    page.find_element("#run").await.expect("Run").click().await.expect("click");
    wait_for(page, "/^#\\/your-pool\\/[^/]+$/.test(location.hash)", 20).await;
    wait_for(page, "document.querySelector('[data-testid=yp-verdict]')?.dataset.done === 'true'", 300).await;
    let verdict = text(page, "document.querySelector('[data-testid=yp-verdict]').innerText").await;
    support::browser::save_text("your-pool-verdict.txt", &verdict);
    assert!(verdict.contains("does not fit: 4 instances × a pool of 20 = 80 connections"), "{verdict}");
    assert!(verdict.contains("99% of users had their answer within"), "{verdict}");
    assert!(verdict.contains("The smallest pool per instance that met your target"), "{verdict}");
    let paste = text(page, "document.querySelector('[data-testid=yp-paste]').textContent").await;
    assert!(paste.contains("maximumPoolSize=") && paste.contains("connectionTimeout=3000"), "{paste}");
    assert!(!paste.contains("maximumPoolSize=20\n"), "a smaller pool met the target: {paste}");
    // The run at the pool's own size is drawn as a step's run is, and the sizing curve beside it.
    wait_for(page, "(document.querySelector('[data-testid=picture]')?.dataset.run ?? '') !== ''", 20).await;
    wait_for(page, "document.querySelector('[data-testid=sweep]')?.dataset.done === 'true'", 20).await;
    let curve = text(page, "document.getElementById('sweep-desc').textContent").await;
    assert!(curve.contains("pool 5:") && curve.contains("pool 40:"), "{curve}");
    save_screenshot(page, "your-pool.png").await;

    // Its address, opened again, shows the same answer and what was pasted.
    page.reload().await.expect("reload");
    wait_for(page, "document.querySelector('[data-testid=yp-verdict]')?.dataset.done === 'true'", 30).await;
    wait_for(page, "document.getElementById('yp-config')?.value.includes('cachePrepStmts')", 10).await;
    assert_eq!(text(page, "document.getElementById('yp-instances').value").await, "4");
    let again = text(page, "document.querySelector('[data-testid=yp-paste]').textContent").await;
    assert_eq!(again, paste);

    session.close().await;
    app.stop().await;
}
