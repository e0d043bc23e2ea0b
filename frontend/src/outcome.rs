//! What a step's run showed: the step's figure, the learner's prediction beside what was measured,
//! the step's model as one line of arithmetic with the run's own numbers, and whether the lab's
//! claim held. The prediction and the claim are judged apart: a run can prove the lesson right and
//! the learner's guess far off, and the page says both.

use leptos::prelude::*;
use poollab_shared::expr::number;
use poollab_shared::figures::info;
use poollab_shared::lesson::{fill, prediction_close};
use poollab_shared::{ErrorKind, ServerFacts, Step, Summary, SweepPoint};

/// A figure with its unit: `987 ms`, `12 req/s`, `48`.
pub fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() { number(v) } else { format!("{} {unit}", number(v)) }
}

/// How far a measurement is from a model's figure: `+4%`, `−12%`, or `3.2× the model`.
fn apart(expected: f64, measured: f64) -> String {
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

/// A step's outcome, once its run (or sweep) is done.
#[component]
pub fn Outcome(step: Step, measured: Measured, server: ServerFacts, prediction: Option<f64>) -> impl IntoView {
    let figures = match &measured {
        Measured::Run(summary) => step.figures(server, Some(summary)),
        Measured::Sweep(points) => step.sweep_figures(server, points),
    };
    let figure = step.figure().map(str::to_owned);
    let key = figure.as_deref().and_then(|name| {
        let i = info(name)?;
        Some((i, figures.get(name)?))
    });
    let key_view = key.map(|(i, v)| {
        view! {
            <div class="key-figure" data-testid="key-figure" data-figure=i.name>
                <span class="value" data-testid="measured">{with_unit(v, i.unit)}</span>
                <span class="label">{i.label}</span>
            </div>
        }
    });
    let predicted = step.prediction.as_ref().and_then(|p| {
        let measured = figures.get(&p.metric)?;
        let unit = info(&p.metric).map_or("", |i| i.unit);
        let guess = prediction?;
        let close = prediction_close(guess, measured);
        Some(view! {
            <div class="compare" data-testid="prediction-compare" data-close=close.to_string()>
                <p>
                    <span class="label">"You predicted"</span>
                    <span class="value">{with_unit(guess, unit)}</span>
                </p>
                <p>
                    <span class="label">"Measured"</span>
                    <span class="value">{with_unit(measured, unit)}</span>
                </p>
                <p class=if close { "close yes" } else { "close no" } data-testid="prediction-close">
                    {if close {
                        format!("Close: {}, within a quarter of what was measured.", off_by(guess, measured))
                    } else {
                        format!("Not close: {}.", off_by(guess, measured))
                    }}
                </p>
            </div>
        })
    });
    let model = step.model.as_ref().and_then(|m| {
        let r = m.apply(&figures)?;
        let unit = if m.unit.is_empty() { String::new() } else { format!(" {}", m.unit) };
        let sum = if r.sum == number(r.expected) { number(r.expected) } else { format!("{} = {}", r.sum, number(r.expected)) };
        let says = fill(&m.says, &figures);
        let why = (!r.holds && !m.why.is_empty()).then(|| fill(&m.why, &figures));
        Some(view! {
            <div class="model" data-testid="model" data-holds=r.holds.to_string()>
                <p class="says"><span class="label">"The model: "</span>{says}</p>
                <p class="sum" data-testid="model-sum">
                    <span class="arith">{format!("{sum}{unit}")}</span>
                    " · measured "
                    <strong>{format!("{}{unit}", number(r.measured))}</strong>
                    {format!(" ({})", apart(r.expected, r.measured))}
                </p>
                {why.map(|w| view! { <p class="why" data-testid="model-why"><strong>"Why they differ: "</strong>{w}</p> })}
            </div>
        })
    });
    let claim = step.goal.as_ref().map(|g| {
        let held = g.check(&figures).unwrap_or(false);
        let text = if held {
            fill(&g.explain, &figures)
        } else {
            format!("On this run the claim did not hold; it checks {}.", g.check)
        };
        view! {
            <div class="verdict" class:ok=held data-testid="goal" data-passed=held.to_string() role="status">
                <strong>{if held { "The lab's claim held. " } else { "The lab's claim did not hold. " }}</strong>
                {text}
                {(!held && !step.hint.is_empty()).then(|| view! { <p class="hint">{fill(&step.hint, &figures)}</p> })}
            </div>
        }
    });
    view! {
        <div class="outcome-grid">
            <div class="outcome-figures">{key_view}{predicted}</div>
            <div class="outcome-words">{model}{claim}{said(&measured)}</div>
        </div>
    }
}

/// The failures in their own words: the first message of each kind, as the server, PgBouncer or
/// the pool gave it.
fn said(measured: &Measured) -> Option<impl IntoView + use<>> {
    let Measured::Run(s) = measured else { return None };
    let lines: Vec<_> = ErrorKind::ALL
        .iter()
        .filter_map(|k| {
            let message = s.error_examples.get(k.as_str())?;
            let n = s.errors.get(*k);
            Some(view! {
                <li><span class="kind">{format!("{} × {}", n, k.as_str())}</span>" " <q>{message.clone()}</q></li>
            })
        })
        .collect();
    (!lines.is_empty()).then(|| {
        view! {
            <div class="said" data-testid="error-examples">
                <p class="label">"What the failures said (the first of each kind)"</p>
                <ul>{lines}</ul>
            </div>
        }
    })
}
