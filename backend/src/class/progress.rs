//! What learners report, and how much of it the class keeps.
//!
//! A learner's page reports a step once, when its run (or sweep) is done: the learner's
//! prediction, and which run measured it. A report names a real step of the loaded course
//! ([`ValidReport::parse`]: anything else is a `422`), and the lab grades it on the stored run
//! ([`crate::class::grade`]): the learner's own or shared, of that step, done. What was measured,
//! whether the prediction was close and whether the claim held are the lab's; a learner has one
//! row per step, the latest graded run's.
//!
//! Learners are anonymous, and a script can make up as many as it likes, so the class keeps the
//! progress of at most [`ProgressCaps::learners`] learners, and of at most
//! [`ProgressCaps::per_address`] from any one address. What a teacher expects when the class is
//! full: nobody who is taking part loses anything, and a newcomer still gets in if anyone has
//! left. So a learner not heard from for [`ProgressCaps::stale_after`] gives way to a new one (one
//! who never gave a name first, then the longest silent); their rows go, their runs stay. If
//! nobody is stale, the newcomer is refused (`429`) and told why; a script that makes up learners
//! from one address fills only its own address's share and then pushes out only its own.

use std::collections::BTreeMap;
use std::time::Duration;

use poollab_shared::{Lesson, PredictionHistogram, RunState, ServerFacts, Step, StepProgress, StepReport, StepVerdict};
use poollab_shared::{RunSpec, Summary};
use sqlx::types::Json;

use crate::class::Class;
use crate::class::grade::{Measured, StoredRun, check_run, check_sweep, grade, sweep_points};
use crate::class::identity::Who;

/// Longest display name kept.
const MAX_NAME: usize = 40;
/// The largest prediction a report may carry (milliseconds, connections, requests per second: a
/// billion is more than any run measures).
pub const MAX_FIGURE: f64 = 1e9;
/// The longest run or sweep id a report may name (the lab's are 16 characters).
const MAX_ID: usize = 64;
/// The advisory lock under which a newcomer's place is counted.
const REPORTERS_LOCK: i64 = 0x0070_726f_6772_6573; // "progres"

/// How many learners' progress the class keeps.
#[derive(Debug, Clone, Copy)]
pub struct ProgressCaps {
    /// Learners kept in all.
    pub learners: usize,
    /// Learners kept whose latest report came from one address.
    pub per_address: usize,
    /// Silence after which a learner gives way to a newcomer when the class is full.
    pub stale_after: Duration,
}

impl Default for ProgressCaps {
    fn default() -> Self {
        ProgressCaps { learners: 2_000, per_address: 100, stale_after: Duration::from_secs(15 * 60) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// A report that is not about a real step, or carries figures no run measures (422).
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{cap} learners from your address ({address}) are in the class already, and none has been quiet long \
         enough to give way: ask your instructor to raise --max-learners-per-address"
    )]
    AddressFull { address: String, cap: usize },
    #[error(
        "the class is full ({cap} learners), and none has been quiet long enough to give way: ask your \
         instructor to raise --max-learners"
    )]
    ClassFull { cap: usize },
    /// The report names a run (or sweep) the lab does not have (404).
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    /// The report names a run that is neither the learner's nor shared with them (403).
    #[error("run {id} is not yours: a step is graded on your own run, or one you shared")]
    NotYours { id: String },
    /// The report names a run that is not of the step's experiment (422).
    #[error("{id} is not a run of step {step} of lesson {lesson:?}: its experiment is another")]
    OtherStep { id: String, lesson: String, step: u32 },
    /// The report names a run that is waiting, running, or failed (409).
    #[error("run {id} is {}: a step is graded on a run that is done", .state.as_str())]
    NotDone { id: String, state: RunState },
    #[error("the lab's database, which keeps the class's progress, is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a report names as the measurement of its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Run(String),
    Sweep(String),
}

/// A report about a real step, with a prediction in range and the run (or sweep) that measured
/// it named: only these are graded.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReport {
    lesson: String,
    number: u32,
    step: Step,
    name: Option<String>,
    prediction: Option<f64>,
    named: Named,
}

