//! Where runs are kept: in the coordinator's database, the one place that knows them.
//!
//! Every run is a row of `lab.runs` (see `migrations/`) from the moment it joins the line to long
//! after it ended: its spec, who submitted it, its place in line ([`crate::class::line`] puts it
//! there and hands it to a worker), the worker that carried it out, and at the end its summary,
//! its frames and every request's record (`lab.run_requests`), so a run can be reopened, replayed
//! and exported after the lab restarts. Nothing about a run lives only in memory, so a restarted
//! coordinator (or a second one) finds the line as it was.
//!
//! Writes go through the coordinator's own pool, never a run's connections.

use poollab_shared::{
    Frame, PoolerFrame, RequestRecord, RunEvent, RunSpec, RunState, RunView, ServerFrame, Summary, SweepPoint,
    SweepView, Timeline,
};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};

/// Runs `GET /api/runs` lists.
const RECENT: i64 = 200;
/// Finished runs kept in the database; older ones (and their timelines) are deleted.
pub const KEEP_RUNS: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the run store is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

pub fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Done => "done",
        RunState::Failed => "failed",
    }
}

pub fn parse_state(name: &str) -> RunState {
    match name {
        "queued" => RunState::Queued,
        "running" => RunState::Running,
        "done" => RunState::Done,
        _ => RunState::Failed,
    }
}

/// The columns of a run view, and the row they come back as.
pub const RUN_COLUMNS: &str = "r.id, (extract(epoch FROM r.submitted_at) * 1000)::bigint, r.state, r.spec, r.summary, \
                               r.error, r.worker, \
                               CASE WHEN r.state = 'queued' AND NOT lab.run_held(r.id, r.learner) THEN \
                                 (SELECT count(*) FROM lab.runs o \
                                  WHERE o.state = 'queued' AND NOT lab.run_held(o.id, o.learner) \
                                    AND (o.priority, o.place, o.seq) <= (r.priority, r.place, r.seq)) END, \
                               (SELECT count(*) FROM lab.run_learners rl WHERE rl.run_id = r.id)";
/// Where [`RUN_COLUMNS`] are read from.
pub const RUN_FROM: &str = "lab.runs r";

pub type RunRow =
    (String, i64, String, Json<RunSpec>, Option<Json<Summary>>, Option<String>, Option<String>, Option<i64>, i64);

pub fn view_of(row: RunRow) -> RunView {
    let (id, submitted_at_ms, state, Json(spec), summary, error, worker, position, learners) = row;
    RunView {
        id,
        state: parse_state(&state),
        spec,
        submitted_at_ms: submitted_at_ms.max(0) as u64,
        summary: summary.map(|Json(s)| s),
        error,
        position: position.map(|p| p.clamp(0, i64::from(u32::MAX)) as u32),
        worker,
        learners: learners.clamp(0, i64::from(u32::MAX)) as u32,
        timeline: None,
    }
}

/// A timeline's events as the store keeps them: NULL for none.
fn events_of(timeline: &Timeline) -> Option<Json<&[RunEvent]>> {
    (!timeline.events.is_empty()).then_some(Json(&timeline.events[..]))
}

/// The server's readings of a timeline, as stored (NULL for none).
fn readings_of(timeline: &Timeline) -> Option<Json<&[ServerFrame]>> {
    (!timeline.readings.is_empty()).then_some(Json(&timeline.readings[..]))
}

/// PgBouncer's readings of a timeline, as stored (NULL for none).
fn pooler_readings_of(timeline: &Timeline) -> Option<Json<&[PoolerFrame]>> {
    (!timeline.pooler_readings.is_empty()).then_some(Json(&timeline.pooler_readings[..]))
}

/// How a run ended, as its worker (or the coordinator) says.
#[derive(Debug)]
pub enum Ending {
    Done {
        summary: Box<Summary>,
        timeline: Box<Timeline>,
    },
    /// With what it measured until it stopped, if it started measuring.
    Failed {
        error: String,
        timeline: Option<Box<Timeline>>,
    },
}

#[derive(Clone)]
pub struct RunStore {
    db: PgPool,
}

impl RunStore {
    pub fn new(db: PgPool) -> RunStore {
        RunStore { db }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db
    }

    /// A run, with its place in line while it waits.
    pub async fn get(&self, id: &str) -> Result<Option<RunView>, StoreError> {
        let row: Option<RunRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.id = $1")))
                .bind(id)
                .fetch_optional(&self.db)
                .await?;
        Ok(row.map(view_of))
    }

