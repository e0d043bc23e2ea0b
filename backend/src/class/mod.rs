//! The classroom: who is the instructor, and what they have set for everyone.
//!
//! The instructor signs in with the token given at start (`--instructor-token`), sent as
//! `Authorization: Bearer <token>`. Learners are anonymous: their page makes up an id, sent as
//! `x-poollab-learner`, which only serves to share the queue fairly. The instructor can lock the lab
//! (only their runs are accepted) and ask every page to follow a lesson step; both are broadcast
//! over the websocket as a [`ClassState`].

pub mod queue;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use poollab_shared::{ClassBurst, ClassState, PredictionHistogram, RunSpec, StepReport};

use crate::class::queue::Who;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The header a learner's page identifies itself with.
pub const LEARNER_HEADER: &str = "x-poollab-learner";
/// Longest learner id kept (longer ones are cut).
const MAX_LEARNER_ID: usize = 64;
/// Learners whose progress is kept (a class, with room; reports from more are refused).
pub const MAX_LEARNERS: usize = 2_000;
/// Longest display name kept.
const MAX_NAME: usize = 40;

/// One learner's reports, by step (`<lesson>/<step>`).
#[derive(Debug, Clone, Default)]
pub struct LearnerProgress {
    pub name: String,
    pub steps: BTreeMap<String, StepReport>,
}

struct ArmedBurst {
    spec: RunSpec,
    per_click: u32,
    learners: BTreeSet<String>,
}

pub struct Class {
    token: Option<String>,
    state: Mutex<ClassState>,
    progress: Mutex<BTreeMap<String, LearnerProgress>>,
    /// The armed class burst: its run (sized when it fires), requests per click, who clicked in.
    burst: Mutex<Option<ArmedBurst>>,
}

impl Class {
    pub fn new(token: Option<String>) -> Class {
        Class {
            token: token.filter(|t| !t.is_empty()),
            state: Mutex::new(ClassState::default()),
            progress: Mutex::new(BTreeMap::new()),
            burst: Mutex::new(None),
        }
    }

    fn burst(&self) -> MutexGuard<'_, Option<ArmedBurst>> {
        self.burst.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms a class burst of `spec`, each learner's click adding `per_click` requests; returns
    /// the new class state.
    pub fn arm_burst(&self, spec: RunSpec, per_click: u32) -> ClassState {
        let strategy = spec.strategy;
        *self.burst() = Some(ArmedBurst { spec, per_click, learners: BTreeSet::new() });
        self.update(|c| c.burst = Some(ClassBurst { clicks: 0, per_click, strategy }))
    }

    /// A learner clicks in (once each); the new class state, or none if no burst is armed.
    pub fn click_burst(&self, learner: &str) -> Option<ClassState> {
        let clicks = {
            let mut burst = self.burst();
            let learners = &mut burst.as_mut()?.learners;
            if learners.len() >= MAX_LEARNERS && !learners.contains(learner) {
                return None;
            }
            learners.insert(learner.to_owned());
            learners.len() as u64
        };
        Some(self.update(|c| {
            if let Some(b) = c.burst.as_mut() {
                b.clicks = clicks;
            }
        }))
    }

    /// Takes the armed burst: its run spec with the clicks' requests, and the new class state.
    pub fn take_burst(&self) -> Option<(RunSpec, ClassState)> {
        let ArmedBurst { mut spec, per_click, learners } = self.burst().take()?;
        let requests = (learners.len() as u32).max(1) * per_click;
        spec.requests = requests;
        spec.concurrency = requests.min(1_000);
        Some((spec, self.update(|c| c.burst = None)))
    }

    fn progress(&self) -> MutexGuard<'_, BTreeMap<String, LearnerProgress>> {
        self.progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a learner's report on a step (a later report fills in what an earlier one left
    /// out: the prediction comes at Run, the measured figure at the end). False when the class is
    /// full.
    pub fn report(&self, learner: &str, mut report: StepReport) -> bool {
        let mut all = self.progress();
        if !all.contains_key(learner) && all.len() >= MAX_LEARNERS {
            return false;
        }
        let entry = all.entry(learner.to_owned()).or_default();
        if let Some(name) = report.name.take() {
            entry.name = name.trim().chars().take(MAX_NAME).collect();
        }
        let key = format!("{}/{}", report.lesson, report.step);
        let step = entry.steps.entry(key).or_insert_with(|| report.clone());
        step.merge(&report);
        true
    }

    /// Everyone's progress, by learner id.
    pub fn progress_snapshot(&self) -> BTreeMap<String, LearnerProgress> {
        self.progress().clone()
    }

    /// The class's predictions (and measured figures) for one step.
    pub fn predictions(&self, lesson: &str, step: u32) -> PredictionHistogram {
        let key = format!("{lesson}/{step}");
        let all = self.progress();
        let reports: Vec<&StepReport> = all.values().filter_map(|p| p.steps.get(&key)).collect();
        let predicted: Vec<f64> = reports.iter().filter_map(|r| r.prediction).collect();
        let measured: Vec<f64> = reports.iter().filter_map(|r| r.measured).collect();
        let mut histogram = PredictionHistogram::of(&predicted, &measured, 10);
        histogram.close = reports.iter().filter(|r| r.close == Some(true)).count() as u64;
        histogram
    }

    fn lock(&self) -> MutexGuard<'_, ClassState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn state(&self) -> ClassState {
        self.lock().clone()
    }

    /// Changes the class state; returns the new one (to broadcast).
    pub fn update(&self, f: impl FnOnce(&mut ClassState)) -> ClassState {
        let mut st = self.lock();
        f(&mut st);
        st.clone()
    }

    pub fn is_locked(&self) -> bool {
        self.lock().locked
    }

    /// Who sent a request, from its headers.
    fn who(&self, parts: &Parts) -> Result<Who, AppError> {
        if let Some(auth) = parts.headers.get(AUTHORIZATION) {
            let given = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
            return match (&self.token, given) {
                (Some(token), Some(given)) if constant_time_eq(token.as_bytes(), given.as_bytes()) => {
                    Ok(Who::Instructor)
                }
                _ => Err(AppError::Unauthorized),
            };
        }
        let learner = parts
            .headers
            .get(LEARNER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().chars().take(MAX_LEARNER_ID).collect::<String>())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "anonymous".to_owned());
        Ok(Who::Learner(learner))
    }
}

/// Compares without returning early, so the time taken does not tell how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Extracts who sent a request; a wrong instructor token is a 401.
impl FromRequestParts<AppState> for Who {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Who, AppError> {
        state.class.who(parts)
    }
}

/// Only the instructor gets past this extractor (403 otherwise).
pub struct Instructor;

impl FromRequestParts<AppState> for Instructor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Instructor, AppError> {
        match state.class.who(parts)? {
            Who::Instructor => Ok(Instructor),
            Who::Learner(_) if state.class.token.is_none() => Err(AppError::Forbidden(
                "this lab has no instructor: start it with --instructor-token (or POOLLAB_INSTRUCTOR_TOKEN)".into(),
            )),
            Who::Learner(_) => Err(AppError::Forbidden("only the instructor can do this".into())),
        }
    }
}
