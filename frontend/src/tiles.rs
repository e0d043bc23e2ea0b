//! Every figure of one frame, as numbers: the app's side and the server's side next to each other.

use leptos::prelude::*;
use poollab_shared::{Dec, Frame};

type Figure = (&'static str, fn(&Frame) -> String);

fn pool(f: &Frame, pick: fn(&poollab_shared::PoolFrame) -> u64) -> String {
    f.pool.map_or_else(|| "–".into(), |p| pick(&p).to_string())
}

/// The app's side of one frame, as a list of figures (one table, drawn from data: the page draws
/// many figures with little code).
const APP: &[Figure] = &[
    ("requests in flight", |f| f.app.in_flight.to_string()),
    ("connects per second", |f| format!("{:.0}", Dec(f.app.connects_per_s))),
    ("pool size", |f| pool(f, |p| p.size)),
    ("idle", |f| pool(f, |p| p.idle)),
    ("in use", |f| pool(f, |p| p.in_use)),
    ("opening", |f| pool(f, |p| p.connecting)),
    ("waiting", |f| pool(f, |p| p.waiters)),
    ("oldest wait (ms)", |f| pool(f, |p| p.oldest_wait_ms)),
    ("closes per second", |f| format!("{:.0}", Dec(f.app.closes_per_s))),
    ("of which: lifetime retirements", |f| f.app.closes_lifetime_delta.to_string()),
    ("circuit breaker", |f| f.app.breaker.map_or("off", |b| b.as_str()).to_owned()),
    ("cache hits so far", |f| {
        let t = f.app.totals;
        if t.cache_hits + t.cache_misses == 0 {
            "–".into()
        } else {
            format!("{} of {}", t.cache_hits, t.cache_hits + t.cache_misses)
        }
    }),
    ("p50 latency (ms)", |f| f.app.latency_p50_ms.map_or_else(|| "–".into(), |v| format!("{:.1}", Dec(v)))),
    ("failed so far", |f| f.app.totals.failed.to_string()),
    ("connections opened so far", |f| f.app.totals.connects.to_string()),
    ("held too long (leak detector)", |f| {
        let named: Vec<String> = f.app.held_too_long.iter().take(4).map(|h| format!("#{}", h.request)).collect();
        if named.is_empty() { "0".into() } else { format!("{} ({})", f.app.held_too_long_count, named.join(" ")) }
    }),
];

/// The server's side of one frame.
const SERVER: &[Figure] = &[
    ("backends of this run", |f| f.server.run_backends.to_string()),
    ("all client backends", |f| f.server.backends.to_string()),
    ("max_connections", |f| f.server.max_connections.to_string()),
    ("refused so far (its log)", |f| f.server.refused.map_or_else(|| "–".into(), |n| n.to_string())),
    ("server reachable", |f| if f.server.reachable { "yes" } else { "no" }.to_owned()),
    ("network outage", |f| if f.app.outage { "on" } else { "off" }.to_owned()),
];

fn side(title: &'static str, figures: &'static [Figure], frame: Signal<Option<Frame>>) -> impl IntoView + use<> {
    view! {
        <table class="figures">
            <caption>{title}</caption>
            <tbody>
                {move || frame.with(|f| figures.iter().map(|(label, value)| {
                    let v = f.as_ref().map_or_else(|| "–".to_owned(), value);
                    view! { <tr><th scope="row">{*label}</th><td>{v}</td></tr> }
                }).collect_view())}
            </tbody>
        </table>
    }
}

/// Every figure of one frame, the app's side beside the server's.
#[component]
pub fn Tiles(#[prop(into)] latest: Signal<Option<Frame>>) -> impl IntoView {
    view! {
        <div class="tiles">
            {side("App", APP, latest)}
            {side("Server (pg_stat_activity)", SERVER, latest)}
        </div>
    }
}

/// Most often the screen-reader summary of the live figures changes.
const ANNOUNCE_EVERY_MS: f64 = 5_000.0;

/// The live figures in one sentence for screen readers: a polite live region, updated at most
/// every five seconds (and when a run ends), so it informs without talking over everything.
#[component]
pub fn LiveSummary(latest: RwSignal<Option<Frame>>) -> impl IntoView {
    let said = RwSignal::new(String::new());
    let last = StoredValue::new(0.0f64);
    let was_running = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(f) = latest.get() else { return };
        let running = f.run_id.is_some();
        let now = js_sys::Date::now();
        let run_ended = was_running.get_value() && !running;
        was_running.set_value(running);
        if !running && !run_ended {
            return;
        }
        if !run_ended && now - last.get_value() < ANNOUNCE_EVERY_MS {
            return;
        }
        last.set_value(now);
        let pool = f
            .pool
            .map(|p| format!(" The pool holds {}, {} in use, {} waiting.", p.size, p.in_use, p.waiters))
            .unwrap_or_default();
        said.set(if run_ended {
            "The run has ended; its result is below.".to_owned()
        } else {
            format!(
                "{:.0} seconds in: {} requests in flight, {} server backends for this run.{pool}",
                Dec(f.elapsed_ms as f64 / 1000.0),
                f.app.in_flight,
                f.server.run_backends
            )
        });
    });
    view! { <p class="sr-only" aria-live="polite" data-testid="live-summary">{move || said.get()}</p> }
}
