//! The course: lessons, their steps, and what each step shows, claims and checks.
//!
//! Lessons are content files (`lessons/NN-name.toml` at the top of the repository), embedded in
//! the backend at build time and served as JSON (`GET /api/lessons`). A step has:
//!
//! - **text** that never types a measured number: it writes `{requests}`, `{server.app_slots}` or
//!   `{peak_server_connections}` and the page fills in the preset's, the server's or the run's own
//!   figure ([`fill`]; names in [`crate::figures`]);
//! - an experiment **preset** (a run spec) and, before it runs, a **prediction** the learner makes;
//! - a **model**: one line of arithmetic over those figures
//!   (`(requests / pool.max_connections - 1) * work.sleep_ms`), shown with the run's numbers beside
//!   what was measured, and a sentence for when the two part ways;
//! - a **goal**: the step's claim as comparisons (`peak_server_connections <= pool.max_connections
//!   && failed == 0`), checked by [`Goal::check`] on the page and, for every step, in the test
//!   suite, so the course only claims what this lab measures;
//! - a **view**: which parts of the picture and which charts the step shows, and the one figure
//!   it is about.

use serde::{Deserialize, Serialize};

use crate::expr::{Expr, ExprError, number};
use crate::figures::{Figures, ServerFacts, Source, SweepFigures, Targets, info};
use crate::num::Dec;
use crate::spec::RunSpec;
use crate::summary::Summary;
use crate::sweep::SweepPoint;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// From the file name, e.g. `01-connection-cost`; also the lesson's URL.
    #[serde(default)]
    pub id: String,
    pub title: String,
    /// One sentence for the lesson list.
    pub summary: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// Plain words, with `{figure}` placeholders; paragraphs are separated by blank lines.
    pub text: String,
    /// The experiment the step runs.
    pub preset: RunSpec,
    #[serde(default)]
    pub prediction: Option<Prediction>,
    #[serde(default)]
    pub model: Option<Model>,
    #[serde(default)]
    pub goal: Option<Goal>,
    #[serde(default)]
    pub view: StepView,
    #[serde(default)]
    pub hint: String,
    /// A summary figure to score the step by, lower is better (the capstone: the fewest
    /// connections that meet the goal).
    #[serde(default)]
    pub score: Option<String>,
    /// The step's own aims, named `target.<name>` in its texts and goal.
    #[serde(default, skip_serializing_if = "Targets::is_empty")]
    pub targets: Targets,
    /// Pool sizes to run the preset with, one run each: a sizing sweep. Its figures are the
    /// sweep's (`sweep.best_size`, ...), not one run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<u32>,
    /// The earlier step of the same lesson (numbered from 1) this one answers: the page shows the
    /// two runs side by side, their figures and their waterfalls on one time axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<usize>,
}

/// A question answered with a number before the run, compared afterwards with the measured one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    pub question: String,
    /// The summary figure the answer is compared with, e.g. `peak_server_connections`.
    pub metric: String,
    #[serde(default)]
    pub unit: String,
}

/// The step's idea as one line of arithmetic, compared with what the run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// What the sum stands for, in words (with placeholders): "the last request waits for the
    /// waves ahead of it".
    pub says: String,
    /// The arithmetic, over figures of the spec, the server and the run.
    pub formula: String,
    /// The measured figure the model predicts.
    pub measured: String,
    #[serde(default)]
    pub unit: String,
    /// One sentence (with placeholders) for when the measurement departs from the model by more
    /// than [`CLOSE_WITHIN`]: why the real system differs.
    #[serde(default)]
    pub why: String,
    /// Whether `why` holds for any gap the model can have, of any size: either way (a count a few
    /// more or fewer than the sum), or the one way a bound allows (waves that can only take
    /// longer than their sleeps). The page then gives it whenever the two printed numbers differ.
    #[serde(default)]
    pub why_any_gap: bool,
}

/// What the run must show, e.g. `errors.too_many_clients > 0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// Comparisons joined by `&&`; each side is arithmetic over figures (`latency_ms.p99`,
    /// `requests`, `server.app_slots`) and numbers.
    pub check: String,
    /// The claim in plain words (with placeholders), shown when it held.
    pub explain: String,
}

/// Parts of the picture of app, pool, line and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The app's instances: their pools' slots, or a naive app's own connections.
    App,
    /// Requests waiting for a pooled connection.
    Line,
    /// The way to the server: added delay, an outage.
    Network,
    /// The cache and the circuit breaker in front of the pools.
    Guards,
    /// The server's backends against `max_connections`, and refused connects.
    Server,
}

