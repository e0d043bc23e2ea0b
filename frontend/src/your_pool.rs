//! Your own pool, measured: a page of the sandbox (`/sandbox/#/your-pool`). Paste a pool's
//! settings in its library's own syntax, see them translated, give the deployment and the traffic,
//! and the lab runs that pool on its real PostgreSQL with a sizing sweep around it. The result
//! has its own address (`/sandbox/#/your-pool/<sweep id>`), to share with a team.
//!
//! Only the sandbox's bundle carries this page; the learners' page links to it.

use std::time::Duration;

use leptos::prelude::*;
use poollab_shared::{ChartName, Part, PoolSpec, RunSpec, SweepView};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::live::Live;
use crate::stage::{Stage, StepCharts};
use crate::summary::SummaryCard;
use crate::sweep::SweepCurve;
use crate::tape::Tape;

/// The page's address, or a result's.
pub fn href(sweep: Option<&str>) -> String {
    match sweep {
        Some(id) => format!("/sandbox/#/your-pool/{id}"),
        None => "/sandbox/#/your-pool".into(),
    }
}

/// What an address's hash asks for: not this page (`None`), the page (`Some(None)`), or a
/// result (`Some(Some(id))`).
pub fn wanted(hash: &str) -> Option<Option<String>> {
    let parts: Vec<&str> = hash.trim_start_matches('#').trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["your-pool"] => Some(None),
        ["your-pool", id] if !id.is_empty() => Some(Some((*id).to_owned())),
        _ => None,
    }
}

/// The address bar's hash, followed as it changes.
pub fn follow_hash() -> RwSignal<String> {
    let hash = || web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let signal = RwSignal::new(hash());
    if let Some(window) = web_sys::window() {
        let on_change = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || signal.set(hash()));
        let _ = window.add_event_listener_with_callback("hashchange", on_change.as_ref().unchecked_ref());
        on_change.forget();
    }
    signal
}

/// The libraries the lab reads, as the library table names them, with a snippet of each to start.
const LIBRARIES: [(&str, &str); 6] = [
    (
        "HikariCP",
        "maximumPoolSize=20\nminimumIdle=5\nconnectionTimeout=30000\nidleTimeout=600000\nmaxLifetime=1800000\n",
    ),
    ("node-postgres", "new Pool({\n  max: 20,\n  idleTimeoutMillis: 30000,\n  connectionTimeoutMillis: 2000,\n})\n"),
    ("pgx", "postgres://app@db:5432/app?pool_max_conns=20&pool_min_conns=2&pool_max_conn_idle_time=30m\n"),
    ("psycopg_pool", "ConnectionPool(conninfo, min_size=4, max_size=20, timeout=30, max_idle=600)\n"),
    ("SQLAlchemy", "create_engine(url, pool_size=10, max_overflow=10, pool_timeout=30, pool_recycle=1800)\n"),
    (
        "sqlx",
        "PgPoolOptions::new()\n    .max_connections(20)\n    .min_connections(2)\n    .acquire_timeout(Duration::from_secs(30))\n",
    ),
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Unknown {
    key: String,
    line: usize,
}

/// `POST /api/your-pool/translate`'s answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Translation {
    syntax: String,
    spec: RunSpec,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    unknown: Vec<Unknown>,
}

/// A snippet that does not read: the message, its line and what was expected there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    line: Option<usize>,
    #[serde(default)]
    expected: Option<String>,
}

