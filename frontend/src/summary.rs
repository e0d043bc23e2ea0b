//! A finished run's measured result, and the list of recent runs.

use std::fmt::Write;

use leptos::prelude::*;
use poollab_shared::{Dec, ErrorKind, RunState, RunView, Strategy, Summary};

/// The one figure a row of the card shows, by its label, with its exact value.
fn figure_of(label: &str, s: &Summary) -> Option<(&'static str, f64)> {
    Some(match label {
        "completed" => ("completed", s.completed as f64),
        "failed" => ("failed", s.failed as f64),
        "slowest" => ("latency_ms.max", s.latency_ms.max),
        "peak server connections" => ("peak_server_connections", s.peak_server_connections as f64),
        "connections opened" => ("connections_opened", s.connections_opened as f64),
        "peak pool size" => ("peak_pool_size", s.peak_pool_size as f64),
        "duration" => ("duration_ms", s.duration_ms as f64),
        _ => return None,
    })
}

/// The result as HTML text: one string for the whole card, which takes far less code in the page
/// than as many elements (every text in it is the lab's own, or a number).
fn card(id: &str, strategy: Strategy, s: &Summary) -> String {
    let ms = |v: f64| format!("{:.1} ms", Dec(v));
    let l = &s.latency_ms;
    let rows: [(&str, &str, String); 11] = [
        ("completed", "", s.completed.to_string()),
        ("failed", "", s.failed.to_string()),
        (
            r#"<a class="term" href="/words.html#w-p99" target="words">p50 / p95 / p99</a> latency"#,
            "",
            format!("{:.1} / {:.1} / {}", Dec(l.p50), Dec(l.p95), ms(l.p99)),
        ),
        ("slowest", "", ms(l.max)),
        ("peak server connections", "peak-server", s.peak_server_connections.to_string()),
        ("connections opened", "", s.connections_opened.to_string()),
        ("peak pool size", "", s.peak_pool_size.to_string()),
        (
            "p99 wait for a connection",
            "",
            if strategy == Strategy::Pooled { ms(s.acquire_wait_ms.p99) } else { "none: no pool".into() },
        ),
        (
            "p50 connect / p50 query",
            "phases",
            if strategy == Strategy::Naive {
                format!("{:.1} / {}", Dec(s.connect_ms.p50), ms(s.query_ms.p50))
            } else {
                format!("opened by the pool / {}", ms(s.query_ms.p50))
            },
        ),
        ("duration", "", duration(s)),
        // Per second only for a run of two seconds or more.
        ("throughput", "throughput", poollab_shared::rate::throughput(s)),
    ];
    let mut o = String::from(r#"<dl class="summary">"#);
    for (label, testid, value) in rows {
        // A row that shows one figure is marked with its name and exact value, as every figure
        // the page shows.
        let mark = figure_of(label, s)
            .map_or_else(String::new, |(name, v)| format!(r#" data-figure="{name}" data-value="{}""#, Dec(v)));
        let _ = write!(o, r#"<div><dt>{label}</dt><dd data-testid="{testid}"{mark}>{value}</dd></div>"#);
    }
    o.push_str(r#"</dl><ul class="errors" aria-label="failures by cause">"#);
    for k in ErrorKind::ALL.iter().filter(|k| s.errors.get(**k) > 0) {
        let _ = write!(o, "<li>{}: {}</li>", k.as_str().replace('_', " "), s.errors.get(*k));
    }
    o.push_str("</ul>");
    let mut line = |testid: &str, class: &str, text: String| {
        let _ = write!(o, r#"<p class="{class}" data-testid="{testid}">{text}</p>"#);
    };
    if s.failed > 0 {
        line(
            "failed-after",
            "",
            format!(
                "A failed request took {} to fail at the median ({} at worst).",
                ms(s.failed_ms.p50),
                ms(s.failed_ms.max)
            ),
        );
    }
    if s.cache_hits + s.cache_misses > 0 {
        line("cache", "", format!("Cache: {} hits, {} went to the database.", s.cache_hits, s.cache_misses));
    }
    if s.breaker_opened > 0 {
        line("breaker", "", format!("The circuit breaker opened {} times.", s.breaker_opened));
    }
    line("", "", format!(r#"<a href="/api/runs/{id}/requests.csv" download="">Download every request (CSV)</a>"#));
    if s.leaked > 0 || s.leak_suspects > 0 {
        line(
            "leaks",
            "errors",
            format!("{} connections leaked; the leak detector flagged {} requests.", s.leaked, s.leak_suspects),
        );
    }
    o
}

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
                let (completed, failed, duration_ms) = (s.completed, s.failed, s.duration_ms);
                let html = card(&run.id, run.spec.strategy, &s);
                view! {
                    <div data-testid="summary" data-completed=completed data-failed=failed data-duration-ms=duration_ms inner_html=html></div>
                }
                .into_any()
            }
            _ => view! { <p class="muted">"Measuring…"</p> }.into_any(),
        }
    }
}

/// The recent runs, as one table (HTML text: every text in it is the lab's own, or a number).
#[component]
pub fn RecentRuns(runs: RwSignal<Vec<RunView>>) -> impl IntoView {
    let table = move || {
        let mut o = String::from("<thead><tr>");
        for h in ["strategy", "requests", "concurrency", "pool max", "state", "ok / failed", "p99 ms", "peak server"] {
            let _ = write!(o, r#"<th scope="col">{h}</th>"#);
        }
        o.push_str("</tr></thead><tbody>");
        runs.with(|runs| {
            for r in runs.iter().take(12) {
                let _ = write!(
                    o,
                    r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"#,
                    crate::route::Route::Run(r.id.clone()).href(),
                    r.spec.strategy.as_str(),
                    r.spec.requests,
                    r.spec.concurrency,
                    r.spec.pool.max_connections,
                    r.state.as_str()
                );
                match &r.summary {
                    Some(s) => {
                        let _ = write!(
                            o,
                            "<td>{} / {}</td><td>{:.1}</td><td>{}</td></tr>",
                            s.completed,
                            s.failed,
                            Dec(s.latency_ms.p99),
                            s.peak_server_connections
                        );
                    }
                    None => o.push_str("<td>–</td><td>–</td><td>–</td></tr>"),
                }
            }
        });
        o.push_str("</tbody>");
        o
    };
    view! { <table class="runs" inner_html=table></table> }
}

/// How long the load took, and, after a warm-up, where on the run's clock (the picture's and the
/// waterfall's) it began and ended.
pub fn duration(s: &Summary) -> String {
    match s.load_started_ms {
        0 => format!("{} ms", s.duration_ms),
        from => format!(
            "{} ms of load, from {from} ms into the run (after the pool's warm-up) to {} ms",
            s.duration_ms,
            from + s.duration_ms
        ),
    }
}
