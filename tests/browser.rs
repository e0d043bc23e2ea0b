//! The page in a real browser (headless Chromium over CDP), served by the real backend.
//!
//! Needs the page built (`./lab test` builds it first) and Chromium (`./lab test` installs it).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;

fn chromium() -> PathBuf {
    std::env::var_os("CHROME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

async fn launch(profile: &Path) -> Browser {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .user_data_dir(profile)
        .window_size(1280, 1000)
        .args([
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .build()
        .expect("browser config");
    let (browser, mut handler) = Browser::launch(config).await.expect("chromium starts (apt-get install chromium)");
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    browser
}

/// A fresh browser (own profile) with one page open at `path` of the lab.
struct Session {
    browser: Browser,
    page: Page,
    _profile: tempfile::TempDir,
}

impl Session {
    async fn open(app: &support::TestApp, path: &str) -> Session {
        let profile = tempfile::tempdir().expect("profile dir");
        let browser = launch(profile.path()).await;
        let page = browser.new_page(app.url(path)).await.expect("page opens");
        Session { browser, page, _profile: profile }
    }

    async fn close(mut self) {
        self.browser.close().await.ok();
        self.browser.wait().await.ok();
    }
}

/// Evaluates `js` until it returns true, or fails after `secs`.
async fn wait_for(page: &Page, js: &str, secs: u64) {
    let started = Instant::now();
    loop {
        if let Ok(v) = page.evaluate(js).await
            && v.into_value::<bool>().unwrap_or(false)
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(secs), "page never satisfied: {js}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(page: &Page, js: &str) -> String {
    page.evaluate(js).await.expect("evaluate").into_value::<String>().expect("string")
}

async fn set_number(page: &Page, id: &str, value: u32) {
    let js = format!(
        "(() => {{ const el = document.getElementById('{id}'); el.value = '{value}'; \
         el.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()"
    );
    page.evaluate(js).await.expect("set input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learner_runs_a_naive_burst_then_a_pooled_one_and_sees_both_measured() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist/index.html");
    assert!(dist.is_file(), "the page is not built: run `./lab test`, which builds it first");
    let app = support::spawn_app(100).await;
    let session = Session::open(&app, "/#/sandbox").await;
    let page = &session.page;

    // The page loads, and its websocket connects.
    wait_for(page, "document.querySelector('.conn.ok') !== null", 30).await;
    assert_eq!(text(page, "document.querySelector('h1').textContent").await, "Pool Lab");
    assert_eq!(text(page, "document.querySelector('[data-testid=chart]').dataset.points").await, "0");

    // Naive: 60 requests at once.
    set_number(page, "requests", 60).await;
    set_number(page, "concurrency", 60).await;
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

    // Replay the pooled run from what the lab stored: every request is a lane of the waterfall,
    // and the scrubber takes the chart back to the run's first frame.
    page.find_element("[data-testid=replay]").await.expect("replay button").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=waterfall]')?.dataset.requests === '60'", 20).await;
    let full: u32 =
        text(page, "document.querySelectorAll('[data-testid=chart]')[1].dataset.points").await.parse().unwrap();
    page.evaluate(
        "(() => { const s = document.getElementById('scrubber'); s.value = '0'; \
           s.dispatchEvent(new Event('input', { bubbles: true })); return true; })()",
    )
    .await
    .expect("scrub");
    wait_for(page, "document.querySelectorAll('[data-testid=chart]')[1].dataset.points === '1'", 5).await;
    assert!(full > 1, "the replay had {full} frames");
    let desc = text(page, "document.getElementById('waterfall-desc').textContent").await;
    assert!(desc.starts_with("60 requests."), "the waterfall has a text alternative: {desc}");
    save_screenshot(page, "browser-replay.png").await;

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

/// Lessons 1 to 4 as a learner takes them: predict, run, see the goal checked, move on; then a
/// reload keeps the progress. A screenshot of each lesson's main view is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learner_takes_lessons_one_to_four_and_a_reload_keeps_the_progress() {
    let app = support::spawn_app(100).await;
    let session = Session::open(&app, "/").await;
    let page = &session.page;
    wait_for(page, "document.querySelectorAll('[data-testid=lesson-list] li').length === 15", 30).await;
    save_screenshot(page, "course.png").await;
    page.find_element("[data-lesson='01-connection-cost'] a").await.expect("lesson 1").click().await.expect("click");

    // (lesson, step, prediction) in the order the Next links lead.
    let path = [
        ("01-connection-cost", 1, "5"),
        ("01-connection-cost", 2, "1"),
        ("02-connect-per-request", 1, "80"),
        ("03-server-limit", 1, "50"),
        ("04-enter-the-pool", 1, "10"),
    ];
    for (lesson, step, guess) in path {
        let here = format!(
            "(() => {{ const s = document.querySelector('[data-testid=step]');                return s && s.dataset.lesson === '{lesson}' && s.dataset.step === '{step}'; }})()"
        );
        wait_for(page, &here, 10).await;
        // The Run button waits for a prediction.
        assert_eq!(text(page, "String(document.getElementById('run').disabled)").await, "true");
        let input = page.find_element("#prediction").await.expect("prediction input");
        input.focus().await.expect("focus");
        input.type_str(guess).await.expect("type").press_key("Enter").await.expect("Enter runs it");
        wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'", 90).await;
        let compare = text(page, "document.querySelector('[data-testid=prediction-compare]').textContent").await;
        assert!(compare.contains(&format!("You predicted{guess}")), "the prediction stays on screen: {compare}");
        assert!(compare.contains("Measured"), "{compare}");
        if step == 1 {
            save_screenshot(page, &format!("lesson-{lesson}.png")).await;
        }
        if lesson != "04-enter-the-pool" {
            page.find_element("[data-testid=next]").await.expect("next").click().await.expect("click");
        }
    }

    // The page told the instructor: the class's predictions for lesson 3 hold this learner's 50,
    // and what they measured.
    let h: poollab_shared::PredictionHistogram = app
        .http
        .get(app.url("/api/class/predictions?lesson=03-server-limit&step=1"))
        .bearer_auth(support::INSTRUCTOR_TOKEN)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("histogram");
    assert_eq!(h.count, 1, "{h:?}");
    assert_eq!(h.bins[0].from, 50.0);
    assert!(h.measured_median.is_some_and(|m| m > 0.0), "{h:?}");

    // A reload of the course page keeps what was done.
    page.evaluate("location.hash = '#/'; true").await.expect("to the course");
    page.reload().await.expect("reload");
    wait_for(page, "document.querySelectorAll('[data-testid=lesson-list] li').length === 15", 30).await;
    for (lesson, steps) in [("01-connection-cost", "2"), ("02-connect-per-request", "1"), ("04-enter-the-pool", "1")] {
        let passed = text(page, &format!("document.querySelector(\"[data-lesson='{lesson}']\").dataset.passed")).await;
        assert_eq!(passed, steps, "{lesson} keeps its progress after a reload");
    }
    let untouched = text(page, "document.querySelector(\"[data-lesson='05-pool-full']\").dataset.passed").await;
    assert_eq!(untouched, "0");
    page.evaluate("location.hash = '#/lesson/03-server-limit/1'; true").await.expect("open a done step");
    wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'", 10).await;
    let compare = text(page, "document.querySelector('[data-testid=prediction-compare]').textContent").await;
    assert!(compare.contains("You predicted50"), "{compare}");

    // The capstone is scored: the fewest server connections that meet its target.
    page.evaluate("location.hash = '#/lesson/15-capstone/1'; true").await.expect("to the capstone");
    wait_for(page, "document.querySelector('[data-testid=step]')?.dataset.lesson === '15-capstone'", 10).await;
    let input = page.find_element("#prediction").await.expect("prediction input");
    input.focus().await.expect("focus");
    input.type_str("10").await.expect("type").press_key("Enter").await.expect("Enter runs it");
    wait_for(page, "document.querySelector('[data-testid=goal]')?.dataset.passed === 'true'", 60).await;
    let score = text(page, "document.querySelector('[data-testid=score]').textContent").await;
    assert!(score.starts_with("Your score: ") && score.contains("peak server connections"), "{score}");
    save_screenshot(page, "lesson-15-capstone.png").await;

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
    let report = serde_json::json!({ "lesson": "01-connection-cost", "step": 1, "name": "Ann", "passed": true });
    let sent =
        app.http.post(app.url("/api/class/progress")).header("x-poollab-learner", "ann").json(&report).send().await;
    assert_eq!(sent.expect("POST").status().as_u16(), 204);
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
    assert_eq!(text(page, "location.hash").await, "#/instructor", "the instructor's page stays on the panel");
    let banner = text(page, "document.querySelector('[data-testid=class-banner]').textContent").await;
    assert!(!banner.contains("Following your instructor"), "{banner}");
    page.find_element("[data-testid=refresh-progress]").await.expect("progress").click().await.expect("click");
    wait_for(page, "document.querySelector('[data-testid=class-progress] tbody')?.textContent.includes('Ann')", 10)
        .await;
    save_screenshot(page, "browser-instructor.png").await;
    session.close().await;
    app.stop().await;
}

/// Keeps what the learner saw as a test artefact (tests/artifacts/).
async fn save_screenshot(page: &Page, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), dir.join(name))
        .await
        .expect("screenshot");
}
