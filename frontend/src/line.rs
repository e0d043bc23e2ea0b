//! The line as the instructor sees it: the workers, who runs on which, who waits and in what
//! order; a run can be cancelled and a learner paused from here. It reloads whenever the lab says
//! the line changed.

use leptos::prelude::*;
use poollab_shared::{ClassLine, LineEntry, LineView, WorkerState};

#[component]
pub fn InstructorLine(changed: RwSignal<LineView>) -> impl IntoView {
    let line = RwSignal::new(None::<ClassLine>);
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match crate::api::class_line().await {
                Ok(l) => {
                    line.set(Some(l));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    // Every change the lab announces (at most a few a second) brings the whole line again.
    Effect::new(move |_| {
        changed.track();
        reload();
    });
    let act = move |task: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>| {
        leptos::task::spawn_local(async move {
            if let Err(e) = task.await {
                error.set(Some(e));
            }
            reload();
        })
    };
    let who = |e: &LineEntry| match (&e.learner, e.name.is_empty()) {
        (None, _) => "you (instructor)".to_owned(),
        (Some(id), true) => id.clone(),
        (Some(_), false) => e.name.clone(),
    };
    let row = move |e: LineEntry| {
        let (id, learner, paused) = (e.id.clone(), e.learner.clone(), e.paused);
        let place = match (e.worker.as_deref(), e.position) {
            (Some(w), _) => format!("on {w}"),
            (None, Some(p)) => format!("#{p}"),
            (None, None) => "paused".to_owned(),
        };
        let pause = learner.map(|l| {
            let label = if paused { "Let go" } else { "Pause learner" };
            view! { <button type="button" class="secondary small" on:click=move |_| {
                let l = l.clone();
                act(Box::pin(async move { crate::api::pause(&l, !paused).await }))
            }>{label}</button> }
        });
        view! {
            <tr data-run=e.id.clone()>
                <td>{place}</td><td>{who(&e)}</td><td>{format!("{} × {}", e.strategy.as_str(), e.requests)}</td>
                <td>
                    <button type="button" class="secondary small" on:click=move |_| {
                        let id = id.clone();
                        act(Box::pin(async move { crate::api::cancel_run(&id).await }))
                    }>"Cancel"</button>
                    " " {pause}
                </td>
            </tr>
        }
    };
    view! {
        <h3>"The line"</h3>
        {move || line.get().map(|l| {
            let workers = l.workers.iter().map(|w| {
                let what = match (w.state, &w.run, &w.reason) {
                    (WorkerState::Down, _, Some(why)) => format!("down: {why}"),
                    (WorkerState::Running, Some(run), _) => format!("running {run}"),
                    (state, _, _) => state.as_str().to_owned(),
                };
                let cores = if w.cpus.is_empty() { "not pinned".to_owned() } else {
                    format!("cores {}", w.cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
                };
                let busy = (w.busy_ms * 100).checked_div(w.joined_ms_ago).unwrap_or(0);
                view! { <li data-state=w.state.as_str()>{format!("{}: {what} ({cores}; max_connections {}; {} runs, busy {busy}% of the time)", w.name, w.max_connections, w.runs)}</li> }
            }).collect_view();
            let empty = l.running.is_empty() && l.waiting.is_empty();
            view! {
                <ul class="workers" data-testid="workers">{workers}</ul>
                {(l.workers.is_empty()).then(|| view! { <p class="muted">"No worker is joined: runs wait until one is."</p> })}
                {if empty {
                    view! { <p class="muted" data-testid="line-empty">"Nothing runs or waits."</p> }.into_any()
                } else {
                    view! {
                        <table class="runs" data-testid="line">
                            <thead><tr><th scope="col">"where"</th><th scope="col">"who"</th><th scope="col">"run"</th><th scope="col">""</th></tr></thead>
                            <tbody>{l.running.into_iter().chain(l.waiting).map(row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
            }
        })}
        <p class="error" role="alert">{move || error.get()}</p>
    }
}
