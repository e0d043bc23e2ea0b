//! The pool, drawn: app instances with their pools' slots, the line of waiting requests, the way
//! to the server (distance, outage, breaker, cache) and the server's connection slots.
//!
//! The picture is a pure view of one [`Frame`] and the run's spec: it keeps no state of its own
//! and simulates nothing, so live, replay and a shared run only feed it different frames, and what
//! it draws is what was measured. Every square is one connection or one server slot; the counts
//! are the frame's own (`pool.in_use` green squares, `pool.waiters` dots in the line, the server's
//! `run_backends` filled slots).

use leptos::prelude::*;
use poollab_shared::{BreakerState, Frame, InstanceFrame, Part, RunSpec, Strategy};

use crate::tape::Peaks;

const W: f64 = 760.0;
/// One square (a connection, a slot) and the gap after it.
const SQ: f64 = 14.0;
const STEP: f64 = 18.0;
const LINE_X: f64 = 6.0;
const APP_X: f64 = 164.0;
const APP_COLS: usize = 15;
const LINK_X: f64 = APP_X + APP_COLS as f64 * STEP + 6.0;
const SERVER_X: f64 = 524.0;
const TOP: f64 = 40.0;
/// Dots drawn in the line before the rest is a number.
const LINE_DOTS: u64 = 60;
/// Squares drawn per instance before the rest is a number.
const MOST_SQUARES: u64 = 200;

/// What a drawn square stands for (its CSS class and `data-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    InUse,
    Connecting,
    Idle,
    /// Room in the pool not opened yet.
    Unopened,
}

impl Slot {
    fn class(self) -> &'static str {
        match self {
            Slot::InUse => "in-use",
            Slot::Connecting => "connecting",
            Slot::Idle => "idle",
            Slot::Unopened => "unopened",
        }
    }
}

fn squares(x0: f64, y0: f64, cols: usize, states: &[(Slot, u64)]) -> impl IntoView + use<> {
    let mut i = 0usize;
    let mut out = Vec::new();
    for &(state, n) in states {
        for _ in 0..n {
            let (x, y) = (x0 + (i % cols) as f64 * STEP, y0 + (i / cols) as f64 * STEP);
            out.push(view! { <rect class=format!("slot {}", state.class()) data-state=state.class() x=x y=y width=SQ height=SQ rx="2" /> });
            i += 1;
        }
    }
    out.collect_view()
}

fn rows(n: u64, cols: usize) -> f64 {
    (n as f64 / cols as f64).ceil().max(1.0)
}

/// One app instance: its pool's slots, or a naive app's own connections.
fn instance(i: &InstanceFrame, label: String, spec: &RunSpec, y: f64, several: bool) -> (AnyView, f64) {
    let body_y = y + 34.0;
    let (view, squares_drawn) = match (spec.strategy, i.pool) {
        (Strategy::Pooled, Some(p)) => {
            let room = p.max_connections.max(p.size);
            let unopened = room - p.size;
            let drawn = room.min(MOST_SQUARES);
            let states = clip(
                &[
                    (Slot::InUse, p.in_use),
                    (Slot::Connecting, p.connecting),
                    (Slot::Idle, p.idle),
                    (Slot::Unopened, unopened),
                ],
                drawn,
            );
            let more = (room > drawn).then(|| view! { <text class="note" x=APP_X y=body_y + rows(drawn, APP_COLS) * STEP + 12.0>{format!("+{} more slots", room - drawn)}</text> });
            (
                view! {
                    <text class="label" x=APP_X y=y + 12.0>{label}</text>
                    <text class="note" x=APP_X y=y + 27.0>{format!("{} in use · {} opening · {} idle", p.in_use, p.connecting, p.idle)}</text>
                    {squares(APP_X, body_y, APP_COLS, &states)}
                    {more}
                }
                .into_any(),
                drawn,
            )
        }
        _ => {
            let total = i.connecting + i.holding;
            let drawn = total.min(MOST_SQUARES);
            let states = clip(&[(Slot::InUse, i.holding), (Slot::Connecting, i.connecting)], drawn);
            let more = (total > drawn).then(|| view! { <text class="note" x=APP_X y=body_y + rows(drawn, APP_COLS) * STEP + 10.0>{format!("+{} more", total - drawn)}</text> });
            let empty =
                (total == 0).then(|| view! { <text class="note" x=APP_X y=body_y + 9.0>"no connection open"</text> });
            (
                view! {
                    <text class="label" x=APP_X y=y + 12.0>{label}</text>
                    <text class="note" x=APP_X y=y + 27.0>{format!("{} connecting · {} open", i.connecting, i.holding)}</text>
                    {squares(APP_X, body_y, APP_COLS, &states)}
                    {more}
                    {empty}
                }
                .into_any(),
                drawn,
            )
        }
    };
    let sees = several.then(|| view! { <text class="note server-sees" x=APP_X y=body_y + rows(squares_drawn, APP_COLS) * STEP + 12.0>{format!("the server sees {} of its backends", i.server_backends)}</text> });
    let height = 34.0 + rows(squares_drawn, APP_COLS) * STEP + if several { 26.0 } else { 10.0 };
    (view! { <g class="instance" data-name=i.name.clone()>{view}{sees}</g> }.into_any(), height)
}