/// The charts a step can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartName {
    /// Server backends, pool size, in use, opening, waiting over time.
    Connections,
    /// Every request as a lane: wait, connect, query.
    Waterfall,
    Latency,
    /// Answered and failed per second.
    Throughput,
    /// The whole server's backends by state.
    ServerStates,
    /// Each app instance's connections against the server's limit.
    Instances,
    /// Connections opened and closed so far: a pool's churn.
    Churn,
    /// A sweep step's throughput, latency and query time by pool size.
    Sizing,
    /// A run's PgBouncer over time: its clients, those waiting, its server connections.
    Pooler,
}

/// Which moment of a finished run the picture opens on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// When the most was going on: backends, connections in use or opening, requests waiting.
    #[default]
    Busiest,
    /// The run's last frame (when how the run ends is the point: a pool that shrank).
    End,
    /// When the most requests were waiting for a connection ([`crate::activity::MOST_WAITING`]):
    /// a queue's worst moment, where the busiest may be a quiet one before it. (Behind an outage
    /// it may come after it, as the pool reconnects: an outage step opens on [`Moment::Outage`].)
    MostWaiting,
    /// During the run's outage, when the most requests waited in it
    /// ([`crate::activity::DURING_THE_OUTAGE`]): the most waiting of a whole run may come after
    /// the outage, as the pool reconnects.
    Outage,
    /// When the server held the most backends of this run: the reading the summary's
    /// `peak_server_connections` was taken from ([`crate::activity::SERVER_PEAK`]), with the app
    /// counted at its instant. (A run whose peak reading was not kept opens on its busiest.)
    ServerPeak,
    /// When the server refused its first connect as too many clients
    /// ([`crate::activity::FIRST_REFUSAL`]): the slots are full then, with backends still
    /// logging in among them. (A run with no refusal opens on its busiest.)
    FirstRefusal,
}

impl Part {
    pub const ALL: [Part; 5] = [Part::App, Part::Line, Part::Network, Part::Guards, Part::Server];
}

/// What a step shows: the parts of the picture, its charts, and the figure it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepView {
    pub picture: Vec<Part>,
    pub charts: Vec<ChartName>,
    /// The summary figure the step is about (defaults to the prediction's).
    pub figure: Option<String>,
    /// The moment of the run the picture opens on once the run is over.
    pub moment: Moment,
}

impl Default for StepView {
    fn default() -> Self {
        StepView {
            picture: Part::ALL.to_vec(),
            charts: vec![ChartName::Connections],
            figure: None,
            moment: Moment::Busiest,
        }
    }
}

/// Why a step's `compare` cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("compare = {0}: a step is compared with an earlier step of its lesson, numbered from 1")]
    NotEarlier(usize),
    #[error("compare = {0}: a sweep is many runs, and only one run is compared with one run")]
    Sweep(usize),
}

impl Lesson {
    /// The step that step `index` (from 0) answers, when it names one: an earlier step of this
    /// lesson, and neither of the two a sweep.
    pub fn compared(&self, index: usize) -> Result<Option<&Step>, CompareError> {
        let Some(n) = self.steps.get(index).and_then(|s| s.compare) else { return Ok(None) };
        let earlier = n.checked_sub(1).filter(|i| *i < index).and_then(|i| self.steps.get(i));
        let earlier = earlier.ok_or(CompareError::NotEarlier(n))?;
        if !earlier.sweep.is_empty() || !self.steps[index].sweep.is_empty() {
            return Err(CompareError::Sweep(n));
        }
        Ok(Some(earlier))
    }
}

