//! What a step's run showed: the step's figure, the learner's prediction beside what was measured,
//! the step's model as one line of arithmetic with the run's own numbers, and whether the lab's
//! claim held. The prediction and the claim are judged apart: a run can prove the lesson right and
//! the learner's guess far off, and the page says both.

use std::fmt::Write;

use leptos::prelude::*;
use poollab_shared::expr::{number, shown};
use poollab_shared::figures::{Figures, info};
use poollab_shared::lesson::{ForUsers, fill_marked, for_users};
use poollab_shared::{Dec, ErrorKind, ServerFacts, Step, StepVerdict, Summary, SweepPoint};

use crate::escape;

/// A figure with its unit: `987 ms`, `12 req/s`, `48`.
pub fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() { number(v) } else { format!("{} {unit}", number(v)) }
}

/// How far a measurement is from a model's figure: `+4%`, `−12%`, or `3.2× the model`.
fn apart(expected: f64, measured: f64) -> String {
    // From the numbers as printed, so a reader who redoes it gets the same.
    let (expected, measured) = (shown(expected), shown(measured));
    if expected == measured {
        return "exactly the model".into();
    }
    if expected == 0.0 {
        return format!("{} more", number(measured - expected));
    }
    let ratio = measured / expected;
    if (0.5..=2.0).contains(&ratio) {
        let pct = (ratio - 1.0) * 100.0;
        format!("{}{}%", if pct > 0.0 { "+" } else { "−" }, number(pct.abs()))
    } else {
        format!("{}× the model", number(ratio))
    }
}

/// How far a prediction was off, in words: `12% too low`, `4.9× too low`, `exactly right`.
fn off_by(guess: f64, measured: f64) -> String {
    let (guess, measured) = (shown(guess), shown(measured));
    if guess == measured {
        return "exactly right".into();
    }
    if measured == 0.0 || guess == 0.0 {
        return if guess > measured { "too high".into() } else { "too low".into() };
    }
    let ratio = guess / measured;
    match ratio {
        r if r >= 2.0 => format!("{}× too high", number(r)),
        r if r > 1.0 => format!("{}% too high", number((r - 1.0) * 100.0)),
        r if r > 0.5 => format!("{}% too low", number((1.0 - r) * 100.0)),
        r => format!("{}× too low", number(1.0 / r)),
    }
}

/// What a step measured: one run's summary, or a sweep's points.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    Run(Box<Summary>),
    Sweep(Vec<SweepPoint>),
}

impl Measured {
    /// Whether `a` and `b` differ, told apart by what sets one run (or sweep) apart from another:
    /// a done run's summary never changes, and a done sweep's points are its runs. (Cheaper in the
    /// page than comparing every figure, which the derived `PartialEq` would.)
    pub fn changed(a: Option<&Option<Measured>>, b: Option<&Option<Measured>>) -> bool {
        fn key(m: &Measured) -> (u64, u64, u64, u64, Vec<&str>) {
            match m {
                Measured::Run(s) => (s.completed, s.failed, s.duration_ms, s.latency_ms.p50.to_bits(), Vec::new()),
                Measured::Sweep(points) => (0, 0, 0, 0, points.iter().map(|p| p.run_id.as_str()).collect()),
            }
        }
        match (a, b) {
            (Some(a), Some(b)) => a.as_ref().map(key) != b.as_ref().map(key),
            _ => true,
        }
    }
}

/// A step's outcome, once its run (or sweep) is done.
#[component]
pub fn Outcome(
    step: Step,
    measured: Measured,
    server: ServerFacts,
    prediction: Option<f64>,
    verdict: Option<StepVerdict>,
) -> impl IntoView {
    let html = outcome(&step, &measured, server, prediction, verdict);
    view! { <div class="outcome-grid" inner_html=html></div> }
}

