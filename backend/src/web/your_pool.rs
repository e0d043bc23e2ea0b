//! `/api/your-pool`: a pool configuration pasted in its own library's syntax, read into a run
//! spec, and measured at the app's own traffic by a sizing sweep around it (`crate::yourpool`
//! does the reading and the planning; this file only speaks HTTP).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::class::identity::Who;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::yourpool::plan::{Deployment, Traffic, plan};
use crate::yourpool::{self, Translation};

/// What a client pastes: the library's name and the snippet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pasted {
    pub library: String,
    pub config: String,
}

/// `POST /api/your-pool/translate` `{"library", "config"}`: `200 {"library", "syntax", "spec",
/// "notes", "unknown", "paste"}`, or a 422 naming the line and what was expected there.
pub async fn translate(
    State(state): State<AppState>,
    body: Result<Json<Pasted>, JsonRejection>,
) -> Result<Json<Translation>, AppError> {
    let Json(pasted) = body?;
    Ok(Json(yourpool::translate(&pasted.library, &pasted.config, &state.libraries)?))
}

/// What `POST /api/your-pool` takes: the pasted settings, where the app runs, and its traffic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub library: String,
    pub config: String,
    pub deployment: Deployment,
    pub traffic: Traffic,
}

/// `POST /api/your-pool`: translates the settings, plans the run at the deployment's traffic
/// (scaled down, and said, beyond one worker) and puts a sizing sweep around the pool in line.
/// `202 {"sweep", "run", "runs", "shared", "translation", "plan"}`: `run` is the sweep's run at the
/// pool's own size; `shared[i]` says whether `runs[i]` joined an identical run already waiting.
pub async fn measure(
    who: Who,
    State(state): State<AppState>,
    body: Result<Json<Measure>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(measure) = body?;
    let translation = yourpool::translate(&measure.library, &measure.config, &state.libraries)?;
    let plan = plan(translation.spec(), &measure.deployment, &measure.traffic)
        .map_err(|e| AppError::unprocessable(e.to_string()))?;
    let runs = plan.sweep.runs().map_err(|e| AppError::unprocessable(e.to_string()))?;
    let (id, shared) = state.coordinator.submit_sweep(&who, &plan.sweep, runs).await?;
    let view = state.coordinator.sweep(&id).await?.ok_or_else(|| AppError::SweepNotFound(id.clone()))?;
    let own = view.points.iter().find(|p| p.max_connections == plan.own_size).map(|p| p.run_id.clone());
    let runs: Vec<&str> = view.points.iter().map(|p| p.run_id.as_str()).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "sweep": id, "run": own, "runs": runs, "shared": shared, "translation": translation, "plan": plan }),
        ),
    ))
}