impl Refusal {
    fn text(&self) -> String {
        match &self.expected {
            Some(e) => format!("{} (expected {e})", self.error),
            None => self.error.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deployment {
    instances: u32,
    max_connections: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Hold {
    p50: u64,
    p99: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Target {
    p99_ms: u64,
    error_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Traffic {
    requests_per_second: u32,
    shape: String,
    hold_ms: Hold,
    target: Target,
}

#[derive(Serialize)]
struct Measure<'a> {
    library: &'a str,
    config: &'a str,
    deployment: Deployment,
    traffic: Traffic,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Plan {
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Verdict {
    done: bool,
    /// Whether the fleet fits under the server's `max_connections`.
    fits: bool,
    #[serde(default)]
    sentences: Vec<String>,
}

/// `GET /api/your-pool/<id>`: the measured pool at its own address.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Outcome {
    library: String,
    config: String,
    deployment: Deployment,
    traffic: Traffic,
    run: Option<String>,
    translation: Translation,
    plan: Plan,
    view: SweepView,
    verdict: Verdict,
    paste: Option<String>,
}

#[derive(Deserialize)]
struct Started {
    sweep: String,
}

/// Asks the lab; the status and the answer's text, whatever the status.
async fn call(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
    let describe = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(describe)?;
    request.headers().set("content-type", "application/json").map_err(describe)?;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| format!("the lab is unreachable: {}", describe(e)))?
        .dyn_into()
        .map_err(describe)?;
    let text = JsFuture::from(response.text().map_err(describe)?).await.map_err(describe)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// The answer as `T` when it is a success, or what the lab refused.
async fn ask<T: serde::de::DeserializeOwned>(method: &str, url: &str, body: Option<String>) -> Result<T, Refusal> {
    let refused = |error: String| Refusal { error, line: None, expected: None };
    let (status, text) = call(method, url, body).await.map_err(refused)?;
    if (200..300).contains(&status) {
        crate::json::parse(&text).map_err(|e| refused(format!("unexpected answer: {e}")))
    } else {
        Err(crate::json::parse::<Refusal>(&text).unwrap_or_else(|_| refused(format!("{status} {text}"))))
    }
}

/// The translated pool in a few words, in the lab's terms.
fn pool_words(pool: &PoolSpec) -> String {
    let secs = |ms: u64| if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{ms} ms") };
    let mut words = vec![
        format!("at most {} connections", pool.max_connections),
        format!("at least {}", pool.min_connections),
        format!("waits up to {} for one", secs(pool.acquire_timeout_ms)),
    ];
    words.push(match pool.idle_timeout_ms {
        0 => "never closes idle ones".into(),
        ms => format!("closes one idle for {}", secs(ms)),
    });
    if pool.max_lifetime_ms > 0 {
        words.push(format!("retires one after {}", secs(pool.max_lifetime_ms)));
    }
    words.join(", ")
}

/// A number field with its label.
fn number(id: &'static str, label: &'static str, hint: &'static str, value: RwSignal<String>) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="text" inputmode="decimal" aria-describedby=hint_id.clone() prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
            <small id=hint_id>{hint}</small>
        </div>
    }
}

fn whole<T: std::str::FromStr>(s: RwSignal<String>, name: &str) -> Result<T, String> {
    s.get_untracked().trim().parse().map_err(|_| format!("{name}: a whole number, please"))
}

/// The page: the form, and the result once there is one.
#[component]
pub fn YourPool(live: Live, #[prop(into)] shown: Signal<Option<String>>) -> impl IntoView {
    let library = RwSignal::new(LIBRARIES[0].0.to_owned());
    let config = RwSignal::new(LIBRARIES[0].1.to_owned());
    let translation = RwSignal::new(None::<Translation>);
    let refusal = RwSignal::new(None::<Refusal>);
    let instances = RwSignal::new("4".to_owned());
    let max_connections = RwSignal::new("100".to_owned());
    let rps = RwSignal::new("200".to_owned());
    let shape = RwSignal::new("steady".to_owned());
    let p50 = RwSignal::new("20".to_owned());
    let p99 = RwSignal::new("80".to_owned());
    let target_p99 = RwSignal::new("250".to_owned());
    let error_pct = RwSignal::new("0.1".to_owned());
    let run_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Outcome>);
    let filled_from = RwSignal::new(None::<String>);

    // A result's address: read it again until its sweep is done; the form takes what was pasted.
    Effect::new(move |_| {
        let Some(id) = shown.get() else {
            outcome.set(None);
            return;
        };
        leptos::task::spawn_local(async move {
            loop {
                if shown.get_untracked().as_deref() != Some(id.as_str()) {
                    break;
                }
                match ask::<Outcome>("GET", &format!("/api/your-pool/{id}"), None).await {
                    Ok(o) => {
                        let done = o.verdict.done;
                        if filled_from.get_untracked().as_deref() != Some(id.as_str()) {
                            filled_from.set(Some(id.clone()));
                            library.set(o.library.clone());
                            config.set(o.config.clone());
                            instances.set(o.deployment.instances.to_string());
                            max_connections.set(o.deployment.max_connections.to_string());
                            rps.set(o.traffic.requests_per_second.to_string());
                            shape.set(o.traffic.shape.clone());
                            p50.set(o.traffic.hold_ms.p50.to_string());
                            p99.set(o.traffic.hold_ms.p99.to_string());
                            target_p99.set(o.traffic.target.p99_ms.to_string());
                            error_pct.set(format!("{}", poollab_shared::Dec(o.traffic.target.error_rate * 100.0)));
                            translation.set(Some(o.translation.clone()));
                        }
                        outcome.set(Some(o));
                        if done {
                            break;
                        }
                    }
                    Err(r) => {
                        run_error.set(Some(r.text()));
                        break;
                    }
                }
                crate::sweep::sleep(Duration::from_millis(700)).await;
            }
        });
    });

    let translate = move || {
        leptos::task::spawn_local(async move {
            #[derive(Serialize)]
            struct Pasted {
                library: String,
                config: String,
            }
            let body =
                crate::json::stringify(&Pasted { library: library.get_untracked(), config: config.get_untracked() })
                    .unwrap_or_default();
            match ask::<Translation>("POST", "/api/your-pool/translate", Some(body)).await {
                Ok(t) => {
                    refusal.set(None);
                    translation.set(Some(t));
                }
                Err(r) => {
                    translation.set(None);
                    refusal.set(Some(r));
                }
            }
        });
    };
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let measure = (|| -> Result<String, String> {
            let rate: f64 = error_pct.get_untracked().trim().parse().map_err(|_| "error rate: a number, please")?;
            let deployment = Deployment {
                instances: whole(instances, "instances")?,
                max_connections: whole(max_connections, "max_connections")?,
            };
            let traffic = Traffic {
                requests_per_second: whole(rps, "requests per second")?,
                shape: shape.get_untracked(),
                hold_ms: Hold { p50: whole(p50, "hold p50")?, p99: whole(p99, "hold p99")? },
                target: Target { p99_ms: whole(target_p99, "target p99")?, error_rate: rate / 100.0 },
            };
            let lib = library.get_untracked();
            let cfg = config.get_untracked();
            crate::json::stringify(&Measure { library: &lib, config: &cfg, deployment, traffic })
        })();
        let body = match measure {
            Ok(b) => b,
            Err(e) => {
                run_error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        run_error.set(None);
        leptos::task::spawn_local(async move {
            match ask::<Started>("POST", "/api/your-pool", Some(body)).await {
                Ok(s) => {
                    // The form already holds what was pasted: the result need not fill it again.
                    filled_from.set(Some(s.sweep.clone()));
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().assign(&href(Some(&s.sweep)));
                    }
                }
                Err(r) => {
                    if r.line.is_some() {
                        refusal.set(Some(r.clone()));
                    }
                    run_error.set(Some(r.text()));
                }
            }
            busy.set(false);
        });
    };

    let own_run = Signal::derive(move || outcome.with(|o| o.as_ref().and_then(|o| o.run.clone())));
    let tape = Tape::new(own_run, live);
    let run_view = tape.run;
    let view_of = Signal::derive(move || outcome.with(|o| o.as_ref().map(|o| o.view.clone())));

    view! {
        <div class="step-page your-pool" data-testid="your-pool">
            <div class="step-top">
                <section class="card" aria-labelledby="yp-title">
                    <h2 id="yp-title">"Your own pool, measured"</h2>
                    <p class="muted">"Paste your app's pool settings as you wrote them. The lab reads them with each format's own parser, runs that pool at your traffic on its real PostgreSQL, and tries sizes around it."</p>
                    <div class="field">
                        <label for="yp-library">"Library"</label>
                        <select id="yp-library" prop:value=move || library.get() on:change=move |ev| {
                            let picked = event_target_value(&ev);
                            if let Some((_, sample)) = LIBRARIES.iter().find(|(name, _)| *name == picked) {
                                config.set((*sample).to_owned());
                            }
                            library.set(picked);
                            translation.set(None);
                            refusal.set(None);
                        }>
                            {LIBRARIES.iter().map(|(name, _)| view! { <option value=*name selected=move || library.get() == *name>{*name}</option> }).collect_view()}
                        </select>
                    </div>
                    <label for="yp-config" class="block">"Your pool settings, in the library's own syntax"</label>
                    <textarea id="yp-config" rows="8" spellcheck="false" aria-describedby="yp-config-error" prop:value=move || config.get() on:input=move |ev| config.set(event_target_value(&ev))></textarea>
                    <p><button type="button" class="secondary" id="yp-translate" on:click=move |_| translate()>"Translate"</button></p>
                    <p class="error" id="yp-config-error" role="alert" data-testid="yp-refusal">{move || refusal.get().map(|r| r.text())}</p>
                    <div aria-live="polite" data-testid="yp-translation">
                        {move || translation.get().map(|t| view! {
                            <p>{format!("Read as {} ({}): {}.", library.get_untracked(), t.syntax, pool_words(&t.spec.pool))}</p>
                            <ul class="yp-notes">{t.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                            {(!t.unknown.is_empty()).then(|| view! {
                                <p class="errors" data-testid="yp-unknown">
                                    "Not pool settings the lab knows, left out: "
                                    {t.unknown.iter().map(|u| format!("{} (line {})", u.key, u.line)).collect::<Vec<_>>().join(", ")}
                                </p>
                            })}
                        })}
                    </div>
                    <form on:submit=run>
                        <fieldset>
                            <legend>"Your deployment"</legend>
                            {number("yp-instances", "App instances (replicas)", "each with its own pool", instances)}
                            {number("yp-max-connections", "Server max_connections", "SHOW max_connections; on a managed plan, its figure", max_connections)}
                        </fieldset>
                        <fieldset>
                            <legend>"Your peak traffic"</legend>
                            {number("yp-rps", "Requests per second", "at the peak, across the fleet", rps)}
                            <div class="field">
                                <label for="yp-shape">"Shape"</label>
                                <select id="yp-shape" prop:value=move || shape.get() on:change=move |ev| shape.set(event_target_value(&ev))>
                                    <option value="steady">"steady (random arrivals at the rate)"</option>
                                    <option value="ramp">"ramp (a tenth of it, up to it)"</option>
                                    <option value="burst">"burst (all at once)"</option>
                                </select>
                            </div>
                            {number("yp-p50", "Connection held, p50 (ms)", "simulated as a server-side sleep (pg_sleep)", p50)}
                            {number("yp-p99", "Connection held, p99 (ms)", "every request holds the p50: a slower tail queues more", p99)}
                        </fieldset>
                        <fieldset>
                            <legend>"Your target"</legend>
                            {number("yp-target-p99", "p99 answer time (ms)", "what 99% of users may wait at most", target_p99)}
                            {number("yp-error-rate", "Errors allowed (%)", "share of requests that may fail", error_pct)}
                        </fieldset>
                        <button id="run" type="submit" prop:disabled=move || busy.get()>"Run it on a real PostgreSQL"</button>
                        <p class="error" role="alert" data-testid="yp-error">{move || run_error.get()}</p>
                    </form>
                </section>
                {move || outcome.with(|o| o.as_ref().map(|o| (o.verdict.clone(), o.paste.clone(), o.plan.notes.clone()))).map(|(verdict, paste, notes)| view! {
                    <section class="card verdict" class:ok=verdict.fits aria-labelledby="verdict-title" aria-live="polite" data-testid="yp-verdict" data-done=verdict.done.to_string()>
                        <h2 id="verdict-title">"What your pool does"</h2>
                        <ul>{verdict.sentences.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
                        {(!verdict.done).then(|| view! { <p class="muted">"The sizing sweep is still running: the smallest pool that meets your target comes when every size has run."</p> })}
                        {paste.map(|p| view! {
                            <h3 id="paste-title">"The settings to use, in your syntax"</h3>
                            <pre class="paste" aria-labelledby="paste-title" tabindex="0"><code data-testid="yp-paste">{p}</code></pre>
                        })}
                        <details>
                            <summary>"How the lab ran it"</summary>
                            <ul>{notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                        </details>
                        <p class="muted share">"This result's address, to share: " <a href=move || href(shown.get().as_deref())>{move || web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default()}</a></p>
                    </section>
                })}
            </div>
            {move || shown.get().is_some().then(|| view! {
                <section class="card" aria-labelledby="own-title">
                    <h2 id="own-title">"Your pool at your traffic"</h2>
                    <SummaryCard run=run_view />
                </section>
                <Stage tape=tape live=live parts=Part::ALL.to_vec() />
                <StepCharts tape=tape charts=vec![ChartName::Connections, ChartName::Waterfall] />
                <SweepCurve view_of=view_of error=Signal::derive(move || None::<String>) />
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_a_result_have_their_addresses() {
        let cases = [
            ("#/your-pool", Some(None)),
            ("#/your-pool/", Some(None)),
            ("#/your-pool/abc123", Some(Some("abc123".to_owned()))),
            ("#/", None),
            ("", None),
            ("#/run/abc", None),
        ];
        for (hash, want) in cases {
            assert_eq!(wanted(hash), want, "{hash}");
        }
        assert_eq!(href(Some("abc123")), "/sandbox/#/your-pool/abc123");
        assert_eq!(wanted(href(Some("abc123")).trim_start_matches("/sandbox/")), Some(Some("abc123".to_owned())));
    }
}
