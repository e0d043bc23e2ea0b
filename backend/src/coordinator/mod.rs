//! The coordinator: the page, the API, the class and the line, and the workers it hands runs to.
//!
//! Runs join the line ([`crate::class::line`]) in the coordinator's database. Each worker joined
//! to the coordinator has a dispatcher ([`dispatch`]) that, whenever its worker is free and its
//! database answers, takes the first waiting run, sends it to the worker, passes the worker's
//! frames on to the pages, and stores how the run ended. Everything the pages hear goes through
//! the [`feed`]; the workers and what they do are in the [`registry`].
//!
//! Nothing that must survive lives only here: the line, the class, progress and sweeps are rows
//! in the database, a running run holds a lease its dispatcher renews (a coordinator that stops
//! renewing it, because it stopped, loses the run: the reaper of any coordinator
//! fails it), and changes are announced with PostgreSQL's `NOTIFY`, so a second coordinator on
//! the same database hears the line, the class and the runs change, and drops a worker whose
//! credential was revoked on the first ([`notify`]). Live frames go only to the pages of the
//! coordinator the run's worker is joined to.

pub mod credentials;
pub mod dispatch;
pub mod feed;
pub mod notify;
mod pages;
pub mod registry;
pub mod strays;

use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{
    ClassState, IssuedCredential, Lack, RunSpec, RunView, ServerMessage, SweepSpec, ValidRunSpec, WorkerCredential,
};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::class::Class;
use crate::class::identity::Who;
use crate::class::line::{Caps, Line, LineError};
use crate::class::progress::ProgressCaps;
use crate::coordinator::credentials::{CredentialError, Credentials};
use crate::coordinator::feed::Feed;
use crate::coordinator::notify::Notice;
use crate::coordinator::registry::Workers;
use crate::db::store::{Ending, RunStore, StoreError};
use crate::shutdown::Shutdown;
use crate::worker::protocol::ToWorker;

