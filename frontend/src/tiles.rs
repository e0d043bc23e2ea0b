//! The latest figures, as numbers: the app's side and the server's side next to each other.

use leptos::prelude::*;
use poollab_shared::Frame;

#[component]
fn Tile(label: &'static str, id: &'static str, value: Signal<String>) -> impl IntoView {
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
                <Tile label="requests in flight" id="tile-in-flight" value=num(|f| f.app.in_flight.to_string()) />
                <Tile label="connects per second" id="tile-connects" value=num(|f| format!("{:.0}", f.app.connects_per_s)) />
                <Tile label="pool size" id="tile-pool-size" value=pool(|p| p.size) />
                <Tile label="idle" id="tile-idle" value=pool(|p| p.idle) />
                <Tile label="in use" id="tile-in-use" value=pool(|p| p.in_use) />
                <Tile label="opening" id="tile-connecting" value=pool(|p| p.connecting) />
                <Tile label="waiting" id="tile-waiters" value=pool(|p| p.waiters) />
                <Tile label="oldest wait (ms)" id="tile-oldest-wait" value=pool(|p| p.oldest_wait_ms) />
                <Tile label="closes per second" id="tile-closes" value=num(|f| format!("{:.0}", f.app.closes_per_s)) />
                <Tile label="of which: lifetime retirements" id="tile-closes-lifetime" value=num(|f| f.app.closes_lifetime_delta.to_string()) />
                <Tile label="circuit breaker" id="tile-breaker" value=num(|f| match f.app.breaker {
                    None => "off".into(),
                    Some(b) => b.as_str().into(),
                }) />
                <Tile label="cache hits so far" id="tile-cache" value=num(|f| {
                    let t = f.app.totals;
                    if t.cache_hits + t.cache_misses == 0 { "–".into() } else { format!("{} of {}", t.cache_hits, t.cache_hits + t.cache_misses) }
                }) />
                <Tile label="p50 latency (ms)" id="tile-p50" value=num(|f| f.app.latency_p50_ms.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())) />
                <Tile label="failed so far" id="tile-errors" value=num(|f| f.app.totals.failed.to_string()) />
                <Tile label="connections opened so far" id="tile-connects-total" value=num(|f| f.app.totals.connects.to_string()) />
                <Tile label="held too long (leak detector)" id="tile-held" value=num(|f| {
                    let named: Vec<String> = f.app.held_too_long.iter().take(4).map(|h| format!("#{}", h.request)).collect();
                    if named.is_empty() { "0".into() } else { format!("{} ({})", f.app.held_too_long_count, named.join(" ")) }
                }) />
            </div>
            <div class="side">
                <h3>"Server (pg_stat_activity)"</h3>
                <Tile label="backends of this run" id="tile-run-backends" value=num(|f| f.server.run_backends.to_string()) />
                <Tile label="all client backends" id="tile-backends" value=num(|f| f.server.backends.to_string()) />
                <Tile label="max_connections" id="tile-max" value=num(|f| f.server.max_connections.to_string()) />
                <Tile label="refused so far (its log)" id="tile-refused" value=num(|f| f.server.refused.map_or("–".into(), |n| n.to_string())) />
                <Tile label="server reachable" id="tile-up" value=num(|f| if f.server.reachable { "yes".into() } else { "no".into() }) />
                <Tile label="network outage" id="tile-outage" value=num(|f| if f.app.outage { "on".into() } else { "off".into() }) />
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
