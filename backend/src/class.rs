//! The classroom: who is the instructor, and what they have set for everyone.
//!
//! The instructor signs in with the token given at start (`--instructor-token`), sent as
//! `Authorization: Bearer <token>`. Learners are anonymous: their page makes up an id, sent as
//! `x-poollab-learner`, which only serves to share the queue fairly. The instructor can lock the lab
//! (only their runs are accepted) and ask every page to follow a lesson step; both are broadcast
//! over the websocket as a [`ClassState`].

use std::sync::{Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use poollab_shared::ClassState;

use crate::error::AppError;
use crate::queue::Who;
use crate::state::AppState;

/// The header a learner's page identifies itself with.
pub const LEARNER_HEADER: &str = "x-poollab-learner";
/// Longest learner id kept (longer ones are cut).
const MAX_LEARNER_ID: usize = 64;

pub struct Class {
    token: Option<String>,
    state: Mutex<ClassState>,
}

impl Class {
    pub fn new(token: Option<String>) -> Class {
        Class { token: token.filter(|t| !t.is_empty()), state: Mutex::new(ClassState::default()) }
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
