//! The parts every view of a run is built from: the stage (the picture of the pool and the server,
//! with the scrubber under it), a set of charts, and the "Details" drawer with every other figure.
//! They all read one [`Tape`], so they always show the same frame.

use leptos::prelude::*;
use poollab_shared::activity::{AppFigure, Opening};
use poollab_shared::{ChartName, Frame, InstanceFrame, Moment, Part, PoolFrame, RunSpec, Strategy, SweepView};

use crate::chart::{Chart, ChartKind};
use crate::instances::InstanceBars;
use crate::live::Live;
use crate::picture::PoolPicture;
use crate::summary::SummaryCard;
use crate::sweep::SweepCurve;
use crate::tape::{Peaks, Scrubber, Shown, Tape, ms_text};
use crate::tiles::{LiveSummary, Tiles};
use crate::waterfall::Waterfall;

/// The state before a run: the server as it is now, and the app's pools with nothing opened yet.
fn before_the_run(latest: Option<Frame>, spec: &RunSpec) -> Option<Frame> {
    let mut frame = latest?;
    frame.run_id = None;
    frame.elapsed_ms = 0;
    frame.app = Default::default();
    frame.server.run_backends = 0;
    frame.server.run_by_state.clear();
    frame.server.refused = None;
    let pool = (spec.strategy == Strategy::Pooled).then(|| PoolFrame {
        max_connections: u64::from(spec.pool.max_connections),
        instances: 1,
        ..PoolFrame::default()
    });
    frame.instances = (0..spec.instances.max(1)).map(|_| InstanceFrame { pool, ..InstanceFrame::default() }).collect();
    frame.pool = pool.map(|p| PoolFrame {
        max_connections: p.max_connections * u64::from(spec.instances.max(1)),
        instances: u64::from(spec.instances.max(1)),
        ..p
    });
    Some(frame)
}

/// A frame stored before frames described each instance reads as one instance.
fn with_instances(mut frame: Frame) -> Frame {
    if frame.instances.is_empty() {
        frame.instances.push(InstanceFrame {
            name: String::new(),
            connecting: frame.pool.map_or(frame.app.connecting, |p| p.connecting),
            holding: frame.app.holding,
            pool: frame.pool,
            server_backends: frame.server.run_backends,
        });
    }
    frame
}

/// The picture of the run, its scrubber, and a line of where it is. Once the run is over the
/// picture opens on `moment` (its busiest frame, unless a step wants its end or the most waiting).
#[component]
pub fn Stage(
    tape: Tape,
    live: Live,
    parts: Vec<Part>,
    #[prop(optional)] preset: Option<RunSpec>,
    #[prop(optional)] moment: Moment,
) -> impl IntoView {
    // Once per run, when its stored frames arrive.
    Effect::new(move |opened: Option<Option<String>>| {
        let id = tape.run.with(|r| r.as_ref().map(|r| r.id.clone()));
        let over = tape.is_over() && tape.records_read();
        let opened = opened.flatten();
        if over && opened != id {
            tape.moment.set(moment);
            if moment != Moment::End {
                tape.go_to_busiest();
            }
            return id;
        }
        opened
    });
    let spec = Signal::derive({
        let preset = preset.clone();
        move || tape.run.with(|r| r.as_ref().map(|r| r.spec.clone())).or_else(|| preset.clone())
    });
    let frame = Signal::derive(move || match tape.frame() {
        Some(f) => Some(with_instances(f)),
        None => spec.with(|s| s.as_ref().and_then(|s| before_the_run(live.latest.get(), s))),
    });
    let peaks = Signal::derive(move || tape.peaks());
    let app = Signal::derive(move || tape.app_side());
    let pooled = move || spec.with(|s| s.as_ref().is_some_and(|s| s.strategy == Strategy::Pooled));
    let heading = move || match tape.run.with(|r| r.as_ref().map(|r| r.state)) {
        None => "Before the run".to_owned(),
        Some(poollab_shared::RunState::Queued) => "Waiting for its turn".to_owned(),
        Some(poollab_shared::RunState::Running) => "Live".to_owned(),
        Some(_) => match tape.shown() {
            Some(shown) => heading_of(shown, pooled()),
            // The run is over, its records not read yet.
            None => "The run is over".to_owned(),
        },
    };
    view! {
        <section class="card stage" aria-labelledby="stage-title">
            <h3 id="stage-title" data-testid="stage-title">{heading}</h3>
            <PoolPicture frame=frame spec=spec peaks=Signal::derive(move || if tape.len() > 0 { peaks.get() } else { Peaks::default() }) app=app parts=parts />
            <Scrubber tape=tape />
            <p class="error" role="alert">{move || tape.error.get()}</p>
        </section>
    }
}

