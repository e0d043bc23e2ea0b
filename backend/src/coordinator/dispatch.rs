//! One worker's dispatcher: hands it runs from the line, one at a time, and listens to it.
//!
//! While its worker is free and its database answers, the dispatcher takes the first waiting run
//! (the line's `SKIP LOCKED` turn, so no other worker gets the same one), sends it, and renews the
//! run's lease while the worker carries it out. The worker's frames go on to the pages (to those
//! who watch that run); its summary and timeline, or the reason it failed, go to the store. A
//! worker that goes silent or drops its link fails only the run it had; the line goes on with the
//! others, and the worker gets runs again as soon as it rejoins.

use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{Frame, Timeline};

use crate::coordinator::Coordinator;
use crate::coordinator::feed::Audience;
use crate::db::store::Ending;
use crate::shutdown::Shutdown;
use crate::worker::protocol::{CoordinatorEnd, FromWorker, SILENCE_LIMIT, ToWorker};

/// How long a running run's lease lasts, and how often its dispatcher renews it.
pub const LEASE: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How often a free worker looks at the line even if nobody said it changed.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The run a worker carries out.
struct Running {
    id: String,
    audience: Audience,
}

impl Coordinator {
    /// Serves one worker's link until it closes or the lab shuts down.
    pub async fn attach(self: Arc<Self>, mut link: CoordinatorEnd, mut shutdown: Shutdown) {
        let first = tokio::time::timeout(SILENCE_LIMIT, link.rx.recv()).await;
        let Ok(Some(FromWorker::Hello { name, version, server, cpus, database_up })) = first else {
            tracing::warn!("a worker joined without saying hello; dropping it");
            return;
        };
        if version != env!("CARGO_PKG_VERSION") {
            tracing::warn!(worker = %name, %version, "this worker runs another version of the lab");
        }
        let name = self.workers.join(&name, server, cpus.clone(), database_up, link.tx.clone());
        tracing::info!(worker = %name, ?cpus, max_connections = server.max_connections, database_up, "a worker joined");
        if let Some(facts) = self.workers.primary_facts()
            && facts.max_connections != server.max_connections
        {
            tracing::warn!(worker = %name, "this worker's server has another max_connections than the others: \
                           learners' figures will differ by where their runs land");
        }
        self.changed_here();
        let mut running: Option<Running> = None;
        let mut renew = tokio::time::interval(RENEW_EVERY);
        let mut look = tokio::time::interval(LOOK_EVERY);
        let why = loop {
            if running.is_none() && self.workers.is_up(&name) {
                match self.line.claim(&name, LEASE).await {
                    Ok(Some(claimed)) => {
                        let order = ToWorker::Run { id: claimed.id.clone(), spec: Box::new(claimed.spec) };
                        self.workers.set_run(&name, Some(claimed.id.clone()));
                        if let Ok(Some(view)) = self.store.get(&claimed.id).await {
                            self.announce_run(view).await;
                        }
                        self.changed().await;
                        let audience = if claimed.learners.is_empty() {
                            Audience::Everyone
                        } else {
                            Audience::Learners(claimed.learners.into())
                        };
                        running = Some(Running { id: claimed.id, audience });
                        if link.tx.send(order).await.is_err() {
                            break "its link closed";
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(worker = %name, error = %e, "could not read the line"),
                }
            }
            let idle = running.is_none();
            tokio::select! {
                got = tokio::time::timeout(SILENCE_LIMIT, link.rx.recv()) => match got {
                    Err(_) => break "it went silent",
                    Ok(None) => break "its link closed",
                    Ok(Some(msg)) => self.heard_from(&name, &mut running, msg).await,
                },
                _ = self.wake.notified(), if idle => {}
                _ = look.tick(), if idle => {}
                _ = renew.tick(), if !idle => {
                    if let Some(r) = &running
                        && let Err(e) = self.store.renew(&r.id, LEASE).await
                    {
                        tracing::warn!(run = %r.id, error = %e, "could not renew a run's lease");
                    }
                }
                _ = shutdown.recv() => break "the coordinator stopped",
            }
        };
        self.workers.leave(&name);
        tracing::warn!(worker = %name, why, "a worker left");
        if let Some(r) = running {
            let error = format!("{name}, the worker that measured this run, left before it finished: {why}");
            self.end(&r.id, Ending::Failed { error, timeline: None }).await;
        }
        self.changed_here();
    }

    async fn heard_from(&self, name: &str, running: &mut Option<Running>, msg: FromWorker) {
        match msg {
            FromWorker::Frame { frame } => self.pass_on(name, running.as_ref(), *frame),
            FromWorker::Status { database_up, reason } => {
                if self.workers.set_up(name, database_up, reason) {
                    tracing::warn!(worker = %name, database_up, "a worker's database changed");
                    self.changed_here();
                }
            }
            FromWorker::Done { run, summary, mut timeline } => {
                signed(name, &mut timeline);
                self.finished(name, running, &run, Ending::Done { summary, timeline }).await;
            }
            FromWorker::Failed { run, error, mut timeline } => {
                if let Some(timeline) = &mut timeline {
                    signed(name, timeline);
                }
                self.finished(name, running, &run, Ending::Failed { error, timeline }).await;
            }
            FromWorker::Hello { .. } => {}
        }
    }

    async fn finished(&self, name: &str, running: &mut Option<Running>, run: &str, ending: Ending) {
        if running.as_ref().is_some_and(|r| r.id == run) {
            *running = None;
            self.workers.set_run(name, None);
        }
        self.end(run, ending).await;
    }

    /// A worker's frame, on to the pages that watch it: its run's, or (for the one worker whose
    /// server the pages show between runs) its idle view.
    fn pass_on(&self, name: &str, running: Option<&Running>, mut frame: Frame) {
        frame.worker = Some(name.to_owned());
        let audience = match (&frame.run_id, running) {
            (Some(id), Some(r)) if *id == r.id => Some(r.audience.clone()),
            (Some(_), _) => return, // of a run that is over
            (None, _) => (self.workers.primary().as_deref() == Some(name)).then_some(Audience::Everyone),
        };
        self.workers.note_frame(name, &frame);
        if let Some(audience) = audience {
            self.feed.send_frame(frame, audience);
        }
    }
}

/// The stored frames are the ones the pages were sent, worker's name and all.
fn signed(worker: &str, timeline: &mut Timeline) {
    for frame in &mut timeline.frames {
        frame.worker = Some(worker.to_owned());
    }
}
