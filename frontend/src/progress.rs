//! A learner's progress, kept in the browser (no account): each step's prediction, what was
//! measured, whether the prediction was close, and whether the step's claim held (the lab's
//! verdict on the run, once it answered the report). It survives a reload and can be downloaded as JSON.

use std::collections::BTreeMap;

use leptos::prelude::*;
use poollab_shared::StepVerdict;
use serde::{Deserialize, Serialize};

const KEY: &str = "poollab.progress.v1";

/// One step's record: `measured`, `passed` and `close` are the lab's verdict on `run_id` (or
/// `sweep_id`), which it grades on the stored run when the page reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub prediction: Option<f64>,
    pub measured: Option<f64>,
    /// Whether the step's claim held on the learner's run.
    pub passed: Option<bool>,
    /// Whether the prediction was within a quarter of what was measured.
    #[serde(default)]
    pub close: Option<bool>,
    pub run_id: Option<String>,
    /// A sweep step's sweep.
    #[serde(default)]
    pub sweep_id: Option<String>,
    /// The step's score, for a scored step (lower is better).
    #[serde(default)]
    pub score: Option<f64>,
    /// For a step that answers an earlier one: the run the lab made of the earlier step's preset
    /// to set beside this step's, when the learner had no run of the earlier step.
    #[serde(default)]
    pub compare_run_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// By `<lesson id>/<step number>`.
    pub steps: BTreeMap<String, StepRecord>,
}

pub fn step_key(lesson: &str, step: usize) -> String {
    format!("{lesson}/{step}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl StepRecord {
    /// The lab's verdict on the step's run, once it graded it.
    pub fn verdict(&self) -> Option<StepVerdict> {
        let claim_held = self.passed?;
        Some(StepVerdict { measured: self.measured, close: self.close, claim_held })
    }
}

impl Progress {
    pub fn load() -> Progress {
        storage()
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .and_then(|json| crate::json::parse(&json).ok())
            .unwrap_or_default()
    }

    pub fn save(&self) {
        if let (Some(s), Ok(json)) = (storage(), crate::json::stringify(self)) {
            let _ = s.set_item(KEY, &json);
        }
    }

    /// Steps whose goal was met, of a lesson.
    pub fn passed_in(&self, lesson: &str) -> usize {
        let prefix = format!("{lesson}/");
        self.steps.iter().filter(|(k, r)| k.starts_with(&prefix) && r.passed == Some(true)).count()
    }

    /// The run step `step` of `lesson` is shown beside, when it answers step `compared`: the
    /// learner's own run of that step when they have one (`true`), else the one the lab ran of
    /// it for this step (`false`).
    pub fn earlier_run(&self, lesson: &str, compared: usize, step: usize) -> Option<(String, bool)> {
        let record = |n| self.steps.get(&step_key(lesson, n));
        let own = record(compared).and_then(|r| r.run_id.clone()).map(|id| (id, true));
        own.or_else(|| record(step).and_then(|r| r.compare_run_id.clone()).map(|id| (id, false)))
    }

    /// The progress as a `data:` URL, for a download link.
    pub fn download_href(&self) -> String {
        let json = crate::json::stringify(self).unwrap_or_default();
        format!("data:application/json;charset=utf-8,{}", js_sys::encode_uri_component(&json))
    }
}

/// The learner's progress as a signal that saves itself on every change.
pub fn keep() -> RwSignal<Progress> {
    let progress = RwSignal::new(Progress::load());
    Effect::new(move |_| progress.with(Progress::save));
    progress
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_set_beside_the_learners_own_run_of_the_step_it_answers_first() {
        let mut p = Progress::default();
        assert_eq!(p.earlier_run("10-slow", 1, 2), None);
        // No run of step 1 of their own: the lab's, made for step 2.
        p.steps.insert(step_key("10-slow", 2), StepRecord { compare_run_id: Some("lab".into()), ..Default::default() });
        assert_eq!(p.earlier_run("10-slow", 1, 2), Some(("lab".into(), false)));
        // A run of step 1 of another lesson is not this one's.
        p.steps.insert(step_key("11-other", 1), StepRecord { run_id: Some("else".into()), ..Default::default() });
        assert_eq!(p.earlier_run("10-slow", 1, 2), Some(("lab".into(), false)));
        // Their own run of step 1, once they have one.
        p.steps.insert(step_key("10-slow", 1), StepRecord { run_id: Some("mine".into()), ..Default::default() });
        assert_eq!(p.earlier_run("10-slow", 1, 2), Some(("mine".into(), true)));
    }
}