/// The first `n` squares of `states`, in order.
fn clip(states: &[(Slot, u64)], mut n: u64) -> Vec<(Slot, u64)> {
    states
        .iter()
        .map(|&(s, k)| {
            let take = k.min(n);
            n -= take;
            (s, take)
        })
        .collect()
}

/// The server's connection slots, filled with this run's backends by state and everyone else's.
fn server(frame: &Frame, peaks: Peaks, y: f64) -> (AnyView, f64) {
    let s = &frame.server;
    let max = s.max_connections.max(1);
    let (cols, cell) = if max <= 120 {
        (10usize, STEP)
    } else if max <= 600 {
        (25, 7.0)
    } else {
        (50, 3.5)
    };
    let size = cell - if cell > 5.0 { 3.0 } else { 0.5 };
    let run = |state: &str| s.run_in_state(state);
    let (active, idle, in_tx) = (run("active"), run("idle"), run("idle in transaction"));
    let run_other = s.run_backends.saturating_sub(active + idle + in_tx);
    // The sampler's own backend is left out of `backends`; it holds a slot all the same.
    let others = s.backends.saturating_sub(s.run_backends) + u64::from(s.reachable);
    let used = s.run_backends + others;
    let free = max.saturating_sub(used);
    let reserved = s.reserved_connections.min(free);
    let kinds = [
        ("run-active", active),
        ("run-in-tx", in_tx),
        ("run-idle", idle),
        ("run-other", run_other),
        ("other", others),
        ("free", free - reserved),
        ("reserved", reserved),
    ];
    let gx = SERVER_X + 10.0;
    let gy = y + 40.0;
    let mut i = 0usize;
    let mut cells = Vec::new();
    for (kind, n) in kinds {
        for _ in 0..n.min(max) {
            if i as u64 >= max {
                break;
            }
            let (x, cy) = (gx + (i % cols) as f64 * cell, gy + (i / cols) as f64 * cell);
            cells.push(view! { <rect class=format!("cell {kind}") data-state=kind x=x y=cy width=size height=size rx="1.5" /> });
            i += 1;
        }
    }
    let grid_h = (max as f64 / cols as f64).ceil() * cell;
    let refused = s.refused.unwrap_or(frame.app.totals.errors.too_many_clients);
    let below = gy + grid_h + 18.0;
    let refused_class = if refused > 0 { "refused on" } else { "refused" };
    let view = view! {
        <g data-testid="server" data-run-backends=s.run_backends data-max=max>
            <rect class="box" x=SERVER_X y=y width=W - SERVER_X - 2.0 height=grid_h + 130.0 rx="8" />
            <text class="label" x=gx y=y + 18.0>{format!("PostgreSQL · {} of {max} used", used.min(max))}</text>
            <text class="note" x=gx y=y + 33.0>{format!("max_connections {max}, {} reserved", s.reserved_connections)}</text>
            {cells}
            <text class="figure-text" x=gx y=below>{format!("this run: {} backends", s.run_backends)}</text>
            <text class="note" x=gx y=below + 16.0>{format!("{active} active · {idle} idle")}</text>
            {(in_tx > 0).then(|| view! { <text class="note" x=gx + 130.0 y=below + 16.0>{format!("{in_tx} idle in tx")}</text> })}
            <text class="note" x=gx y=below + 32.0>{format!("peak of this run: {}", peaks.server)}</text>
            <text class=refused_class x=gx y=below + 52.0 data-testid="refused" data-refused=refused>
                {format!("refused: {refused}")}
            </text>
            <text class="note" x=gx y=below + 67.0>"(too many clients)"</text>
            {(!s.reachable).then(|| view! { <text class="refused on" x=gx y=below + 85.0>"unreachable"</text> })}
        </g>
    }
    .into_any();
    (view, grid_h + 134.0)
}

