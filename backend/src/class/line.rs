//! The line runs wait in: fair across learners, kept in the coordinator's database.
//!
//! A worker carries out one run at a time, and a class has more runs than workers, so runs wait.
//! First come, first served would let one eager learner's ten runs hold everyone else back;
//! instead the line goes round by round: each learner's next run joins the next round they have
//! not had a turn in, and within a round runs go in the order they came. The instructor's runs go
//! before everyone's (the class watches them).
//!
//! The line is rows of `lab.runs` in state `queued`, ordered by `(priority, round, seq)`. Joining
//! it is one transaction that checks the limits and takes a place; a worker's turn takes the first
//! waiting run with `FOR UPDATE SKIP LOCKED`, so two workers (or two coordinators) can never take
//! the same run, and a restarted coordinator finds the line as it left it.
//!
//! Admission limits what any one party can put in line: runs waiting in all, per learner, and per
//! address (a script that makes up learners by dropping its cookies is still one address).
//!
//! A learner who asks for a run identical to one already waiting joins it instead of adding one
//! (unless `--share-runs off`): request coalescing. Thirty learners pressing Run on the same step
//! within seconds then cost the worker one run, and each of them watches it and gets its result.
//! The run keeps the place of the learner who put it in line; joining it costs nobody a turn, so
//! it counts against no limit. Every learner on a run is a row of `lab.run_learners`.

use poollab_shared::{
    ClassLine, LineEntry, LinePlace, LineView, RunSpec, RunState, SweepSpec, ValidRunSpec, WorkerView,
};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::class::identity::Who;
use crate::db::store::{RunStore, StoreError, parse_state};

/// The advisory lock every admission takes, so limits and rounds are counted one joiner at a time.
const ADMISSION_LOCK: i64 = 0x0070_6f6f_6c6c_6162; // "poollab"

/// How much anyone may put in line.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Runs waiting in all.
    pub capacity: usize,
    /// Runs one learner may have waiting (a sweep goes in whole when nothing else of theirs waits).
    pub per_learner: usize,
    /// Runs learners at one address may have waiting (likewise for a sweep).
    pub per_address: usize,
    /// Most requests in a learner's run.
    pub learner_max_requests: u32,
    /// Whether a learner's run joins an identical one already waiting instead of adding its own.
    pub share_runs: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("the line is full ({0} runs waiting); try again when one has finished")]
    Full(usize),
    #[error("the line has room for {room} more runs; this sweep needs {needed}")]
    NoRoomForSweep { room: usize, needed: usize },
    #[error("you already have {0} runs waiting; wait for one to finish")]
    LearnerLimit(usize),
    #[error("a sweep goes in line whole, and you have {0} runs waiting: wait for them to finish")]
    SweepWhileWaiting(usize),
    #[error(
        "{waiting} runs from your address ({address}) are waiting already, and one address may have at most \
         {cap}: wait for one to finish"
    )]
    AddressLimit { address: String, waiting: usize, cap: usize },
    #[error("in this class a run may fire at most {max} requests (this one asks for {asked})")]
    TooBig { asked: u32, max: u32 },
    #[error("the lab is locked by the instructor: only the instructor's runs go for now")]
    Locked,
    #[error("your instructor has paused your runs for now")]
    Paused,
    #[error("the lab's database, which keeps the line, is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

/// Where a run asked for went: a place of its own in line, or a seat on an identical run that was
/// already waiting (`shared`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub id: String,
    pub shared: bool,
}

/// A run a worker has just taken from the line.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub spec: RunSpec,
    /// The learners on it (who submitted it, and who joined it while it waited); none for the
    /// instructor's.
    pub learners: Vec<String>,
}

/// The line at one moment, for every page: the waiting runs in order, and the workers.
#[derive(Debug, Clone, Default)]
pub struct LineSnapshot {
    /// Each waiting run: its id, the learners on it, and whether it is held (all of them paused).
    pub waiting: Vec<(String, Vec<String>, bool)>,
    pub workers: Vec<WorkerView>,
}

