//! `/api/your-pool`: a pool configuration pasted in its own library's syntax, read into a run
//! spec, and measured at the app's own traffic by a sizing sweep around it (`crate::yourpool`
//! does the reading and the planning; this file only speaks HTTP).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::class::identity::Who;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::yourpool::plan::{Deployment, Traffic, plan};
use crate::yourpool::verdict::{Measured, resized, verdict};
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

/// What `POST /api/your-pool` takes: the pasted settings, where the app runs, and its traffic
/// (kept with the sweep, so `GET /api/your-pool/{id}` reads the result again).
#[derive(Debug, Serialize, Deserialize)]
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
    state.coordinator.save_your_pool(&id, &measure).await?;
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

/// `GET /api/your-pool/{sweep id}`: the measured pool at its own address: what was pasted, its
/// translation and plan, the sweep as far as it has run, and the verdict in plain words with the
/// smallest pool that met the target written back in the snippet's syntax (`paste`, once known).
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, AppError> {
    let store = &state.coordinator;
    let measure: Measure = store.your_pool(&id).await?.ok_or_else(|| AppError::SweepNotFound(id.clone()))?;
    let view = store.sweep(&id).await?.ok_or_else(|| AppError::SweepNotFound(id.clone()))?;
    let translation = yourpool::translate(&measure.library, &measure.config, &state.libraries)?;
    let plan = plan(translation.spec(), &measure.deployment, &measure.traffic)
        .map_err(|e| AppError::unprocessable(e.to_string()))?;
    let own_run = view.points.iter().find(|p| p.max_connections == plan.own_size).map(|p| p.run_id.clone());
    let own = match &own_run {
        Some(run) => store.run(run).await?.and_then(|r| r.summary),
        None => None,
    };
    let verdict = verdict(&Measured {
        points: &view.points,
        own: own.as_ref(),
        own_size: plan.own_size,
        requests: u64::from(plan.sweep.run.requests),
        instances: measure.deployment.instances,
        max_connections: measure.deployment.max_connections,
        target: measure.traffic.target,
    });
    let paste = verdict.smallest.as_ref().map(|s| translation.write_back(&resized(&translation.spec().pool, s.size)));
    let runs: Vec<&str> = view.points.iter().map(|p| p.run_id.as_str()).collect();
    Ok(Json(json!({
        "sweep": id,
        "library": measure.library,
        "config": measure.config,
        "deployment": measure.deployment,
        "traffic": measure.traffic,
        "run": own_run,
        "runs": runs,
        "translation": translation,
        "plan": plan,
        "view": view,
        "verdict": verdict,
        "paste": paste,
    })))
}
