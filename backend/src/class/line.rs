//! The line runs wait in, kept in the coordinator's database, and who may join it.
//!
//! A worker carries out one run at a time, and a class has more runs than workers, so runs wait.
//! First come, first served would let one eager learner's ten runs hold everyone else back, and
//! counting turns would let a learner whose runs take two minutes hold it sixty times longer than
//! one whose runs take two seconds; instead the line shares worker time, by the rule of
//! [`crate::class::fair`]: the instructor's runs first, then the address and, at it, the learner
//! who has used the least worker time lately, their oldest run first.
//!
//! The line is rows of `lab.runs` in state `queued`, each with its cost (the worker time it is
//! expected to take) and its place, ordered by `(priority, place, seq)`. Joining the line and a
//! worker's claim each hold the line's lock (its row in `lab.line`, `FOR UPDATE`) for one short
//! transaction: joining checks the limits, takes places and puts every waiting run in its place
//! again; a claim puts them in place again with the use of the moment (who ran what in the window)
//! and takes the first. So two workers (or two coordinators on the same database) never take the
//! same run nor see a half-made order, and a restarted coordinator finds the line as it left it.
//!
//! Admission limits what any one party can put in line: runs waiting in all, per learner, and per
//! address (a script that makes up learners by dropping its cookies is still one address). A sweep
//! counts as all its runs: each is a row that the limits count, and it goes in only whole, when
//! its learner and its address have nothing else waiting.
//!
//! A learner who asks for a run identical to one already waiting joins it instead of adding one
//! (unless `--share-runs off`): request coalescing. Thirty learners pressing Run on the same step
//! within seconds then cost the worker one run, and each of them watches it and gets its result.
//! The run keeps the place of the learner who put it in line, and its cost is charged to them
//! alone; joining it costs nobody a turn, so it counts against no limit. Every learner on a run is
//! a row of `lab.run_learners`.

use poollab_shared::{
    ClassLine, LineEntry, LinePlace, LineView, RunSpec, RunState, SweepSpec, ValidRunSpec, WorkerView,
};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::class::fair::{self, FAIR_WINDOW, Used, Waiting};
use crate::class::identity::Who;
use crate::db::store::{RunStore, StoreError, parse_state};

/// Takes the line's lock until the transaction ends: joins and claims go one at a time.
const LINE_LOCK: &str = "SELECT 1 FROM lab.line WHERE id = 1 FOR UPDATE";

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
        "a learner's sweep leaves a quarter of the line to the others: it has room for {room} more runs of a \
         sweep, and this sweep needs {needed}; try again when some have finished"
    )]
    SweepShare { room: usize, needed: usize },
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

/// What a party asks of the line, and what the line holds when they ask: all the admission rule
/// needs to decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ask {
    /// A learner's runs (the instructor's are not limited but by the line's capacity).
    pub learner: bool,
    /// Runs asked for at once (a sweep's are several).
    pub runs: usize,
    /// Of those, runs identical to one already waiting, which they join (shared runs): they take
    /// no place of their own, so they count against no limit, but a locked lab or a paused
    /// learner still refuses them.
    pub joining: usize,
    /// Requests in the largest of them.
    pub largest: u32,
    /// The instructor has locked the lab.
    pub locked: bool,
    /// The instructor has paused this learner.
    pub paused: bool,
    /// Runs waiting in all.
    pub waiting: usize,
    /// This learner's runs waiting.
    pub mine: usize,
    /// Learners' runs from this address waiting.
    pub from_address: usize,
}

