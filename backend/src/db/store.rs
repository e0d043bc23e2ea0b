//! Where runs are kept: in memory while they are fresh, in PostgreSQL for good.
//!
//! The queue and the API read runs from memory (the recent ones, including queued and running
//! runs). Every change of a run's state is also written to the lab's own schema (`lab.runs`,
//! `lab.run_requests`, see `migrations/`), with its frames and per-request timeline once it
//! ends, so a run can be reopened, replayed and exported after the lab restarts. At start-up the
//! recent runs are read back, and runs that a previous lab left queued or running are marked
//! failed: their figures would be incomplete.
//!
//! Writes go through the lab's admin pool, never a run's connections, and a failed write is
//! logged, not fatal: the run's figures stay in memory and on the live view.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use poollab_shared::{Frame, RequestRecord, RunSpec, RunState, RunView, Summary, Timeline};
use sqlx::PgPool;
use sqlx::types::Json;

/// Runs kept in memory for `GET /api/runs` (the oldest finished ones are forgotten first).
const HISTORY: usize = 200;
/// Runs kept in the database; older ones (and their timelines) are deleted.
pub const KEEP_RUNS: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the run store is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Done => "done",
        RunState::Failed => "failed",
    }
}

fn parse_state(name: &str) -> RunState {
    match name {
        "queued" => RunState::Queued,
        "running" => RunState::Running,
        "done" => RunState::Done,
        _ => RunState::Failed,
    }
}

type RunRow = (String, i64, String, Json<RunSpec>, Option<Json<Summary>>, Option<String>);

fn view_of(row: RunRow) -> RunView {
    let (id, submitted_at_ms, state, Json(spec), summary, error) = row;
    RunView {
        id,
        state: parse_state(&state),
        spec,
        submitted_at_ms: submitted_at_ms.max(0) as u64,
        summary: summary.map(|Json(s)| s),
        error,
        position: None,
        timeline: None,
    }
}

const SELECT_RUN: &str = "SELECT id, (extract(epoch FROM submitted_at) * 1000)::bigint, state, spec, summary, error \
                          FROM lab.runs";

pub struct RunStore {
    runs: Mutex<VecDeque<RunView>>,
    db: PgPool,
}