/// The figures two compared steps are shown by, side by side: the earlier step's figure, this
/// step's, and what each one's model measures, each once.
pub fn compared_figures<'a>(earlier: &'a Step, step: &'a Step) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let named = [earlier.figure(), earlier.also(), step.figure(), step.also()]
        .into_iter()
        .chain([earlier, step].map(|s| s.model.as_ref().map(|m| m.measured.as_str())));
    for name in named.flatten() {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// A prediction is close when it is within this share of the measured figure.
pub const CLOSE_WITHIN: f64 = 0.25;

/// Whether a prediction was close to what was measured: within [`CLOSE_WITHIN`] of it (of 1 when
/// the measured figure is below 1, so only a prediction of 0 is close to a measured 0).
pub fn prediction_close(predicted: f64, measured: f64) -> bool {
    (predicted - measured).abs() <= CLOSE_WITHIN * measured.abs().max(1.0)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoalError {
    #[error("`{0}` is not a comparison (arithmetic, one of < <= == != >= >, and arithmetic)")]
    NotAComparison(String),
    #[error(transparent)]
    Expr(#[from] ExprError),
    #[error("`{0}` is not a figure of a run's summary")]
    NotASummaryFigure(String),
    #[error("{field}: {source}")]
    In { field: &'static str, source: Box<GoalError> },
    #[error("`{name}` is {} figure, and this step {}", if *.sweep { "a run's" } else { "a sweep's" }, if *.sweep { "is a sweep" } else { "is one run" })]
    WrongKind { name: String, sweep: bool },
}

impl GoalError {
    fn within(self, field: &'static str) -> GoalError {
        GoalError::In { field, source: Box::new(self) }
    }
}

const OPERATORS: [&str; 6] = ["<=", ">=", "==", "!=", "<", ">"];

/// A goal's comparisons, parsed.
fn comparisons(check: &str) -> Result<Vec<(Expr, &'static str, Expr)>, GoalError> {
    check
        .split("&&")
        .map(|part| {
            let (op, at) = OPERATORS
                .iter()
                .find_map(|op| part.find(op).map(|at| (*op, at)))
                .ok_or_else(|| GoalError::NotAComparison(part.trim().to_owned()))?;
            Ok((Expr::parse(&part[..at])?, op, Expr::parse(&part[at + op.len()..])?))
        })
        .collect()
}

/// One comparison of a goal on a run: as the lesson writes it, as it reads with the run's figures
/// (`47.3 ≥ 1.5 × 40 = 60`), and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub check: String,
    pub with_figures: String,
    pub held: bool,
}

impl Goal {
    /// Whether the run's figures meet the goal, or why the goal cannot be read.
    pub fn check(&self, figures: &Figures) -> Result<bool, GoalError> {
        Ok(self.readings(figures)?.iter().all(|r| r.held))
    }

    /// Each comparison of the goal on the run's figures, so a page can say which one failed and
    /// by how much.
    pub fn readings(&self, figures: &Figures) -> Result<Vec<Reading>, GoalError> {
        let get = |name: &str| figures.get(name);
        // A side that is a sum prints what it comes to, so the comparison reads at a glance.
        let side = |e: &Expr| -> Result<String, GoalError> {
            let (text, value) = (e.render(&get), number(e.eval_shown(&get)?));
            Ok(if text == value { text } else { format!("{text} = {value}") })
        };
        comparisons(&self.check)?
            .into_iter()
            .map(|(left, op, right)| {
                let (l, r) = (left.eval(&get)?, right.eval(&get)?);
                let (held, sign) = match op {
                    "<=" => (l <= r, "≤"),
                    ">=" => (l >= r, "≥"),
                    "==" => (l == r, "="),
                    "!=" => (l != r, "≠"),
                    "<" => (l < r, "<"),
                    _ => (l > r, ">"),
                };
                let check = format!("{} {op} {}", left.text().trim(), right.text().trim());
                Ok(Reading { check, with_figures: format!("{} {sign} {}", side(&left)?, side(&right)?), held })
            })
            .collect()
    }
}

/// Checks that every name in an expression is a figure (or one of `targets`).
fn known(expr: &Expr, targets: &Targets) -> Result<(), GoalError> {
    let unknown = expr.figures().into_iter().find(|n| match Figures::source(n) {
        Some(Source::Target) => n.strip_prefix("target.").is_none_or(|t| !targets.contains_key(t)),
        Some(_) => false,
        None => true,
    });
    match unknown {
        Some(unknown) => Err(ExprError::UnknownFigure(unknown.to_owned()).into()),
        None => Ok(()),
    }
}

fn summary_figure(name: &str) -> Result<(), GoalError> {
    info(name).map(|_| ()).ok_or_else(|| GoalError::NotASummaryFigure(name.to_owned()))
}

/// Every figure a text's placeholders name, in order.
pub fn names_in(text: &str) -> Vec<String> {
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Figure(Ok(e)) => Some(e.figures().into_iter().map(str::to_owned).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The `{…}` placeholders of a text, each as its arithmetic, in order, with the text between.
enum Piece<'t> {
    Text(&'t str),
    Figure(Result<Expr, ExprError>),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push(Piece::Text(&rest[..open]));
        out.push(Piece::Figure(Expr::parse(&rest[open + 1..open + close])));
        rest = &rest[open + close + 1..];
    }
    out.push(Piece::Text(rest));
    out
}

/// Checks that a text's placeholders are arithmetic over known figures.
pub fn check_text(text: &str, targets: &Targets) -> Result<(), GoalError> {
    for piece in pieces(text) {
        if let Piece::Figure(expr) = piece {
            known(&expr?, targets)?;
        }
    }
    Ok(())
}

/// The text outside its `{…}` placeholders: what the author typed.
pub fn typed(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Figure(_) => " ",
        })
        .collect()
}

/// The text with every `{…}` replaced by its value now; a figure not known yet (the run's, before
/// it is done) reads `…`.
pub fn fill(text: &str, figures: &Figures) -> String {
    fill_text(text, figures, None)
}

/// [`fill`] as HTML: the text between placeholders through `escape` (the identity for a text that
/// is HTML already), and each placeholder that is one figure alone marked with its name and exact
/// value (`<span data-figure="peak_waiters" data-value="115">115</span>`), so that a figure shown
/// in two places on a page can be checked to be the same number.
pub fn fill_marked(text: &str, figures: &Figures, escape: &dyn Fn(&str) -> String) -> String {
    fill_text(text, figures, Some(escape))
}

/// [`fill`], or [`fill_marked`] with an `escape`.
fn fill_text(text: &str, figures: &Figures, escape: Option<&dyn Fn(&str) -> String>) -> String {
    let get = |name: &str| figures.get(name);
    pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => escape.map_or_else(|| t.to_owned(), |escape| escape(t)),
            Piece::Figure(Ok(e)) => match (e.figure_name().filter(|_| escape.is_some()), e.eval(&get)) {
                (Some(name), Ok(v)) => {
                    format!(r#"<span data-figure="{name}" data-value="{}">{}</span>"#, Dec(v), number(v))
                }
                // A sum in the text is worked out from its figures as the page prints them, so a
                // reader who redoes it gets the same (`111 − 28.7` is `82.3`, whatever the digits
                // behind them).
                (None, Ok(v)) => number(e.eval_shown(&get).unwrap_or(v)),
                (_, Err(_)) => "…".into(),
            },
            Piece::Figure(Err(_)) => "?".into(),
        })
        .collect()
}

/// A step's text as the page lays it out, in HTML: its paragraphs (split at blank lines), and,
/// after a paragraph `--- <title>`, the paragraphs a learner opens under that title when they want
/// the finer points (why two of the run's figures differ, say), so the step's idea stays short.
/// The text is the lab's own, HTML already (it marks a word's first use as a link to the glossary).
pub fn text_html(text: &str) -> String {
    let mut html = String::new();
    let mut more = false;
    for p in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        match p.strip_prefix("--- ").filter(|_| !more) {
            Some(title) => {
                more = true;
                html += &format!(r#"<details class="more"><summary>{}</summary>"#, title.trim());
            }
            None => html += &format!("<p>{p}</p>"),
        }
    }
    if more {
        html += "</details>";
    }
    html
}

/// Whether a text names figures only a finished run has.
pub fn needs_run(text: &str) -> bool {
    pieces(text).iter().any(|p| match p {
        Piece::Figure(Ok(e)) => e.figures().iter().any(|n| Figures::source(n) == Some(Source::Summary)),
        _ => false,
    })
}

/// A model worked out with a run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResult {
    /// The sum with the run's numbers: `(100 ÷ 5 − 1) × 50`.
    pub sum: String,
    /// What the sum comes to, worked out from the numbers it prints ([`Expr::eval_shown`]): a
    /// reader who redoes it gets the same.
    pub expected: f64,
    pub measured: f64,
    /// Whether the measurement is within [`CLOSE_WITHIN`] of the model.
    pub holds: bool,
}