impl LineSnapshot {
    /// What one learner's page is told (everyone's count, their own places).
    pub fn view_for(&self, learner: Option<&str>) -> LineView {
        let mut position = 0u32;
        let mut view =
            LineView { waiting: self.waiting.len() as u32, workers: self.workers.clone(), ..LineView::default() };
        for (id, learners, paused) in &self.waiting {
            if !paused {
                position += 1;
            }
            if let Some(me) = learner
                && learners.iter().any(|l| l == me)
            {
                view.paused |= *paused;
                view.mine.push(LinePlace { id: id.clone(), position: (!paused).then_some(position) });
            }
        }
        view
    }
}

#[derive(Clone)]
pub struct Line {
    db: PgPool,
    caps: Caps,
}

impl Line {
    pub fn new(db: PgPool, caps: Caps) -> Line {
        Line { db, caps: Caps { capacity: caps.capacity.max(1), per_learner: caps.per_learner.max(1), ..caps } }
    }

    /// Puts one run in line, or joins an identical one already waiting.
    pub async fn submit(&self, who: &Who, spec: ValidRunSpec) -> Result<Joined, LineError> {
        let mut joined = self.join(who, vec![spec], None).await?;
        Ok(joined.pop().unwrap_or(Joined { id: String::new(), shared: false }))
    }

    /// Puts one run per pool size of a sweep in line, all or none (each joins an identical run
    /// already waiting, as a single run would); returns the sweep's id and where its runs went.
    pub async fn submit_sweep(
        &self,
        who: &Who,
        sweep: &SweepSpec,
        runs: Vec<ValidRunSpec>,
    ) -> Result<(String, Vec<Joined>), LineError> {
        let id = new_id();
        let joined = self.join(who, runs, Some((&id, &sweep.sizes))).await?;
        Ok((id, joined))
    }