/// What the picture of a run that is over shows, named by what it is.
fn heading_of(shown: Shown, pooled: bool) -> String {
    let waiting = |n: u64| format!("{n} waiting for a connection");
    match shown {
        Shown::Opening(Opening { moment: Moment::Outage, count: n, at_ms: at, .. }) => {
            format!("During the outage, at {}: {}", ms_text(at), waiting(n))
        }
        Shown::Opening(Opening { moment: Moment::FirstRefusal, count: n, at_ms: at, .. }) => {
            format!("The first refusal the app heard, at {}: {n} connecting", ms_text(at))
        }
        Shown::Opening(Opening { moment: Moment::ServerPeak, count: n, at_ms: at, .. }) => {
            format!(
                "The server's peak: {n} {} of this run, at {}",
                if n == 1 { "backend" } else { "backends" },
                ms_text(at)
            )
        }
        Shown::Opening(Opening { figure: AppFigure::Waiting, count: n, at_ms: at, .. }) => {
            format!("The most waiting: {} at {}", waiting(n), ms_text(at))
        }
        Shown::Opening(Opening { figure, count: n, at_ms: at, .. }) => {
            let what = match figure {
                AppFigure::Holding if pooled => {
                    format!("{n} {} in use", if n == 1 { "connection" } else { "connections" })
                }
                AppFigure::Holding => format!("{n} {} open", if n == 1 { "connection" } else { "connections" }),
                _ => format!("{n} {} in flight", if n == 1 { "request" } else { "requests" }),
            };
            format!("The busiest moment: {what} at {}", ms_text(at))
        }
        Shown::Frame(at) => format!("The run at {}: drag the slider through it", ms_text(at)),
        // The picture's own instant, and the last answer's when it came earlier.
        Shown::AfterTheLastAnswer { answer_ms, .. } => match (ms_text(answer_ms), ms_text(shown.at_ms())) {
            (answer, at) if answer == at => format!("After the last request ended, at {at} into the run"),
            (answer, at) => format!("At {at}: after the last request ended, at {answer} into the run"),
        },
    }
}

fn chart(tape: Tape, name: ChartName, sweep: Signal<Option<SweepView>>) -> AnyView {
    match name {
        ChartName::Sizing => view! { <SweepCurve view_of=sweep error=Signal::stored(None::<String>) /> }.into_any(),
        ChartName::Connections => view! { <Chart tape=tape kind=ChartKind::Connections /> }.into_any(),
        ChartName::ServerStates => view! { <Chart tape=tape kind=ChartKind::ServerStates /> }.into_any(),
        ChartName::Throughput => view! { <Chart tape=tape kind=ChartKind::Throughput /> }.into_any(),
        ChartName::Latency => view! { <Chart tape=tape kind=ChartKind::Latency /> }.into_any(),
        ChartName::Waterfall => view! { <Waterfall tape=tape /> }.into_any(),
        ChartName::Instances => view! { <InstanceBars tape=tape /> }.into_any(),
        ChartName::Churn => view! { <Chart tape=tape kind=ChartKind::Churn /> }.into_any(),
        ChartName::Pooler => view! { <Chart tape=tape kind=ChartKind::Pooler /> }.into_any(),
    }
}