/// The outcome as HTML text (one string, which takes far less code in the page than as many
/// elements): every text that is not the lab's own markup goes through [`escape`]. Whether the
/// prediction was close and whether the claim held are the lab's `verdict` (it grades the run on
/// the server when the page reports it), or the page's own until that comes; each says whose it
/// is (`data-graded`: `lab` or `page`). A scored step's score shows once the claim held.
pub fn outcome(
    step: &Step,
    measured: &Measured,
    server: ServerFacts,
    prediction: Option<f64>,
    verdict: Option<StepVerdict>,
) -> String {
    let figures = match measured {
        Measured::Run(summary) => step.figures(server, Some(summary)),
        Measured::Sweep(points) => step.sweep_figures(server, points),
    };
    let by = if verdict.is_some() { "lab" } else { "page" };
    let verdict = verdict.unwrap_or_else(|| StepVerdict::of(step, &figures, prediction));
    // Each figure alone in a text is marked with its name and exact value (`data-figure`), like
    // every figure this page shows, so a test can check a figure shown twice is one number.
    let fill = |text: &str| fill_marked(text, &figures, &escape);
    let mut o = String::from(r#"<div class="outcome-figures">"#);
    // The headline (the predicted figure), and the view's own figure when it is another, smaller.
    for (name, id, class) in [(step.figure(), "key-figure", ""), (step.also(), "also-figure", " also")] {
        if let Some((i, v)) = name.and_then(|name| Some((info(name)?, figures.get(name)?))) {
            let _ = write!(
                o,
                r#"<div class="key-figure{class}" data-testid="{id}" data-figure="{}" data-value="{}"><span class="value" data-testid="{id}-value">{}</span><span class="label">{}</span></div>"#,
                i.name,
                Dec(v),
                with_unit(v, i.unit),
                i.label
            );
        }
    }
    if let Some(p) = &step.prediction
        && let (Some(measured), Some(guess)) = (figures.get(&p.metric), prediction)
    {
        let (unit, label) = info(&p.metric).map_or(("", ""), |i| (i.unit, i.label));
        let close = verdict.close == Some(true);
        // What the prediction was of, said beside the headline (which is the same figure).
        let _ = write!(
            o,
            r#"<div class="compare" data-testid="prediction-compare" data-close="{close}" data-graded="{by}"><p class="of">The figure you predicted: {}</p><p><span class="label">You predicted</span><span class="value">{}</span></p><p><span class="label">Measured</span><span class="value" data-figure="{}" data-value="{}">{}</span></p><p class="close {}" data-testid="prediction-close">{}</p></div>"#,
            escape(label),
            with_unit(guess, unit),
            p.metric,
            Dec(measured),
            with_unit(measured, unit),
            if close { "yes" } else { "no" },
            if close {
                match off_by(guess, measured).as_str() {
                    "exactly right" => "Close: exactly right.".to_owned(),
                    off => format!("Close: {off}, within a quarter of what was measured."),
                }
            } else {
                format!("Not close: {}.", off_by(guess, measured))
            }
        );
    }
    o.push_str(r#"</div><div class="outcome-words">"#);
    if let Some(m) = &step.model
        && let Some(r) = m.apply(&figures)
    {
        let unit = if m.unit.is_empty() { String::new() } else { format!(" {}", m.unit) };
        // The result is worked out from the numbers the sum prints, and both are in data
        // attributes so that a test can redo it.
        let result = number(r.expected);
        let sum = if r.sum == result { result.clone() } else { format!("{} = {result}", r.sum) };
        let _ = write!(
            o,
            r#"<div class="model" data-testid="model" data-holds="{}"><p class="says"><span class="label">The model: </span>{}</p><p class="sum" data-testid="model-sum" data-sum="{}" data-result="{result}"><span class="arith">{sum}{unit}</span> · measured <strong data-figure="{}" data-value="{}">{}{unit}</strong> ({})</p>"#,
            r.holds,
            fill(&m.says),
            r.sum,
            m.measured,
            Dec(r.measured),
            number(r.measured),
            apart(r.expected, r.measured)
        );
        if (!r.holds || m.why_any_gap && result != number(r.measured)) && !m.why.is_empty() {
            let _ = write!(
                o,
                r#"<p class="why" data-testid="model-why"><strong>Why they differ: </strong>{}</p>"#,
                fill(&m.why)
            );
        }
        o.push_str("</div>");
    }
    if let Some(g) = &step.goal {
        let held = verdict.claim_held;
        let _ = write!(
            o,
            r#"<div class="verdict{}" data-testid="goal" data-passed="{held}" data-graded="{by}" role="status"><strong>The lab's claim {}. </strong>{}"#,
            if held { " ok" } else { "" },
            if held { "held" } else { "did not hold" },
            if held { fill(&g.explain) } else { failed_claim(g, &figures) }
        );
        if !held && !step.hint.is_empty() {
            let _ = write!(o, r#"<p class="hint">{}</p>"#, fill(&step.hint));
        }
        o.push_str("</div>");
    }
    if let (Some(name), Measured::Run(s), true) = (&step.score, measured, verdict.claim_held) {
        let _ = write!(
            o,
            r#"<p class="score" data-testid="score">Your score: {} ({}; lower is better). Try a smaller pool in the sandbox.</p>"#,
            Dec(s.figure(name).unwrap_or(0.0)),
            name.replace('_', " ")
        );
    }
    // Apart from the claim: how the run went for its users.
    if let Measured::Run(s) = measured {
        let poor = for_users(s, &step.targets);
        let _ = write!(
            o,
            r#"<p class="verdict users{}" data-testid="for-users" data-good="{}"><strong>{} for users: </strong>{}</p>"#,
            if poor == ForUsers::Good { " ok" } else { "" },
            poor == ForUsers::Good,
            if poor == ForUsers::Good { "Good" } else { "Poor" },
            match poor {
                ForUsers::Poor(why) => format!("{why}."),
                ForUsers::Good => format!(
                    "{}{}.",
                    if s.failed == 0 {
                        format!("all {} requests were answered", s.completed)
                    } else {
                        format!(
                            "{} of {} requests were answered (no more than a tenth failed)",
                            s.completed,
                            s.completed + s.failed
                        )
                    },
                    // Only a step that sets targets (a latency its users accept) can say they were met.
                    if step.targets.is_empty() { "" } else { ", within the step's targets" }
                ),
            }
        );
        said(&mut o, s);
    }
    o.push_str("</div>");
    o
}

/// The failures in their own words: the first message of each kind, as the server, PgBouncer or
/// the pool gave it.
fn said(o: &mut String, s: &Summary) {
    let mut lines = String::new();
    for k in ErrorKind::ALL {
        if let Some(message) = s.error_examples.get(k.as_str()) {
            let _ = write!(
                lines,
                r#"<li><span class="kind">{} × {}</span>; the first said: <q>{}</q></li>"#,
                s.errors.get(k),
                k.as_str(),
                escape(message)
            );
        }
    }
    if !lines.is_empty() {
        let _ = write!(
            o,
            r#"<div class="said" data-testid="error-examples"><p class="label">What the failures said (the first of each kind)</p><ul>{lines}</ul></div>"#
        );
    }
}

/// What a claim that did not hold checked, comparison by comparison, with this run's figures:
/// which one failed, and by how much.
fn failed_claim(goal: &poollab_shared::Goal, figures: &Figures) -> String {
    let Ok(readings) = goal.readings(figures) else {
        return format!("On this run the claim did not hold; it checks {}.", escape(&goal.check));
    };
    let mut o = String::from(
        r#"It checks each of these on this run's figures:<ul class="readings" data-testid="claim-readings">"#,
    );
    for r in readings {
        let _ = write!(
            o,
            r#"<li data-held="{}"><code>{}</code>: {}, {}</li>"#,
            r.held,
            escape(&r.check),
            escape(&r.with_figures),
            if r.held { "true" } else { "<strong>false</strong>" }
        );
    }
    o.push_str("</ul>");
    o
}

#[cfg(test)]
mod tests {
    use poollab_shared::{Goal, RunSpec, StepView};

    use super::*;

    #[test]
    fn a_claim_that_did_not_hold_says_which_comparison_failed_with_the_runs_figures() {
        let step = Step {
            title: "A burst".into(),
            text: String::new(),
            preset: RunSpec { requests: 80, ..RunSpec::default() },
            prediction: None,
            model: None,
            goal: Some(Goal {
                check: "connections_opened == requests && peak_server_connections > requests / 2".into(),
                explain: "held".into(),
            }),
            view: StepView::default(),
            hint: String::new(),
            score: None,
            targets: Default::default(),
            sweep: Vec::new(),
            compare: None,
        };
        let s = Summary { completed: 80, connections_opened: 80, peak_server_connections: 38, ..Summary::default() };
        let server = ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, tls: None, pgbouncer: None };
        let html = outcome(&step, &Measured::Run(Box::new(s)), server, None, None);
        assert!(html.contains(r#"data-passed="false""#), "{html}");
        assert!(
            html.contains(r#"<li data-held="true"><code>connections_opened == requests</code>: 80 = 80, true</li>"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<li data-held="false"><code>peak_server_connections &gt; requests / 2</code>: 38 &gt; 80 ÷ 2 = 40, <strong>false</strong></li>"#
            ),
            "{html}"
        );
    }
}
