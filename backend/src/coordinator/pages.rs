//! What the pages may ask of the coordinator: the small API the web layer calls.
//!
//! Reads that anyone can make (a run, its timeline, the line, the class) go through the
//! coordinator's *read* pool, never the line's: a flood of them can slow the pages but not the
//! claims, lease renewals and endings that keep runs alive (the pools are sized by
//! `--read-db-connections` and `--line-db-connections`). Changes to the class are announced to
//! every page (and other coordinators) here, so no caller can forget to.

use poollab_shared::{ClassLine, ClassState, FollowStep, Frame, LineView, PredictionHistogram, RunSpec, RunView};
use poollab_shared::{StepVerdict, SweepView, Timeline, WorkerView};
use std::collections::BTreeMap;
use tokio::sync::broadcast;

use crate::class::identity::Who;
use crate::class::progress::{LearnerProgress, ProgressError, ValidReport};
use crate::coordinator::Coordinator;
use crate::coordinator::feed::FeedItem;
use crate::db::store::StoreError;

impl Coordinator {
    /// A run, with its place in line while it waits.
    pub async fn run(&self, id: &str) -> Result<Option<RunView>, StoreError> {
        self.reads.store.get(id).await
    }

    /// A finished run's stored frames and requests.
    pub async fn timeline(&self, id: &str) -> Result<Timeline, StoreError> {
        self.reads.store.timeline(id).await
    }

    /// The newest runs, newest first.
    pub async fn recent_runs(&self) -> Result<Vec<RunView>, StoreError> {
        self.reads.store.recent().await
    }

    pub async fn sweep(&self, id: &str) -> Result<Option<SweepView>, StoreError> {
        self.reads.store.sweep(id).await
    }

    /// Keeps what `POST /api/your-pool` was sent with the sweep it put in line (a page's write:
    /// on the read pool, apart from the line's).
    pub async fn save_your_pool<T: serde::Serialize + Sync>(
        &self,
        sweep_id: &str,
        measure: &T,
    ) -> Result<(), StoreError> {
        self.reads.store.save_your_pool(sweep_id, measure).await
    }

    /// What `POST /api/your-pool` was sent for the sweep `sweep_id`, if it was.
    pub async fn your_pool<T: serde::de::DeserializeOwned + Send + Unpin + 'static>(
        &self,
        sweep_id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.reads.store.your_pool(sweep_id).await
    }

    /// The line as one learner's page is told it (everyone's count, their own places).
    pub async fn line_view(&self, learner: Option<&str>) -> Result<LineView, sqlx::Error> {
        Ok(self.reads.line.snapshot(self.workers.views()).await?.view_for(learner))
    }

    /// The whole line with names, for the instructor.
    pub async fn class_line(&self) -> Result<ClassLine, sqlx::Error> {
        self.reads.line.for_instructor(self.workers.views()).await
    }

    /// Every worker joined to this coordinator.
    pub fn workers(&self) -> Vec<WorkerView> {
        self.workers.views()
    }

    /// Each worker's latest frame (for `/metrics`).
    pub fn latest_frames(&self) -> Vec<(String, Frame)> {
        self.workers.latest_frames()
    }

    /// Everything the pages are told, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.feed.subscribe()
    }

    /// The class as last known (for a new socket's first message).
    pub fn class_state(&self) -> ClassState {
        self.class.state()
    }

    /// The class as the database has it now.
    pub async fn read_class(&self) -> Result<ClassState, sqlx::Error> {
        self.class.refresh().await
    }

    /// Locks the lab (only the instructor's runs are taken) or opens it again.
    pub async fn lock(&self, locked: bool) -> Result<ClassState, sqlx::Error> {
        let class = self.class.set_locked(locked).await?;
        self.announce_class(class.clone()).await;
        Ok(class)
    }

    /// Sets (or clears) the step every page in follow mode goes to.
    pub async fn follow(&self, follow: Option<FollowStep>) -> Result<ClassState, sqlx::Error> {
        let class = self.class.set_follow(follow).await?;
        self.announce_class(class.clone()).await;
        Ok(class)
    }

    /// Arms a class burst of `run`, each learner's click adding `per_click` requests.
    pub async fn arm_burst(&self, run: RunSpec, per_click: u32) -> Result<ClassState, sqlx::Error> {
        let class = self.class.arm_burst(run, per_click).await?;
        self.announce_class(class.clone()).await;
        Ok(class)
    }

    /// A learner clicks into the armed burst; none when no burst is armed (or the class is full).
    pub async fn click_burst(&self, learner: &str) -> Result<Option<ClassState>, sqlx::Error> {
        let class = self.class.click_burst(learner).await?;
        if let Some(class) = &class {
            self.announce_class(class.clone()).await;
        }
        Ok(class)
    }

    /// Takes the armed burst: the run spec its clicks add up to (none when nothing was armed).
    pub async fn take_burst(&self) -> Result<Option<RunSpec>, sqlx::Error> {
        let Some((spec, class)) = self.class.take_burst().await? else { return Ok(None) };
        self.announce_class(class).await;
        Ok(Some(spec))
    }

    /// Grades a report on a step on the run it names, and keeps a learner's.
    pub async fn report(&self, who: &Who, report: ValidReport) -> Result<StepVerdict, ProgressError> {
        self.class.report(who, report).await
    }

    /// Everyone's progress, by learner id.
    pub async fn progress(&self) -> Result<BTreeMap<String, LearnerProgress>, sqlx::Error> {
        self.class.progress().await
    }

    /// The class's predictions (and measured figures) for one step.
    pub async fn predictions(&self, lesson: &str, step: u32) -> Result<PredictionHistogram, sqlx::Error> {
        self.class.predictions(lesson, step).await
    }

    /// Pauses (or lets go again) a learner; false when the coordinator has never heard of them.
    pub async fn pause(&self, learner: &str, paused: bool) -> Result<bool, sqlx::Error> {
        if !self.line.knows(learner).await? {
            return Ok(false);
        }
        self.line.pause(learner, paused).await?;
        self.changed().await;
        Ok(true)
    }
}
