//! The fleet against the server: each app instance's backends as the server counts them, stacked
//! against the slots the server has for applications, at the tape's frame.

use leptos::prelude::*;
use poollab_shared::{Dec, PoolFrame};

use crate::coord;
use crate::tape::Tape;

const W: f64 = 720.0;
const LEFT: f64 = 96.0;
/// Room on the right for each bar's figures.
const RIGHT: f64 = 190.0;
const BAR: f64 = 18.0;

#[component]
pub fn InstanceBars(tape: Tape) -> impl IntoView {
    let drawn = move || {
        let frame = tape.frame()?;
        // Each instance's connections opening as the picture draws them: its pool as read, with
        // its requests' connections in use at the instant.
        let app = tape.app_side();
        let opening = |i: usize, pool: PoolFrame| {
            let in_use = app.as_ref().and_then(|a| a.instances.get(i)).map_or(pool.in_use, |c| c.holding);
            pool.opening_beside(in_use)
        };
        let server = frame.server.facts();
        let scale_max = (server.max_connections.max(1)) as f64;
        let x = move |v: f64| LEFT + v / scale_max * (W - LEFT - RIGHT);
        let rows = frame.instances.len();
        let height = 60.0 + rows as f64 * (BAR + 8.0) + 30.0;
        let mut at = 0.0;
        let stacked = frame
            .instances
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let v = inst.server_backends as f64;
                let piece = view! { <rect class=format!("fleet i{}", i % 6) x=coord(x(at)) y="28" width=coord((x(at + v) - x(at)).max(0.0)) height=coord(BAR) /> };
                at += v;
                piece
            })
            .collect_view();
        let per_instance = frame
            .instances
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let y = 60.0 + i as f64 * (BAR + 8.0);
                let pool = inst.pool.unwrap_or_default();
                let label = format!("app {}", i + 1);
                let connecting = opening(i, pool);
                let text = format!("{} on the server, {connecting} opening", inst.server_backends);
                view! {
                    <g data-testid="instance-bar" data-backends=inst.server_backends>
                        <text class="tick" x=coord(LEFT - 8.0) y=coord(y + 13.0) text-anchor="end">{label}</text>
                        <rect class=format!("fleet i{}", i % 6) x=coord(LEFT) y=coord(y) width=coord((x(inst.server_backends as f64) - LEFT).max(0.0)) height=coord(BAR) />
                        <rect class="fleet-opening" x=coord(x(inst.server_backends as f64)) y=coord(y) width=coord((x((inst.server_backends + connecting) as f64) - x(inst.server_backends as f64)).max(0.0)) height=coord(BAR) />
                        <text class="note" x=coord(W - 16.0) y=coord(y + 13.0) text-anchor="end">{text}</text>
                    </g>
                }
            })
            .collect_view();
        let limit = server.app_slots() as f64;
        let desc = format!(
            "{} instances hold {} backends together, against {} slots for applications ({} in all).",
            rows,
            frame.server.run_backends,
            server.app_slots(),
            server.max_connections
        );
        Some(view! {
            <svg viewBox=format!("0 0 {} {}", Dec(W), Dec(height)) role="img" aria-label=desc.clone() data-testid="chart-instances">
                <text class="tick" x=coord(LEFT - 8.0) y="41" text-anchor="end">"the fleet"</text>
                {stacked}
                <line class="limit" x1=coord(x(limit)) x2=coord(x(limit)) y1="20" y2=coord(height - 24.0) />
                <text class="limit-label" x=coord(x(limit) - 4.0) y="18" text-anchor="end">{format!("{} slots for applications", server.app_slots())}</text>
                {per_instance}
                <text class="axis" x=coord((W + LEFT) / 2.0) y=coord(height - 6.0) text-anchor="middle">"server backends"</text>
            </svg>
            <p class="chart-text">{desc}</p>
        })
    };
    view! {
        <figure class="chart">
            <strong class="chart-title">"Each instance's connections on the server, against its limit"</strong>
            {move || drawn().map_or_else(|| view! { <p class="muted">"The bars draw the next run of several instances."</p> }.into_any(), IntoAny::into_any)}
        </figure>
    }
}
