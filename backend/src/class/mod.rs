//! The classroom: what the instructor has set for everyone, and what learners report.
//!
//! The instructor can lock the lab (only their runs are accepted), ask every page to follow a
//! lesson step, and arm a class burst that learners click into; every change is broadcast over the
//! websocket as a [`ClassState`]. Each learner's page reports every step once its run is done
//! (the prediction, and which run), which the lab grades on the stored run and the instructor reads
//! as progress and as the class's predictions. All of it lives in the coordinator's database (`lab.class`, `lab.burst_clicks`,
//! `lab.learners`, `lab.progress`), so a restart loses none of it.
//!
//! - [`identity`]: who is asking (the instructor's token, learners' signed cookies).
//! - [`mod@line`]: the line runs wait in, and who may join it.
//! - [`fair`]: who goes next: the line shares worker time, not turns.
//! - [`progress`]: what learners report, checked against the course, and how many are kept.
//! - [`grade`]: which run a report may name (the learner's own or shared, of that step, done),
//!   and the lab's verdict on it.

pub mod fair;
pub mod grade;
pub mod identity;
pub mod line;
pub mod progress;

use std::sync::{Mutex, MutexGuard};

use poollab_shared::{ClassBurst, ClassState, FollowStep, RunSpec};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::class::progress::ProgressCaps;

/// An armed class burst as the database keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ArmedBurst {
    run: RunSpec,
    per_click: u32,
}

pub struct Class {
    db: PgPool,
    /// How many learners' progress (and clicks into a burst) the class keeps.
    caps: ProgressCaps,
    /// The class as last read or written: what a new socket is told first.
    state: Mutex<ClassState>,
}

impl Class {
    /// The class as the database has it.
    pub async fn load(db: PgPool, caps: ProgressCaps) -> Result<Class, sqlx::Error> {
        let class = Class { db, caps, state: Mutex::new(ClassState::default()) };
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
        .bind(self.caps.learners as i64)
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
}