/// Every chart of any run, in the order the Details drawer shows them. (A pooler's chart is
/// shown by the steps that have one; the picture draws the pooler in every run that has one.)
const ALL_CHARTS: [ChartName; 7] = [
    ChartName::Connections,
    ChartName::Churn,
    ChartName::Waterfall,
    ChartName::Throughput,
    ChartName::Latency,
    ChartName::ServerStates,
    ChartName::Instances,
];

/// A step's own charts, each across the page (a sweep step's sizing curve from `sweep`).
#[component]
pub fn StepCharts(
    tape: Tape,
    charts: Vec<ChartName>,
    #[prop(into, optional)] sweep: Signal<Option<SweepView>>,
) -> impl IntoView {
    (!charts.is_empty()).then(|| {
        view! {
            <section class="charts" aria-label="The step's charts">
                {charts.into_iter().map(|c| view! { <div class="card">{chart(tape, c, sweep)}</div> }).collect_view()}
            </section>
        }
    })
}

/// Every figure of the run that the view above does not show, behind one toggle; `children`, if
/// any, at its end (the sandbox puts its comparison with another run there: a course step has its
/// own, beside the step it answers, and the learners' page need not carry both).
#[component]
pub fn Details(
    tape: Tape,
    live: Live,
    shown: Vec<ChartName>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let others: Vec<ChartName> = ALL_CHARTS.into_iter().filter(|c| !shown.contains(c)).collect();
    let frame = Signal::derive(move || tape.frame());
    let run = tape.run;
    view! {
        <details class="card details" data-testid="details">
            <summary>"Details: every figure of this run"</summary>
            <h3>"At the picture's moment"</h3>
            <Tiles latest=frame tape=tape />
            <LiveSummary latest=live.latest />
            <h3>"The run's result"</h3>
            <SummaryCard run=run />
            {others.into_iter().map(|c| chart(tape, c, Signal::stored(None))).collect_view()}
            {children.map(|c| c())}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pictures_heading_names_the_moment_it_shows() {
        let o = |moment, figure, count, at_ms| Shown::Opening(Opening { moment, figure, count, at_ms });
        let table = [
            (
                o(Moment::Outage, AppFigure::Waiting, 14, 1234.0),
                "During the outage, at 1.2 s: 14 waiting for a connection",
            ),
            (
                o(Moment::Outage, AppFigure::Waiting, 0, 1550.0),
                "During the outage, at 1.6 s: 0 waiting for a connection",
            ),
            (
                o(Moment::MostWaiting, AppFigure::Waiting, 1, 2500.0),
                "The most waiting: 1 waiting for a connection at 2.5 s",
            ),
            (o(Moment::Busiest, AppFigure::Holding, 5, 331.0), "The busiest moment: 5 connections in use at 331 ms"),
            (
                o(Moment::FirstRefusal, AppFigure::Connecting, 141, 221.0),
                "The first refusal the app heard, at 221 ms: 141 connecting",
            ),
            (
                o(Moment::ServerPeak, AppFigure::Holding, 89, 759.0),
                "The server's peak: 89 backends of this run, at 759 ms",
            ),
            (o(Moment::ServerPeak, AppFigure::Holding, 1, 21.0), "The server's peak: 1 backend of this run, at 21 ms"),
            // The picture's instant, and the last answer's when it is another.
            (
                Shown::AfterTheLastAnswer { answer_ms: 503.0, frame_ms: 516.0 },
                "At 516 ms: after the last request ended, at 503 ms into the run",
            ),
            (
                Shown::AfterTheLastAnswer { answer_ms: 503.0, frame_ms: 503.2 },
                "After the last request ended, at 503 ms into the run",
            ),
            (
                Shown::AfterTheLastAnswer { answer_ms: 400.0, frame_ms: 300.0 },
                "After the last request ended, at 400 ms into the run",
            ),
        ];
        for (shown, heading) in table {
            assert_eq!(heading_of(shown, true), heading);
        }
    }
}
