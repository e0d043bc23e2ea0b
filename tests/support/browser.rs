//! Driving the page in a real browser: headless Chromium over CDP.
//!
//! Needs the page built (`./lab test` builds it first) and Chromium (`./lab test` installs it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;

use super::TestApp;

fn chromium() -> PathBuf {
    std::env::var_os("CHROME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

async fn launch(profile: &Path) -> Browser {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .user_data_dir(profile)
        .window_size(1280, 1000)
        // The page's own viewport (chromiumoxide's default is 800 × 600, which made screenshots
        // come out at whichever size won the race).
        .viewport(Viewport { width: 1280, height: 1000, ..Viewport::default() })
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
pub struct Session {
    browser: Browser,
    pub page: Page,
    _profile: tempfile::TempDir,
}

impl Session {
    pub async fn open(app: &TestApp, path: &str) -> Session {
        let profile = tempfile::tempdir().expect("profile dir");
        let browser = launch(profile.path()).await;
        let page = browser.new_page(app.url(path)).await.expect("page opens");
        Session { browser, page, _profile: profile }
    }

    pub async fn close(mut self) {
        self.browser.close().await.ok();
        self.browser.wait().await.ok();
    }
}

/// Evaluates `js` until it returns true, or fails after `secs`.
pub async fn wait_for(page: &Page, js: &str, secs: u64) {
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

pub async fn text(page: &Page, js: &str) -> String {
    page.evaluate(js).await.expect("evaluate").into_value::<String>().expect("string")
}

pub async fn set_number(page: &Page, id: &str, value: u32) {
    let js = format!(
        "(() => {{ const el = document.getElementById('{id}'); el.value = '{value}'; \
         el.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()"
    );
    page.evaluate(js).await.expect("set input");
}

/// Picks `value` in the `<select>` with this id, as a learner's click would.
pub async fn set_choice(page: &Page, id: &str, value: &str) {
    let js = format!(
        "(() => {{ const el = document.getElementById('{id}'); el.value = '{value}'; \
         el.dispatchEvent(new Event('change', {{ bubbles: true }})); return el.value === '{value}'; }})()"
    );
    let picked: bool = page.evaluate(js).await.expect("set select").into_value().expect("a boolean");
    assert!(picked, "the select #{id} has no option {value}");
}

/// Keeps a text as a test artefact (tests/artifacts/), beside the screenshots.
pub fn save_text(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    std::fs::write(dir.join(name), text).expect("write the artefact");
}

/// Keeps what the learner saw as a test artefact (tests/artifacts/).
pub async fn save_screenshot(page: &Page, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), dir.join(name))
        .await
        .expect("screenshot");
}
