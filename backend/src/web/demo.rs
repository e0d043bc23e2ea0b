//! One request of a naive app and one of a pooled app, for `curl`, `wrk` and benchmarks.
//!
//! They open connections on the coordinator's database, which is also the built-in worker's: while
//! a class is hosted they would skew what learners measure, so they answer `404` then unless the
//! lab was started with `--demo`.

use axum::Json;
use axum::extract::State;
use poollab_shared::WorkSpec;

use crate::db::{DemoRow, next_demo_user};
use crate::engine::strategy::{Outcome, Request};
use crate::web::error::AppError;
use crate::web::state::AppState;

fn answer(state: &AppState, strategy: &'static str, outcome: Outcome) -> Result<Json<DemoRow>, AppError> {
    match outcome {
        Ok((row, _)) => {
            state.prom.count(strategy, "ok");
            Ok(Json(row))
        }
        Err(e) => {
            state.prom.count(strategy, e.kind.as_str());
            Err(AppError::Request(Box::new(e)))
        }
    }
}

/// Open a connection, run the demo query, close.
pub async fn naive(State(state): State<AppState>) -> Result<Json<DemoRow>, AppError> {
    if !state.demo_on {
        return Err(AppError::DemoOff);
    }
    let outcome = state.demo_naive.serve(&WorkSpec::default(), Request::for_user(next_demo_user())).await;
    answer(&state, "naive", outcome)
}

/// The same query through the shared pool.
pub async fn pooled(State(state): State<AppState>) -> Result<Json<DemoRow>, AppError> {
    if !state.demo_on {
        return Err(AppError::DemoOff);
    }
    let outcome = state.demo_pooled.serve(&WorkSpec::default(), Request::for_user(next_demo_user())).await;
    answer(&state, "pooled", outcome)
}