/// The admission rule: whether `ask` may join the line, or why not. A learner's run is refused
/// when it is too big, the line is full, the lab is locked or the learner paused, or the learner
/// (or their address) already has their share waiting; a sweep goes in whole only when its
/// learner and address have nothing else waiting, which the limits alone would forbid, and only
/// while it leaves a quarter of the line free for others. Runs that join identical waiting runs
/// take no place: only the others count against the limits.
pub fn admit(ask: &Ask, caps: &Caps, address: &str) -> Result<(), LineError> {
    if ask.learner && ask.largest > caps.learner_max_requests {
        return Err(LineError::TooBig { asked: ask.largest, max: caps.learner_max_requests });
    }
    // The runs that take a place of their own.
    let taking = ask.runs.saturating_sub(ask.joining);
    let room = caps.capacity.saturating_sub(ask.waiting);
    if taking > room {
        return Err(if taking == 1 {
            LineError::Full(caps.capacity)
        } else {
            LineError::NoRoomForSweep { room, needed: taking }
        });
    }
    if !ask.learner {
        return Ok(());
    }
    if ask.locked {
        return Err(LineError::Locked);
    }
    if ask.paused {
        return Err(LineError::Paused);
    }
    if taking == 0 {
        return Ok(());
    }
    let sweep = taking > 1;
    if sweep && ask.mine > 0 {
        return Err(LineError::SweepWhileWaiting(ask.mine));
    }
    // One learner's sweep never fills the line: a quarter of it stays for everyone else's runs.
    let for_sweeps = room.saturating_sub(caps.capacity / 4);
    if sweep && taking > for_sweeps {
        return Err(LineError::SweepShare { room: for_sweeps, needed: taking });
    }
    if !sweep && ask.mine + 1 > caps.per_learner {
        return Err(LineError::LearnerLimit(ask.mine));
    }
    if (!sweep && ask.from_address + 1 > caps.per_address) || (sweep && ask.from_address > 0) {
        return Err(LineError::AddressLimit {
            address: address.to_owned(),
            waiting: ask.from_address,
            cap: caps.per_address,
        });
    }
    Ok(())
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
    /// on identical waiting runs), and puts the line in order again, in one transaction under the
    /// line's lock.
    async fn join(
        &self,
        who: &Who,
        runs: Vec<ValidRunSpec>,
        sweep: Option<(&str, &[u32])>,
    ) -> Result<Vec<Joined>, LineError> {
        let largest = runs.iter().map(|r| r.requests).max().unwrap_or(0);
        let specs: Vec<RunSpec> = runs.into_iter().map(RunSpec::from).collect();
        let (learner, address) = match who {
            Who::Instructor => (None, None),
            Who::Learner(l) => (Some(l.id.as_str()), Some(l.address.as_str())),
        };
        let mut tx = self.db.begin().await?;
        sqlx::query(LINE_LOCK).execute(&mut *tx).await?;
        let (locked, paused): (bool, bool) = sqlx::query_as(
            "SELECT c.locked, coalesce(l.paused, false) \
             FROM lab.class c LEFT JOIN lab.learners l ON l.id = $1 WHERE c.id = 1",
        )
        .bind(learner)
        .fetch_one(&mut *tx)
        .await?;
        // A learner's run joins an identical one already waiting (a learner's, not held back):
        // the instructor's runs go first and alone, as before.
        let mut twins: Vec<Option<String>> = vec![None; specs.len()];
        if learner.is_some() && self.caps.share_runs {
            // A sweep that lists a size twice runs it twice: each listing joins a run of its own,
            // never one this sweep already joined.
            let mut taken: Vec<String> = Vec::new();
            for (twin, spec) in twins.iter_mut().zip(&specs) {
                // FOR UPDATE: the instructor's cancel cannot end it between finding it and joining
                // it (a worker cannot take it either: claims wait for the line's lock).
                *twin = sqlx::query_scalar(
                    "SELECT r.id FROM lab.runs r \
                     WHERE r.state = 'queued' AND r.priority = 1 AND r.spec = $1 \
                       AND NOT lab.run_held(r.id, r.learner) AND r.id <> ALL($2) \
                     ORDER BY r.place, r.seq LIMIT 1 FOR UPDATE OF r",
                )
                .bind(Json(spec))
                .bind(&taken)
                .fetch_optional(&mut *tx)
                .await?;
                taken.extend(twin.clone());
            }
        }
        let (all, mine, from_address): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE learner = $1), count(*) FILTER (WHERE address = $2 AND priority = 1) \
             FROM lab.runs WHERE state = 'queued'",
        )
        .bind(learner)
        .bind(address)
        .fetch_one(&mut *tx)
        .await?;
        let ask = Ask {
            learner: learner.is_some(),
            runs: specs.len(),
            joining: twins.iter().filter(|t| t.is_some()).count(),
            largest,
            locked,
            paused,
            waiting: all.max(0) as usize,
            mine: mine.max(0) as usize,
            from_address: from_address.max(0) as usize,
        };
        admit(&ask, &self.caps, address.unwrap_or_default())?;
        if let Some(id) = learner {
            sqlx::query("INSERT INTO lab.learners (id) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let mut joined = Vec::with_capacity(specs.len());
        for (spec, twin) in specs.iter().zip(twins) {
            let (id, shared) = match twin {
                Some(id) => (id, true),
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO lab.runs (id, submitted_at, state, spec, learner, address, priority, cost_ms) \
                         VALUES ($1, now(), 'queued', $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(Json(spec))
                    .bind(learner)
                    .bind(address)
                    .bind(if learner.is_some() { 1i32 } else { 0 })
                    .bind(i64::try_from(fair::worker_time_ms(spec)).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
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
        if joined.iter().any(|j| !j.shared) {
            put_in_place(&mut tx).await?;
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

    /// Hands the next waiting run by the fair rule (not held back by the instructor's pause) to
    /// `worker`, marking it running under a lease its coordinator must keep renewing. None when
    /// nothing waits.
    pub async fn claim(&self, worker: &str, lease: std::time::Duration) -> Result<Option<Claimed>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query(LINE_LOCK).execute(&mut *tx).await?;
        // The use of the moment may have moved runs since the last join: places first, then the
        // first of them (a run cancelled meanwhile is passed over).
        for id in put_in_place(&mut tx).await? {
            let row: Option<Json<RunSpec>> = sqlx::query_scalar(
                "UPDATE lab.runs SET state = 'running', worker = $2, started_at = now(), \
                                     lease_until = now() + make_interval(secs => $3) \
                 WHERE id = $1 AND state = 'queued' AND NOT lab.run_held(id, learner) \
                 RETURNING spec",
            )
            .bind(&id)
            .bind(worker)
            .bind(lease.as_secs_f64())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(Json(spec)) = row else { continue };
            let learners: Vec<String> = sqlx::query_scalar(
                "SELECT learner FROM lab.run_learners WHERE run_id = $1 ORDER BY joined_at, learner",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Some(Claimed { id, spec, learners }));
        }
        tx.commit().await?;
        Ok(None)
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
             FROM lab.runs r WHERE r.state = 'queued' ORDER BY r.priority, r.place, r.seq",
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
             ORDER BY r.state DESC, r.priority, r.place, r.seq",
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

/// Puts every waiting run in its place by the fair rule, with the use of the moment (the worker
/// time each learner and address had in the last [`FAIR_WINDOW`]), under the line's lock. Only
/// runs whose place changes are written. Returns the runs that are not held, first to go first.
async fn put_in_place(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<Vec<String>, sqlx::Error> {
    type Row = (String, Option<String>, Option<String>, i64, bool, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.learner, r.address, r.cost_ms, lab.run_held(r.id, r.learner), r.place \
         FROM lab.runs r WHERE r.state = 'queued' ORDER BY r.seq",
    )
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let spent: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT learner, coalesce(address, ''), sum(cost_ms)::bigint FROM lab.runs \
         WHERE priority = 1 AND learner IS NOT NULL AND started_at > now() - make_interval(secs => $1) \
         GROUP BY learner, address",
    )
    .bind(FAIR_WINDOW.as_secs_f64())
    .fetch_all(&mut **tx)
    .await?;
    let mut used = Used::default();
    for (learner, address, ms) in &spent {
        used.charge(learner, address, (*ms).max(0) as u64);
    }
    let waiting: Vec<Waiting> = rows
        .iter()
        .map(|(_, learner, address, cost_ms, held, _)| Waiting {
            learner: learner.clone(),
            address: address.clone().unwrap_or_default(),
            cost_ms: (*cost_ms).max(0) as u64,
            held: *held,
        })
        .collect();
    let order = fair::order(&waiting, &used);
    // New places keep the old ones where the order allows (each must be above the one before),
    // so a run added at the end or a run taken from the front rewrites nothing else.
    let (mut ids, mut places) = (Vec::new(), Vec::new());
    let mut last = i64::MIN;
    for &i in &order {
        let (id, .., current) = &rows[i];
        let place = if *current > last { *current } else { last.saturating_add(1) };
        if place != *current {
            ids.push(id.clone());
            places.push(place);
        }
        last = place;
    }
    if !ids.is_empty() {
        sqlx::query(
            "UPDATE lab.runs r SET place = p.place FROM unnest($1::text[], $2::bigint[]) AS p(id, place) \
             WHERE r.id = p.id",
        )
        .bind(&ids)
        .bind(&places)
        .execute(&mut **tx)
        .await?;
    }
    Ok(order.into_iter().filter(|&i| !rows[i].4).map(|i| rows[i].0.clone()).collect())
}

fn new_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admission_rule_decides_from_what_is_asked_and_what_waits() {
        let caps = Caps { capacity: 10, per_learner: 2, per_address: 3, learner_max_requests: 100, share_runs: true };
        let learner = Ask { learner: true, runs: 1, largest: 10, ..Ask::default() };
        let instructor = Ask { learner: false, ..learner };
        let sweep = Ask { runs: 4, ..learner };
        // A learner's run identical to one already waiting, and a sweep of which some points are.
        let joins = Ask { joining: 1, ..learner };
        let half_shared = Ask { joining: 2, ..sweep };
        type Want = fn(&Result<(), LineError>) -> bool;
        let ok: Want = |r| r.is_ok();
        let cases: Vec<(Ask, Want, &str)> = vec![
            (learner, ok, "an empty line takes a learner's run"),
            (
                Ask { largest: 101, ..learner },
                |r| matches!(r, Err(LineError::TooBig { asked: 101, max: 100 })),
                "too big",
            ),
            (Ask { largest: 5_000, ..instructor }, ok, "the instructor's runs are not limited in size"),
            (Ask { waiting: 10, ..learner }, |r| matches!(r, Err(LineError::Full(10))), "a full line"),
            (
                Ask { waiting: 10, ..instructor },
                |r| matches!(r, Err(LineError::Full(10))),
                "full for the instructor too",
            ),
            (
                Ask { waiting: 8, ..sweep },
                |r| matches!(r, Err(LineError::NoRoomForSweep { room: 2, needed: 4 })),
                "no room for a sweep",
            ),
            (Ask { locked: true, ..learner }, |r| matches!(r, Err(LineError::Locked)), "locked"),
            (Ask { locked: true, ..instructor }, ok, "the instructor runs in a locked lab"),
            (Ask { paused: true, ..learner }, |r| matches!(r, Err(LineError::Paused)), "paused"),
            (
                Ask { paused: true, mine: 2, ..learner },
                |r| matches!(r, Err(LineError::Paused)),
                "paused says so before the limit",
            ),
            (Ask { mine: 1, ..learner }, ok, "a second run of one's own"),
            (Ask { mine: 2, ..learner }, |r| matches!(r, Err(LineError::LearnerLimit(2))), "the learner's share"),
            (Ask { mine: 2, ..instructor }, ok, "the instructor has no share"),
            (Ask { from_address: 2, ..learner }, ok, "the address's third"),
            (
                Ask { from_address: 3, ..learner },
                |r| matches!(r, Err(LineError::AddressLimit { waiting: 3, cap: 3, .. })),
                "the address's share",
            ),
            (sweep, ok, "a sweep goes in whole when nothing else waits"),
            (
                Ask { runs: 9, ..sweep },
                |r| matches!(r, Err(LineError::SweepShare { room: 8, needed: 9 })),
                "a learner's sweep leaves a quarter of the line (2 of 10) to others",
            ),
            (Ask { runs: 8, ..sweep }, ok, "a sweep that leaves a quarter free"),
            (
                Ask { waiting: 5, ..sweep },
                |r| matches!(r, Err(LineError::SweepShare { room: 3, needed: 4 })),
                "the quarter is kept with others' runs waiting too",
            ),
            (Ask { runs: 10, ..Ask { learner: false, ..sweep } }, ok, "the instructor's sweep may fill the line"),
            (
                Ask { mine: 1, ..sweep },
                |r| matches!(r, Err(LineError::SweepWhileWaiting(1))),
                "not beside the learner's own",
            ),
            (
                Ask { from_address: 1, ..sweep },
                |r| matches!(r, Err(LineError::AddressLimit { waiting: 1, .. })),
                "not beside the address's",
            ),
            (Ask { waiting: 10, ..joins }, ok, "joining a waiting run takes no place in a full line"),
            (Ask { mine: 2, ..joins }, ok, "joining is past the learner's share"),
            (Ask { from_address: 3, ..joins }, ok, "joining is past the address's share"),
            (Ask { locked: true, ..joins }, |r| matches!(r, Err(LineError::Locked)), "a locked lab refuses joins"),
            (Ask { paused: true, ..joins }, |r| matches!(r, Err(LineError::Paused)), "a paused learner joins nothing"),
            (
                Ask { largest: 101, ..joins },
                |r| matches!(r, Err(LineError::TooBig { asked: 101, max: 100 })),
                "too big is too big, shared or not",
            ),
            (
                Ask { waiting: 9, ..half_shared },
                |r| matches!(r, Err(LineError::NoRoomForSweep { room: 1, needed: 2 })),
                "a sweep needs room only for the points it does not join",
            ),
            (Ask { waiting: 6, ..half_shared }, ok, "room for the points of its own"),
            (
                Ask { waiting: 8, ..half_shared },
                |r| matches!(r, Err(LineError::SweepShare { room: 0, needed: 2 })),
                "and for the quarter kept for others",
            ),
            (
                Ask { mine: 1, ..half_shared },
                |r| matches!(r, Err(LineError::SweepWhileWaiting(1))),
                "the points of its own still go in whole",
            ),
            (Ask { joining: 3, mine: 1, ..sweep }, ok, "a sweep with one point of its own counts as one run"),
            (
                Ask { joining: 3, mine: 2, ..sweep },
                |r| matches!(r, Err(LineError::LearnerLimit(2))),
                "that one point is within the learner's share",
            ),
            (
                Ask { joining: 4, mine: 2, from_address: 3, waiting: 10, ..sweep },
                ok,
                "a sweep all joined takes nothing",
            ),
        ];
        for (ask, want, why) in cases {
            let got = admit(&ask, &caps, "10.0.0.1");
            assert!(want(&got), "{why}: {ask:?} gave {got:?}");
        }
    }
}