impl ValidReport {
    /// Checks a report against the course: its lesson and step exist, its prediction is finite
    /// and between 0 and [`MAX_FIGURE`], and it names a run for a run step or a sweep for a sweep
    /// step; its name is trimmed to [`MAX_NAME`] printable characters. Whatever else it claims
    /// was never read.
    pub fn parse(report: StepReport, lessons: &[Lesson]) -> Result<ValidReport, ProgressError> {
        let lesson: String = report.lesson.chars().take(80).collect();
        let step = lessons
            .iter()
            .find(|l| l.id == report.lesson)
            .and_then(|l| l.steps.get((report.step as usize).checked_sub(1)?))
            .ok_or_else(|| ProgressError::Invalid(format!("no step {} in lesson {lesson:?}", report.step)))?;
        if let Some(v) = report.prediction
            && !(v.is_finite() && (0.0..=MAX_FIGURE).contains(&v))
        {
            return Err(ProgressError::Invalid(format!(
                "prediction must be a number between 0 and {MAX_FIGURE} (got {v})"
            )));
        }
        let at = format!("step {} of lesson {lesson:?}", report.step);
        let named = match (report.run, report.sweep, step.sweep.is_empty()) {
            (Some(run), None, true) => Named::Run(run),
            (None, Some(sweep), false) => Named::Sweep(sweep),
            (_, _, true) => {
                return Err(ProgressError::Invalid(format!("{at} is one run: the report names it as \"run\"")));
            }
            (_, _, false) => {
                return Err(ProgressError::Invalid(format!("{at} is a sweep: the report names it as \"sweep\"")));
            }
        };
        let (Named::Run(id) | Named::Sweep(id)) = &named;
        if id.is_empty() || id.chars().count() > MAX_ID || id.chars().any(char::is_control) {
            return Err(ProgressError::Invalid(format!("not an id the lab gives: at most {MAX_ID} characters")));
        }
        let name = report.name.map(|n| {
            let n = n.chars().filter(|c| !c.is_control()).collect::<String>();
            n.trim().chars().take(MAX_NAME).collect()
        });
        Ok(ValidReport {
            lesson: report.lesson,
            number: report.step,
            step: step.clone(),
            name,
            // -0 is 0, so no exported cell starts with a minus sign.
            prediction: report.prediction.map(|v| v + 0.0),
            named,
        })
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn prediction(&self) -> Option<f64> {
        self.prediction
    }
}

/// The learners whose progress is kept, as a newcomer finds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reporters {
    /// Learners kept.
    pub kept: usize,
    /// Of them, those whose latest report came from the newcomer's address.
    pub at_address: usize,
    /// The one of those who would give way first, if any is stale.
    pub stale_at_address: Option<String>,
    /// The one of all who would give way first, if any is stale.
    pub stale_anywhere: Option<String>,
}

/// What a newcomer's first report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Room {
    /// There is room.
    Free,
    /// This learner gives way.
    GiveWay(String),
}

/// The rule that lets a newcomer into a full class: their address's share first, then the class.
pub fn make_room(r: &Reporters, caps: &ProgressCaps, address: &str) -> Result<Room, ProgressError> {
    if r.at_address >= caps.per_address {
        return r
            .stale_at_address
            .clone()
            .map(Room::GiveWay)
            .ok_or_else(|| ProgressError::AddressFull { address: address.to_owned(), cap: caps.per_address });
    }
    if r.kept >= caps.learners {
        return r.stale_anywhere.clone().map(Room::GiveWay).ok_or(ProgressError::ClassFull { cap: caps.learners });
    }
    Ok(Room::Free)
}

/// One learner's graded steps, by step (`<lesson>/<step>`).
#[derive(Debug, Clone, Default)]
pub struct LearnerProgress {
    pub name: String,
    pub steps: BTreeMap<String, StepProgress>,
}

/// Of learners kept, the one to give way first (unnamed before named, then the longest silent),
/// among those silent for longer than `$1` seconds (and from address `$2` when it is given).
const STALEST: &str = "SELECT id FROM lab.learners \
     WHERE reported_at IS NOT NULL AND reported_at < now() - make_interval(secs => $1) \
       AND ($2::text IS NULL OR address = $2) \
     ORDER BY (name <> ''), reported_at, id LIMIT 1";

