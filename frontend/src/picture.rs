//! The pool, drawn: app instances with their pools' slots, the line of waiting requests, the way
//! to the server (distance, outage, breaker, cache) and the server's connection slots.
//!
//! The picture is a pure view of one [`Frame`] and the run's spec: it keeps no state of its own
//! and simulates nothing, so live, replay and a shared run only feed it different frames, and what
//! it draws is what was measured. Every square is one connection or one server slot; the counts
//! are the frame's own (`pool.in_use` green squares, `pool.waiters` dots in the line, the server's
//! `run_backends` filled slots).
//!
//! It is redrawn whole for every frame, so it is written as SVG text (as RaftScope's `render.js`
//! does) rather than as a tree of reactive elements: the same drawing with far less code in the
//! page a learner downloads.

use std::fmt::Write;

use leptos::prelude::*;
use poollab_shared::activity::{self, AppCounts, AppPeaks};
use poollab_shared::frame::SHOW_POOLS_EVERY_MS;
use poollab_shared::{BreakerState, Dec, Frame, InstanceFrame, Part, PoolFrame, PoolerFrame, RunSpec, Strategy};

use crate::escape;
use crate::tape::Peaks;

/// The app side the picture draws: requests in flight and waiting, and each instance's
/// connections in use and being opened by requests, with the run's peaks of them.
///
/// While a run goes these are the frame's own gauges; once it is over they are counted from
/// every request's record at one instant ([`poollab_shared::activity`]), the same counts the
/// run's summary is made of, and the frame only lends the server's side and the pools' sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSide {
    /// `records` or `frame`, for `data-source`.
    pub source: &'static str,
    /// Why this instant (`busiest`, `frame`, `after-last-answer`, `live`), for `data-moment`.
    pub moment: &'static str,
    pub at_ms: f64,
    /// Every instance's together.
    pub total: AppCounts,
    /// Each instance's, in the frame's order.
    pub instances: Vec<AppCounts>,
    /// The run's peaks: in use, waiting, in flight, opening (by requests of a naive app).
    pub peak_in_use: u64,
    pub peak_waiting: u64,
    pub peak_in_flight: u64,
    pub peak_connecting: u64,
}

impl AppSide {
    /// Counted from `records` at the instant `at_ms`, for `instances` app instances.
    pub fn counted(
        records: &[poollab_shared::RequestRecord],
        at_ms: f64,
        instances: usize,
        peaks: AppPeaks,
        moment: &'static str,
    ) -> AppSide {
        AppSide {
            source: "records",
            moment,
            at_ms,
            total: AppCounts::at(records, at_ms),
            instances: (0..instances.max(1))
                .map(|i| AppCounts::at(records.iter().filter(|r| r.instance as usize == i), at_ms))
                .collect(),
            peak_in_use: peaks.holding.count,
            peak_waiting: peaks.waiting.count,
            peak_in_flight: peaks.in_flight.count,
            peak_connecting: peaks.connecting.count,
        }
    }

    /// The frame's own gauges (a run still going, or one whose records are not read), with the
    /// most of them over its frames.
    pub fn of_frame(frame: &Frame, peaks: Peaks) -> AppSide {
        let pool = frame.pool.unwrap_or_default();
        let of = |i: &InstanceFrame| AppCounts {
            in_flight: 0,
            waiting: i.pool.map_or(0, |p| p.waiters),
            connecting: if i.pool.is_some() { 0 } else { i.connecting },
            holding: i.pool.map_or(i.holding, |p| p.in_use),
            ..AppCounts::default()
        };
        AppSide {
            source: "frame",
            moment: "live",
            at_ms: frame.elapsed_ms as f64,
            total: AppCounts {
                in_flight: frame.app.in_flight,
                waiting: pool.waiters,
                connecting: if frame.pool.is_some() { 0 } else { frame.app.connecting },
                holding: frame.pool.map_or(frame.app.holding, |p| p.in_use),
                oldest_wait_ms: pool.oldest_wait_ms as f64,
                cache_hits: frame.app.totals.cache_hits,
                cache_misses: frame.app.totals.cache_misses,
            },
            instances: frame.instances.iter().map(of).collect(),
            peak_in_use: if frame.pool.is_some() { peaks.in_use } else { peaks.holding },
            peak_waiting: peaks.waiters,
            peak_in_flight: 0,
            peak_connecting: if frame.pool.is_some() { 0 } else { peaks.connecting },
        }
    }

    fn instance(&self, n: usize) -> AppCounts {
        self.instances.get(n).copied().unwrap_or_default()
    }
}

/// A pool's slots with `in_use` of them in use: opening, idle and unopened as the frame read the
/// pool (the frame's own `in_use` gives back exactly its own counts). Counted from the records,
/// `in_use` may differ from the frame's a little: the pool is then drawn as large as needs be.
///
/// Being pinged: the connections sqlx counted busy that no request held at the same reading
/// (`held`, the lab's own count read with the pool): sqlx pings every connection it takes back,
/// and one it lends. The connections chart's "being pinged" line is this same figure, drawn at
/// every reading (7.2's picture drew 9 where the line read 2 to 5, when it guessed one on its
/// way back for each waiting request).
fn pool_slots(p: PoolFrame, in_use: u64, held: u64) -> [(Slot, u64); 5] {
    let room = p.max_connections.max(p.size).max(in_use);
    let connecting = p.opening_beside(in_use);
    let rest = p.size.saturating_sub(in_use + connecting);
    let returning = rest.min(p.in_use.saturating_sub(held));
    let idle = rest - returning;
    [
        (Slot::InUse, in_use),
        (Slot::Connecting, connecting),
        (Slot::Idle, idle),
        (Slot::Returning, returning),
        (Slot::Unopened, room - in_use - connecting - rest),
    ]
}

const W: f64 = 760.0;
/// One square (a connection, a slot) and the gap after it.
const SQ: f64 = 14.0;
const STEP: f64 = 18.0;
const LINE_X: f64 = 6.0;
const APP_X: f64 = 164.0;
const SERVER_X: f64 = 524.0;
/// The pooler's box, and the squares in one of its rows.
const POOLER_W: f64 = 160.0;
const POOLER_COLS: usize = 7;

/// Where the parts go across the picture. With a pooler, the app's pools are drawn narrower so
/// that its box fits between them and the server without shrinking the whole picture much.
#[derive(Debug, Clone, Copy)]
struct Layout {
    app_cols: usize,
    /// Where the way to the server (or the pooler) starts.
    link_x: f64,
    /// The pooler's box, when there is one.
    pooler_x: f64,
    server_x: f64,
    width: f64,
}

impl Layout {
    fn new(with_pooler: bool) -> Layout {
        let app_cols = if with_pooler { 10 } else { 15 };
        let link_x = APP_X + app_cols as f64 * STEP + 6.0;
        if with_pooler {
            let pooler_x = link_x + 56.0;
            let server_x = pooler_x + POOLER_W + 20.0;
            Layout { app_cols, link_x, pooler_x, server_x, width: server_x + (W - SERVER_X) }
        } else {
            Layout { app_cols, link_x, pooler_x: SERVER_X, server_x: SERVER_X, width: W }
        }
    }
}
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
    /// Given back by a request, not yet free (sqlx's ping on its return).
    Returning,
    /// Room in the pool not opened yet.
    Unopened,
}

impl Slot {
    fn class(self) -> &'static str {
        match self {
            Slot::InUse => "in-use",
            Slot::Connecting => "connecting",
            Slot::Idle => "idle",
            Slot::Returning => "returning",
            Slot::Unopened => "unopened",
        }
    }
}

/// SVG text being written. Every text that is not the lab's own goes through [`Svg::text`],
/// which escapes it.
struct Svg(String);

impl Svg {
    fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }

    /// `<text class=.. x=.. y=..>words</text>`.
    fn text(&mut self, class: &str, x: f64, y: f64, words: &str) -> &mut Self {
        let (x, y) = (Dec(x), Dec(y));
        let _ = write!(self.0, r#"<text class="{class}" x="{x:.1}" y="{y:.1}">{}</text>"#, escape(words));
        self
    }

    fn rect(&mut self, class: &str, state: &str, x: f64, y: f64, w: f64, h: f64) -> &mut Self {
        let (x, y, w, h) = (Dec(x), Dec(y), Dec(w), Dec(h));
        let _ = write!(
            self.0,
            r#"<rect class="{class}" data-state="{state}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="2"/>"#
        );
        self
    }
}

fn squares(svg: &mut Svg, x0: f64, y0: f64, cols: usize, states: &[(Slot, u64)]) {
    let mut i = 0usize;
    for &(state, n) in states {
        for _ in 0..n {
            let (x, y) = (x0 + (i % cols) as f64 * STEP, y0 + (i / cols) as f64 * STEP);
            let class = format!("slot {}", state.class());
            svg.rect(&class, state.class(), x, y, SQ, SQ);
            i += 1;
        }
    }
}

