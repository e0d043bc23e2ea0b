//! The latest figures, as numbers: the app's side and the server's side next to each other.

use leptos::prelude::*;
use poollab_shared::Frame;

fn tile(label: &'static str, id: &'static str, value: Signal<String>) -> impl IntoView + use<> {
    view! {
        <div class="tile" data-testid=id>
            <span class="value">{move || value.get()}</span>
            <span class="label">{label}</span>
        </div>
    }
}

#[component]
pub fn Tiles(#[prop(into)] latest: Signal<Option<Frame>>) -> impl IntoView {
    let num = move |f: fn(&Frame) -> String| {
        Signal::derive(move || latest.with(|l| l.as_ref().map(f).unwrap_or_else(|| "–".into())))
    };
    let pool = move |f: fn(&poollab_shared::PoolFrame) -> u64| {
        Signal::derive(move || {
            latest.with(|l| l.as_ref().and_then(|fr| fr.pool).map(|p| f(&p).to_string()).unwrap_or_else(|| "–".into()))
        })
    };
    view! {
        <div class="tiles">
            <div class="side">
                <h3>"App"</h3>
                {tile("requests in flight", "tile-in-flight", num(|f| f.app.in_flight.to_string()))}
                {tile("connects per second", "tile-connects", num(|f| format!("{:.0}", f.app.connects_per_s)))}
                {tile("pool size", "tile-pool-size", pool(|p| p.size))}
                {tile("idle", "tile-idle", pool(|p| p.idle))}
                {tile("in use", "tile-in-use", pool(|p| p.in_use))}
                {tile("opening", "tile-connecting", pool(|p| p.connecting))}
                {tile("waiting", "tile-waiters", pool(|p| p.waiters))}
                {tile("oldest wait (ms)", "tile-oldest-wait", pool(|p| p.oldest_wait_ms))}
                {tile("closes per second", "tile-closes", num(|f| format!("{:.0}", f.app.closes_per_s)))}
                {tile("of which: lifetime retirements", "tile-closes-lifetime", num(|f| f.app.closes_lifetime_delta.to_string()))}
                {tile("circuit breaker", "tile-breaker", num(|f| match f.app.breaker {
                    None => "off".into(),
                    Some(b) => b.as_str().into(),
                }))}
                {tile("cache hits so far", "tile-cache", num(|f| {
                    let t = f.app.totals;
                    if t.cache_hits + t.cache_misses == 0 { "–".into() } else { format!("{} of {}", t.cache_hits, t.cache_hits + t.cache_misses) }
                }))}
                {tile("p50 latency (ms)", "tile-p50", num(|f| f.app.latency_p50_ms.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())))}
                {tile("failed so far", "tile-errors", num(|f| f.app.totals.failed.to_string()))}
                {tile("connections opened so far", "tile-connects-total", num(|f| f.app.totals.connects.to_string()))}
                {tile("held too long (leak detector)", "tile-held", num(|f| {
                    let named: Vec<String> = f.app.held_too_long.iter().take(4).map(|h| format!("#{}", h.request)).collect();
                    if named.is_empty() { "0".into() } else { format!("{} ({})", f.app.held_too_long_count, named.join(" ")) }
                }))}
            </div>
            <div class="side">
                <h3>"Server (pg_stat_activity)"</h3>
                {tile("backends of this run", "tile-run-backends", num(|f| f.server.run_backends.to_string()))}
                {tile("all client backends", "tile-backends", num(|f| f.server.backends.to_string()))}
                {tile("max_connections", "tile-max", num(|f| f.server.max_connections.to_string()))}
                {tile("refused so far (its log)", "tile-refused", num(|f| f.server.refused.map_or("–".into(), |n| n.to_string())))}
                {tile("server reachable", "tile-up", num(|f| if f.server.reachable { "yes".into() } else { "no".into() }))}
                {tile("network outage", "tile-outage", num(|f| if f.app.outage { "on".into() } else { "off".into() }))}
            </div>
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
                f.elapsed_ms as f64 / 1000.0,
                f.app.in_flight,
                f.server.run_backends
            )
        });
    });
    view! { <p class="sr-only" aria-live="polite" data-testid="live-summary">{move || said.get()}</p> }
}