impl RunStore {
    pub fn new(db: PgPool) -> RunStore {
        RunStore { runs: Mutex::new(VecDeque::new()), db }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<RunView>> {
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the recent runs back after a restart; runs left unfinished are marked failed.
    pub async fn load(&self) -> Result<(), StoreError> {
        let stale = sqlx::query(
            "UPDATE lab.runs SET state = 'failed', error = 'the lab stopped before this run finished' \
             WHERE state IN ('queued', 'running')",
        )
        .execute(&self.db)
        .await?
        .rows_affected();
        if stale > 0 {
            tracing::warn!(stale, "runs left unfinished by a previous lab are marked failed");
        }
        let rows: Vec<RunRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_RUN} ORDER BY submitted_at DESC LIMIT {HISTORY}")))
                .fetch_all(&self.db)
                .await?;
        let mut runs = self.lock();
        runs.clear();
        runs.extend(rows.into_iter().rev().map(view_of));
        tracing::info!(runs = runs.len(), "recent runs loaded from the database");
        Ok(())
    }

    /// A run from memory, or else from the database.
    pub async fn get(&self, id: &str) -> Result<Option<RunView>, StoreError> {
        if let Some(run) = self.lock().iter().find(|r| r.id == id).cloned() {
            return Ok(Some(run));
        }
        let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_RUN} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        Ok(row.map(view_of))
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<RunView> {
        self.lock().iter().rev().cloned().collect()
    }

    pub fn insert(&self, run: RunView) {
        let mut runs = self.lock();
        if runs.len() >= HISTORY
            && let Some(pos) = runs.iter().position(|r| matches!(r.state, RunState::Done | RunState::Failed))
        {
            runs.remove(pos);
        }
        runs.push_back(run);
    }

    pub fn update(&self, id: &str, f: impl FnOnce(&mut RunView)) -> Option<RunView> {
        let mut runs = self.lock();
        let run = runs.iter_mut().find(|r| r.id == id)?;
        f(run);
        Some(run.clone())
    }

    /// Writes a run (and, when it has ended, its timeline) to the database. Failures are logged:
    /// the run itself is not lost, it stays in memory.
    pub async fn save(&self, run: &RunView, timeline: Option<&Timeline>) {
        if let Err(e) = self.try_save(run, timeline).await {
            tracing::warn!(run = %run.id, error = %e, "could not store the run");
        }
    }

    async fn try_save(&self, run: &RunView, timeline: Option<&Timeline>) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO lab.runs (id, submitted_at, state, spec, summary, error) \
             VALUES ($1, to_timestamp($2::float8 / 1000), $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET state = $3, summary = $5, error = $6",
        )
        .bind(&run.id)
        .bind(run.submitted_at_ms as f64)
        .bind(state_name(run.state))
        .bind(Json(&run.spec))
        .bind(run.summary.as_ref().map(Json))
        .bind(&run.error)
        .execute(&mut *tx)
        .await?;
        if let Some(timeline) = timeline {
            sqlx::query("UPDATE lab.runs SET frames = $2 WHERE id = $1")
                .bind(&run.id)
                .bind(Json(&timeline.frames))
                .execute(&mut *tx)
                .await?;
            insert_requests(&mut tx, &run.id, &timeline.requests).await?;
        }
        sqlx::query("DELETE FROM lab.runs WHERE id IN (SELECT id FROM lab.runs ORDER BY submitted_at DESC OFFSET $1)")
            .bind(KEEP_RUNS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The stored frames and requests of a run (empty if it has not ended).
    pub async fn timeline(&self, id: &str) -> Result<Timeline, StoreError> {
        let frames: Option<Json<Vec<Frame>>> =
            sqlx::query_scalar("SELECT frames FROM lab.runs WHERE id = $1").bind(id).fetch_optional(&self.db).await?;
        type Row = (i64, i32, f64, f64, f64, f64, f64, String, bool);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT n, instance, start_ms, acquire_wait_ms, connect_ms, query_ms, total_ms, outcome, cache_hit \
             FROM lab.run_requests WHERE run_id = $1 ORDER BY n",
        )
        .bind(id)
        .fetch_all(&self.db)
        .await?;
        let requests = rows
            .into_iter()
            .map(|(n, instance, start_ms, acquire_wait_ms, connect_ms, query_ms, total_ms, outcome, cache_hit)| {
                RequestRecord {
                    n: n.max(0) as u64,
                    instance: instance.max(0) as u32,
                    start_ms,
                    acquire_wait_ms,
                    connect_ms,
                    query_ms,
                    total_ms,
                    outcome,
                    cache_hit,
                }
            })
            .collect();
        Ok(Timeline { requests, frames: frames.map(|Json(f)| f).unwrap_or_default() })
    }
}

/// All of a run's requests in one statement: one array per column, unnested by the server.
async fn insert_requests(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    run_id: &str,
    requests: &[RequestRecord],
) -> Result<(), sqlx::Error> {
    let col = |f: fn(&RequestRecord) -> f64| requests.iter().map(f).collect::<Vec<f64>>();
    sqlx::query(
        "INSERT INTO lab.run_requests \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::int[], $4::float8[], $5::float8[], $6::float8[], \
                                  $7::float8[], $8::float8[], $9::text[], $10::bool[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(run_id)
    .bind(requests.iter().map(|r| r.n as i64).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.instance as i32).collect::<Vec<_>>())
    .bind(col(|r| r.start_ms))
    .bind(col(|r| r.acquire_wait_ms))
    .bind(col(|r| r.connect_ms))
    .bind(col(|r| r.query_ms))
    .bind(col(|r| r.total_ms))
    .bind(requests.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.cache_hit).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