/// How often the line's new picture may go out to the pages (changes in between are gathered).
const LINE_ANNOUNCE_GAP: Duration = Duration::from_millis(250);
/// How often runs whose lease ran out are looked for.
const REAP_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error(transparent)]
    Line(#[from] LineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the coordinator's database is unreachable: {0}")]
    Database(#[from] sqlx::Error),
    /// The run asks for something the lab's server lacks (TLS, PgBouncer).
    #[error(transparent)]
    Lacks(#[from] Lack),
}

/// The coordinator's two pools on its database: one for the line's own work, one for what the
/// pages read, so that no number of page reads can hold up a lease renewal.
#[derive(Clone)]
pub struct Pools {
    /// Claims, lease renewals, endings, the reaper, notices, and `LISTEN` (one connection).
    pub line: PgPool,
    /// Runs, timelines, sweeps, the line's picture, the class and progress, for the pages.
    pub reads: PgPool,
}

/// The store and the line, read through the read pool.
struct Reads {
    store: RunStore,
    line: Line,
}

pub struct Coordinator {
    /// This process's id among coordinators (a notice it sent comes back to it, and is skipped).
    id: String,
    /// The store and the line on the line's pool: what keeps runs going.
    store: RunStore,
    line: Line,
    reads: Reads,
    class: Class,
    feed: Feed,
    workers: Workers,
    /// Each worker's own credential (the instructor's, and those of the workers started here).
    credentials: Credentials,
    /// How long a worker may hold a run it was handed before the coordinator fails it.
    claim_deadline: Duration,
    /// Runs may be waiting: free workers look.
    wake: Notify,
    /// The line or the workers changed: the pages get a new picture of the line.
    line_changed: Notify,
    pools: Pools,
}

impl Coordinator {
    pub async fn new(
        pools: Pools,
        caps: Caps,
        progress: ProgressCaps,
        claim_deadline: Duration,
    ) -> Result<Arc<Coordinator>, sqlx::Error> {
        let id: [u8; 6] = rand::random();
        Ok(Arc::new(Coordinator {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            store: RunStore::new(pools.line.clone()),
            line: Line::new(pools.line.clone(), caps),
            reads: Reads { store: RunStore::new(pools.reads.clone()), line: Line::new(pools.reads.clone(), caps) },
            class: Class::load(pools.reads.clone(), progress).await?,
            feed: Feed::default(),
            workers: Workers::default(),
            credentials: Credentials::new(pools.line.clone()),
            claim_deadline,
            wake: Notify::new(),
            line_changed: Notify::new(),
            pools,
        }))
    }

    /// The line's pool (notices, leases).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pools.line
    }

    /// Closes both pools (at shutdown, after every task that used them has stopped).
    pub async fn close(&self) {
        self.pools.line.close().await;
        self.pools.reads.close().await;
    }

    /// The coordinator's own tasks: the line's announcer, the reaper, the listener for other
    /// coordinators' notices.
    pub fn spawn_tasks(self: &Arc<Self>, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
        vec![
            tokio::spawn(self.clone().announce_line(shutdown.clone())),
            tokio::spawn(self.clone().reap(shutdown.clone())),
            tokio::spawn(self.clone().listen(shutdown.clone())),
        ]
    }

    /// What `spec` asks for that the lab's server lacks, judged by the server the pages are
    /// shown (the first worker that is up); none when no worker has said yet.
    pub fn lacks(&self, spec: &RunSpec) -> Option<Lack> {
        self.workers.primary_facts().and_then(|facts| facts.lacks(spec))
    }

    /// Puts a run in line (or joins the learner to an identical one already waiting) and tells
    /// everyone; a run the lab's server cannot carry out (it asks for TLS of a server without it,
    /// say) is refused instead. Returns the run, and whether it was shared.
    pub async fn submit(&self, who: &Who, spec: ValidRunSpec) -> Result<(RunView, bool), CoordinatorError> {
        if let Some(lack) = self.lacks(&spec) {
            return Err(lack.into());
        }
        let joined = self.line.submit(who, spec).await?;
        let view = self.store.get(&joined.id).await?.ok_or(LineError::Full(0))?;
        self.announce_run(view.clone()).await;
        self.changed().await;
        Ok((view, joined.shared))
    }

    /// Puts a sweep's runs in line (each may join an identical waiting run); returns the sweep's
    /// id and, per run, whether it was shared.
    pub async fn submit_sweep(
        &self,
        who: &Who,
        sweep: &SweepSpec,
        runs: Vec<ValidRunSpec>,
    ) -> Result<(String, Vec<bool>), CoordinatorError> {
        if let Some(lack) = runs.iter().find_map(|r| self.lacks(r)) {
            return Err(lack.into());
        }
        let (id, runs) = self.line.submit_sweep(who, sweep, runs).await?;
        for run in &runs {
            if let Some(view) = self.store.get(&run.id).await? {
                self.announce_run(view).await;
            }
        }
        self.changed().await;
        Ok((id, runs.iter().map(|r| r.shared).collect()))
    }

    /// A run's new state, for every page (here and on other coordinators).
    pub async fn announce_run(&self, view: RunView) {
        let id = view.id.clone();
        self.feed.send(&ServerMessage::Run(view));
        self.tell_others(Notice::Run { id }).await;
    }

    /// The class's new state, for every page.
    pub async fn announce_class(&self, class: ClassState) {
        self.feed.send(&ServerMessage::Class(class));
        self.tell_others(Notice::Class).await;
    }

    /// The line changed: free workers look for a run, pages get its new picture, and so do other
    /// coordinators.
    pub async fn changed(&self) {
        self.changed_here();
        self.tell_others(Notice::Line).await;
    }

    /// The line or the workers changed, as only this coordinator needs to know.
    pub fn changed_here(&self) {
        self.wake.notify_waiters();
        self.line_changed.notify_one();
    }

    /// Stops a run: takes it out of line, or tells the worker carrying it out to stop. False when
    /// it had already ended (or never existed).
    pub async fn cancel(&self, id: &str) -> Result<bool, CoordinatorError> {
        if self.line.cancel_waiting(id).await? {
            if let Some(view) = self.store.get(id).await? {
                self.announce_run(view).await;
            }
            self.changed().await;
            return Ok(true);
        }
        if let Some(orders) = self.workers.carrying(id) {
            return Ok(orders.send(ToWorker::Cancel { id: id.to_owned() }).await.is_ok());
        }
        match self.store.get(id).await? {
            Some(v) if v.state == poollab_shared::RunState::Running => {
                // Its worker is joined to another coordinator.
                self.tell_others(Notice::Cancel { id: id.to_owned() }).await;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Issues a worker credential under `name` (taken if a worker of that name is joined).
    pub async fn issue_credential(&self, name: &str) -> Result<IssuedCredential, CredentialError> {
        self.credentials.issue(name, self.workers.has(name.trim())).await
    }

    /// Every worker credential, with whether a worker is joined with it (never a secret).
    pub async fn worker_credentials(&self) -> Result<Vec<WorkerCredential>, CredentialError> {
        self.credentials.list(|name| self.workers.has_credential(name)).await
    }

    /// Revokes a worker credential, and drops the worker joined with it at once (its run, if it
    /// had one, fails as a lost worker's does), whichever coordinator on this database it is
    /// joined to. Returns whether a worker was dropped here.
    pub async fn revoke_credential(&self, name: &str) -> Result<bool, CredentialError> {
        self.credentials.revoke(name).await?;
        let dropped = self.drop_revoked(name);
        // The worker may be joined to another coordinator: that one drops it when it hears.
        self.tell_others(Notice::Revoked { credential: name.to_owned() }).await;
        Ok(dropped)
    }

    /// Drops the worker joined here with credential `name`, just revoked (here or by another
    /// coordinator); whether one was.
    fn drop_revoked(&self, name: &str) -> bool {
        let dropped = self.workers.kick(name);
        if dropped {
            tracing::warn!(worker = %name, "a worker's credential was revoked: it is dropped");
        }
        dropped
    }

    /// The name of the worker credential whose secret this is, if any.
    pub async fn worker_known_by(&self, secret: &str) -> Result<Option<String>, CredentialError> {
        self.credentials.known_by(secret).await
    }

    /// Whether a worker of this name is joined to this coordinator.
    pub fn worker_joined(&self, name: &str) -> bool {
        self.workers.has(name)
    }

    /// Makes the credential of a worker this coordinator starts itself (`--workers N`); returns
    /// its secret.
    pub fn local_credential(&self, name: &str) -> String {
        self.credentials.make_local(name)
    }

    /// Ends a run, stores how, and tells everyone.
    pub(crate) async fn end(&self, id: &str, ending: Ending) {
        match self.store.end(id, ending).await {
            Ok(Some(view)) => self.announce_run(view).await,
            Ok(None) => {}
            Err(e) => tracing::error!(run = %id, error = %e, "could not store how a run ended"),
        }
        self.changed().await;
    }

    /// Sends the pages a new picture of the line whenever it changes, at most every
    /// [`LINE_ANNOUNCE_GAP`].
    async fn announce_line(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            tokio::select! {
                _ = self.line_changed.notified() => {}
                _ = shutdown.recv() => return,
            }
            tokio::time::sleep(LINE_ANNOUNCE_GAP).await;
            match self.line.snapshot(self.workers.views()).await {
                Ok(snapshot) => self.feed.send_line(snapshot),
                Err(e) => tracing::warn!(error = %e, "could not read the line"),
            }
        }
    }

    /// Fails running runs whose lease ran out (their coordinator stopped, or lost its worker).
    async fn reap(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut every = tokio::time::interval(REAP_EVERY);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = shutdown.recv() => return,
            }
            match self.store.reap().await {
                Ok(views) if views.is_empty() => {}
                Ok(views) => {
                    for view in views {
                        tracing::warn!(run = %view.id, "a run's lease ran out: it is failed");
                        self.announce_run(view).await;
                    }
                    self.changed().await;
                }
                Err(e) => tracing::debug!(error = %e, "could not look for stale runs"),
            }
        }
    }
}