/// Requests in flight, and the line of those waiting for a pooled connection.
fn line(frame: &Frame, peaks: Peaks, pooled: bool, y: f64) -> AnyView {
    let pool = frame.pool.unwrap_or_default();
    let cols = 10usize;
    let dots = pool.waiters.min(LINE_DOTS);
    let circles = (0..dots)
        .map(|i| {
            let (cx, cy) =
                (LINE_X + 6.0 + (i as usize % cols) as f64 * 13.0, y + 46.0 + (i as usize / cols) as f64 * 13.0);
            view! { <circle class="waiter" cx=cx cy=cy r="4.5" /> }
        })
        .collect_view();
    let after = y + 70.0 + rows(dots, cols) * 14.0 + 6.0;
    let more = (pool.waiters > dots).then(
        || view! { <text class="note" x=LINE_X y=after>{format!("+{} more waiting", pool.waiters - dots)}</text> },
    );
    let waiting = pooled.then(|| {
        view! {
            <text class="figure-text" x=LINE_X y=y + 48.0>{format!("{} waiting", pool.waiters)}</text>
            {circles}
            {more}
            <text class="note" x=LINE_X y=after + 14.0>{format!("oldest waited {} ms", pool.oldest_wait_ms)}</text>
            <text class="note" x=LINE_X y=after + 30.0>{format!("peak: {} waiting", peaks.waiters)}</text>
        }
    });
    view! {
        <g data-testid="line" data-waiters=pool.waiters>
            <text class="label" x=LINE_X y=y + 12.0>"Requests"</text>
            <text class="note" x=LINE_X y=y + 12.0 dy="15">{format!("{} in flight", frame.app.in_flight)}</text>
            {waiting}
        </g>
    }
    .into_any()
}

/// The way from the app to the server, and the guards on it.
fn link(frame: &Frame, spec: &RunSpec, parts: &[Part], y: f64) -> AnyView {
    let (x1, x2) = (LINK_X - 4.0, SERVER_X - 4.0);
    let mid = (x1 + x2) / 2.0;
    let network = parts.contains(&Part::Network);
    let outage = network && frame.app.outage;
    let delay = (network && spec.network.delay_ms > 0)
        .then(|| view! { <text class="note mid" x=mid y=y - 6.0>{format!("+{} ms", spec.network.delay_ms)}</text> });
    let cut = outage.then(|| {
        view! {
            <text class="refused on mid" x=mid y=y + 5.0>"✕"</text>
            <text class="refused on mid" x=mid y=y + 20.0>"outage"</text>
        }
    });
    let guards = parts.contains(&Part::Guards);
    let breaker = frame.app.breaker.filter(|_| guards).map(|b| {
        let class = match b {
            BreakerState::Closed => "breaker closed",
            BreakerState::Open => "breaker open",
            BreakerState::HalfOpen => "breaker half-open",
        };
        view! {
            <g data-testid="breaker" data-state=b.as_str()>
                <rect class=class x=mid - 34.0 y=y + 28.0 width="68" height="30" rx="5" />
                <text class="note mid" x=mid y=y + 41.0>"breaker"</text>
                <text class="label mid" x=mid y=y + 53.0>{b.as_str()}</text>
            </g>
        }
    });
    let t = frame.app.totals;
    let cache = (guards && spec.cache.enabled).then(|| {
        view! {
            <g data-testid="cache">
                <rect class="cache" x=mid - 34.0 y=y - 64.0 width="68" height="40" rx="5" />
                <text class="note mid" x=mid y=y - 51.0>"cache"</text>
                <text class="label mid" x=mid y=y - 38.0>{format!("{} hits", t.cache_hits)}</text>
                <text class="note mid" x=mid y=y - 27.0>{format!("{} misses", t.cache_misses)}</text>
            </g>
        }
    });
    view! {
        <g data-testid="link" data-outage=outage.to_string()>
            <line class=if outage { "link cut" } else { "link" } x1=x1 y1=y x2=x2 y2=y />
            {delay}
            {cut}
            {breaker}
            {cache}
        </g>
    }
    .into_any()
}

