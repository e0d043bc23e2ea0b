//! Every figure of one frame, as numbers: the app's side and the server's side next to each other.

use std::fmt::Write;

use leptos::prelude::*;
use poollab_shared::activity::AppCounts;
use poollab_shared::rate::rate;
use poollab_shared::{Dec, Frame};

use crate::chart::run_ms;
use crate::tape::Tape;

/// A figure's label and its value in a frame of a run that lasted (so far) the given ms, with the
/// app's figures counted from the records at the picture's instant once they are read.
type Figure = (&'static str, fn(&Frame, u64, Option<&AppCounts>) -> String);

fn pool(f: &Frame, pick: fn(&poollab_shared::PoolFrame) -> u64) -> String {
    f.pool.map_or_else(|| "–".into(), |p| pick(&p).to_string())
}

/// The app's side of one frame, as a list of figures (one table, drawn from data: the page draws
/// many figures with little code).
const APP: &[Figure] = &[
    ("requests in flight", |f, _, c| c.map_or(f.app.in_flight, |c| c.in_flight).to_string()),
    ("connects per second", |f, run_ms, _| format!("{:.0}", Dec(rate(f.app.connects_per_s, 1000, run_ms).0))),
    ("pool size", |f, _, _| pool(f, |p| p.size)),
    ("idle", |f, _, _| pool(f, |p| p.idle)),
    ("in use", |f, _, c| match c {
        Some(c) if f.pool.is_some() => c.holding.to_string(),
        _ => pool(f, |p| p.in_use),
    }),
    ("opening", |f, _, _| pool(f, |p| p.connecting)),
    ("waiting", |f, _, c| match c {
        Some(c) if f.pool.is_some() => c.waiting.to_string(),
        _ => pool(f, |p| p.waiters),
    }),
    ("oldest wait (ms)", |f, _, c| match c {
        Some(c) if f.pool.is_some() => format!("{:.0}", Dec(c.oldest_wait_ms)),
        _ => pool(f, |p| p.oldest_wait_ms),
    }),
    ("closes per second", |f, run_ms, _| format!("{:.0}", Dec(rate(f.app.closes_per_s, 1000, run_ms).0))),
    ("of which: lifetime retirements", |f, _, _| f.app.closes_lifetime_delta.to_string()),
    ("circuit breaker", |f, _, _| f.app.breaker.map_or("off", |b| b.as_str()).to_owned()),
    ("cache hits so far", |f, _, _| {
        let t = f.app.totals;
        if t.cache_hits + t.cache_misses == 0 {
            "–".into()
        } else {
            format!("{} of {}", t.cache_hits, t.cache_hits + t.cache_misses)
        }
    }),
    ("p50 latency (ms)", |f, _, _| f.app.latency_p50_ms.map_or_else(|| "–".into(), |v| format!("{:.1}", Dec(v)))),
    ("failed so far", |f, _, _| f.app.totals.failed.to_string()),
    ("connections opened so far", |f, _, _| f.app.totals.connects.to_string()),
    ("held too long (leak detector)", |f, _, _| {
        let named: Vec<String> = f.app.held_too_long.iter().take(4).map(|h| format!("#{}", h.request)).collect();
        if named.is_empty() { "0".into() } else { format!("{} ({})", f.app.held_too_long_count, named.join(" ")) }
    }),
];

/// The server's side of one frame.
const SERVER: &[Figure] = &[
    ("backends of this run", |f, _, _| f.server.run_backends.to_string()),
    ("all client backends", |f, _, _| f.server.client_backends().to_string()),
    ("max_connections", |f, _, _| f.server.max_connections.to_string()),
    ("refused so far (its log)", |f, _, _| f.server.refused.map_or_else(|| "–".into(), |n| n.to_string())),
    ("server reachable", |f, _, _| if f.server.reachable { "yes" } else { "no" }.to_owned()),
    ("network outage", |f, _, _| if f.app.outage { "on" } else { "off" }.to_owned()),
];

fn side(
    title: &'static str,
    figures: &'static [Figure],
    frame: Signal<Option<Frame>>,
    tape: Tape,
    counted: bool,
) -> impl IntoView + use<> {
    // Once the run's records are read, the app's figures that the picture draws are counted from
    // them at the picture's instant (the same numbers it shows); the rest are the frame's samples.
    let app = move || counted.then(|| tape.app_side()).flatten();
    let caption = move || match (app(), frame.with(|f| f.as_ref().map(|f| f.elapsed_ms))) {
        (Some(side), Some(frame_ms)) => format!(
            "{title} at {} (in flight, in use, waiting: from the records, as the picture; the rest sampled at {frame_ms} ms)",
            crate::tape::ms_text(side.at_ms)
        ),
        _ => title.to_owned(),
    };
    // Rows as HTML text: far less code in the page than as many elements (every text is the
    // lab's own, or a number).
    let rows = move || {
        let app = app();
        frame.with(|f| {
            let run_ms = tape.with_frames(|frames| run_ms(&tape, frames));
            let mut o = String::new();
            for (label, value) in figures {
                let v = f.as_ref().map_or_else(|| "–".to_owned(), |f| value(f, run_ms, app.as_ref().map(|a| &a.total)));
                // A rate reads per second only for a run of two seconds or more.
                let label = label.replace("per second", rate(0.0, 0, run_ms).1);
                let _ = write!(o, r#"<tr><th scope="row">{label}</th><td>{v}</td></tr>"#);
            }
            o
        })
    };
    view! {
        <table class="figures">
            <caption>{caption}</caption>
            <tbody inner_html=rows></tbody>
        </table>
    }
}

/// Every figure of one frame of the `tape`'s run, the app's side beside the server's (its rates
/// read per second only if the run lasted two seconds or more).
#[component]
pub fn Tiles(#[prop(into)] latest: Signal<Option<Frame>>, tape: Tape) -> impl IntoView {
    view! {
        <div class="tiles">
            {side("App", APP, latest, tape, true)}
            {side("Server (pg_stat_activity, sampled)", SERVER, latest, tape, false)}
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