/// A stored run as a report on it needs: its state, spec and summary, the server's facts from its
/// last frame, and whether learner `$2` is on it (anyone is, when `$2` is null: the instructor).
const STORED_RUN: &str = "SELECT r.state, r.spec, r.summary, r.frames -> (-1) -> 'server', \
       ($2::text IS NULL OR EXISTS (SELECT 1 FROM lab.run_learners rl WHERE rl.run_id = r.id AND rl.learner = $2)) \
     FROM lab.runs r WHERE r.id = $1";

/// What a checked report is graded on.
enum Graded {
    Run(StoredRun),
    Sweep { points: Vec<poollab_shared::SweepPoint>, server: ServerFacts },
}

impl Graded {
    fn verdict(&self, step: &Step, prediction: Option<f64>) -> StepVerdict {
        match self {
            Graded::Run(run) => {
                let summary = run.summary.clone().unwrap_or_default();
                grade(step, run.server, Measured::Run(&summary), prediction)
            }
            Graded::Sweep { points, server } => grade(step, *server, Measured::Sweep(points), prediction),
        }
    }
}

impl Class {
    /// A stored run, as `learner` may report it (none if the lab has no such run).
    async fn stored_run(&self, id: &str, learner: Option<&str>) -> Result<Option<StoredRun>, sqlx::Error> {
        type Row = (String, Json<RunSpec>, Option<Json<Summary>>, Option<Json<ServerFacts>>, bool);
        let row: Option<Row> = sqlx::query_as(STORED_RUN).bind(id).bind(learner).fetch_optional(&self.db).await?;
        Ok(row.map(|(state, Json(spec), summary, server, theirs)| StoredRun {
            id: id.to_owned(),
            state: crate::db::store::parse_state(&state),
            spec,
            summary: summary.map(|Json(s)| s),
            server: server.map(|Json(s)| s).unwrap_or_default(),
            theirs,
        }))
    }

