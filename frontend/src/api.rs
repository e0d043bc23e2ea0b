//! The few HTTP calls the page makes (the contract is docs/contract.md).

use poollab_shared::{
    ClassLine, ClassState, FollowStep, IssuedCredential, Lesson, PredictionHistogram, RunSpec, RunView, StepProgress,
    StepReport, StepVerdict, SweepSpec, SweepView, WorkerCredential,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// What the backend said, or why it could not be asked.
fn describe(e: JsValue) -> String {
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// The answer's body as text, or the backend's error message.
async fn fetch_text(method: &str, url: &str, body: Option<String>) -> Result<String, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(describe)?;
    let headers = request.headers();
    headers.set("content-type", "application/json").map_err(describe)?;
    // Who is asking: the lab knows this browser by the cookie it gave it (sent by the browser
    // itself), and the instructor by their token when this browser signed in as the instructor.
    if let Some(token) = crate::identity::instructor_token() {
        headers.set("authorization", &format!("Bearer {token}")).map_err(describe)?;
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("the lab is unreachable: {}", describe(e)))?
        .dyn_into()
        .map_err(describe)?;
    let text = JsFuture::from(response.text().map_err(describe)?).await.map_err(describe)?;
    let text = text.as_string().unwrap_or_default();
    if !response.ok() {
        // Errors come as {"error": "..."}; show the message, not the JSON.
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error: String,
        }
        let message = crate::json::parse::<ErrorBody>(&text).map_or(text, |b| b.error);
        return Err(format!("{} {}", response.status(), message));
    }
    Ok(text)
}

async fn fetch<T: DeserializeOwned>(method: &str, url: &str, body: Option<String>) -> Result<T, String> {
    let text = fetch_text(method, url, body).await?;
    crate::json::parse(&text).map_err(|e| format!("unexpected answer: {e}"))
}

/// POSTs `body` as JSON and reads the answer.
async fn post<T: DeserializeOwned>(url: &str, body: &impl serde::Serialize) -> Result<T, String> {
    let body = crate::json::stringify(body)?;
    fetch("POST", url, Some(body)).await
}

#[derive(serde::Deserialize)]
struct Created {
    id: String,
}

/// Queues a run; returns its id.
pub async fn start_run(spec: &RunSpec) -> Result<String, String> {
    let body = crate::json::stringify(spec)?;
    fetch::<Created>("POST", "/api/runs", Some(body)).await.map(|c| c.id)
}

pub async fn get_run(id: &str) -> Result<RunView, String> {
    fetch("GET", &format!("/api/runs/{id}"), None).await
}

pub async fn recent_runs() -> Result<Vec<RunView>, String> {
    fetch("GET", "/api/runs", None).await
}

/// The course.
/// Every library's names for the pool knobs, as an HTML table the lab renders.
pub async fn library_table() -> Result<String, String> {
    fetch_text("GET", "/api/libraries/table", None).await
}

pub async fn lessons() -> Result<Vec<Lesson>, String> {
    fetch("GET", "/api/lessons", None).await
}

/// A finished run with its stored frames and requests.
pub async fn timeline(id: &str) -> Result<RunView, String> {
    fetch("GET", &format!("/api/runs/{id}?timeline=true"), None).await
}

/// Queues a sizing sweep; returns its id.
pub async fn start_sweep(sweep: &SweepSpec) -> Result<String, String> {
    let body = crate::json::stringify(sweep)?;
    fetch::<Created>("POST", "/api/sweeps", Some(body)).await.map(|c| c.id)
}

pub async fn sweep(id: &str) -> Result<SweepView, String> {
    fetch("GET", &format!("/api/sweeps/{id}"), None).await
}

/// Instructor: locks or unlocks the lab.
pub async fn lock(locked: bool) -> Result<ClassState, String> {
    #[derive(serde::Serialize)]
    struct Lock {
        locked: bool,
    }
    post("/api/class/lock", &Lock { locked }).await
}