    /// The one way into the line: checks the class and the limits, then takes places (or seats
    /// on identical waiting runs), in one transaction under the admission lock.
    async fn join(
        &self,
        who: &Who,
        runs: Vec<ValidRunSpec>,
        sweep: Option<(&str, &[u32])>,
    ) -> Result<Vec<Joined>, LineError> {
        if let Who::Learner(_) = who
            && let Some(big) = runs.iter().find(|r| r.requests > self.caps.learner_max_requests)
        {
            return Err(LineError::TooBig { asked: big.requests, max: self.caps.learner_max_requests });
        }
        let specs: Vec<RunSpec> = runs.into_iter().map(RunSpec::from).collect();
        let mut tx = self.db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ADMISSION_LOCK).execute(&mut *tx).await?;
        let (locked,): (bool,) =
            sqlx::query_as("SELECT locked FROM lab.class WHERE id = 1").fetch_one(&mut *tx).await?;
        let (learner, address) = match who {
            Who::Instructor => (None, None),
            Who::Learner(l) => (Some(l.id.as_str()), Some(l.address.as_str())),
        };
        let mut last_round = 0i64;
        if let Some(id) = learner {
            if locked {
                return Err(LineError::Locked);
            }
            sqlx::query("INSERT INTO lab.learners (id) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let (paused, last): (bool, i64) =
                sqlx::query_as("SELECT paused, last_round FROM lab.learners WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if paused {
                return Err(LineError::Paused);
            }
            last_round = last;
        }
        // A learner's run joins an identical one already waiting (a learner's, not held back):
        // the instructor's runs go first and alone, as before.
        let mut twins: Vec<Option<String>> = vec![None; specs.len()];
        if learner.is_some() && self.caps.share_runs {
            for (twin, spec) in twins.iter_mut().zip(&specs) {
                // FOR UPDATE: a worker cannot take the run between finding it and joining it.
                *twin = sqlx::query_scalar(
                    "SELECT r.id FROM lab.runs r \
                     WHERE r.state = 'queued' AND r.priority = 1 AND r.spec = $1 \
                       AND NOT lab.run_held(r.id, r.learner) \
                     ORDER BY r.round, r.seq LIMIT 1 FOR UPDATE OF r",
                )
                .bind(Json(spec))
                .fetch_optional(&mut *tx)
                .await?;
            }
        }
        // Only the runs that take a place of their own count against the limits.
        let n = twins.iter().filter(|t| t.is_none()).count();
        let (all, mine, from_address): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE learner = $1), count(*) FILTER (WHERE address = $2 AND priority = 1) \
             FROM lab.runs WHERE state = 'queued'",
        )
        .bind(learner)
        .bind(address)
        .fetch_one(&mut *tx)
        .await?;
        let (all, mine, from_address) = (all as usize, mine as usize, from_address as usize);
        let room = self.caps.capacity.saturating_sub(all);
        if n > room {
            return Err(if n == 1 {
                LineError::Full(self.caps.capacity)
            } else {
                LineError::NoRoomForSweep { room, needed: n }
            });
        }
        let mut round = 0i64;
        if let (Some(_), Some(address)) = (learner, address)
            && n > 0
        {
            // A sweep goes in line whole: a learner (or an address) with nothing else waiting may
            // queue one of any size the API allows, which the limits alone would forbid.
            if n > 1 && mine > 0 {
                return Err(LineError::SweepWhileWaiting(mine));
            }
            if n == 1 && mine + 1 > self.caps.per_learner {
                return Err(LineError::LearnerLimit(mine));
            }
            if (n == 1 && from_address + 1 > self.caps.per_address) || (n > 1 && from_address > 0) {
                return Err(LineError::AddressLimit {
                    address: address.to_owned(),
                    waiting: from_address,
                    cap: self.caps.per_address,
                });
            }
            let (line_round,): (i64,) =
                sqlx::query_as("SELECT round FROM lab.line WHERE id = 1").fetch_one(&mut *tx).await?;
            // The next round this learner has not had a turn in (a newcomer joins the round the
            // line is serving, behind those already in it).
            round = line_round.max(last_round + 1);
        }
        let mut joined = Vec::with_capacity(specs.len());
        let mut taken = 0i64;
        for (spec, twin) in specs.iter().zip(twins) {
            let (id, shared) = match twin {
                Some(id) => (id, true),
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO lab.runs (id, submitted_at, state, spec, learner, address, priority, round) \
                         VALUES ($1, now(), 'queued', $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(Json(spec))
                    .bind(learner)
                    .bind(address)
                    .bind(if learner.is_some() { 1i32 } else { 0 })
                    .bind(if learner.is_some() { round + taken } else { 0 })
                    .execute(&mut *tx)
                    .await?;
                    taken += 1;
                    (id, false)
                }
            };
            if let Some(learner) = learner {
                sqlx::query("INSERT INTO lab.run_learners (run_id, learner) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&id)
                    .bind(learner)
                    .execute(&mut *tx)
                    .await?;
            }
            joined.push(Joined { id, shared });
        }
        if let Some(id) = learner
            && taken > 0
        {
            sqlx::query("UPDATE lab.learners SET last_round = $2 WHERE id = $1")
                .bind(id)
                .bind(round + taken - 1)
                .execute(&mut *tx)
                .await?;
        }
        if let Some((sweep_id, sizes)) = sweep {
            let points: Vec<(u32, String)> = sizes.iter().copied().zip(joined.iter().map(|j| j.id.clone())).collect();
            RunStore::new(self.db.clone())
                .save_sweep(&mut tx, sweep_id, &points)
                .await
                .map_err(|StoreError::Database(e)| e)?;
        }
        tx.commit().await?;
        Ok(joined)
    }

    /// Hands the first waiting run (not held back by the instructor's pause) to `worker`, marking it
    /// running under a lease its coordinator must keep renewing. None when nothing waits.
    pub async fn claim(&self, worker: &str, lease: std::time::Duration) -> Result<Option<Claimed>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let row: Option<(String, Json<RunSpec>, i64)> = sqlx::query_as(
            "WITH next AS ( \
               SELECT r.id FROM lab.runs r \
               WHERE r.state = 'queued' AND NOT lab.run_held(r.id, r.learner) \
               ORDER BY r.priority, r.round, r.seq \
               LIMIT 1 FOR UPDATE OF r SKIP LOCKED) \
             UPDATE lab.runs r SET state = 'running', worker = $1, started_at = now(), \
                                   lease_until = now() + make_interval(secs => $2) \
             FROM next WHERE r.id = next.id \
             RETURNING r.id, r.spec, r.round",
        )
        .bind(worker)
        .bind(lease.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, Json(spec), round)) = row else { return Ok(None) };
        let learners: Vec<String> =
            sqlx::query_scalar("SELECT learner FROM lab.run_learners WHERE run_id = $1 ORDER BY joined_at, learner")
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("UPDATE lab.line SET round = greatest(round, $1) WHERE id = 1")
            .bind(round)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Claimed { id, spec, learners }))
    }

    /// Takes a waiting run out of line (the instructor's cancel). False when it was not waiting.
    pub async fn cancel_waiting(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE lab.runs SET state = 'failed', error = 'cancelled by the instructor before it started' \
             WHERE id = $1 AND state = 'queued'",
        )
        .bind(id)
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Pauses (or lets go again) a learner: their waiting runs keep their place but none starts,
    /// and they cannot add more, until the instructor lets them go.
    pub async fn pause(&self, learner: &str, paused: bool) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO lab.learners (id, paused) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET paused = $2")
            .bind(learner)
            .bind(paused)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Whether the coordinator has heard from this learner.
    pub async fn knows(&self, learner: &str) -> Result<bool, sqlx::Error> {
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM lab.learners WHERE id = $1")
            .bind(learner)
            .fetch_optional(&self.db)
            .await?;
        Ok(known.is_some())
    }

    /// The waiting runs in order (and whose they are), for the pages.
    pub async fn snapshot(&self, workers: Vec<WorkerView>) -> Result<LineSnapshot, sqlx::Error> {
        let waiting: Vec<(String, Vec<String>, bool)> = sqlx::query_as(
            "SELECT r.id, ARRAY(SELECT rl.learner FROM lab.run_learners rl WHERE rl.run_id = r.id), \
                    lab.run_held(r.id, r.learner) \
             FROM lab.runs r WHERE r.state = 'queued' ORDER BY r.priority, r.round, r.seq",
        )
        .fetch_all(&self.db)
        .await?;
        Ok(LineSnapshot { waiting, workers })
    }

    /// The whole line with names, for the instructor.
    pub async fn for_instructor(&self, workers: Vec<WorkerView>) -> Result<ClassLine, sqlx::Error> {
        type Row = (String, String, Option<String>, Option<String>, bool, Option<String>, Json<RunSpec>, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.state, r.learner, l.name, lab.run_held(r.id, r.learner), r.worker, r.spec, \
                    (extract(epoch FROM r.submitted_at) * 1000)::bigint \
             FROM lab.runs r LEFT JOIN lab.learners l ON l.id = r.learner \
             WHERE r.state IN ('queued', 'running') \
             ORDER BY r.state DESC, r.priority, r.round, r.seq",
        )
        .fetch_all(&self.db)
        .await?;
        let paused: Vec<String> =
            sqlx::query_scalar("SELECT id FROM lab.learners WHERE paused ORDER BY id").fetch_all(&self.db).await?;
        let mut line = ClassLine { workers, paused, ..ClassLine::default() };
        let mut position = 0u32;
        for (id, state, learner, name, is_paused, worker, Json(spec), submitted_at_ms) in rows {
            let state = parse_state(&state);
            let place = (state == RunState::Queued && !is_paused).then(|| {
                position += 1;
                position
            });
            let entry = LineEntry {
                id,
                state,
                learner,
                name: name.unwrap_or_default(),
                paused: is_paused,
                position: place,
                worker,
                strategy: spec.strategy,
                requests: spec.requests,
                submitted_at_ms: submitted_at_ms.max(0) as u64,
            };
            if state == RunState::Running { line.running.push(entry) } else { line.waiting.push(entry) }
        }
        Ok(line)
    }
}

fn new_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
