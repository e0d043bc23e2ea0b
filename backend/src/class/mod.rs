//! The classroom: what the instructor has set for everyone, and what learners report.
//!
//! The instructor can lock the lab (only their runs are accepted), ask every page to follow a
//! lesson step, and arm a class burst that learners click into; every change is broadcast over the
//! websocket as a [`ClassState`]. Each learner's page reports every step (the prediction at Run,
//! the measurement at the end), which the instructor reads as progress and as the class's
//! predictions. All of it lives in the coordinator's database (`lab.class`, `lab.burst_clicks`,
//! `lab.learners`, `lab.progress`), so a restart loses none of it.
//!
//! - [`identity`]: who is asking (the instructor's token, learners' signed cookies).
//! - [`mod@line`]: the fair line runs wait in.

pub mod identity;
pub mod line;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use poollab_shared::{ClassBurst, ClassState, FollowStep, PredictionHistogram, RunSpec, StepReport};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;

/// Learners whose progress is kept (a class, with room; reports from more are refused).
pub const MAX_LEARNERS: i64 = 2_000;
/// Longest display name kept.
const MAX_NAME: usize = 40;

/// One learner's reports, by step (`<lesson>/<step>`).
#[derive(Debug, Clone, Default)]
pub struct LearnerProgress {
    pub name: String,
    pub steps: BTreeMap<String, StepReport>,
}

/// An armed class burst as the database keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ArmedBurst {
    run: RunSpec,
    per_click: u32,
}

pub struct Class {
    db: PgPool,
    /// The class as last read or written: what a new socket is told first.
    state: Mutex<ClassState>,
}

impl Class {
    /// The class as the database has it.
    pub async fn load(db: PgPool) -> Result<Class, sqlx::Error> {
        let class = Class { db, state: Mutex::new(ClassState::default()) };
        class.refresh().await?;
        Ok(class)
    }

    fn cached(&self) -> MutexGuard<'_, ClassState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The class as last known (for a new socket's first message).
    pub fn state(&self) -> ClassState {
        self.cached().clone()
    }

    /// Reads the class again (after another coordinator changed it, or a change of our own).
    pub async fn refresh(&self) -> Result<ClassState, sqlx::Error> {
        let (locked, follow, burst): (bool, Option<Json<FollowStep>>, Option<Json<ArmedBurst>>) =
            sqlx::query_as("SELECT locked, follow, burst FROM lab.class WHERE id = 1").fetch_one(&self.db).await?;
        let clicks: i64 = sqlx::query_scalar("SELECT count(*) FROM lab.burst_clicks").fetch_one(&self.db).await?;
        let state = ClassState {
            locked,
            follow: follow.map(|Json(f)| f),
            burst: burst.map(|Json(b)| ClassBurst {
                clicks: clicks.max(0) as u64,
                per_click: b.per_click,
                strategy: b.run.strategy,
            }),
        };
        *self.cached() = state.clone();
        Ok(state)
    }

    pub async fn set_locked(&self, locked: bool) -> Result<ClassState, sqlx::Error> {
        sqlx::query("UPDATE lab.class SET locked = $1 WHERE id = 1").bind(locked).execute(&self.db).await?;
        self.refresh().await
    }

    pub async fn set_follow(&self, follow: Option<FollowStep>) -> Result<ClassState, sqlx::Error> {
        sqlx::query("UPDATE lab.class SET follow = $1 WHERE id = 1").bind(follow.map(Json)).execute(&self.db).await?;
        self.refresh().await
    }

    /// Arms a class burst of `spec`, each learner's click adding `per_click` requests.
    pub async fn arm_burst(&self, run: RunSpec, per_click: u32) -> Result<ClassState, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE lab.class SET burst = $1 WHERE id = 1")
            .bind(Json(ArmedBurst { run, per_click }))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM lab.burst_clicks").execute(&mut *tx).await?;
        tx.commit().await?;
        self.refresh().await
    }

    /// A learner clicks in (once each); the new class state, or none if no burst is armed or the
    /// class is full.
    pub async fn click_burst(&self, learner: &str) -> Result<Option<ClassState>, sqlx::Error> {
        let added = sqlx::query(
            "INSERT INTO lab.burst_clicks (learner) \
             SELECT $1 WHERE EXISTS (SELECT 1 FROM lab.class WHERE id = 1 AND burst IS NOT NULL) \
               AND (SELECT count(*) FROM lab.burst_clicks) < $2 \
             ON CONFLICT DO NOTHING",
        )
        .bind(learner)
        .bind(MAX_LEARNERS)
        .execute(&self.db)
        .await?;
        let state = self.refresh().await?;
        let clicked = added.rows_affected() > 0 || {
            let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM lab.burst_clicks WHERE learner = $1")
                .bind(learner)
                .fetch_optional(&self.db)
                .await?;
            known.is_some()
        };
        Ok((state.burst.is_some() && clicked).then_some(state))
    }

    /// Takes the armed burst: its run spec sized by the clicks, and the new class state.
    pub async fn take_burst(&self) -> Result<Option<(RunSpec, ClassState)>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let burst: Option<Json<ArmedBurst>> =
            sqlx::query_scalar("SELECT burst FROM lab.class WHERE id = 1 FOR UPDATE").fetch_one(&mut *tx).await?;
        let Some(Json(ArmedBurst { mut run, per_click })) = burst else { return Ok(None) };
        let clicks: i64 = sqlx::query_scalar("SELECT count(*) FROM lab.burst_clicks").fetch_one(&mut *tx).await?;
        sqlx::query("UPDATE lab.class SET burst = NULL WHERE id = 1").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM lab.burst_clicks").execute(&mut *tx).await?;
        tx.commit().await?;
        let requests = (clicks.max(1) as u32).saturating_mul(per_click);
        run.requests = requests;
        run.concurrency = requests.min(1_000);
        Ok(Some((run, self.refresh().await?)))
    }

    /// Records a learner's report on a step (a later report fills in what an earlier one left
    /// out: the prediction comes at Run, the measured figure at the end). False when the class is
    /// full.
    pub async fn report(&self, learner: &str, mut report: StepReport) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM lab.progress WHERE learner = $1 LIMIT 1")
            .bind(learner)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            let reporting: i64 =
                sqlx::query_scalar("SELECT count(DISTINCT learner) FROM lab.progress").fetch_one(&mut *tx).await?;
            if reporting >= MAX_LEARNERS {
                return Ok(false);
            }
        }
        let name = report.name.take().map(|n| n.trim().chars().take(MAX_NAME).collect::<String>());
        sqlx::query(
            "INSERT INTO lab.learners (id, name) VALUES ($1, coalesce($2, '')) \
             ON CONFLICT (id) DO UPDATE SET name = coalesce($2, lab.learners.name)",
        )
        .bind(learner)
        .bind(&name)
        .execute(&mut *tx)
        .await?;
        let earlier: Option<(Option<f64>, Option<f64>, Option<bool>)> = sqlx::query_as(
            "SELECT prediction, measured, passed FROM lab.progress WHERE learner = $1 AND lesson = $2 AND step = $3 \
             FOR UPDATE",
        )
        .bind(learner)
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
        .bind(learner)
        .bind(&step.lesson)
        .bind(step.step as i32)
        .bind(step.prediction)
        .bind(step.measured)
        .bind(step.passed)
        .bind(step.close)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
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

    pub fn pool(&self) -> &PgPool {
        &self.db
    }
}