/// Instructor: asks every page to follow a step (or lets them go, with `None`).
pub async fn follow(step: Option<FollowStep>) -> Result<ClassState, String> {
    #[derive(serde::Serialize)]
    struct Follow {
        follow: Option<FollowStep>,
    }
    post("/api/class/follow", &Follow { follow: step }).await
}

/// Reports a step's run to the lab, which grades it on the stored run and tells the instructor:
/// the lab's verdict (a lost report only leaves the page's own).
pub async fn report(report: &StepReport) -> Result<StepVerdict, String> {
    post("/api/class/progress", report).await
}

/// Instructor: the class's predictions for a step.
pub async fn predictions(lesson: &str, step: u32) -> Result<PredictionHistogram, String> {
    fetch("GET", &format!("/api/class/predictions?lesson={lesson}&step={step}"), None).await
}

/// Instructor: every learner's steps, as CSV text.
pub async fn class_csv() -> Result<String, String> {
    fetch_text("GET", "/api/class/progress.csv", None).await
}

/// A learner clicks into the armed class burst.
pub async fn click_burst() -> Result<ClassState, String> {
    fetch("POST", "/api/class/burst/click", Some("{}".into())).await
}

/// Instructor: arms a class burst of `run`, each click adding `per_click` requests.
pub async fn arm_burst(run: &RunSpec, per_click: u32) -> Result<ClassState, String> {
    #[derive(serde::Serialize)]
    struct Arm<'a> {
        run: &'a RunSpec,
        per_click: u32,
    }
    post("/api/class/burst", &Arm { run, per_click }).await
}

#[derive(serde::Deserialize)]
pub struct Fired {
    pub id: String,
    pub requests: u32,
}

/// Instructor: fires the class burst as one run.
pub async fn fire_burst() -> Result<Fired, String> {
    fetch("POST", "/api/class/burst/fire", Some("{}".into())).await
}

/// One learner's progress as the instructor sees it.
#[derive(serde::Deserialize, Clone, PartialEq)]
pub struct LearnerRow {
    pub learner: String,
    pub name: String,
    pub steps: Vec<StepProgress>,
}

#[derive(serde::Deserialize)]
struct ClassProgress {
    learners: Vec<LearnerRow>,
}

/// Instructor: every learner's steps.
pub async fn class_progress() -> Result<Vec<LearnerRow>, String> {
    fetch::<ClassProgress>("GET", "/api/class/progress", None).await.map(|p| p.learners)
}

/// Instructor: the whole line, with workers and names.
pub async fn class_line() -> Result<ClassLine, String> {
    fetch("GET", "/api/class/line", None).await
}

/// Instructor: takes a run out of line, or stops it.
pub async fn cancel_run(id: &str) -> Result<(), String> {
    fetch_text("POST", &format!("/api/runs/{id}/cancel"), Some("{}".into())).await.map(drop)
}

/// Instructor: pauses a learner's runs, or lets them go again.
pub async fn pause(learner: &str, paused: bool) -> Result<(), String> {
    let body = format!(r#"{{"paused":{paused}}}"#);
    fetch_text("POST", &format!("/api/class/learners/{learner}/pause"), Some(body)).await.map(drop)
}

/// Instructor: every worker credential (never a secret).
pub async fn worker_credentials() -> Result<Vec<WorkerCredential>, String> {
    fetch("GET", "/api/workers/credentials", None).await
}

/// Instructor: issues a worker credential; its secret is in this answer only.
pub async fn issue_credential(name: &str) -> Result<IssuedCredential, String> {
    #[derive(serde::Serialize)]
    struct Issue<'a> {
        name: &'a str,
    }
    post("/api/workers/credentials", &Issue { name }).await
}

/// Instructor: revokes a worker credential (the worker joined with it is dropped).
pub async fn revoke_credential(name: &str) -> Result<(), String> {
    fetch_text("DELETE", &format!("/api/workers/credentials/{name}"), None).await.map(drop)
}
