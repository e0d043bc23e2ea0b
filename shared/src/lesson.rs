//! The course: lessons, their steps, and the goal each step checks against a measured summary.
//!
//! Lessons are content files (`lessons/NN-name.toml` at the top of the repository), embedded in
//! the backend at build time and served as JSON (`GET /api/lessons`). A step has text, an
//! experiment preset (a run spec), an optional prediction the learner makes before running, and a
//! goal such as `peak_server_connections <= 10 && failed == 0`, checked against the run's
//! [`Summary`] by [`Goal::check`] on the page and, for every lesson's reference experiment, in the
//! test suite: the course's claims are true on this lab.

use serde::{Deserialize, Serialize};

use crate::spec::RunSpec;
use crate::summary::Summary;

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
    /// Plain words; paragraphs are separated by blank lines.
    pub text: String,
    /// The experiment the step runs.
    pub preset: RunSpec,
    #[serde(default)]
    pub prediction: Option<Prediction>,
    #[serde(default)]
    pub goal: Option<Goal>,
    #[serde(default)]
    pub hint: String,
    /// A summary figure to score the step by, lower is better (the capstone: the fewest
    /// connections that meet the goal).
    #[serde(default)]
    pub score: Option<String>,
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

/// What the run must show, e.g. `errors.too_many_clients > 0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// Comparisons joined by `&&`; each side is a summary figure (`latency_ms.p99`) or a number.
    pub check: String,
    /// What it means when it holds, in plain words.
    pub explain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoalError {
    #[error("`{0}` is not a comparison (a figure, one of < <= == != >= >, and a figure or a number)")]
    NotAComparison(String),
    #[error("`{0}` is not a figure of a run's summary")]
    UnknownMetric(String),
}

/// One side of a comparison.
enum Operand {
    Number(f64),
    Metric(String),
}

/// A summary figure by its path in the summary's JSON (`failed`, `errors.acquire_timeout`, ...).
pub fn metric(summary: &Summary, path: &str) -> Result<f64, GoalError> {
    let json = serde_json::to_value(summary).unwrap_or_default();
    path.split('.')
        .try_fold(&json, |v, key| v.get(key))
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| GoalError::UnknownMetric(path.to_owned()))
}

const OPERATORS: [&str; 6] = ["<=", ">=", "==", "!=", "<", ">"];

fn parse_operand(text: &str) -> Operand {
    match text.trim().parse::<f64>() {
        Ok(n) => Operand::Number(n),
        Err(_) => Operand::Metric(text.trim().to_owned()),
    }
}

impl Goal {
    /// Whether the summary meets the goal, or why the goal cannot be read.
    pub fn check(&self, summary: &Summary) -> Result<bool, GoalError> {
        let mut all = true;
        for part in self.check.split("&&") {
            let (op, at) = OPERATORS
                .iter()
                .find_map(|op| part.find(op).map(|at| (*op, at)))
                .ok_or_else(|| GoalError::NotAComparison(part.trim().to_owned()))?;
            let value = |operand: Operand| match operand {
                Operand::Number(n) => Ok(n),
                Operand::Metric(path) => metric(summary, &path),
            };
            let left = value(parse_operand(&part[..at]))?;
            let right = value(parse_operand(&part[at + op.len()..]))?;
            all &= match op {
                "<=" => left <= right,
                ">=" => left >= right,
                "==" => left == right,
                "!=" => left != right,
                "<" => left < right,
                _ => left > right,
            };
        }
        Ok(all)
    }

    /// Checks that every figure the goal names exists (on an empty summary).
    pub fn validate(&self) -> Result<(), GoalError> {
        self.check(&Summary::default()).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(check: &str) -> Goal {
        Goal { check: check.into(), explain: String::new() }
    }

    #[test]
    fn goals_compare_figures_with_numbers_and_with_each_other() {
        let mut s = Summary { completed: 10, peak_server_connections: 8, ..Summary::default() };
        s.errors.too_many_clients = 3;
        s.connect_ms.p50 = 4.0;
        s.query_ms.p50 = 0.5;
        assert_eq!(goal("peak_server_connections <= 10 && completed == 10").check(&s), Ok(true));
        assert_eq!(goal("errors.too_many_clients > 3").check(&s), Ok(false));
        assert_eq!(goal("connect_ms.p50 > query_ms.p50").check(&s), Ok(true));
        assert_eq!(goal("failed != 0").check(&s), Ok(false));
    }

    #[test]
    fn unreadable_goals_say_what_is_wrong() {
        assert_eq!(goal("peak <= 10").validate(), Err(GoalError::UnknownMetric("peak".into())));
        assert_eq!(goal("failed is zero").validate(), Err(GoalError::NotAComparison("failed is zero".into())));
        assert!(goal("latency_ms.p99 < 5 && errors.other == 0").validate().is_ok());
    }
}