impl Model {
    /// The model against a finished run (none when a figure is missing).
    pub fn apply(&self, figures: &Figures) -> Option<ModelResult> {
        let get = |name: &str| figures.get(name);
        let expr = Expr::parse(&self.formula).ok()?;
        let expected = expr.eval_shown(&get).ok().filter(|v| v.is_finite())?;
        let measured = figures.get(&self.measured)?;
        Some(ModelResult { sum: expr.render(&get), expected, measured, holds: prediction_close(expected, measured) })
    }
}

/// A failure share above this is poor for users, whatever the lab's claim.
pub const POOR_FAILED_SHARE: f64 = 0.10;

/// How a run went for the people its requests stand for, judged apart from the lab's claim
/// ([`Goal::check`], about the measurement): a step can prove its point (a pool too small makes
/// requests fail) with a run that was bad for users, and the page says both.
#[derive(Debug, Clone, PartialEq)]
pub enum ForUsers {
    Good,
    /// Why not, in words: `90 of 100 requests failed`.
    Poor(String),
}

/// Whether a run was good for users: poor when more than [`POOR_FAILED_SHARE`] of its requests
/// failed, or its p99 latency missed the step's `target.p99_ms`.
pub fn for_users(s: &Summary, targets: &Targets) -> ForUsers {
    let total = s.completed + s.failed;
    let mut why = Vec::new();
    if s.failed as f64 > POOR_FAILED_SHARE * total as f64 {
        why.push(format!("{} of {total} requests failed", s.failed));
    }
    if let Some(t) = targets.get("p99_ms")
        && s.latency_ms.p99 > *t
    {
        why.push(format!("p99 latency {} ms missed the target of {} ms", number(s.latency_ms.p99), number(*t)));
    }
    if why.is_empty() { ForUsers::Good } else { ForUsers::Poor(why.join("; ")) }
}

