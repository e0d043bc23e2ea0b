//! A finished run's measured result, and the list of recent runs.

use leptos::prelude::*;
use poollab_shared::{Dec, ErrorKind, RunState, RunView, Strategy};

#[component]
pub fn SummaryCard(run: Memo<Option<RunView>>) -> impl IntoView {
    move || {
        let Some(run) = run.get() else {
            return view! { <p class="muted">"The result of a run appears here when it ends."</p> }.into_any();
        };
        match (run.state, run.summary) {
            (RunState::Failed, _) => view! {
                <p class="error" data-testid="summary-error">{run.error.unwrap_or_default()}</p>
            }
            .into_any(),
            (_, Some(s)) => {
                let errors = ErrorKind::ALL
                    .iter()
                    .filter(|k| s.errors.get(**k) > 0)
                    .map(|k| view! { <li>{k.as_str().replace('_', " ")} ": " {s.errors.get(*k)}</li> })
                    .collect_view();
                view! {
                    <dl class="summary" data-testid="summary" data-completed=s.completed data-failed=s.failed>
                        <div><dt>"completed"</dt><dd>{s.completed}</dd></div>
                        <div><dt>"failed"</dt><dd>{s.failed}</dd></div>
                        <div><dt>"p50 / p95 / p99 latency"</dt><dd>{format!("{:.1} / {:.1} / {:.1} ms", Dec(s.latency_ms.p50), Dec(s.latency_ms.p95), Dec(s.latency_ms.p99))}</dd></div>
                        <div><dt>"slowest"</dt><dd>{format!("{:.1} ms", Dec(s.latency_ms.max))}</dd></div>
                        <div><dt>"peak server connections"</dt><dd data-testid="peak-server">{s.peak_server_connections}</dd></div>
                        <div><dt>"connections opened"</dt><dd>{s.connections_opened}</dd></div>
                        <div><dt>"peak pool size"</dt><dd>{s.peak_pool_size}</dd></div>
                        <div><dt>"p99 wait for a connection"</dt><dd>{
                            if run.spec.strategy == Strategy::Pooled { format!("{:.1} ms", Dec(s.acquire_wait_ms.p99)) } else { "none: no pool".into() }
                        }</dd></div>
                        <div><dt>"p50 connect / p50 query"</dt><dd data-testid="phases">{
                            if run.spec.strategy == Strategy::Naive {
                                format!("{:.1} / {:.1} ms", Dec(s.connect_ms.p50), Dec(s.query_ms.p50))
                            } else {
                                format!("opened by the pool / {:.1} ms", Dec(s.query_ms.p50))
                            }
                        }</dd></div>
                        <div><dt>"duration"</dt><dd>{format!("{} ms", s.duration_ms)}</dd></div>
                        <div><dt>"throughput"</dt><dd>{format!("{:.0} req/s", Dec(s.throughput_per_s))}</dd></div>
                    </dl>
                    <ul class="errors" aria-label="failures by cause">{errors}</ul>
                    {(s.failed > 0).then(|| view! {
                        <p data-testid="failed-after">{format!("A failed request took {:.1} ms to fail at the median ({:.1} ms at worst).", Dec(s.failed_ms.p50), Dec(s.failed_ms.max))}</p>
                    })}
                    {(s.cache_hits + s.cache_misses > 0).then(|| view! {
                        <p data-testid="cache">{format!("Cache: {} hits, {} went to the database.", s.cache_hits, s.cache_misses)}</p>
                    })}
                    {(s.breaker_opened > 0).then(|| view! {
                        <p data-testid="breaker">{format!("The circuit breaker opened {} times.", s.breaker_opened)}</p>
                    })}
                    <p><a href=format!("/api/runs/{}/requests.csv", run.id) download="">"Download every request (CSV)"</a></p>
                    {(s.leaked > 0 || s.leak_suspects > 0).then(|| view! {
                        <p class="errors" data-testid="leaks">
                            {format!("{} connections leaked; the leak detector flagged {} requests.", s.leaked, s.leak_suspects)}
                        </p>
                    })}
                }
                .into_any()
            }
            _ => view! { <p class="muted">"Measuring…"</p> }.into_any(),
        }
    }
}

#[component]
pub fn RecentRuns(runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    view! {
        <table class="runs">
            <thead>
                <tr><th scope="col">"strategy"</th><th scope="col">"requests"</th><th scope="col">"concurrency"</th><th scope="col">"pool max"</th><th scope="col">"state"</th><th scope="col">"ok / failed"</th><th scope="col">"p99 ms"</th><th scope="col">"peak server"</th></tr>
            </thead>
            <tbody>
                {move || runs.get().into_iter().take(12).map(|r| {
                    let s = r.summary.clone().unwrap_or_default();
                    let done = r.summary.is_some();
                    view! {
                        <tr>
                            <td><a href=crate::route::Route::Run(r.id.clone()).href()>{r.spec.strategy.as_str()}</a></td>
                            <td>{r.spec.requests}</td>
                            <td>{r.spec.concurrency}</td>
                            <td>{r.spec.pool.max_connections}</td>
                            <td>{r.state.as_str()}</td>
                            <td>{if done { format!("{} / {}", s.completed, s.failed) } else { "–".into() }}</td>
                            <td>{if done { format!("{:.1}", Dec(s.latency_ms.p99)) } else { "–".into() }}</td>
                            <td>{if done { s.peak_server_connections.to_string() } else { "–".into() }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
