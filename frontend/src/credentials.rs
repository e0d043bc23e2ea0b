//! The workers' credentials as the instructor sees them: issue one under a worker's name (its
//! secret is shown once, here), see which are joined and when each was last seen, revoke one (the
//! worker joined with it is dropped at once). It reloads whenever the lab says the line changed,
//! which it does when a worker joins or leaves.

use leptos::prelude::*;
use poollab_shared::{IssuedCredential, LineView, WorkerCredential};

/// "3 min ago" for a moment `ms` since the epoch.
fn ago(ms: u64) -> String {
    let secs = (js_sys::Date::now() as u64).saturating_sub(ms) / 1000;
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[component]
pub fn WorkerCredentials(changed: RwSignal<LineView>) -> impl IntoView {
    let list = RwSignal::new(Vec::<WorkerCredential>::new());
    let name = RwSignal::new(String::new());
    let issued = RwSignal::new(None::<IssuedCredential>);
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match crate::api::worker_credentials().await {
                Ok(l) => {
                    list.set(l);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    Effect::new(move |_| {
        changed.track();
        reload();
    });
    let issue = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        leptos::task::spawn_local(async move {
            match crate::api::issue_credential(n.trim()).await {
                Ok(c) => {
                    issued.set(Some(c));
                    name.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let revoke = move |n: String| {
        leptos::task::spawn_local(async move {
            if let Err(e) = crate::api::revoke_credential(&n).await {
                error.set(Some(e));
            }
            if issued.with_untracked(|i| i.as_ref().is_some_and(|i| i.name == n)) {
                issued.set(None);
            }
            reload();
        })
    };
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    view! {
        <h3>"Workers' credentials"</h3>
        <form on:submit=issue>
            <div class="field">
                <label for="worker-name">"Issue a credential for a worker named"</label>
                <input id="worker-name" autocomplete="off" maxlength="64" prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </div>
            <button type="submit" class="secondary" data-testid="issue-credential">"Issue"</button>
        </form>
        {move || issued.get().map(|c| view! {
            <p role="status" data-testid="issued-secret">
                {format!("Start the worker \"{}\" with this (shown only now; the lab keeps only a hash): ", c.name)}
                <code>{format!("POOLLAB_WORKER_SECRET={} poollab worker --coordinator {origin}", c.secret)}</code>
            </p>
        })}
        <table class="runs" data-testid="worker-credentials">
            <thead><tr><th scope="col">"worker"</th><th scope="col">"issued"</th><th scope="col">"last seen"</th><th scope="col">"joined"</th><th scope="col">""</th></tr></thead>
            <tbody>
                {move || list.get().into_iter().map(|c| {
                    let n = c.name.clone();
                    let seen = if c.connected { "now".to_owned() } else { c.last_seen_ms.map_or("never".to_owned(), ago) };
                    view! {
                        <tr data-credential=c.name.clone()>
                            <td>{c.name.clone()}{c.local.then_some(" (started by the lab)")}</td>
                            <td>{ago(c.issued_at_ms)}</td>
                            <td>{seen}</td>
                            <td>{if c.connected { "yes" } else { "no" }}</td>
                            <td>{(!c.local).then(|| view! {
                                <button type="button" class="secondary small" on:click=move |_| revoke(n.clone())>"Revoke"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p class="error" role="alert">{move || error.get()}</p>
    }
}
