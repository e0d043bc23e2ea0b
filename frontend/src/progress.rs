//! A learner's progress, kept in the browser (no account): each step's prediction, what was
//! measured, whether the prediction was close, and whether the step's claim held. It survives a reload and can be downloaded as JSON.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const KEY: &str = "poollab.progress.v1";

/// One step's record.
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