impl Step {
    /// The figure the step is about, its headline: the one its learner predicted, if it asks for
    /// a prediction (a headline of another figure read as the answer to the question), else its
    /// view's.
    pub fn figure(&self) -> Option<&str> {
        self.prediction.as_ref().map(|p| p.metric.as_str()).or(self.view.figure.as_deref())
    }

    /// The view's own figure when the headline is another (the predicted one): shown beside it.
    pub fn also(&self) -> Option<&str> {
        self.view.figure.as_deref().filter(|f| Some(*f) != self.figure())
    }

    /// The figures this step's texts, model and goal can name, with the server's limits and (once
    /// done) its run's summary.
    pub fn figures<'a>(&'a self, server: ServerFacts, summary: Option<&'a Summary>) -> Figures<'a> {
        let sweep = (!self.sweep.is_empty()).then_some(SweepFigures { sizes: &self.sweep, points: None });
        Figures { spec: &self.preset, server, summary, targets: Some(&self.targets), sweep }
    }

    /// A sweep step's figures once its sweep has measured `points`.
    pub fn sweep_figures<'a>(&'a self, server: ServerFacts, points: &'a [SweepPoint]) -> Figures<'a> {
        let sweep = Some(SweepFigures { sizes: &self.sweep, points: Some(points) });
        Figures { sweep, ..self.figures(server, None) }
    }