fn rows(n: u64, cols: usize) -> f64 {
    (n as f64 / cols as f64).ceil().max(1.0)
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

/// One app instance: its pool's slots, or a naive app's own connections (its requests' `app`
/// counts). Returns its height.
#[allow(clippy::too_many_arguments)]
fn instance(
    svg: &mut Svg,
    i: &InstanceFrame,
    app: AppCounts,
    label: &str,
    spec: &RunSpec,
    y: f64,
    several: bool,
    cols: usize,
    counted: bool,
) -> f64 {
    let behind_pooler = spec.pooler.is_some();
    let body_y = y + 34.0;
    let _ = write!(svg.0, r#"<g class="instance" data-name="{}">"#, escape(&i.name));
    // Each instance has its own line: say how many of the fleet's waiting requests are its own.
    match i.pool {
        Some(_) if several && counted => {
            svg.text("label", APP_X, y + 12.0, &format!("{label} · {} waiting", app.waiting))
        }
        _ => svg.text("label", APP_X, y + 12.0, label),
    };
    // A pool shows its every slot; a naive app only the connections its requests have.
    let (note, states, total, more) = match (spec.strategy, i.pool) {
        (Strategy::Pooled, Some(p)) => {
            // Live, the pool is drawn as sqlx counts it (its busy as in use); counted from the
            // records, its busy that no request held at the reading as being pinged.
            let states = pool_slots(p, app.holding, if counted { i.holding } else { app.holding });
            let room = states.iter().map(|(_, n)| n).sum();
            let note = match (states[1].1, states[3].1) {
                (opening, 0) => format!("{} in use · {opening} opening · {} idle", states[0].1, states[2].1),
                (0, back) => format!("{} in use · {} idle · {back} being pinged", states[0].1, states[2].1),
                (opening, back) => {
                    format!("{} in use · {opening} opening · {} idle · {back} pinged", states[0].1, states[2].1)
                }
            };
            (note, states.to_vec(), room, "more slots")
        }
        _ => {
            let states = vec![(Slot::InUse, app.holding), (Slot::Connecting, app.connecting)];
            (
                format!("{} connecting · {} open", app.connecting, app.holding),
                states,
                app.connecting + app.holding,
                "more",
            )
        }
    };
    let drawn = total.min(MOST_SQUARES);
    svg.text("note", APP_X, y + 27.0, &note);
    squares(svg, APP_X, body_y, cols, &clip(&states, drawn));
    if total > drawn {
        svg.text("note", APP_X, body_y + rows(drawn, cols) * STEP + 12.0, &format!("+{} {more}", total - drawn));
    }
    if total == 0 {
        svg.text("note", APP_X, body_y + 11.0, "no connection open");
    }
    // Behind a pooler the server's backends carry whichever client's name PgBouncer last passed
    // on, so a count per instance would mislead.
    if several && !behind_pooler {
        let y = body_y + rows(drawn, cols) * STEP + 12.0;
        svg.text("note server-sees", APP_X, y, &format!("the server sees {} of its backends", i.server_backends));
    }
    svg.raw("</g>");
    34.0 + rows(drawn, cols) * STEP + if several && !behind_pooler { 26.0 } else { 10.0 }
}

/// The server's connection slots, filled with this run's backends by state and everyone else's.
/// Returns its height.
fn server(svg: &mut Svg, frame: &Frame, peaks: Peaks, y: f64) -> f64 {
    let s = &frame.server;
    let max = s.max_connections.max(1);
    let (cols, cell) = if max <= 120 {
        (12usize, 18.0)
    } else if max <= 600 {
        (24, 9.0)
    } else {
        (48, 4.5)
    };
    let size = cell - if cell > 5.0 { 3.0 } else { 0.5 };
    let run = |state: &str| s.run_in_state(state);
    let (active, idle, in_tx) = (run("active"), run("idle"), run("idle in transaction"));
    // The run's backends still starting (no state yet) are drawn with the rest of its own.
    let run_other = s.run_starting();
    let starting = s.starting_unnamed();
    let others = s.others();
    let used = s.run_backends + others + starting;
    let free = max.saturating_sub(used);
    let reserved = s.reserved_connections.min(free);
    // Other clients first: the lab's own connections hold slots for applications all along, so
    // backends starting in a burst are the ones drawn in the last row, the reserved slots they
    // may hold too (3 drew the lab's grey there, where the text says applications never reach).
    let kinds = [
        ("other", others),
        ("run-active", active),
        ("run-in-tx", in_tx),
        ("run-idle", idle),
        ("run-other", run_other),
        ("starting", starting),
        ("free", free - reserved),
        ("reserved", reserved),
    ];
    let (gx, gy) = (SERVER_X + 10.0, y + 40.0);
    let grid_h = (max as f64 / cols as f64).ceil() * cell;
    let _ = write!(
        svg.0,
        r#"<g data-testid="server" data-run-backends="{}" data-starting="{starting}" data-max="{max}" data-read-at="{}" data-read-took="{}">"#,
        s.run_backends,
        s.read_at_ms.map_or(-1, |v| v as i64),
        s.read_took_ms
    );
    let _ = write!(
        svg.0,
        r#"<rect class="box" x="{}" y="{}" width="{}" height="{}" rx="8"/>"#,
        Dec(SERVER_X),
        Dec(y),
        Dec(W - SERVER_X - 2.0),
        Dec(grid_h + 160.0)
    );
    svg.text("label", gx, y + 18.0, &format!("{} of {max} slots taken", used.min(max)));
    svg.text("note", gx, y + 33.0, &format!("max_connections {max}, {} reserved", s.reserved_connections));
    let mut i = 0u64;
    for (kind, n) in kinds {
        for _ in 0..n {
            if i >= max {
                break;
            }
            let (x, cy) = (gx + (i as usize % cols) as f64 * cell, gy + (i as usize / cols) as f64 * cell);
            svg.rect(&format!("cell {kind}"), kind, x, cy, size, size);
            i += 1;
        }
    }
    let refused = s.refused.unwrap_or(frame.app.totals.errors.too_many_clients);
    let below = gy + grid_h + 18.0;
    svg.text("figure-text", gx, below, &format!("this run: {}", count(s.run_backends, "backend", "backends")));
    // The states add up to the run's backends: those still starting are counted as drawn.
    let mut states = format!("{active} active · {idle} idle");
    for (n, what) in [(in_tx, "idle in tx"), (run_other, "starting")] {
        if n > 0 {
            let _ = write!(states, " · {n} {what}");
        }
    }
    svg.text("note", gx, below + 16.0, &states);
    if frame.run_id.is_some() {
        svg.text("note", gx, below + 32.0, &format!("whole run's peak: {} (sampled)", peaks.server));
    }
    let _ = write!(
        svg.0,
        r#"<text class="{}" x="{}" y="{}" data-testid="refused" data-refused="{refused}">refused: {refused}</text>"#,
        if refused > 0 { "refused on" } else { "refused" },
        Dec(gx),
        Dec(below + 52.0)
    );
    svg.text("note", gx, below + 67.0, "(too many clients)");
    // Backends still starting hold slots too: why a server refuses with slots drawn free, or
    // counts more taken than it leaves applications. (On lines of their own: beside "refused"
    // they read as part of that count.)
    let lines = match (s.reachable, starting) {
        (false, _) => vec![("refused on", "unreachable".to_owned())],
        (true, 0) => vec![],
        (true, _) => vec![
            ("note", format!("{starting} still starting")),
            ("note", "(a slot each, until in or refused)".to_owned()),
        ],
    };
    for (n, (class, text)) in lines.iter().enumerate() {
        svg.text(class, gx, below + 82.0 + 14.0 * n as f64, text);
    }
    svg.raw("</g>");
    grid_h + 176.0
}

/// The run's PgBouncer: its clients (the app's connections), those waiting for a server
/// connection, and its server connections. Returns its height.
fn pooler(svg: &mut Svg, p: &PoolerFrame, x: f64, y: f64) -> f64 {
    let gx = x + 9.0;
    let cols = POOLER_COLS;
    let waiting_dots = p.cl_waiting.min(LINE_DOTS);
    let more = p.cl_waiting - waiting_dots;
    let dots_h = if waiting_dots > 0 { rows(waiting_dots, cols) * 14.0 + 4.0 } else { 0.0 };
    let more_h = if more > 0 { 14.0 } else { 0.0 };
    let servers_y = y + 112.0 + dots_h + more_h;
    let room = p.pool_size.max(p.servers());
    let grid_h = rows(room.min(MOST_SQUARES), cols) * STEP;
    let height = servers_y - y + grid_h + 58.0;
    let _ = write!(
        svg.0,
        r#"<g data-testid="pooler" data-clients="{}" data-waiting="{}" data-servers="{}" data-lent="{}" data-read-at="{}" data-read-took="{}">"#,
        p.clients(),
        p.cl_waiting,
        p.servers(),
        p.sv_active,
        p.read_at_ms.map_or(-1, |v| v as i64),
        p.read_took_ms
    );
    let _ = write!(
        svg.0,
        r#"<rect class="box" x="{}" y="{}" width="{}" height="{:.1}" rx="8"/>"#,
        Dec(x),
        Dec(y),
        Dec(POOLER_W),
        Dec(height)
    );
    svg.text("label", gx, y + 18.0, "PgBouncer");
    svg.text("note", gx, y + 33.0, &format!("{} mode", p.mode.as_str()));
    svg.text("note", gx, y + 46.0, &format!("pool_size {}", p.pool_size));
    svg.text("figure-text", gx, y + 66.0, &count(p.clients(), "client", "clients"));
    // Every client is named, so the notes add up to its count: waiting, served (lent a server
    // connection), or idle (connected, with no query to run).
    svg.text("note", gx, y + 80.0, &format!("{} waiting · {} served", p.cl_waiting, p.sv_active));
    svg.text("note", gx, y + 94.0, &format!("{} idle (no query)", p.idle_clients()));
    for i in 0..waiting_dots as usize {
        let (cx, cy) = (Dec(gx + 6.0 + (i % cols) as f64 * 14.0), Dec(y + 107.0 + (i / cols) as f64 * 14.0));
        let _ = write!(svg.0, r#"<circle class="waiter" cx="{cx:.1}" cy="{cy:.1}" r="5.5"/>"#);
    }
    if more > 0 {
        // Every waiting client is counted: the dots are the first of them.
        svg.text("note", gx, y + 107.0 + dots_h, &format!("{waiting_dots} of {} drawn", p.cl_waiting));
    }
    svg.text("label", gx, servers_y + 6.0, "server connections");
    let idle = p.sv_idle + p.sv_used + p.sv_tested;
    let states = [
        (Slot::InUse, p.sv_active),
        (Slot::Connecting, p.sv_login),
        (Slot::Idle, idle),
        (Slot::Unopened, room.saturating_sub(p.servers())),
    ];
    squares(svg, gx, servers_y + 14.0, cols, &clip(&states, room.min(MOST_SQUARES)));
    let below = servers_y + 14.0 + grid_h + 12.0;
    // Every one of its server connections is named, so the note adds up to the describe's count.
    let note = match p.sv_login {
        0 => format!("{} lent · {idle} idle", p.sv_active),
        n => format!("{} lent · {n} opening · {idle} idle", p.sv_active),
    };
    svg.text("note", gx, below, &note);
    // SHOW POOLS gives its longest wait to the microsecond; the lab keeps whole ms.
    let wait = match p.maxwait_ms {
        0 if p.cl_waiting > 0 => "longest wait under 1 ms".to_owned(),
        ms => format!("longest wait {ms} ms"),
    };
    svg.text("note", gx, below + 15.0, &wait);
    svg.raw("</g>");
    height
}

/// Requests in flight, and the line of those waiting for a pooled connection.
fn line(svg: &mut Svg, app: &AppSide, pooled: bool, y: f64) {
    let waiters = app.total.waiting;
    let _ = write!(svg.0, r#"<g data-testid="line" data-waiters="{waiters}">"#);
    svg.text("label", LINE_X, y + 12.0, "Requests");
    // A request in flight that neither waits, connects nor holds a connection is closing its own
    // or answering (pooled: answered by the cache, or answering): named, so the app's boxes and
    // this count add up.
    let t = &app.total;
    let between = t.answering();
    svg.text("note", LINE_X, y + 27.0, &format!("{} in flight", t.in_flight));
    if !pooled && between > 0 {
        svg.text("note", LINE_X, y + 41.0, &format!("{between} closing or answering"));
    }
    if pooled {
        let cols = 10usize;
        let dots = waiters.min(LINE_DOTS);
        svg.text("figure-text", LINE_X, y + 48.0, &format!("{waiters} waiting"));
        for i in 0..dots as usize {
            let (cx, cy) = (Dec(LINE_X + 7.0 + (i % cols) as f64 * 14.0), Dec(y + 70.0 + (i / cols) as f64 * 14.0));
            let _ = write!(svg.0, r#"<circle class="waiter" cx="{cx:.1}" cy="{cy:.1}" r="5.5"/>"#);
        }
        let after = y + 70.0 + rows(dots, cols) * 14.0 + 6.0;
        if waiters > dots {
            svg.text("note", LINE_X, after, &format!("{dots} of {waiters} drawn"));
        }
        // On a line of its own: beside "in flight" it ran into the pool's column (14.2).
        let after = if between > 0 {
            svg.text("note", LINE_X, after + 14.0, &format!("{between} answering"));
            after + 16.0
        } else {
            after
        };
        svg.text("note", LINE_X, after + 14.0, &format!("oldest waited {:.0} ms", Dec(app.total.oldest_wait_ms)));
        svg.text("note", LINE_X, after + 30.0, &format!("peak: {} waiting", app.peak_waiting));
    }
    svg.raw("</g>");
}

/// The way from the app to the server, and the guards on it.
fn link(svg: &mut Svg, frame: &Frame, app: &AppSide, spec: &RunSpec, parts: &[Part], at: Layout, y: f64) {
    let (x1, x2) = (at.link_x - 4.0, at.pooler_x - 4.0);
    let mid = (x1 + x2) / 2.0;
    let outage = parts.contains(&Part::Network) && frame.app.outage;
    let _ = write!(
        svg.0,
        r#"<g data-testid="link" data-outage="{outage}"><line class="{}" x1="{}" y1="{y}" x2="{}" y2="{y}"/>"#,
        if outage { "link cut" } else { "link" },
        Dec(x1),
        Dec(x2),
        y = Dec(y)
    );
    if parts.contains(&Part::Network) && spec.network.delay_ms > 0 {
        svg.text("note mid", mid, y - 6.0, &format!("+{} ms", spec.network.delay_ms));
    }
    if outage {
        svg.text("refused on mid", mid, y + 5.0, "✕").text("refused on mid", mid, y + 20.0, "outage");
    }
    let guards = parts.contains(&Part::Guards);
    if let Some(b) = frame.app.breaker.filter(|_| guards) {
        let class = match b {
            BreakerState::Closed => "breaker closed",
            BreakerState::Open => "breaker open",
            BreakerState::HalfOpen => "breaker half-open",
        };
        let _ = write!(
            svg.0,
            r#"<g data-testid="breaker" data-state="{}"><rect class="{class}" x="{}" y="{}" width="68" height="30" rx="5"/>"#,
            b.as_str(),
            Dec(mid - 34.0),
            Dec(y + 28.0)
        );
        svg.text("note mid", mid, y + 41.0, "breaker").text("label mid", mid, y + 53.0, b.as_str()).raw("</g>");
    }
    if guards && spec.cache.enabled {
        // Hits and misses so far: of the requests that had ended by the picture's instant.
        let t = app.total;
        let _ = write!(
            svg.0,
            r#"<g data-testid="cache"><rect class="cache" x="{}" y="{}" width="84" height="40" rx="5"/>"#,
            Dec(mid - 42.0),
            Dec(y - 64.0)
        );
        // (A hit is counted once answered, a miss once sent on: `describe` says so.)
        svg.text("note mid", mid, y - 51.0, "cache, so far")
            .text("label mid", mid, y - 38.0, &format!("{} hits", t.cache_hits))
            .text("note mid", mid, y - 27.0, &format!("{} misses", t.cache_misses))
            .raw("</g>");
    }
    svg.raw("</g>");
}

/// The whole picture of one frame, as SVG text: the app side as `app` counts it, the server's
/// (and the pools' sizes) as the frame read them.
fn draw(frame: &Frame, app_side: &AppSide, spec: &RunSpec, peaks: Peaks, parts: &[Part]) -> String {
    let pooled = spec.strategy == Strategy::Pooled;
    let several = frame.instances.len() > 1;
    let at = Layout::new(frame.pooler.is_some());
    // The app first, to know how tall the picture is.
    let mut app = Svg(String::new());
    let mut y = TOP;
    if parts.contains(&Part::App) {
        for (n, i) in frame.instances.iter().enumerate() {
            let label = match (several, pooled) {
                (true, true) => format!("app {} · pool of {}", n + 1, spec.pool.max_connections),
                (true, false) => format!("app {} · a connection per request", n + 1),
                (false, true) => format!("app · pool of {}", spec.pool.max_connections),
                (false, false) => "app · a connection per request".to_owned(),
            };
            let counted = app_side.source == "records";
            y += instance(&mut app, i, app_side.instance(n), &label, spec, y, several, at.app_cols, counted);
        }
    }
    let mut rest = Svg(String::new());
    // A pooler stands between the app and the server: its box where the server was, the server
    // further right.
    let shift = at.server_x - SERVER_X;
    let pooler_h = match frame.pooler {
        Some(p) => {
            let h = pooler(&mut rest, &p, at.pooler_x, TOP);
            let (x1, x2) = (at.pooler_x + POOLER_W + 2.0, at.server_x - 4.0);
            let _ = write!(
                rest.0,
                r#"<line class="link" x1="{}" y1="{y}" x2="{}" y2="{y}"/>"#,
                Dec(x1),
                Dec(x2),
                y = Dec(TOP + 60.0)
            );
            h
        }
        None => 0.0,
    };
    let _ = write!(rest.0, r#"<g transform="translate({},0)">"#, Dec(shift));
    let server_h = if parts.contains(&Part::Server) { server(&mut rest, frame, peaks, TOP) } else { 0.0 };
    rest.raw("</g>");
    if parts.contains(&Part::Line) || !pooled {
        line(&mut rest, app_side, pooled && parts.contains(&Part::Line), TOP);
    }
    link(&mut rest, frame, app_side, spec, parts, at, TOP + 60.0);
    let height = y.max(TOP + server_h).max(TOP + pooler_h).max(TOP + 170.0) + 10.0;
    let (width, height) = (Dec(at.width), Dec(height));
    let a = app_side;
    // Two peaks, each at its own instant: named apart, so they are not read as one moment's sum.
    let peak_app = if pooled {
        format!("most in use: {} · most waiting: {}", a.peak_in_use, a.peak_waiting)
    } else {
        format!("most open: {} · most connecting: {}", a.peak_in_use, a.peak_connecting)
    };
    let mut svg = Svg(String::with_capacity(app.0.len() + rest.0.len() + 1024));
    let _ = write!(
        svg.0,
        r#"<svg class="picture" viewBox="0 0 {width} {height:.0}" role="img" aria-labelledby="picture-title picture-desc" data-testid="picture" data-seq="{}" data-elapsed="{}" data-run="{}" data-source="{}" data-moment="{}" data-at-ms="{:.3}" data-in-flight="{}" data-waiting="{}" data-connecting="{}" data-in-use="{}" data-peak-in-use="{}" data-peak-waiting="{}" data-peak-in-flight="{}" data-peak-connecting="{}">"#,
        frame.seq,
        frame.elapsed_ms,
        escape(frame.run_id.as_deref().unwrap_or("")),
        a.source,
        a.moment,
        Dec(a.at_ms),
        a.total.in_flight,
        a.total.waiting,
        a.total.connecting,
        a.total.holding,
        a.peak_in_use,
        a.peak_waiting,
        a.peak_in_flight,
        a.peak_connecting
    );
    svg.raw(r#"<title id="picture-title">The pool and the server</title><desc id="picture-desc">"#)
        .raw(&escape(&describe(frame, a, spec)))
        .raw("</desc>");
    svg.text("heading", APP_X, 16.0, if pooled { "The app and its pool" } else { "The app" });
    // The peaks' definitions, as a tooltip of the line that gives them.
    let defined = if pooled {
        [activity::HOLDING, activity::WAITING, activity::COUNTING].join(" ")
    } else {
        [activity::HOLDING, activity::CONNECTING, activity::COUNTING].join(" ")
    };
    let _ = write!(
        svg.0,
        r#"<text class="note" x="{}" y="32" data-testid="app-peaks"><title>{}</title>{}</text>"#,
        Dec(APP_X),
        escape(&defined),
        escape(&peak_app)
    );
    // The server's side is a reading of `pg_stat_activity`: when the app's side is counted at
    // another instant, the heading says when the server was read.
    let heading = match read_when(frame, app_side) {
        Some(when) => format!("Server at {when}"),
        None => "The server".to_owned(),
    };
    svg.text("heading", at.server_x, 16.0, &heading);
    if let Some(p) = frame.pooler {
        // PgBouncer's figures are its own readings (`SHOW POOLS`), never the app's counts: when
        // the app's side is counted at an instant, the heading says when PgBouncer was read.
        // (On a line of its own: the heading's column is narrow.)
        match p.read_at_ms.filter(|_| app_side.source == "records") {
            Some(read) => {
                svg.text("heading", at.pooler_x, 16.0, "PgBouncer");
                svg.text("note", at.pooler_x, 30.0, &format!("read at {}", span(read, p.read_took_ms)));
            }
            None => {
                svg.text("heading", at.pooler_x, 16.0, "Pooler, sampled");
            }
        }
    }
    svg.raw(&rest.0).raw(r#"<g data-testid="pool-slots">"#).raw(&app.0).raw("</g></svg>");
    svg.0
}

/// The legend: a swatch and words for each kind of square or dot, listed only when the picture
/// drew one (found by its `data-state` or class in the drawing itself, so the two cannot differ).
const LEGEND: [(&[&str], &str, &str); 10] = [
    (&["\"in-use\"", "\"run-active\""], "sq in-use", "in use"),
    (
        &["\"connecting\"", "\"run-other\"", "\"starting\""],
        "sq connecting",
        "opening (on the server: starting or authenticating)",
    ),
    (
        &["\"idle\"", "\"run-idle\""],
        "sq idle",
        "idle (a pool's free connection; on the server, a backend waiting for its client)",
    ),
    (
        &["\"returning\""],
        "sq returning",
        "being pinged: sqlx checks a connection as it takes it back, and before it lends it",
    ),
    (&["\"unopened\""], "sq unopened", "room in the pool"),
    (&["\"waiter\""], "dot", "a waiting request"),
    (&["\"run-in-tx\""], "sq in-tx", "idle in a transaction (server)"),
    (&["\"other\""], "sq other", "other clients (the lab's own among them)"),
    (&["\"free\""], "sq free", "a free slot"),
    (&["\"reserved\""], "sq reserved", "reserved for superusers"),
];

fn legend(drawn: &str) -> String {
    let mut o = String::from(r#"<ul class="legend" data-testid="picture-legend">"#);
    for (needles, swatch, words) in LEGEND {
        if needles.iter().any(|n| drawn.contains(n)) {
            let _ = write!(o, r#"<li><span class="swatch {swatch}" aria-hidden="true"></span>{words}</li>"#);
        }
    }
    o.push_str("</ul>");
    o
}

/// When the frame's reading of the server was taken, when that is not the app side's instant:
/// `250 ms`, or `250–307 ms` when the server was slow to answer (the reading shows it at some
/// instant in between). A stored run older than the readings' times says the frame's instant.
fn read_when(frame: &Frame, app: &AppSide) -> Option<String> {
    let s = &frame.server;
    let from = s.read_at_ms.unwrap_or(frame.elapsed_ms);
    // While a run goes, the picture is the newest frame: its server is the newest reading.
    if app.source != "records" || ((from as f64 - app.at_ms).abs() < 1.0 && s.read_took_ms < 2) {
        return None;
    }
    Some(span(from, s.read_took_ms))
}

/// When a reading was taken: `250 ms`, or `250–307 ms` when it took a while to answer (it shows
/// its source at some instant in between); `2.5–2.6 s`; one time when both read the same
/// (`2.5 s`, not `2.5 s–2.5 s`).
fn span(from: u64, took: u64) -> String {
    let ms = |v: u64| crate::tape::ms_text(v as f64);
    let (a, b) = (ms(from), ms(from + took));
    match (a.rsplit_once(' '), b.rsplit_once(' ')) {
        _ if took < 2 || a == b => a,
        (Some((x, unit)), Some((_, same))) if unit == same => format!("{x}–{b}"),
        _ => format!("{a}–{b}"),
    }
}

/// `n` and a word, in the plural when `n` is not 1.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where `connections` (their count, `n`, as the app or PgBouncer read it) and the server's
/// backends of this run, starting ones too, differ: the picture says why. With `counted_with` the
/// connections were counted as the server's reading was answered (the app's pools): one reading,
/// so what differs is a connection's start or end, which each side meets at its own moment; else
/// two readings a few ms apart (PgBouncer's and the server's), and a connection opening or
/// closing shows on one first.
fn apart(connections: &str, n: u64, s: &poollab_shared::ServerFrame, counted_with: bool) -> String {
    let starting = s.starting_unnamed();
    let seen = s.run_backends + starting;
    if seen == n {
        return String::new();
    }
    // The server's part names its run's backends as the picture does, and the starting beside.
    let whose = match starting {
        0 => "backends of this run".to_owned(),
        _ => format!("backends ({} of this run and {starting} still starting)", s.run_backends),
    };
    // 7.2: "50 connections" (24 opening) beside 26 backends, for a tenth of a second.
    let why = if counted_with {
        "the pool counts a connection from its connect's start to its close, the server from its arrival to its exit"
    } else {
        "two readings, ms apart, and a connection being opened or closed shows on one first"
    };
    format!(" {connections} and the server's {seen} {whose} differ: {why}.")
}

/// One sentence of what the picture shows: its text alternative.
pub fn describe(frame: &Frame, app: &AppSide, spec: &RunSpec) -> String {
    let s = &frame.server;
    let c = app.total;
    let (app_text, pinged, pooled) = match frame.pool {
        Some(p) => {
            // The sums of what each instance's box shows (each pool is read, and drawn, on its own),
            // so the sentence adds up to the boxes.
            let counted = app.source == "records";
            // Each box with its own requests waiting.
            let boxes: Vec<([(Slot, u64); 5], u64)> = match frame.instances.len() {
                1 if counted => vec![(pool_slots(p, c.holding, frame.instances[0].holding), c.waiting)],
                0 | 1 => vec![(pool_slots(p, c.holding, c.holding), c.waiting)],
                _ => (frame.instances.iter().enumerate())
                    .filter_map(|(n, i)| {
                        let a = app.instance(n);
                        Some((pool_slots(i.pool?, a.holding, if counted { i.holding } else { a.holding }), a.waiting))
                    })
                    .collect(),
            };
            let sum = |k: usize| boxes.iter().map(|b| b.0[k].1).sum::<u64>();
            // Waiting beside idle connections of the same pool (16.1's idle ones were one
            // instance's, its waiting requests the others').
            let idle_beside_waiting = boxes.iter().any(|(b, waiting)| *waiting > 0 && b[2].1 > 0);
            let (connecting, idle, returning) = (sum(1), sum(2), sum(3));
            // Every part the boxes draw, so the parts add up to the whole.
            // Opening past the pool's size less those in use: the records have them lent (7.2's
            // "0 opening" beside the connections chart's sampled 2).
            let opening = match p.connecting.saturating_sub(connecting) {
                0 => format!("{connecting} opening"),
                k => format!("{connecting} opening ({k} more at sqlx's reading, lent by this instant)"),
            };
            let mut parts = vec![format!("{} in use", c.holding), opening];
            if idle > 0 || returning == 0 {
                parts.push(format!("{idle} idle"));
            }
            if returning > 0 {
                parts.push(format!("{returning} being pinged (sqlx checks each it takes back or lends)"));
            }
            // At a named instant the pools are read with the server, not always at the instant.
            let read = read_when(frame, app).filter(|_| frame.server.read_at_ms.is_some()).map_or(String::new(), |when| {
                format!(" (as sqlx counted them with the server's reading at {when}; the requests' own records give the in use and the waiting at this instant)")
            });
            let text = format!(
                "The {} {}{read}: {}; {} for one{}.",
                if frame.instances.len() > 1 { "pools count" } else { "pool counts" },
                count(c.holding + connecting + idle + returning, "connection", "connections"),
                parts.join(", "),
                count(c.waiting, "request waits", "requests wait"),
                // Waiting beside idle connections: for the ping of the one it is about to get, or for its
                // turn to run and take one given back (sqlx wakes one waiter per connection).
                if idle_beside_waiting {
                    " (or for sqlx's ping of the one it gets: one given back stays idle until the request sqlx wakes for it takes it)"
                } else {
                    ""
                }
            );
            (text, returning, c.holding + connecting + idle + returning)
        }
        None => (
            format!(
                "{}, and {}.",
                count(c.connecting, "request is opening a connection of its own", "requests are opening their own"),
                count(c.holding, "holds one", "hold one")
            ),
            0,
            0,
        ),
    };
    let active = s.run_in_state("active");
    // A connection the app holds is idle on the server whenever the server is waiting for the
    // app's next message: the app's own work, the network, a ping on the way.
    // Said only where the server shows some of them so (2: "77 active · 0 idle" beside 79 held,
    // read 27 ms apart, is the readings' gap, not this).
    let gap = match (c.holding + pinged > active && s.run_backends > active, frame.pool.is_some()) {
        (true, true) => {
            " A connection lent to a request, or being pinged, shows idle on the server (idle in transaction, inside one) while the server waits for the app's next message."
        }
        (true, false) => {
            " A connection the app holds shows idle on the server (idle in transaction, inside one) while the server waits for the app's next message."
        }
        _ => "",
    };
    // Behind PgBouncer, a transaction's backend waits between statements for a client whose next
    // one comes through PgBouncer: many at once are said as what they are.
    let in_tx = s.run_in_state("idle in transaction");
    let in_tx_text = if frame.pooler.is_some() && in_tx > active {
        format!(
            " {in_tx} of its backends of this run are idle in a transaction: each waits for its client's next statement (after BEGIN, say), which comes through PgBouncer."
        )
    } else {
        String::new()
    };
    let pooler = frame.pooler.map_or_else(String::new, |p| {
        let counted = app.source == "records";
        // The app's connections lent to requests that PgBouncer counts idle: no query in flight.
        let lent_idle = if counted && c.holding > p.sv_active + p.cl_waiting {
            " A connection the app has lent is idle to PgBouncer while no query of it runs: between statements, in the app's own work, in sqlx's ping."
        } else {
            ""
        };
        // Every backend running a statement or inside a transaction is lent by PgBouncer; more of
        // them on the server than PgBouncer lends is the two readings' instants apart.
        let working = active + in_tx;
        let states_apart = match (p.shows_at(), s.shows_at()) {
            (Some(bouncer), Some(server)) if working > p.sv_active => format!(
                " The server has {working} backends busy or in a transaction, PgBouncer {} lent: two readings{}, and a transaction begun or ended between them shows on one only.",
                p.sv_active,
                match (server - bouncer).abs().round() {
                    gap if gap >= 1.0 => format!(" {} ms apart", Dec(gap)),
                    _ => ", one after the other".to_owned(),
                }
            ),
            _ => String::new(),
        };
        format!(
            " PgBouncer's SHOW POOLS ({} mode, read every {SHOW_POOLS_EVERY_MS} ms, here at {}{}) shows {}: {} waiting for a server connection, {} served by one, {} idle with no query to run; and {} of at most {}, {} lent.{}{lent_idle}{}{states_apart}",
            p.mode.as_str(),
            span(p.read_at_ms.unwrap_or(frame.elapsed_ms), p.read_took_ms),
            if p.read_took_ms >= 2 { ": asked, then answered; it shows some instant between" } else { "" },
            count(p.clients(), "client connection", "client connections"),
            p.cl_waiting,
            p.sv_active,
            p.idle_clients(),
            count(p.servers(), "server connection", "server connections"),
            p.pool_size,
            p.sv_active,
            // Once the app is counted from its records, the two sides are two kinds of figure.
            if counted {
                format!(
                    " A sample misses what lasts under {SHOW_POOLS_EVERY_MS} ms, and counts connections, not the app's requests."
                )
            } else {
                String::new()
            },
            apart(&format!("Its {} server connections", p.servers()), p.servers(), s, false)
        )
    });
    // A naive app's connects the server does not show yet: how the two counts meet.
    let unseen = match (frame.pool, app.source) {
        (None, "records") if s.read_at_ms.is_some() => {
            // Starting: those no one's yet and the run's own not yet in a state, as the grid draws
            // them; logged in: the run's other backends past those the app holds.
            let (run_starting, unnamed) = (s.run_starting(), s.starting_unnamed());
            let starting = unnamed + run_starting;
            let logged_in = (s.run_backends - run_starting).saturating_sub(c.holding);
            let rest = c.connecting.saturating_sub(starting + logged_in);
            // Starting backends beyond what the app opens: its logged-in ones and its own named
            // starting ones count first (the server welcomes a connect a moment before the app
            // has read it), so only those no one's yet can be the extra.
            let extra = (starting + logged_in).saturating_sub(c.connecting).min(unnamed);
            // A backend is active only while its query runs, which the app sends once its connect
            // has returned: active ones past those the app holds were read a moment from this
            // instant (1.3: "1 active" beside "1 connecting · 0 open"). Said beside any other
            // reason the two sides differ (1.1: one more starting, too).
            let active = match s.run_in_state("active") {
                n if n > c.holding => format!(
                    " The server shows {n} active where the app holds {}: a backend is active while a query runs, and its reading ({}{}) saw one a moment before or after this instant.",
                    c.holding,
                    span(s.read_at_ms.unwrap_or(frame.elapsed_ms), s.read_took_ms),
                    // As `span` names it: one time below 2 ms, a span from there.
                    if s.read_took_ms < 2 { ", to the millisecond" } else { ": it shows some instant in that span" }
                ),
                _ => String::new(),
            };
            if rest > 0 {
                format!(
                    " Of the {} opening, the server shows {starting} starting and {logged_in} logged in; the other {rest} were not yet a backend there (waiting to be accepted, or refused before the app heard).",
                    c.connecting
                ) + &active
            } else if extra > 0 {
                // A backend has no name until it logs in: the extra ones are another client's, or
                // the app's a moment from this instant within the reading.
                format!(
                    " The server also lists {} that the app was not opening at this instant: {}a backend has no name until it logs in, so a reading cannot say whose.",
                    count(extra, "backend still starting", "backends still starting"),
                    if read_when(frame, app).is_some() {
                        "the app's, opened within the reading's span, or another client's; "
                    } else {
                        "another client's; "
                    }
                ) + &active
            } else if !active.is_empty() {
                active
            } else if logged_in > c.connecting {
                let extra = logged_in - c.connecting;
                format!(
                    " The server still lists {} of this run that the app has closed: a backend ends a moment after its client closes the connection.",
                    count(extra, "backend", "backends")
                )
            } else if let Some(when) = read_when(frame, app).filter(|_| s.run_backends + starting < c.holding) {
                // Fewer backends than connections held, read at another instant (2: 79 held at
                // 670 ms, 77 backends at 697): those closed or not yet opened in between.
                format!(
                    " The server, read at {when}, not at this instant, lists {} fewer: a connection closed, or not yet open, between the two shows on one only.",
                    c.holding - s.run_backends - starting
                )
            } else {
                String::new()
            }
        }
        // The pools' connections beside the server's backends of this run, when the two differ
        // and nothing keeps a connect from the server (no outage, no refusal: those the
        // lessons explain).
        (Some(_), _)
            if frame.pooler.is_none() && s.read_at_ms.is_some() && !frame.app.outage && s.refused.unwrap_or(0) == 0 =>
        {
            apart(&format!("The app's {pooled} connections"), pooled, s, true)
        }
        _ => String::new(),
    };
    // The requests the line calls answering: in flight, holding no connection, waiting for none.
    let answering = match (c.answering(), frame.pool) {
        (n, Some(_)) if n > 0 => format!(
            " {n} of the {} in flight hold no connection and wait for none: {}answering.",
            c.in_flight,
            if spec.cache.enabled { "at the cache, or " } else { "" }
        ),
        _ => String::new(),
    };
    // A naive run's two peaks, each at its own instant: the header's most connecting short of
    // the most in flight is not a request gone missing (3: 149 beside 150 sent at once).
    let peaks_apart = if frame.pool.is_none() && app.source == "records" && app.peak_connecting < app.peak_in_flight {
        format!(
            " At most {} requests were opening a connection at once, fewer than the {} in flight at once: at no one instant were all of them opening one.",
            app.peak_connecting, app.peak_in_flight
        )
    } else {
        String::new()
    };
    // The cache's counts (`activity::cache_at`): a hit once it is answered, a miss once it is sent on.
    let cache = if spec.cache.enabled {
        format!(
            " So far the cache has answered {} requests (hits, counted as each ends) and sent {} on to the database (misses, counted as each arrives).",
            c.cache_hits, c.cache_misses
        )
    } else {
        String::new()
    };
    // Before a run, a backend still starting is another client's: it has no name to say whose.
    let unseen = match s.starting_unnamed() {
        n if n > 0 && frame.run_id.is_none() && app.source != "records" => format!(
            "{unseen} It also lists {}: no run is going, so another client's (a backend has no name until it logs in).",
            count(n, "backend still starting", "backends still starting")
        ),
        _ => unseen,
    };
    // Before a run, the server as it is now beside the app that will run.
    let when = match frame.run_id {
        Some(_) => format!("At {} of this {} run", crate::tape::ms_text(app.at_ms), spec.strategy.as_str()),
        None => format!("Before the {} run", spec.strategy.as_str()),
    };
    format!(
        "{when}: {app_text}{answering}{peaks_apart}{cache}{pooler} The server{} has {} ({active} active) out of {} slots{}.{in_tx_text}{gap}{unseen}",
        // The server is read at sampling instants: say when, if not at the app's instant.
        match read_when(frame, app) {
            Some(when) => format!(", as read at {when},"),
            None => String::new(),
        },
        count(s.run_backends, "backend of this run", "backends of this run"),
        s.max_connections,
        match s.refused {
            Some(n) if n > 0 => format!(", and has refused {}", count(n, "connect", "connects")),
            _ => String::new(),
        }
    )
}

/// The picture of one frame of a run; once the run is over, its app side is `app`, counted from
/// the requests' records.
#[component]
pub fn PoolPicture(
    #[prop(into)] frame: Signal<Option<Frame>>,
    #[prop(into)] spec: Signal<Option<RunSpec>>,
    #[prop(into)] peaks: Signal<Peaks>,
    #[prop(into)] app: Signal<Option<AppSide>>,
    parts: Vec<Part>,
) -> impl IntoView {
    let side = move |frame: &Frame| app.get().unwrap_or_else(|| AppSide::of_frame(frame, peaks.get()));
    let drawn = move || {
        let (Some(frame), Some(spec)) = (frame.get(), spec.get()) else {
            return r#"<p class="muted picture-empty">The picture draws the next run: the app's connections, the line, and the server's slots.</p>"#.to_owned();
        };
        let svg = draw(&frame, &side(&frame), &spec, peaks.get(), &parts);
        let legend = legend(&svg);
        svg + &legend
    };
    view! {
        <figure class="picture-box">
            <div class="picture-frame" inner_html=drawn></div>
            <figcaption>
                <p class="chart-text" data-testid="picture-text">{move || frame.get().zip(spec.get()).map(|(f, s)| describe(&f, &side(&f), &s))}</p>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use poollab_shared::{CountBy, RequestRecord, ServerFrame};

    use super::*;

    fn pool(size: u64, in_use: u64, connecting: u64) -> PoolFrame {
        PoolFrame {
            size,
            idle: size - in_use - connecting,
            in_use,
            connecting,
            max_connections: 10,
            instances: 1,
            ..PoolFrame::default()
        }
    }

    fn held(n: u64, from: f64, to: f64) -> RequestRecord {
        RequestRecord {
            n,
            instance: 0,
            start_ms: 0.0,
            acquire_wait_ms: from,
            connect_ms: 0.0,
            query_ms: to - from,
            total_ms: to + 1.0,
            outcome: "ok".into(),
            cache_hit: false,
            asked_ms: Some(0.0),
            held_from_ms: Some(from),
            given_back_ms: Some(to),
        }
    }

    #[test]
    fn a_pools_slots_are_the_frames_own_with_its_own_in_use() {
        // (size, busy, opening as sqlx read them; in use drawn, held at the reading) -> in use,
        // opening, idle, being pinged, unopened
        let table = [
            ((6, 4, 1), (4, 4), [4, 1, 1, 0, 4]),
            // In use past those the reading saw open: its opening one had opened and was lent
            // (18.1 drew 8 in use and 2 opening for a pool of 8).
            ((6, 4, 1), (6, 6), [6, 0, 0, 0, 4]),
            ((8, 6, 2), (8, 8), [8, 0, 0, 0, 2]),
            // The pool counted 4 busy, the requests held none: those 4 were being pinged.
            ((6, 4, 1), (0, 0), [0, 1, 1, 4, 4]),
            ((6, 4, 1), (3, 3), [3, 1, 1, 1, 4]),
            // Drawn from the records at another instant than the reading: the pinged are the
            // reading's own (4 busy, 4 held: none), the rest of the pool idle.
            ((6, 4, 1), (2, 4), [2, 1, 3, 0, 4]),
            ((10, 10, 0), (10, 10), [10, 0, 0, 0, 0]),
            ((3, 3, 0), (11, 11), [11, 0, 0, 0, 0]),
        ];
        for ((size, in_use, connecting), (drawn, held), want) in table {
            let got = pool_slots(pool(size, in_use, connecting), drawn, held).map(|(_, n)| n);
            assert_eq!(got, want, "{size} {in_use} {connecting} drawn with {drawn} in use, {held} held");
        }
    }

    #[test]
    fn after_a_run_the_app_side_is_the_records_count_at_its_instant() {
        // The frame saw 2 in use; at 5 ms the records had 4, and 5 at most.
        let records: Vec<RequestRecord> = [(0.0, 9.0), (1.0, 9.0), (2.0, 9.0), (3.0, 9.0), (6.0, 9.0)]
            .iter()
            .enumerate()
            .map(|(n, &(a, b))| held(n as u64, a, b))
            .collect();
        let p = pool(6, 2, 0);
        let frame = Frame {
            seq: 7,
            run_id: Some("r1".into()),
            elapsed_ms: 100,
            pool: Some(p),
            instances: vec![InstanceFrame { name: "poollab-pool".into(), pool: Some(p), ..InstanceFrame::default() }],
            ..Frame::default()
        };
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let side = AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "busiest");
        let svg = draw(&frame, &side, &spec, Peaks::default(), &Part::ALL);
        for attr in [
            r#"data-source="records""#,
            r#"data-moment="busiest""#,
            r#"data-in-use="4""#,
            r#"data-peak-in-use="5""#,
            r#"data-in-flight="5""#,
        ] {
            assert!(svg.contains(attr), "{attr} in {svg}");
        }
        assert_eq!(svg.matches(r#"data-state="in-use""#).count(), 4, "{svg}");
        assert!(svg.contains("most in use: 5 · most waiting:"), "{svg}");
        // At 9.5 ms every request has given its connection back and is still being answered:
        // named, so the line's in flight adds up to the boxes.
        let after = AppSide::counted(&records, 9.5, 1, AppPeaks::of(&records), "busiest");
        let svg = draw(&frame, &after, &spec, Peaks::default(), &Part::ALL);
        assert!(svg.contains(">5 in flight</text>") && svg.contains(">5 answering</text>"), "{svg}");
        let said = describe(&frame, &after, &spec);
        assert!(said.contains(" 5 of the 5 in flight hold no connection and wait for none: answering."), "{said}");
        // Live, the frame's own figures are drawn.
        let live = draw(&frame, &AppSide::of_frame(&frame, Peaks::default()), &spec, Peaks::default(), &Part::ALL);
        assert_eq!(live.matches(r#"data-state="in-use""#).count(), 2, "{live}");
        assert!(live.contains(r#"data-source="frame""#));
    }

    #[test]
    fn opening_the_records_have_lent_is_said_beside_the_reading() {
        // sqlx's reading: 5 connections, 3 busy and 2 opening; the records hold 5 at 5 ms. The
        // picture draws none opening, and the sentence says where the chart's 2 went (7.2).
        let records: Vec<RequestRecord> = (0..5).map(|n| held(n, 1.0, 9.0)).collect();
        let p = pool(5, 3, 2);
        let instances = vec![InstanceFrame { pool: Some(p), holding: 3, ..InstanceFrame::default() }];
        let frame = Frame { pool: Some(p), instances, ..Frame::default() };
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let said = describe(&frame, &AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "busiest"), &spec);
        assert!(
            said.contains(": 5 in use, 0 opening (2 more at sqlx's reading, lent by this instant), 0 idle;"),
            "{said}"
        );
        // Read with none held yet, its opening ones are drawn and said plainly.
        let said = describe(&frame, &AppSide::counted(&records, 0.5, 1, AppPeaks::of(&records), "busiest"), &spec);
        assert!(said.contains(", 2 opening, "), "{said}");
    }

    #[test]
    fn a_fleets_sentence_adds_up_to_its_boxes() {
        // Counted from the records, instance 0 holds 5 connections at 5 ms while its pool was
        // read at 3 (drawn as large as needs be); instance 1 holds none of its 3.
        let records: Vec<RequestRecord> = (0..5).map(|n| held(n, 1.0, 9.0)).collect();
        let instances = vec![
            InstanceFrame { pool: Some(pool(3, 1, 0)), ..InstanceFrame::default() },
            InstanceFrame { pool: Some(pool(3, 0, 0)), ..InstanceFrame::default() },
        ];
        let frame = Frame { pool: Some(pool(6, 2, 0)), instances, ..Frame::default() };
        let spec = RunSpec { strategy: Strategy::Pooled, instances: 2, ..RunSpec::default() };
        let side = AppSide::counted(&records, 5.0, 2, AppPeaks::of(&records), "busiest");
        let said = describe(&frame, &side, &spec);
        assert!(said.contains(": The pools count 8 connections: 5 in use, 0 opening, 3 idle;"), "{said}");
        // Instance 0's pool grows to 7, one of them busy at the reading where the lab counted
        // none held: being pinged (the rest idle). A request of instance 1 waits from 4 ms to 6
        // beside its idle ones: the sentence says what it waits for.
        let mut frame = frame;
        frame.instances[0].pool = Some(pool(7, 1, 0));
        let mut records = records;
        records.push(RequestRecord { n: 5, instance: 1, ..held(5, 6.0, 9.0) });
        records[5].asked_ms = Some(4.0);
        let side = AppSide::counted(&records, 5.0, 2, AppPeaks::of(&records), "busiest");
        let said = describe(&frame, &side, &spec);
        assert!(
            said.contains(": The pools count 10 connections: 5 in use, 0 opening, 4 idle, 1 being pinged (sqlx checks each it takes back or lends); 1 request waits for one (or for sqlx's ping of the one it gets: one given back stays idle until the request sqlx wakes for it takes it)."),
            "{said}"
        );
        // Each box says whose the waiting request is: idle beside no waiting of its own.
        let svg = draw(&frame, &side, &spec, Peaks::default(), &Part::ALL);
        assert!(
            svg.contains(">app 1 · pool of 10 · 0 waiting</text>")
                && svg.contains(">app 2 · pool of 10 · 1 waiting</text>"),
            "{svg}"
        );
        // The idle ones all instance 0's, the waiting request instance 1's (16.1): no sqlx
        // waking it for one given back, which was not its pool's.
        frame.instances[1].pool = Some(pool(0, 0, 0));
        let said = describe(&frame, &side, &spec);
        assert!(
            said.contains(
                " 1 idle, 1 being pinged (sqlx checks each it takes back or lends); 1 request waits for one."
            ),
            "{said}"
        );
    }

    #[test]
    fn a_naive_sentence_says_where_the_connects_the_server_does_not_show_are() {
        // At 5 ms: 2 requests hold the connection they opened (from 1 ms), 10 are still
        // connecting (until 20 ms). The server, read then, lists 3 of the run's backends and has
        // 4 starting: 1 listed is not yet the app's, and 10 - 4 - 1 = 5 are not a backend yet.
        let connecting = |n: u64| RequestRecord {
            connect_ms: 20.0,
            held_from_ms: Some(20.0),
            acquire_wait_ms: 0.0,
            ..held(n, 20.0, 30.0)
        };
        let records: Vec<RequestRecord> = (0..2).map(|n| held(n, 1.0, 9.0)).chain((2..12).map(connecting)).collect();
        let server = ServerFrame {
            read_at_ms: Some(5),
            run_backends: 3,
            backends: 7,
            by_state: vec![CountBy { name: "starting".into(), count: 4 }],
            run_by_state: vec![CountBy { name: "idle".into(), count: 3 }],
            ..ServerFrame::default()
        };
        let frame = Frame { server, instances: vec![InstanceFrame::default()], ..Frame::default() };
        let spec = RunSpec::default();
        let side = AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "busiest");
        let said = describe(&frame, &side, &spec);
        assert!(said.contains("10 requests are opening their own, and 2 hold one."), "{said}");
        // Its two peaks: 12 in flight at once, at most 10 of them opening a connection.
        assert!(
            said.contains(" At most 10 requests were opening a connection at once, fewer than the 12 in flight at once: at no one instant were all of them opening one."),
            "{said}"
        );
        assert!(
            said.ends_with(" Of the 10 opening, the server shows 4 starting and 1 logged in; the other 5 were not yet a backend there (waiting to be accepted, or refused before the app heard)."),
            "{said}"
        );
        // One of the run's own backends not yet in a state is one starting, in the sentence as in
        // the grid and the count of states below it (2: "57 backends" over "53 active · 3 idle",
        // with one drawn starting and "0 starting" said).
        let own = Frame {
            server: ServerFrame {
                run_by_state: vec![
                    CountBy { name: "idle".into(), count: 2 },
                    CountBy { name: "starting".into(), count: 1 },
                ],
                max_connections: 20,
                ..frame.server.clone()
            },
            ..frame.clone()
        };
        let said = describe(&own, &side, &spec);
        assert!(said.ends_with(" Of the 10 opening, the server shows 4 starting and 0 logged in; the other 6 were not yet a backend there (waiting to be accepted, or refused before the app heard)."), "{said}");
        let svg = draw(&own, &side, &spec, Peaks::default(), &Part::ALL);
        assert!(svg.contains(">0 active · 2 idle · 1 starting<"), "{svg}");
        let drawn = |svg: &str, kind: &str| svg.matches(&format!("class=\"cell {kind}\"")).count();
        assert_eq!((drawn(&svg, "run-other"), drawn(&svg, "starting")), (1, 3), "{svg}");
        // Live, or when every connect is on the server, nothing to reconcile.
        let all = Frame {
            server: ServerFrame {
                run_backends: 8,
                run_by_state: vec![CountBy { name: "idle".into(), count: 8 }],
                ..frame.server.clone()
            },
            ..frame.clone()
        };
        assert!(!describe(&all, &side, &spec).contains("Of the"));
        assert!(!describe(&frame, &AppSide::of_frame(&frame, Peaks::default()), &spec).contains("Of the"));
        // One request holds its connection, none opens one, and the server, read at that very
        // instant, lists one backend starting: not the app's (lesson 1.1's first picture).
        let one = [held(0, 1.0, 9.0)];
        let side = AppSide::counted(&one, 5.0, 1, AppPeaks::of(&one), "busiest");
        let server = |took| ServerFrame {
            read_at_ms: Some(5),
            read_took_ms: took,
            run_backends: 1,
            backends: 2,
            by_state: vec![CountBy { name: "starting".into(), count: 1 }],
            run_by_state: vec![CountBy { name: "idle".into(), count: 1 }],
            ..ServerFrame::default()
        };
        let said = |took| describe(&Frame { server: server(took), ..frame.clone() }, &side, &spec);
        assert!(
            said(0).ends_with(" The server also lists 1 backend still starting that the app was not opening at this instant: another client's; a backend has no name until it logs in, so a reading cannot say whose."),
            "{}",
            said(0)
        );
        // Two requests hold theirs at 5 ms; the server, read at 30 ms, lists one backend of the
        // run: the sentence names the other instant (2: 79 held beside 77 backends).
        let two = [held(0, 1.0, 40.0), held(1, 1.0, 20.0)];
        let side2 = AppSide::counted(&two, 5.0, 1, AppPeaks::of(&two), "busiest");
        let later = ServerFrame {
            read_at_ms: Some(30),
            run_backends: 1,
            backends: 1,
            run_by_state: vec![CountBy { name: "idle".into(), count: 1 }],
            ..ServerFrame::default()
        };
        let said2 = describe(&Frame { server: later, ..frame.clone() }, &side2, &spec);
        assert!(
            said2.ends_with(" The server, read at 30 ms, not at this instant, lists 1 fewer: a connection closed, or not yet open, between the two shows on one only."),
            "{said2}"
        );
        // One request opens its connection; the server, read at that instant, lists it logged
        // in (it has welcomed it, the app has not read that yet) and one more starting: the
        // starting one is not the app's (lesson 1.1's busiest moment).
        let opening = [connecting(0)];
        let side1 = AppSide::counted(&opening, 5.0, 1, AppPeaks::of(&opening), "busiest");
        let frame1 = Frame { server: server(0), ..frame.clone() };
        assert!(
            describe(&frame1, &side1, &spec).ends_with(" The server also lists 1 backend still starting that the app was not opening at this instant: another client's; a backend has no name until it logs in, so a reading cannot say whose."),
            "{}",
            describe(&frame1, &side1, &spec)
        );
        // The run's own backend still starting (named by its startup message) beyond what the
        // app opens is not called nameless: only backends no one's yet are another client's.
        let named = ServerFrame {
            run_backends: 2,
            by_state: vec![CountBy { name: "idle".into(), count: 1 }, CountBy { name: "starting".into(), count: 1 }],
            run_by_state: vec![
                CountBy { name: "idle".into(), count: 1 },
                CountBy { name: "starting".into(), count: 1 },
            ],
            ..server(0)
        };
        let own_starting = describe(&Frame { server: named, ..frame.clone() }, &side, &spec);
        assert!(!own_starting.contains("also lists"), "{own_starting}");
        // A backend the app has closed lingers until it reads the goodbye.
        let gone = [held(0, 1.0, 3.0)];
        let side2 = AppSide::counted(&gone, 5.0, 1, AppPeaks::of(&gone), "busiest");
        let frame2 = Frame { server: ServerFrame { by_state: vec![], backends: 1, ..server(0) }, ..frame.clone() };
        assert!(
            describe(&frame2, &side2, &spec).ends_with(" The server still lists 1 backend of this run that the app has closed: a backend ends a moment after its client closes the connection."),
            "{}",
            describe(&frame2, &side2, &spec)
        );
        // A reading that took 10 ms may have caught the app's next connect.
        assert!(
            said(10).contains("at this instant: the app's, opened within the reading's span, or another client's;"),
            "{}",
            said(10)
        );
        // One request opens its connection; the server, read at that millisecond, lists its
        // backend active: its query had begun, so the reading came just after (lesson 1.3).
        let active = ServerFrame {
            by_state: vec![],
            run_by_state: vec![CountBy { name: "active".into(), count: 1 }],
            backends: 1,
            ..server(0)
        };
        let said = describe(&Frame { server: active.clone(), ..frame.clone() }, &side1, &spec);
        assert!(
            said.ends_with(" The server shows 1 active where the app holds 0: a backend is active while a query runs, and its reading (5.0 ms, to the millisecond) saw one a moment before or after this instant."),
            "{said}"
        );
        // And with one more backend starting, both are said (1.1: "1 active" and one starting
        // beside "1 connecting · 0 open", the active one left unexplained).
        let both = ServerFrame {
            by_state: vec![CountBy { name: "starting".into(), count: 1 }],
            backends: 2,
            ..active.clone()
        };
        let said = describe(&Frame { server: both, ..frame.clone() }, &side1, &spec);
        assert!(
            said.contains(" The server also lists 1 backend still starting")
                && said.ends_with(" saw one a moment before or after this instant."),
            "{said}"
        );
        // A reading that took a while names its span, as the server's box does (1.3: "485–489 ms").
        let slow = ServerFrame { read_at_ms: Some(3), read_took_ms: 4, ..active };
        let said = describe(&Frame { server: slow, ..frame.clone() }, &side1, &spec);
        assert!(said.contains(" and its reading (3.0–7.0 ms: it shows some instant in that span) saw one"), "{said}");
    }

    #[test]
    fn pgbouncers_figures_say_they_are_its_sampled_view() {
        let records: Vec<RequestRecord> = (0..5).map(|n| held(n, n as f64, 9.0)).collect();
        let frame = Frame {
            elapsed_ms: 1200,
            pooler: Some(PoolerFrame {
                cl_active: 3,
                cl_waiting: 1,
                sv_active: 2,
                pool_size: 2,
                ..PoolerFrame::default()
            }),
            instances: vec![InstanceFrame::default()],
            ..Frame::default()
        };
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let side = AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "busiest");
        let svg = draw(&frame, &side, &spec, Peaks::default(), &Part::ALL);
        assert!(svg.contains(">Pooler, sampled</text>"), "{svg}");
        // Its clients are named so that they add up: 1 waiting, 2 served, 1 idle of 4.
        assert!(svg.contains(">4 clients</text>") && svg.contains(">1 waiting · 2 served</text>"), "{svg}");
        assert!(svg.contains(">1 idle (no query)</text>"), "{svg}");
        let said = describe(&frame, &side, &spec);
        assert!(said.contains("PgBouncer's SHOW POOLS (transaction mode, read every 10 ms, here at 1.2 s) shows 4 client connections: 1 waiting for a server connection, 2 served by one, 1 idle with no query to run;"), "{said}");
        // Read at its own instant, its heading says when.
        let read = Frame { pooler: frame.pooler.map(|p| PoolerFrame { read_at_ms: Some(63), ..p }), ..frame.clone() };
        assert!(draw(&read, &side, &spec, Peaks::default(), &Part::ALL).contains(">read at 63 ms</text>"));
        assert!(said.contains("A sample misses what lasts under 10 ms"), "{said}");
        // Live, both sides are the frame's: nothing to tell apart.
        let live = describe(&frame, &AppSide::of_frame(&frame, Peaks::default()), &spec);
        assert!(live.contains("PgBouncer's SHOW POOLS") && !live.contains("A sample misses"), "{live}");
        // The app lends 5 connections, PgBouncer serves 2 and has 1 waiting: the other 2 are idle
        // to it (no query in flight).
        let lent = "A connection the app has lent is idle to PgBouncer while no query of it runs";
        assert!(said.contains(lent), "{said}");
        assert!(!live.contains(lent), "{live}");
        // PgBouncer lends 2 at 314 ms; the server, read at 317-319 ms, has 1 active and 2 in a
        // transaction: two readings 4 ms apart.
        let server = ServerFrame {
            read_at_ms: Some(317),
            read_took_ms: 2,
            run_backends: 3,
            run_by_state: vec![
                CountBy { name: "active".into(), count: 1 },
                CountBy { name: "idle in transaction".into(), count: 2 },
            ],
            ..ServerFrame::default()
        };
        let apart =
            Frame { pooler: frame.pooler.map(|p| PoolerFrame { read_at_ms: Some(314), ..p }), server, ..frame.clone() };
        let said = describe(&apart, &side, &spec);
        assert!(
            said.contains(" The server has 3 backends busy or in a transaction, PgBouncer 2 lent: two readings 4 ms apart, and a transaction begun or ended between them shows on one only."),
            "{said}"
        );
        // As many working as lent: nothing to tell apart.
        let bouncer = apart.pooler.map(|p| PoolerFrame { sv_active: 3, ..p });
        assert!(!describe(&Frame { pooler: bouncer, ..apart.clone() }, &side, &spec).contains("two readings"));
        // More of them in a transaction than active: said as what they are.
        let between =
            "2 of its backends of this run are idle in a transaction: each waits for its client's next statement";
        assert!(said.contains(between), "{said}");
        let busy = ServerFrame {
            run_by_state: vec![
                CountBy { name: "active".into(), count: 2 },
                CountBy { name: "idle in transaction".into(), count: 1 },
            ],
            ..apart.server.clone()
        };
        assert!(!describe(&Frame { server: busy, ..apart.clone() }, &side, &spec).contains("idle in a transaction:"));
        // Its reading took 9 ms: the sentence says what a span of two instants is; a line that
        // waited under a millisecond reads so, not "0 ms".
        let slow = Frame {
            pooler: frame.pooler.map(|p| PoolerFrame { read_at_ms: Some(85), read_took_ms: 9, maxwait_ms: 0, ..p }),
            ..frame.clone()
        };
        let said = describe(&slow, &side, &spec);
        assert!(
            said.contains("here at 85–94 ms: asked, then answered; it shows some instant between) shows"),
            "{said}"
        );
        assert!(draw(&slow, &side, &spec, Peaks::default(), &Part::ALL).contains(">longest wait under 1 ms</text>"));
    }

    #[test]
    fn pools_read_with_a_server_reading_of_another_instant_say_when() {
        // At 27 ms two requests hold connections and eight wait (from the records); the pool was
        // read with the server at 34 ms, when sqlx counted all ten connections open.
        let records: Vec<RequestRecord> =
            (0..2).map(|n| held(n, 20.0, 40.0)).chain((2..10).map(|n| held(n, 30.0, 40.0))).collect();
        let pool = PoolFrame { size: 10, in_use: 10, max_connections: 10, ..PoolFrame::default() };
        let server = ServerFrame { read_at_ms: Some(34), run_backends: 6, ..ServerFrame::default() };
        let frame = Frame { pool: Some(pool), server, ..Frame::default() };
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let side = AppSide::counted(&records, 27.0, 1, AppPeaks::of(&records), "busiest");
        let said = describe(&frame, &side, &spec);
        assert!(
            said.contains("The pool counts 10 connections (as sqlx counted them with the server's reading at 34 ms; the requests' own records give the in use and the waiting at this instant): 2 in use,"),
            "{said}"
        );
        // Read at the app's own instant, nothing to say.
        let now = Frame { server: ServerFrame { read_at_ms: Some(27), ..frame.server.clone() }, ..frame.clone() };
        assert!(describe(&now, &side, &spec).contains("The pool counts 10 connections: 2 in use,"));
    }

    #[test]
    fn two_readings_of_one_count_that_differ_say_why_unless_an_outage_or_a_refusal_does() {
        // A pool of 4 connections, read ms before the server, which lists 3 of them (1 starting).
        let records: Vec<RequestRecord> = (0..4).map(|n| held(n, n as f64, 9.0)).collect();
        let pool = PoolFrame { size: 4, in_use: 4, ..PoolFrame::default() };
        let server = |backends: u64, refused: u64| ServerFrame {
            read_at_ms: Some(3),
            run_backends: backends,
            backends: backends + 1,
            by_state: vec![CountBy { name: "starting".into(), count: 1 }],
            refused: Some(refused),
            ..ServerFrame::default()
        };
        let frame = |backends: u64, refused: u64, outage: bool| {
            let mut f = Frame { pool: Some(pool), server: server(backends, refused), ..Frame::default() };
            f.app.outage = outage;
            f
        };
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let side = AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "busiest");
        let note = "The app's 4 connections and the server's 3 backends (2 of this run and 1 still starting) differ: the pool counts a connection from its connect's start to its close, the server from its arrival to its exit";
        // (the server's backends of this run, its refusals, an outage) -> the note
        let cases = [(2, 0, false, true), (3, 0, false, false), (2, 5, false, false), (2, 0, true, false)];
        for (backends, refused, outage, noted) in cases {
            let said = describe(&frame(backends, refused, outage), &side, &spec);
            assert_eq!(said.contains(note), noted, "{backends} backends, {refused} refused, outage {outage}: {said}");
        }
        // PgBouncer's server connections beside the server's backends (its starting one too).
        let bouncer = PoolerFrame { sv_active: 3, pool_size: 3, ..PoolerFrame::default() };
        let through =
            |backends: u64| describe(&Frame { pooler: Some(bouncer), ..frame(backends, 0, false) }, &side, &spec);
        let said = through(1);
        assert!(
            said.contains(
                "Its 3 server connections and the server's 2 backends (1 of this run and 1 still starting) differ: two readings"
            ),
            "{said}"
        );
        assert!(!said.contains(note), "behind PgBouncer the pools' connections are its clients: {said}");
        let said = through(2);
        assert!(!said.contains("differ"), "2 backends and 1 starting are PgBouncer's 3: {said}");
    }

    #[test]
    fn dots_past_what_is_drawn_say_how_many_and_starting_backends_hold_their_slots() {
        // 100 requests waiting at 5 ms: the line draws 60 dots and says they are 60 of 100.
        let records: Vec<RequestRecord> = (0..100).map(|n| held(n, 50.0, 60.0)).collect();
        let spec = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let side = AppSide::counted(&records, 5.0, 1, AppPeaks::of(&records), "most waiting");
        let server = |starting: u64, authenticating: u64| ServerFrame {
            read_at_ms: Some(5),
            reachable: true,
            max_connections: 100,
            backends: starting,
            by_state: vec![CountBy { name: "starting".into(), count: starting }],
            authenticating,
            ..ServerFrame::default()
        };
        let pool = PoolFrame { size: 10, waiters: 100, max_connections: 10, ..PoolFrame::default() };
        let frame = |s: ServerFrame| Frame { pool: Some(pool), server: s, ..Frame::default() };
        let svg = draw(&frame(server(3, 2)), &side, &spec, Peaks::default(), &Part::ALL);
        assert!(svg.contains(">100 waiting</text>") && svg.contains(">60 of 100 drawn</text>"), "{svg}");
        assert_eq!(svg.matches(r#"class="waiter""#).count(), 60, "{svg}");
        // 3 listed without a name and 2 still authenticating (not listed): 5 hold a slot each.
        assert!(svg.contains(">5 still starting</text>"), "{svg}");
        assert!(svg.contains(">(a slot each, until in or refused)</text>"), "{svg}");
        let none = draw(&frame(server(0, 0)), &side, &spec, Peaks::default(), &Part::ALL);
        assert!(!none.contains("still starting") && !none.contains("a slot each"), "{none}");
        // Fewer waiting than the dots can hold: all drawn, nothing to say.
        let few = AppSide::counted(&records[..12], 5.0, 1, AppPeaks::of(&records[..12]), "most waiting");
        let svg = draw(&frame(server(0, 0)), &few, &spec, Peaks::default(), &Part::ALL);
        assert!(svg.contains(">12 waiting</text>") && !svg.contains(" drawn</text>"), "{svg}");
        // Before a run, the backends still starting are said to be another client's.
        let before = Frame { pool: None, server: server(1, 1), ..Frame::default() };
        let naive = RunSpec::default();
        let said = describe(&before, &AppSide::of_frame(&before, Peaks::default()), &naive);
        assert!(said.starts_with("Before the naive run: "), "{said}");
        assert!(
            said.contains(" It also lists 2 backends still starting: no run is going, so another client's"),
            "{said}"
        );
        let during = Frame { run_id: Some("r1".into()), ..before.clone() };
        let said = describe(&during, &AppSide::of_frame(&during, Peaks::default()), &naive);
        assert!(!said.contains("no run is going"), "{said}");
    }
}