    /// Reads and checks what a report names ([`crate::class::grade`]).
    async fn graded(&self, report: &ValidReport, learner: Option<&str>) -> Result<Graded, ProgressError> {
        let (lesson, number, step) = (&report.lesson, report.number, &report.step);
        match &report.named {
            Named::Run(id) => {
                let run = self
                    .stored_run(id, learner)
                    .await?
                    .ok_or_else(|| ProgressError::NotFound { what: "run", id: id.clone() })?;
                check_run(&run, step, lesson, number)?;
                Ok(Graded::Run(run))
            }
            Named::Sweep(id) => {
                let points: Option<Json<Vec<(u32, String)>>> =
                    sqlx::query_scalar("SELECT points FROM lab.sweeps WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.db)
                        .await?;
                let Json(points) = points.ok_or_else(|| ProgressError::NotFound { what: "sweep", id: id.clone() })?;
                let mut runs = Vec::with_capacity(points.len());
                for (size, run_id) in points.into_iter().take(poollab_shared::MAX_SWEEP_SIZES + 1) {
                    let run = self
                        .stored_run(&run_id, learner)
                        .await?
                        .ok_or_else(|| ProgressError::NotFound { what: "run", id: run_id.clone() })?;
                    runs.push((size, run));
                }
                check_sweep(id, &runs, step, lesson, number)?;
                // The server as the sweep's last run saw it (the run the page shows last).
                let server = runs.last().map(|(_, r)| r.server).unwrap_or_default();
                Ok(Graded::Sweep { points: sweep_points(&runs), server })
            }
        }
    }

    /// Grades a report on the run (or sweep) it names, and keeps a learner's (the instructor's
    /// is graded and not kept). A learner's row for the step becomes the graded run's; reported
    /// again on the same run, the prediction first reported with it stands.
    pub async fn report(&self, who: &Who, report: ValidReport) -> Result<StepVerdict, ProgressError> {
        let Who::Learner(learner) = who else {
            let graded = self.graded(&report, None).await?;
            return Ok(graded.verdict(&report.step, report.prediction));
        };
        let graded = self.graded(&report, Some(&learner.id)).await?;
        let (Named::Run(run_id) | Named::Sweep(run_id)) = &report.named;
        let stale = self.caps.stale_after.as_secs_f64();
        let mut tx = self.db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(REPORTERS_LOCK).execute(&mut *tx).await?;
        let kept: Option<bool> = sqlx::query_scalar("SELECT reported_at IS NOT NULL FROM lab.learners WHERE id = $1")
            .bind(&learner.id)
            .fetch_optional(&mut *tx)
            .await?;
        if kept != Some(true) {
            let (all, here): (i64, i64) = sqlx::query_as(
                "SELECT count(*), count(*) FILTER (WHERE address = $1) FROM lab.learners WHERE reported_at IS NOT NULL",
            )
            .bind(&learner.address)
            .fetch_one(&mut *tx)
            .await?;
            let stalest = |address: Option<&str>| {
                sqlx::query_scalar::<_, String>(STALEST).bind(stale).bind(address.map(str::to_owned))
            };
            let reporters = Reporters {
                kept: all.max(0) as usize,
                at_address: here.max(0) as usize,
                stale_at_address: stalest(Some(&learner.address)).fetch_optional(&mut *tx).await?,
                stale_anywhere: stalest(None).fetch_optional(&mut *tx).await?,
            };
            if let Room::GiveWay(gone) = make_room(&reporters, &self.caps, &learner.address)? {
                tracing::info!(learner = %gone, "a quiet learner gives way to a new one: their progress is dropped");
                sqlx::query("DELETE FROM lab.progress WHERE learner = $1").bind(&gone).execute(&mut *tx).await?;
                sqlx::query("UPDATE lab.learners SET reported_at = NULL WHERE id = $1")
                    .bind(&gone)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(
            "INSERT INTO lab.learners (id, name, address, reported_at) VALUES ($1, coalesce($2, ''), $3, now()) \
             ON CONFLICT (id) DO UPDATE SET name = coalesce($2, lab.learners.name), address = $3, reported_at = now()",
        )
        .bind(&learner.id)
        .bind(report.name())
        .bind(&learner.address)
        .execute(&mut *tx)
        .await?;
        let earlier: Option<(Option<f64>, Option<String>)> = sqlx::query_as(
            "SELECT prediction, run FROM lab.progress WHERE learner = $1 AND lesson = $2 AND step = $3 FOR UPDATE",
        )
        .bind(&learner.id)
        .bind(&report.lesson)
        .bind(report.number as i32)
        .fetch_optional(&mut *tx)
        .await?;
        // A prediction is made once for a run: seeing what it measured and reporting it again
        // with another guess changes nothing.
        let prediction = match earlier {
            Some((prediction, Some(earlier_run))) if earlier_run == *run_id => prediction,
            _ => report.prediction,
        };
        let verdict = graded.verdict(&report.step, prediction);
        sqlx::query(
            "INSERT INTO lab.progress (learner, lesson, step, run, prediction, measured, passed, close, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) \
             ON CONFLICT (learner, lesson, step) DO UPDATE SET run = $4, prediction = $5, measured = $6, \
               passed = $7, close = $8, updated_at = now()",
        )
        .bind(&learner.id)
        .bind(&report.lesson)
        .bind(report.number as i32)
        .bind(run_id)
        .bind(prediction)
        .bind(verdict.measured)
        .bind(verdict.claim_held)
        .bind(verdict.close)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(verdict)
    }

    /// Everyone's graded steps, by learner id (rows from before the lab graded reports, which
    /// carry what a browser claimed, are left out).
    pub async fn progress(&self) -> Result<BTreeMap<String, LearnerProgress>, sqlx::Error> {
        type Row = (String, String, String, i32, String, Option<f64>, Option<f64>, Option<bool>, Option<bool>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.learner, l.name, p.lesson, p.step, p.run, p.prediction, p.measured, p.passed, p.close \
             FROM lab.progress p JOIN lab.learners l ON l.id = p.learner WHERE p.run IS NOT NULL \
             ORDER BY p.learner, p.lesson, p.step",
        )
        .fetch_all(&self.db)
        .await?;
        let mut all: BTreeMap<String, LearnerProgress> = BTreeMap::new();
        for (learner, name, lesson, step, run, prediction, measured, passed, close) in rows {
            let entry = all.entry(learner).or_default();
            entry.name = name;
            let step = StepProgress {
                lesson,
                step: step.max(0) as u32,
                run,
                prediction,
                measured,
                passed: passed == Some(true),
                close,
            };
            entry.steps.insert(format!("{}/{}", step.lesson, step.step), step);
        }
        Ok(all)
    }

    /// The class's graded predictions (and what their runs measured) for one step.
    pub async fn predictions(&self, lesson: &str, step: u32) -> Result<PredictionHistogram, sqlx::Error> {
        let rows: Vec<(Option<f64>, Option<f64>, Option<bool>)> = sqlx::query_as(
            "SELECT prediction, measured, close FROM lab.progress WHERE lesson = $1 AND step = $2 AND run IS NOT NULL",
        )
        .bind(lesson)
        .bind(step as i32)
        .fetch_all(&self.db)
        .await?;
        let predicted: Vec<f64> = rows.iter().filter_map(|r| r.0).collect();
        let measured: Vec<f64> = rows.iter().filter_map(|r| r.1).collect();
        let mut histogram = PredictionHistogram::of(&predicted, &measured, 10);
        histogram.close = rows.iter().filter(|r| r.2 == Some(true)).count() as u64;
        Ok(histogram)
    }
}

/// A cell as a spreadsheet will read it: one that starts like a formula (`=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading `'`, so it is shown as text and never evaluated.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// `progress.csv`: one row per learner and graded step, written by the `csv` crate (quoted where a
/// field needs it), every text cell made [`spreadsheet_safe`].
pub fn progress_csv(progress: &BTreeMap<String, LearnerProgress>) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["learner", "name", "lesson", "step", "prediction", "measured", "passed", "close", "run"])?;
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let flag = |v: Option<bool>| v.map(|b| b.to_string()).unwrap_or_default();
    for (id, p) in progress {
        for r in p.steps.values() {
            out.write_record([
                spreadsheet_safe(id).as_ref(),
                spreadsheet_safe(&p.name).as_ref(),
                spreadsheet_safe(&r.lesson).as_ref(),
                &r.step.to_string(),
                spreadsheet_safe(&number(r.prediction)).as_ref(),
                spreadsheet_safe(&number(r.measured)).as_ref(),
                &r.passed.to_string(),
                &flag(r.close),
                spreadsheet_safe(&r.run).as_ref(),
            ])?;
        }
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lessons() -> Vec<Lesson> {
        crate::lessons::load().expect("the course")
    }

    fn report(lesson: &str, step: u32, prediction: Option<f64>) -> StepReport {
        StepReport {
            lesson: lesson.into(),
            step,
            name: Some("  Ann\u{7}  ".into()),
            prediction,
            run: Some("r-1".into()),
            sweep: None,
        }
    }

    #[test]
    fn only_real_steps_with_a_prediction_in_range_and_their_run_named_are_graded() {
        let lessons = lessons();
        let first = &lessons[0];
        let n = first.steps.len() as u32;
        let (sweep_lesson, sweep_step) = lessons
            .iter()
            .find_map(|l| l.steps.iter().position(|s| !s.sweep.is_empty()).map(|i| (l.id.as_str(), i as u32 + 1)))
            .expect("a sweep step");
        let named = |lesson: &str, step, run: Option<&str>, sweep: Option<&str>| StepReport {
            run: run.map(str::to_owned),
            sweep: sweep.map(str::to_owned),
            ..report(lesson, step, None)
        };
        let cases: Vec<(StepReport, bool, &str)> = vec![
            (report(&first.id, 1, Some(10.0)), true, "a real step"),
            (report(&first.id, n, None), true, "the last step, no prediction"),
            (report(&first.id, 0, None), false, "steps count from 1"),
            (report(&first.id, n + 1, None), false, "past the last step"),
            (report("made-up-lesson", 1, None), false, "no such lesson"),
            (report(&first.id, 1, Some(f64::NAN)), false, "not a number"),
            (report(&first.id, 1, Some(f64::INFINITY)), false, "infinite"),
            (report(&first.id, 1, Some(-1.0)), false, "negative"),
            (report(&first.id, 1, Some(2e9)), false, "more than any run measures"),
            (named(&first.id, 1, None, None), false, "no run named"),
            (named(&first.id, 1, None, Some("s-1")), false, "a sweep named for a run step"),
            (named(&first.id, 1, Some(""), None), false, "an empty id"),
            (named(&first.id, 1, Some(&"x".repeat(65)), None), false, "an id longer than any the lab gives"),
            (named(sweep_lesson, sweep_step, None, Some("s-1")), true, "a sweep step names its sweep"),
            (named(sweep_lesson, sweep_step, Some("r-1"), None), false, "a run named for a sweep step"),
        ];
        for (report, ok, why) in cases {
            let parsed = ValidReport::parse(report, &lessons);
            assert_eq!(parsed.is_ok(), ok, "{why}: {parsed:?}");
        }
        let kept = ValidReport::parse(report(&first.id, 1, Some(-0.0)), &lessons).expect("valid");
        assert_eq!(kept.name(), Some("Ann"), "trimmed, control characters dropped");
        assert!(kept.prediction().is_some_and(|p| p.is_sign_positive()), "-0 is 0");
    }

    #[test]
    fn a_newcomer_gets_in_when_there_is_room_or_someone_quiet_gives_way() {
        let caps = ProgressCaps { learners: 10, per_address: 3, stale_after: Duration::from_secs(60) };
        let r = |kept, at_address, here: Option<&str>, anywhere: Option<&str>| Reporters {
            kept,
            at_address,
            stale_at_address: here.map(str::to_owned),
            stale_anywhere: anywhere.map(str::to_owned),
        };
        let cases: Vec<(Reporters, Result<Room, &str>, &str)> = vec![
            (r(0, 0, None, None), Ok(Room::Free), "an empty class"),
            (r(9, 2, None, None), Ok(Room::Free), "one place left, also at the address"),
            (r(5, 3, None, Some("x")), Err("address"), "the address's share is taken, nobody there is quiet"),
            (r(5, 3, Some("a"), Some("x")), Ok(Room::GiveWay("a".into())), "a quiet one at the same address gives way"),
            (r(10, 1, None, None), Err("class"), "the class is full and nobody is quiet"),
            (r(10, 1, None, Some("x")), Ok(Room::GiveWay("x".into())), "the quietest of the class gives way"),
            (r(10, 3, Some("a"), Some("x")), Ok(Room::GiveWay("a".into())), "the address pays before the class"),
        ];
        for (reporters, want, why) in cases {
            let got = make_room(&reporters, &caps, "10.0.0.1");
            match (got, want) {
                (Ok(room), Ok(want)) => assert_eq!(room, want, "{why}"),
                (Err(ProgressError::AddressFull { cap: 3, .. }), Err("address")) => {}
                (Err(ProgressError::ClassFull { cap: 10 }), Err("class")) => {}
                (got, want) => panic!("{why}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn the_csv_quotes_what_needs_it_and_no_cell_is_a_formula() {
        let mut progress = BTreeMap::new();
        let mut ann = LearnerProgress { name: "=HYPERLINK(\"http://x\",\"a, b\")".into(), ..Default::default() };
        ann.steps.insert(
            "l/1".into(),
            StepProgress {
                lesson: "l".into(),
                step: 1,
                run: "0123456789abcdef".into(),
                prediction: Some(10.0),
                measured: Some(71.5),
                passed: true,
                close: Some(false),
            },
        );
        progress.insert("l-0000000000000001".to_owned(), ann);
        let mut bob = LearnerProgress { name: "@SUM(A1)\nnext".into(), ..Default::default() };
        bob.steps.insert(
            "l/2".into(),
            StepProgress {
                lesson: "l".into(),
                step: 2,
                run: "-1".into(),
                prediction: None,
                measured: Some(3.0),
                passed: false,
                close: None,
            },
        );
        progress.insert("l-0000000000000002".to_owned(), bob);
        let csv = String::from_utf8(progress_csv(&progress).expect("csv")).expect("utf-8");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("a CSV reader reads it");
        assert_eq!(rows.len(), 2, "{csv}");
        assert_eq!(&rows[0][1], "'=HYPERLINK(\"http://x\",\"a, b\")", "the formula is text, its commas kept in");
        assert_eq!(
            (&rows[0][4], &rows[0][5], &rows[0][6], &rows[0][7], &rows[0][8]),
            ("10", "71.5", "true", "false", "0123456789abcdef")
        );
        assert_eq!(&rows[1][1], "'@SUM(A1)\nnext");
        assert_eq!((&rows[1][4], &rows[1][6], &rows[1][7], &rows[1][8]), ("", "false", "", "'-1"));
        for cases in [("+1", "'+1"), ("-1", "'-1"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ann", "Ann"), ("", "")] {
            assert_eq!(spreadsheet_safe(cases.0), cases.1);
        }
    }
}
