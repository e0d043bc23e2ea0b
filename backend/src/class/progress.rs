//! What learners report, and how much of it the class keeps.
//!
//! A learner's page reports each step twice (the prediction at Run, the measured figure at the
//! end). A report names a real step of the loaded course ([`ValidReport::parse`]: anything else
//! is a `422`), its figures are numbers a run could measure, and a learner has one row per step
//! (a later report fills in the earlier one).
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

use poollab_shared::{Lesson, PredictionHistogram, StepReport};

use crate::class::Class;
use crate::class::identity::Learner;

/// Longest display name kept.
const MAX_NAME: usize = 40;
/// The largest figure a report may carry (milliseconds, connections, requests per second: a
/// billion is more than any run measures).
pub const MAX_FIGURE: f64 = 1e9;
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
    #[error("the lab's database, which keeps the class's progress, is unreachable: {0}")]
    Database(#[from] sqlx::Error),
}

/// A report about a real step, with figures a run could measure: only these reach the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReport(StepReport);

impl ValidReport {
    /// Checks a report against the course: its lesson and step exist, its figures are finite and
    /// between 0 and [`MAX_FIGURE`]; its name is trimmed to [`MAX_NAME`] printable characters.
    /// Whether a prediction was close is the lab's to work out, so the page's is dropped.
    pub fn parse(mut report: StepReport, lessons: &[Lesson]) -> Result<ValidReport, ProgressError> {
        let steps = lessons.iter().find(|l| l.id == report.lesson).map_or(0, |l| l.steps.len());
        if report.step == 0 || report.step as usize > steps {
            let lesson: String = report.lesson.chars().take(80).collect();
            return Err(ProgressError::Invalid(format!("no step {} in lesson {lesson:?}", report.step)));
        }
        for (field, value) in [("prediction", report.prediction), ("measured", report.measured)] {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=MAX_FIGURE).contains(&v))
            {
                return Err(ProgressError::Invalid(format!(
                    "{field} must be a number between 0 and {MAX_FIGURE} (got {v})"
                )));
            }
        }
        // -0 is 0, so no exported cell starts with a minus sign.
        report.prediction = report.prediction.map(|v| v + 0.0);
        report.measured = report.measured.map(|v| v + 0.0);
        report.name = report.name.map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned());
        report.name = report.name.map(|n| n.chars().take(MAX_NAME).collect());
        report.close = None;
        Ok(ValidReport(report))
    }

    pub fn get(&self) -> &StepReport {
        &self.0
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

/// One learner's reports, by step (`<lesson>/<step>`).
#[derive(Debug, Clone, Default)]
pub struct LearnerProgress {
    pub name: String,
    pub steps: BTreeMap<String, StepReport>,
}

/// Of learners kept, the one to give way first (unnamed before named, then the longest silent),
/// among those silent for longer than `$1` seconds (and from address `$2` when it is given).
const STALEST: &str = "SELECT id FROM lab.learners \
     WHERE reported_at IS NOT NULL AND reported_at < now() - make_interval(secs => $1) \
       AND ($2::text IS NULL OR address = $2) \
     ORDER BY (name <> ''), reported_at, id LIMIT 1";

impl Class {
    /// Records a learner's report on a step (a later report fills in what an earlier one left
    /// out: the prediction comes at Run, the measured figure at the end).
    pub async fn report(&self, learner: &Learner, report: ValidReport) -> Result<(), ProgressError> {
        let ValidReport(report) = report;
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
        .bind(&report.name)
        .bind(&learner.address)
        .execute(&mut *tx)
        .await?;
        let earlier: Option<(Option<f64>, Option<f64>, Option<bool>)> = sqlx::query_as(
            "SELECT prediction, measured, passed FROM lab.progress WHERE learner = $1 AND lesson = $2 AND step = $3 \
             FOR UPDATE",
        )
        .bind(&learner.id)
        .bind(&report.lesson)
        .bind(report.step as i32)
        .fetch_optional(&mut *tx)
        .await?;
        let mut step = report.clone();
        if let Some((prediction, measured, passed)) = earlier {
            step = StepReport { prediction, measured, passed, close: None, ..report.clone() };
        }
        step.merge(&report);
        sqlx::query(
            "INSERT INTO lab.progress (learner, lesson, step, prediction, measured, passed, close, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) \
             ON CONFLICT (learner, lesson, step) DO UPDATE SET prediction = $4, measured = $5, passed = $6, \
               close = $7, updated_at = now()",
        )
        .bind(&learner.id)
        .bind(&step.lesson)
        .bind(step.step as i32)
        .bind(step.prediction)
        .bind(step.measured)
        .bind(step.passed)
        .bind(step.close)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Everyone's progress, by learner id.
    pub async fn progress(&self) -> Result<BTreeMap<String, LearnerProgress>, sqlx::Error> {
        type Row = (String, String, String, i32, Option<f64>, Option<f64>, Option<bool>, Option<bool>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.learner, l.name, p.lesson, p.step, p.prediction, p.measured, p.passed, p.close \
             FROM lab.progress p JOIN lab.learners l ON l.id = p.learner ORDER BY p.learner, p.lesson, p.step",
        )
        .fetch_all(&self.db)
        .await?;
        let mut all: BTreeMap<String, LearnerProgress> = BTreeMap::new();
        for (learner, name, lesson, step, prediction, measured, passed, close) in rows {
            let entry = all.entry(learner).or_default();
            entry.name = name;
            let report =
                StepReport { lesson, step: step.max(0) as u32, name: None, prediction, measured, passed, close };
            entry.steps.insert(format!("{}/{}", report.lesson, report.step), report);
        }
        Ok(all)
    }

    /// The class's predictions (and measured figures) for one step.
    pub async fn predictions(&self, lesson: &str, step: u32) -> Result<PredictionHistogram, sqlx::Error> {
        let rows: Vec<(Option<f64>, Option<f64>, Option<bool>)> =
            sqlx::query_as("SELECT prediction, measured, close FROM lab.progress WHERE lesson = $1 AND step = $2")
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

/// `progress.csv`: one row per learner and step, written by the `csv` crate (quoted where a
/// field needs it), every text cell made [`spreadsheet_safe`].
pub fn progress_csv(progress: &BTreeMap<String, LearnerProgress>) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["learner", "name", "lesson", "step", "prediction", "measured", "passed", "close"])?;
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
                &flag(r.passed),
                &flag(r.close),
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
            measured: None,
            passed: None,
            close: Some(true),
        }
    }

    #[test]
    fn only_real_steps_and_figures_a_run_could_measure_are_kept() {
        let lessons = lessons();
        let first = &lessons[0];
        let n = first.steps.len() as u32;
        let cases: &[(&str, u32, Option<f64>, bool, &str)] = &[
            (&first.id, 1, Some(10.0), true, "a real step"),
            (&first.id, n, None, true, "the last step"),
            (&first.id, 0, None, false, "steps count from 1"),
            (&first.id, n + 1, None, false, "past the last step"),
            ("made-up-lesson", 1, None, false, "no such lesson"),
            (&first.id, 1, Some(f64::NAN), false, "not a number"),
            (&first.id, 1, Some(f64::INFINITY), false, "infinite"),
            (&first.id, 1, Some(-1.0), false, "negative"),
            (&first.id, 1, Some(2e9), false, "more than any run measures"),
        ];
        for (lesson, step, prediction, ok, why) in cases {
            let parsed = ValidReport::parse(report(lesson, *step, *prediction), &lessons);
            assert_eq!(parsed.is_ok(), *ok, "{why}: {parsed:?}");
        }
        let kept = ValidReport::parse(report(&first.id, 1, Some(-0.0)), &lessons).expect("valid");
        assert_eq!(kept.get().name.as_deref(), Some("Ann"), "trimmed, control characters dropped");
        assert_eq!(kept.get().close, None, "the page's verdict is not taken");
        assert!(kept.get().prediction.is_some_and(|p| p.is_sign_positive()), "-0 is 0");
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
            StepReport {
                lesson: "l".into(),
                step: 1,
                name: None,
                prediction: Some(10.0),
                measured: Some(71.5),
                passed: Some(true),
                close: Some(false),
            },
        );
        progress.insert("l-0000000000000001".to_owned(), ann);
        let mut bob = LearnerProgress { name: "@SUM(A1)\nnext".into(), ..Default::default() };
        bob.steps.insert(
            "l/2".into(),
            StepReport {
                lesson: "l".into(),
                step: 2,
                name: None,
                prediction: None,
                measured: None,
                passed: None,
                close: None,
            },
        );
        progress.insert("l-0000000000000002".to_owned(), bob);
        let csv = String::from_utf8(progress_csv(&progress).expect("csv")).expect("utf-8");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("a CSV reader reads it");
        assert_eq!(rows.len(), 2, "{csv}");
        assert_eq!(&rows[0][1], "'=HYPERLINK(\"http://x\",\"a, b\")", "the formula is text, its commas kept in");
        assert_eq!((&rows[0][4], &rows[0][5], &rows[0][6], &rows[0][7]), ("10", "71.5", "true", "false"));
        assert_eq!(&rows[1][1], "'@SUM(A1)\nnext");
        for cases in [("+1", "'+1"), ("-1", "'-1"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ann", "Ann"), ("", "")] {
            assert_eq!(spreadsheet_safe(cases.0), cases.1);
        }
    }
}