    /// Every text of the step a learner reads, by its name in the lesson file.
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("title", self.title.as_str()), ("text", &self.text), ("hint", &self.hint)];
        if let Some(p) = &self.prediction {
            out.push(("prediction.question", &p.question));
        }
        if let Some(g) = &self.goal {
            out.push(("goal.explain", &g.explain));
        }
        if let Some(m) = &self.model {
            out.extend([("model.says", m.says.as_str()), ("model.why", &m.why)]);
        }
        out
    }

    /// Checks that everything the step names is a figure, that its arithmetic reads, and that its
    /// prediction, model and view name summary figures. The error says which part is wrong.
    pub fn check_names(&self) -> Result<(), GoalError> {
        let targets = &self.targets;
        for (field, text) in self.texts() {
            check_text(text, targets).map_err(|e| e.within(field))?;
        }
        if let Some(goal) = &self.goal {
            for (l, _, r) in comparisons(&goal.check).map_err(|e| e.within("goal.check"))? {
                known(&l, targets).and(known(&r, targets)).map_err(|e| e.within("goal.check"))?;
            }
        }
        if let Some(p) = &self.prediction {
            summary_figure(&p.metric).map_err(|e| e.within("prediction.metric"))?;
        }
        if let Some(m) = &self.model {
            let formula = Expr::parse(&m.formula).map_err(|e| GoalError::from(e).within("model.formula"))?;
            known(&formula, targets).map_err(|e| e.within("model.formula"))?;
            summary_figure(&m.measured).map_err(|e| e.within("model.measured"))?;
        }
        if let Some(f) = &self.view.figure {
            summary_figure(f).map_err(|e| e.within("view.figure"))?;
        }
        if let Some(s) = &self.score {
            summary_figure(s).map_err(|e| e.within("score"))?;
        }
        // A sweep step has the sweep's figures and no one run's; a run step the other way round.
        let mut named: Vec<String> = self.texts().into_iter().flat_map(|(_, t)| names_in(t)).collect();
        if let Some(goal) = &self.goal {
            for (l, _, r) in comparisons(&goal.check)? {
                named.extend(l.figures().into_iter().chain(r.figures()).map(str::to_owned));
            }
        }
        if let Some(m) = &self.model {
            named.extend(Expr::parse(&m.formula)?.figures().into_iter().map(str::to_owned));
            named.push(m.measured.clone());
        }
        named.extend(self.prediction.iter().map(|p| p.metric.clone()));
        named.extend(self.view.figure.iter().cloned());
        let sweep = !self.sweep.is_empty();
        let wrong = named.into_iter().find(|n| match Figures::source(n) {
            Some(Source::Sweep) => !sweep,
            Some(Source::Summary) => sweep,
            _ => false,
        });
        if let Some(name) = wrong {
            return Err(GoalError::WrongKind { name, sweep });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::ServerFacts;
    use crate::summary::Summary;

    fn goal(check: &str) -> Goal {
        Goal { check: check.into(), explain: String::new() }
    }

    const SERVER: ServerFacts =
        ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, tls: None, pgbouncer: None };

    #[test]
    fn a_texts_finer_points_stand_after_their_title() {
        let more = |inner: &str| format!(r#"<details class="more"><summary>Why</summary>{inner}</details>"#);
        let cases = [
            ("one\n\ntwo", "<p>one</p><p>two</p>".to_owned()),
            ("one\n\n--- Why\n\ntwo\n\nthree", format!("<p>one</p>{}", more("<p>two</p><p>three</p>"))),
            // A second title is a paragraph of the first's box; blank lines in a row are one.
            ("--- Why\n\n--- B", more("<p>--- B</p>")),
            ("one\n\n\n\n--- Why", format!("<p>one</p>{}", more(""))),
        ];
        for (text, html) in cases {
            assert_eq!(text_html(text), html, "{text:?}");
        }
    }

    #[test]
    fn goals_compare_arithmetic_over_the_runs_figures() {
        let spec = RunSpec { requests: 10, ..RunSpec::default() };
        let mut s = Summary { completed: 10, peak_server_connections: 8, ..Summary::default() };
        s.errors.too_many_clients = 3;
        s.connect_ms.p50 = 4.0;
        s.query_ms.p50 = 0.5;
        let f = Figures::of(&spec, SERVER, Some(&s));
        assert_eq!(goal("peak_server_connections <= 10 && completed == requests").check(&f), Ok(true));
        assert_eq!(goal("errors.too_many_clients > 3").check(&f), Ok(false));
        assert_eq!(goal("connect_ms.p50 > 4 * query_ms.p50").check(&f), Ok(true));
        assert_eq!(goal("peak_server_connections < server.app_slots - 90").check(&f), Ok(false));
        assert_eq!(goal("failed != 0").check(&f), Ok(false));
        // Each comparison reads with the run's figures, sums worked out.
        let readings = goal("connect_ms.p50 > 4 * query_ms.p50 && failed != 0").readings(&f).expect("readings");
        let read: Vec<(&str, bool)> = readings.iter().map(|r| (r.with_figures.as_str(), r.held)).collect();
        assert_eq!(read, vec![("4 > 4 × 0.50 = 2", true), ("0 ≠ 0", false)]);
        assert_eq!(readings[1].check, "failed != 0");
    }

    #[test]
    fn a_sweep_step_names_the_sweeps_figures_and_a_run_step_a_runs() {
        let step = |sweep: Vec<u32>, check: &str| Step {
            title: "t".into(),
            text: "from {sweep.smallest_size} connections"
                .replace("{sweep.smallest_size}", if sweep.is_empty() { "" } else { "{sweep.smallest_size}" }),
            preset: RunSpec::default(),
            prediction: None,
            model: None,
            goal: Some(Goal { check: check.into(), explain: String::new() }),
            view: StepView::default(),
            hint: String::new(),
            score: None,
            targets: Targets::new(),
            sweep,
            compare: None,
        };
        assert!(step(vec![1, 4], "sweep.best_size < sweep.largest_size").check_names().is_ok());
        let err = step(vec![1, 4], "failed == 0").check_names().unwrap_err().to_string();
        assert_eq!(err, "`failed` is a run's figure, and this step is a sweep");
        let err = step(vec![], "sweep.best_size > 1").check_names().unwrap_err().to_string();
        assert_eq!(err, "`sweep.best_size` is a sweep's figure, and this step is one run");
    }

    #[test]
    fn unreadable_steps_say_what_is_wrong() {
        let step = |goal: &str, text: &str| Step {
            title: "t".into(),
            text: text.into(),
            preset: RunSpec::default(),
            prediction: None,
            model: None,
            goal: Some(Goal { check: goal.into(), explain: String::new() }),
            view: StepView::default(),
            hint: String::new(),
            score: None,
            targets: Targets::from([("p99_ms".to_owned(), 200.0)]),
            sweep: Vec::new(),
            compare: None,
        };
        let err = step("peak <= 10", "").check_names().unwrap_err().to_string();
        assert_eq!(err, "goal.check: `peak` is not a figure of the run, its spec or the server");
        let err = step("failed is zero", "").check_names().unwrap_err().to_string();
        assert!(err.contains("is not a comparison"), "{err}");
        let err = step("failed == 0", "A burst of {requets}.").check_names().unwrap_err().to_string();
        assert_eq!(err, "text: `requets` is not a figure of the run, its spec or the server");
        assert!(
            step("latency_ms.p99 < target.p99_ms && errors.other == 0", "{requests} at once").check_names().is_ok()
        );
        let err = step("latency_ms.p99 < target.p95_ms", "").check_names().unwrap_err().to_string();
        assert!(err.contains("`target.p95_ms` is not a figure"), "{err}");
    }

    #[test]
    fn texts_are_filled_with_the_presets_the_servers_and_the_runs_figures() {
        let spec = RunSpec { requests: 150, ..RunSpec::default() };
        let text = "{requests} requests, {server.app_slots} slots: {requests - server.app_slots} too many; peak {peak_server_connections}.";
        let before = Figures::of(&spec, SERVER, None);
        assert_eq!(fill(text, &before), "150 requests, 97 slots: 53 too many; peak ….");
        assert_eq!(typed("{requests} requests, {server.app_slots} slots"), "  requests,   slots");
        assert!(needs_run(text) && !needs_run("{requests} at once"));
        let s = Summary { peak_server_connections: 97, ..Summary::default() };
        let after = Figures { summary: Some(&s), ..before };
        assert!(fill(text, &after).ends_with("peak 97."));
        assert_eq!(fill("no figures {", &after), "no figures {");
        // As HTML: one figure alone is marked with its exact value, a sum is not; the text
        // between goes through the escape given.
        let marked = fill_marked("a<b {peak_server_connections}, {requests - 50}", &after, &|t| t.replace('<', "&lt;"));
        assert_eq!(marked, r#"a&lt;b <span data-figure="peak_server_connections" data-value="97">97</span>, 100"#);
        // A difference of two printed figures is theirs as printed: 111 − 28.7, not 110.6 − 28.74.
        let mut s = Summary::default();
        (s.connect_tls_ms.p50, s.connect_plain_ms.p50) = (110.6, 28.74);
        let after = Figures { summary: Some(&s), ..before };
        assert_eq!(
            fill(
                "{connect_tls_ms.p50} against {connect_plain_ms.p50}: {connect_tls_ms.p50 - connect_plain_ms.p50} more",
                &after
            ),
            "111 against 28.7: 82.3 more"
        );
    }

    #[test]
    fn a_model_is_worked_out_with_the_runs_numbers() {
        let spec = RunSpec { requests: 100, strategy: crate::Strategy::Pooled, ..RunSpec::default() };
        let mut s = Summary::default();
        s.acquire_wait_ms.p99 = 987.0;
        let f = Figures::of(&spec, SERVER, Some(&s));
        let model = Model {
            says: String::new(),
            formula: "(requests / 5 - 1) * 50".into(),
            measured: "acquire_wait_ms.p99".into(),
            unit: "ms".into(),
            why: String::new(),
            why_any_gap: false,
        };
        let r = model.apply(&f).unwrap();
        assert_eq!((r.sum.as_str(), r.expected, r.measured, r.holds), ("(100 ÷ 5 − 1) × 50", 950.0, 987.0, true));
    }

    fn plain(figure: &str, measured: Option<&str>) -> Step {
        Step {
            title: "t".into(),
            text: String::new(),
            preset: RunSpec::default(),
            prediction: None,
            model: measured.map(|m| Model {
                says: String::new(),
                formula: "1".into(),
                measured: m.into(),
                unit: String::new(),
                why: String::new(),
                why_any_gap: false,
            }),
            goal: None,
            view: StepView { figure: Some(figure.into()), ..StepView::default() },
            hint: String::new(),
            score: None,
            targets: Targets::new(),
            sweep: Vec::new(),
            compare: None,
        }
    }

    #[test]
    fn a_step_is_compared_only_with_an_earlier_run_of_its_lesson() {
        let lesson = |compares: [Option<usize>; 3], sweep_first: bool| Lesson {
            id: "l".into(),
            title: "t".into(),
            summary: "s".into(),
            steps: compares
                .into_iter()
                .enumerate()
                .map(|(i, compare)| Step {
                    compare,
                    sweep: if i == 0 && sweep_first { vec![1, 2] } else { Vec::new() },
                    ..plain("failed", None)
                })
                .collect(),
        };
        let ok = lesson([None, Some(1), Some(2)], false);
        assert_eq!(ok.compared(0), Ok(None));
        assert_eq!(ok.compared(1), Ok(Some(&ok.steps[0])));
        assert_eq!(ok.compared(2), Ok(Some(&ok.steps[1])));
        // Itself, a later step, step 0 (steps count from 1), and no such step.
        let cases = [
            (lesson([None, Some(2), None], false), 1, CompareError::NotEarlier(2)),
            (lesson([None, Some(3), None], false), 1, CompareError::NotEarlier(3)),
            (lesson([None, Some(0), None], false), 1, CompareError::NotEarlier(0)),
            (lesson([None, None, Some(9)], false), 2, CompareError::NotEarlier(9)),
            (lesson([None, Some(1), None], true), 1, CompareError::Sweep(1)),
        ];
        for (lesson, index, err) in cases {
            assert_eq!(lesson.compared(index), Err(err.clone()), "{err}");
        }
        assert!(CompareError::NotEarlier(2).to_string().contains("an earlier step of its lesson"));
    }

    #[test]
    fn the_headline_is_the_predicted_figure_and_the_views_own_goes_beside_it() {
        let predicted = |view: Option<&str>, metric: Option<&str>| Step {
            prediction: metric.map(|m| Prediction { question: "?".into(), metric: m.into(), unit: String::new() }),
            view: StepView { figure: view.map(Into::into), ..StepView::default() },
            ..plain("x", None)
        };
        // (view's figure, prediction's metric, want headline, want beside it)
        let table = [
            (Some("connect_ms.p50"), Some("connections_opened"), Some("connections_opened"), Some("connect_ms.p50")),
            (Some("failed"), Some("failed"), Some("failed"), None),
            (None, Some("failed"), Some("failed"), None),
            (Some("duration_ms"), None, Some("duration_ms"), None),
        ];
        for (view, metric, headline, beside) in table {
            let step = predicted(view, metric);
            assert_eq!((step.figure(), step.also()), (headline, beside), "{view:?} {metric:?}");
        }
    }

    #[test]
    fn compared_steps_are_shown_by_both_figures_and_what_their_models_measure() {
        let scan = plain("query_ms.p50", Some("duration_ms"));
        let index = plain("query_ms.p50", Some("duration_ms"));
        assert_eq!(compared_figures(&scan, &index), ["query_ms.p50", "duration_ms"]);
        let held = plain("peak_idle_in_transaction", Some("peak_idle_in_transaction"));
        let fix = plain("acquire_wait_ms.p50", None);
        assert_eq!(compared_figures(&held, &fix), ["peak_idle_in_transaction", "acquire_wait_ms.p50"]);
    }

    #[test]
    fn a_run_is_judged_for_its_users_apart_from_the_claim() {
        let p99 = Targets::from([("p99_ms".to_owned(), 200.0)]);
        let none = Targets::new();
        // (completed, failed, p99 ms, targets) → verdict
        let table = [
            ((100, 0, 50.0, &none), ForUsers::Good),
            // Lesson 6: 90 of 100 failed fast. The claim (it fails fast) holds; users were failed.
            ((10, 90, 50.0, &none), ForUsers::Poor("90 of 100 requests failed".into())),
            ((90, 10, 50.0, &none), ForUsers::Good),
            ((89, 11, 50.0, &none), ForUsers::Poor("11 of 100 requests failed".into())),
            ((100, 0, 250.0, &p99), ForUsers::Poor("p99 latency 250 ms missed the target of 200 ms".into())),
            ((100, 0, 200.0, &p99), ForUsers::Good),
            (
                (50, 50, 312.4, &p99),
                ForUsers::Poor("50 of 100 requests failed; p99 latency 312 ms missed the target of 200 ms".into()),
            ),
        ];
        for ((completed, failed, p99_ms, targets), want) in table {
            let mut s = Summary { completed, failed, ..Summary::default() };
            s.latency_ms.p99 = p99_ms;
            assert_eq!(for_users(&s, targets), want, "{completed} answered, {failed} failed, p99 {p99_ms}");
        }
        assert_eq!(for_users(&Summary::default(), &none), ForUsers::Good, "a run of nothing failed no one");
    }

    #[test]
    fn a_models_result_is_worked_out_from_the_numbers_it_prints() {
        let spec = RunSpec { requests: 50, ..RunSpec::default() };
        let mut s = Summary::default();
        s.connect_ms.p50 = 5.26;
        s.query_ms.p50 = 1.21;
        s.latency_ms.p50 = 330.0;
        let f = Figures::of(&spec, SERVER, Some(&s));
        let model = Model {
            says: String::new(),
            formula: "requests * (connect_ms.p50 + query_ms.p50)".into(),
            measured: "latency_ms.p50".into(),
            unit: "ms".into(),
            why: String::new(),
            why_any_gap: false,
        };
        let r = model.apply(&f).unwrap();
        assert_eq!((r.sum.as_str(), number(r.expected)), ("50 × (5.3 + 1.2)", "325".to_owned()));
    }

    #[test]
    fn a_prediction_is_close_within_a_quarter() {
        assert!(prediction_close(950.0, 987.0));
        assert!(!prediction_close(200.0, 987.0));
        assert!(prediction_close(0.0, 0.0) && prediction_close(0.2, 0.0) && !prediction_close(1.0, 0.0));
        assert!(prediction_close(125.0, 100.0) && !prediction_close(126.0, 100.0));
    }
}