    /// The newest runs, newest first.
    pub async fn recent(&self) -> Result<Vec<RunView>, StoreError> {
        let rows: Vec<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM {RUN_FROM} ORDER BY r.submitted_at DESC, r.seq DESC LIMIT {RECENT}"
        )))
        .fetch_all(&self.db)
        .await?;
        Ok(rows.into_iter().map(view_of).collect())
    }

    /// Ends a run that is queued or running: its summary and timeline (kept in one transaction
    /// with its new state, so whoever hears that a run is done can read its timeline), or why it
    /// failed. Returns the run as it now is, or none if it had already ended (the reaper or the
    /// instructor got there first: the first ending stands).
    pub async fn end(&self, id: &str, ending: Ending) -> Result<Option<RunView>, StoreError> {
        let mut tx = self.db.begin().await?;
        let ended = match &ending {
            Ending::Done { summary, timeline } => {
                let updated = sqlx::query(
                    "UPDATE lab.runs SET state = 'done', summary = $2, frames = $3, events = $4, readings = $5, \
                     pooler_readings = $6, lease_until = NULL WHERE id = $1 AND state IN ('queued', 'running')",
                )
                .bind(id)
                .bind(Json(summary.as_ref()))
                .bind(Json(&timeline.frames))
                .bind(events_of(timeline))
                .bind(readings_of(timeline))
                .bind(pooler_readings_of(timeline))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated > 0 {
                    insert_requests(&mut tx, id, &timeline.requests).await?;
                }
                updated
            }
            Ending::Failed { error, timeline } => {
                let updated = sqlx::query(
                    "UPDATE lab.runs SET state = 'failed', error = $2, frames = COALESCE($3, frames), \
                     events = COALESCE($4, events), readings = COALESCE($5, readings), \
                     pooler_readings = COALESCE($6, pooler_readings), lease_until = NULL \
                     WHERE id = $1 AND state IN ('queued', 'running')",
                )
                .bind(id)
                .bind(error)
                .bind(timeline.as_ref().map(|t| Json(&t.frames)))
                .bind(timeline.as_deref().and_then(events_of))
                .bind(timeline.as_deref().and_then(readings_of))
                .bind(timeline.as_deref().and_then(pooler_readings_of))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if let Some(timeline) = timeline.as_ref().filter(|_| updated > 0) {
                    insert_requests(&mut tx, id, &timeline.requests).await?;
                }
                updated
            }
        };
        if ended == 0 {
            return Ok(None);
        }
        sqlx::query(
            "DELETE FROM lab.runs WHERE id IN (SELECT id FROM lab.runs WHERE state IN ('done', 'failed') \
             ORDER BY submitted_at DESC OFFSET $1)",
        )
        .bind(KEEP_RUNS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// Fails every running run whose coordinator stopped renewing its lease (it stopped, or lost
    /// its worker without hearing so): their figures would be incomplete. Returns them.
    pub async fn reap(&self) -> Result<Vec<RunView>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE lab.runs SET state = 'failed', lease_until = NULL, \
               error = 'the coordinator that handed this run to ' || coalesce(worker, 'a worker') || \
                       ' stopped hearing from it before the run finished' \
             WHERE state = 'running' AND (lease_until IS NULL OR lease_until < now()) RETURNING id",
        )
        .fetch_all(&self.db)
        .await?;
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = self.get(&id).await? {
                views.push(v);
            }
        }
        Ok(views)
    }

    /// Keeps a running run's lease: its coordinator still hears from its worker.
    pub async fn renew(&self, id: &str, lease: std::time::Duration) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE lab.runs SET lease_until = now() + make_interval(secs => $2) WHERE id = $1 AND state = 'running'",
        )
        .bind(id)
        .bind(lease.as_secs_f64())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// The stored frames, events and requests of a run (empty if it has not ended).
    pub async fn timeline(&self, id: &str) -> Result<Timeline, StoreError> {
        type Stored = (
            Option<Json<Vec<Frame>>>,
            Option<Json<Vec<RunEvent>>>,
            Option<Json<Vec<ServerFrame>>>,
            Option<Json<Vec<PoolerFrame>>>,
        );
        let stored: Option<Stored> =
            sqlx::query_as("SELECT frames, events, readings, pooler_readings FROM lab.runs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db)
                .await?;
        let (frames, events, readings, pooler_readings) = stored.unwrap_or_default();
        type Row = (i64, i32, f64, f64, f64, f64, f64, String, bool, Option<f64>, Option<f64>, Option<f64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT n, instance, start_ms, acquire_wait_ms, connect_ms, query_ms, total_ms, outcome, cache_hit, \
                    asked_ms, held_from_ms, given_back_ms \
             FROM lab.run_requests WHERE run_id = $1 ORDER BY n",
        )
        .bind(id)
        .fetch_all(&self.db)
        .await?;
        let requests = rows
            .into_iter()
            .map(|row| {
                let (n, instance, start_ms, acquire_wait_ms, connect_ms, query_ms, total_ms, outcome, cache_hit) =
                    (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8);
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
                    asked_ms: row.9,
                    held_from_ms: row.10,
                    given_back_ms: row.11,
                }
            })
            .collect();
        Ok(Timeline {
            requests,
            frames: frames.map(|Json(f)| f).unwrap_or_default(),
            readings: readings.map(|Json(r)| r).unwrap_or_default(),
            pooler_readings: pooler_readings.map(|Json(r)| r).unwrap_or_default(),
            events: events.map(|Json(e)| e).unwrap_or_default(),
        })
    }

    /// Remembers a sweep: each pool size and the run that measures it.
    pub async fn save_sweep(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        id: &str,
        points: &[(u32, String)],
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO lab.sweeps (id, points) VALUES ($1, $2)")
            .bind(id)
            .bind(Json(points))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Keeps what a "your own pool" sweep measured (the pasted settings, deployment and traffic),
    /// so the result can be read again at its own address.
    pub async fn save_your_pool<T: serde::Serialize + Sync>(
        &self,
        sweep_id: &str,
        measure: &T,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO lab.your_pools (sweep_id, measure) VALUES ($1, $2)")
            .bind(sweep_id)
            .bind(Json(measure))
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// What [`RunStore::save_your_pool`] kept for a sweep, if it was one.
    pub async fn your_pool<T: serde::de::DeserializeOwned + Send + Unpin + 'static>(
        &self,
        sweep_id: &str,
    ) -> Result<Option<T>, StoreError> {
        let measure: Option<Json<T>> = sqlx::query_scalar("SELECT measure FROM lab.your_pools WHERE sweep_id = $1")
            .bind(sweep_id)
            .fetch_optional(&self.db)
            .await?;
        Ok(measure.map(|Json(m)| m))
    }

    /// A sweep's points, with the figures of those runs that have finished.
    pub async fn sweep(&self, id: &str) -> Result<Option<SweepView>, StoreError> {
        let points: Option<Json<Vec<(u32, String)>>> =
            sqlx::query_scalar("SELECT points FROM lab.sweeps WHERE id = $1").bind(id).fetch_optional(&self.db).await?;
        let Some(Json(points)) = points else { return Ok(None) };
        let mut view = SweepView { id: id.to_owned(), done: true, points: Vec::with_capacity(points.len()) };
        for (size, run_id) in points {
            let run = self.get(&run_id).await?;
            let state = run.as_ref().map_or(RunState::Failed, |r| r.state);
            view.done &= matches!(state, RunState::Done | RunState::Failed);
            view.points.push(SweepPoint::of(size, run_id, state, run.and_then(|r| r.summary).as_ref()));
        }
        Ok(Some(view))
    }
}

/// All of a run's requests in one statement: one array per column, unnested by the server.
async fn insert_requests(
    tx: &mut Transaction<'_, Postgres>,
    run_id: &str,
    requests: &[RequestRecord],
) -> Result<(), sqlx::Error> {
    let col = |f: fn(&RequestRecord) -> f64| requests.iter().map(f).collect::<Vec<f64>>();
    let instant = |f: fn(&RequestRecord) -> Option<f64>| requests.iter().map(f).collect::<Vec<Option<f64>>>();
    sqlx::query(
        "INSERT INTO lab.run_requests \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::int[], $4::float8[], $5::float8[], $6::float8[], \
                                  $7::float8[], $8::float8[], $9::text[], $10::bool[], \
                                  $11::float8[], $12::float8[], $13::float8[]) \
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
    .bind(instant(|r| r.asked_ms))
    .bind(instant(|r| r.held_from_ms))
    .bind(instant(|r| r.given_back_ms))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