/// One sentence of what the picture shows: its text alternative.
pub fn describe(frame: &Frame, spec: &RunSpec) -> String {
    let s = &frame.server;
    let app = match frame.pool {
        Some(p) => format!(
            "The {} {} connections: {} in use, {} opening, {} idle; {} requests wait for one.",
            if frame.instances.len() > 1 { "pools hold" } else { "pool holds" },
            p.size,
            p.in_use,
            p.connecting,
            p.idle,
            p.waiters
        ),
        None => format!(
            "{} requests are opening their own connection and {} hold one.",
            frame.app.connecting, frame.app.holding
        ),
    };
    format!(
        "At {:.1} s of this {} run: {app} The server has {} of this run's backends ({} active) out of {} slots{}.",
        frame.elapsed_ms as f64 / 1000.0,
        spec.strategy.as_str(),
        s.run_backends,
        s.run_in_state("active"),
        s.max_connections,
        match s.refused {
            Some(n) if n > 0 => format!(", and has refused {n} connects"),
            _ => String::new(),
        }
    )
}

/// The picture of one frame of a run.
#[component]
pub fn PoolPicture(
    #[prop(into)] frame: Signal<Option<Frame>>,
    #[prop(into)] spec: Signal<Option<RunSpec>>,
    #[prop(into)] peaks: Signal<Peaks>,
    parts: Vec<Part>,
) -> impl IntoView {
    let drawn = move || {
        let (Some(frame), Some(spec)) = (frame.get(), spec.get()) else {
            return view! { <p class="muted picture-empty">"The picture draws the next run: the app's connections, the line, and the server's slots."</p> }.into_any();
        };
        let peaks = peaks.get();
        let pooled = spec.strategy == Strategy::Pooled;
        let several = frame.instances.len() > 1;
        let mut y = TOP;
        let mut blocks = Vec::new();
        if parts.contains(&Part::App) {
            for (n, i) in frame.instances.iter().enumerate() {
                let label = match (several, pooled) {
                    (true, true) => format!("app {} · pool of {}", n + 1, spec.pool.max_connections),
                    (true, false) => format!("app {} · a connection per request", n + 1),
                    (false, true) => format!("app · pool of {}", spec.pool.max_connections),
                    (false, false) => "app · a connection per request".to_owned(),
                };
                let (v, h) = instance(i, label, &spec, y, several);
                blocks.push(v);
                y += h;
            }
        }
        let app_bottom = y;
        let (server_view, server_h) =
            if parts.contains(&Part::Server) { server(&frame, peaks, TOP) } else { (().into_any(), 0.0) };
        let link_y = TOP + 60.0;
        let line_view = (parts.contains(&Part::Line) || !pooled)
            .then(|| line(&frame, peaks, pooled && parts.contains(&Part::Line), TOP));
        let link_view = link(&frame, &spec, &parts, link_y);
        let height = app_bottom.max(TOP + server_h).max(TOP + 170.0) + 10.0;
        let peak_app = if pooled {
            format!("peak: {} in use, {} opening", peaks.in_use, peaks.connecting)
        } else {
            format!("peak: {} open, {} connecting", peaks.holding, peaks.connecting)
        };
        let desc = describe(&frame, &spec);
        view! {
            <svg class="picture" viewBox=format!("0 0 {W} {height}") role="img" aria-labelledby="picture-title picture-desc"
                data-testid="picture" data-seq=frame.seq data-elapsed=frame.elapsed_ms>
                <title id="picture-title">"The pool and the server"</title>
                <desc id="picture-desc">{desc}</desc>
                <text class="heading" x=APP_X y="16">{if pooled { "The app and its pool" } else { "The app" }}</text>
                <text class="note" x=APP_X y="32">{peak_app}</text>
                <text class="heading" x=SERVER_X y="16">"The server"</text>
                {line_view}
                <g data-testid="pool-slots">{blocks}</g>
                {link_view}
                {server_view}
            </svg>
        }
        .into_any()
    };
    view! {
        <figure class="picture-box">
            {drawn}
            <figcaption>
                <ul class="legend">
                    <li><span class="swatch sq in-use" aria-hidden="true"></span>"in use"</li>
                    <li><span class="swatch sq connecting" aria-hidden="true"></span>"opening"</li>
                    <li><span class="swatch sq idle" aria-hidden="true"></span>"idle in the pool"</li>
                    <li><span class="swatch sq unopened" aria-hidden="true"></span>"room in the pool"</li>
                    <li><span class="swatch dot" aria-hidden="true"></span>"a waiting request"</li>
                    <li><span class="swatch sq other" aria-hidden="true"></span>"other clients (the lab's own among them)"</li>
                    <li><span class="swatch sq reserved" aria-hidden="true"></span>"reserved for superusers"</li>
                </ul>
                <p class="chart-text" data-testid="picture-text">{move || frame.get().zip(spec.get()).map(|(f, s)| describe(&f, &s))}</p>
            </figcaption>
        </figure>
    }
}
