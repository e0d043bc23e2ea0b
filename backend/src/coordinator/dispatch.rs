//! One worker's dispatcher: hands it runs from the line, one at a time, and listens to it.
//!
//! While its worker is free and its database answers, the dispatcher takes the first waiting run
//! (the line's `SKIP LOCKED` turn, so no other worker gets the same one), sends it, and renews the
//! run's lease while the worker carries it out. The worker's frames go on to the pages (to those
//! who watch that run); its summary and timeline, or the reason it failed, go to the store. A
//! worker that goes silent or drops its link fails only the run it had; the line goes on with the
//! others, and the worker gets runs again as soon as it rejoins.
//!
//! A worker is trusted with no more than the run it holds: what it says of any other run (a
//! frame, an ending) is dropped with a warning (for frames, one per run: [`super::strays`]); a
//! timeline larger than its run could have made is refused, and the run failed; and every claim
//! has a deadline of the coordinator's own (the worker's deadline and a margin): a run not ended
//! by then is failed, the worker told to cancel it, and a worker that still holds it a while later
//! is dropped.

use std::sync::Arc;
use std::time::Duration;

use poollab_shared::{Frame, Timeline};
use tokio::time::Instant;

use crate::coordinator::Coordinator;
use crate::coordinator::credentials::Joiner;
use crate::coordinator::feed::Audience;
use crate::coordinator::registry::NameRule;
use crate::coordinator::strays::{self, Say};
use crate::db::store::Ending;
use crate::shutdown::Shutdown;
use crate::worker::protocol::{CoordinatorEnd, FromWorker, SILENCE_LIMIT, ToWorker, check_timeline};

/// How long a running run's lease lasts, and how often its dispatcher renews it.
pub const LEASE: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How often a free worker looks at the line even if nobody said it changed.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long a worker told to cancel a run past its deadline has to let go of it before it is
/// dropped.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// The run a worker carries out.
struct Running {
    id: String,
    audience: Audience,
    /// The most requests its spec fires: its timeline may hold no more.
    requests: u64,
    /// When the coordinator fails it if it has not ended; once `overdue`, when the worker is
    /// dropped if it still holds it.
    deadline: Instant,
    /// Past its deadline: failed, and the worker told to cancel it.
    overdue: bool,
}

impl Coordinator {
    /// Serves one worker's link until it closes, the lab shuts down, or the worker is dropped.
    /// `joiner` says how it proved who it is, and so which name it goes by.
    pub async fn attach(self: Arc<Self>, mut link: CoordinatorEnd, joiner: Joiner, mut shutdown: Shutdown) {
        let first = tokio::time::timeout(SILENCE_LIMIT, link.rx.recv()).await;
        let Ok(Some(FromWorker::Hello { name, version, server, cpus, database_up })) = first else {
            tracing::warn!("a worker joined without saying hello; dropping it");
            return;
        };
        if version != env!("CARGO_PKG_VERSION") {
            tracing::warn!(worker = %name, %version, "this worker runs another version of the lab");
        }
        let reserved = match &joiner {
            Joiner::SharedSecret => match self.credentials.names().await {
                Ok(names) => names,
                Err(e) => {
                    tracing::warn!(worker = %name, error = %e, "cannot read the workers' credentials; dropping it");
                    return;
                }
            },
            _ => Vec::new(),
        };
        let (asked, rule) = match &joiner {
            Joiner::Credential(known_as) => {
                if *known_as != name {
                    tracing::info!(worker = %known_as, said = %name, "a worker is known by its credential's name");
                }
                (known_as.as_str(), NameRule::Exact)
            }
            _ => (name.as_str(), NameRule::Unique { reserved: &reserved }),
        };
        let Some((name, kicked)) = self.workers.join(asked, rule, server, cpus.clone(), database_up, link.tx.clone())
        else {
            tracing::warn!(worker = %asked, "a worker with this credential is already joined; dropping the second");
            return;
        };
        // A credential revoked after the worker showed it but before it joined was revoked while
        // no coordinator could find the worker to drop it: it is dropped here.
        if matches!(joiner, Joiner::Credential(_)) && !self.credentials.seen(&name).await {
            self.workers.leave(&name);
            tracing::warn!(worker = %name, "a worker's credential was revoked as it joined: it is dropped");
            return;
        }
        tracing::info!(worker = %name, ?cpus, max_connections = server.max_connections, database_up, "a worker joined");
        if let Some(facts) = self.workers.primary_facts()
            && facts.max_connections != server.max_connections
        {
            tracing::warn!(worker = %name, "this worker's server has another max_connections than the others: \
                           learners' figures will differ by where their runs land");
        }
        self.changed_here();
        let mut running: Option<Running> = None;
        // How the worker's last run ended, not yet stored.
        let mut ended: Option<(String, Ending)> = None;
        let mut renew = tokio::time::interval(RENEW_EVERY);
        let mut look = tokio::time::interval(LOOK_EVERY);
        let why = loop {
            if running.is_none() && self.workers.is_up(&name) {
                // The worker is free at once: its next run is claimed while its last one's ending
                // (timeline and all) is stored, not after.
                let (claimed, ()) = tokio::join!(self.line.claim(&name, LEASE), self.store_ending(ended.take()));
                match claimed {
                    Ok(Some(claimed)) => {
                        let order = ToWorker::Run { id: claimed.id.clone(), spec: Box::new(claimed.spec.clone()) };
                        self.workers.set_run(&name, Some(claimed.id.clone()));
                        let audience = if claimed.learners.is_empty() {
                            Audience::Everyone
                        } else {
                            Audience::Learners(claimed.learners.into())
                        };
                        running = Some(Running {
                            id: claimed.id.clone(),
                            audience,
                            requests: u64::from(claimed.spec.requests),
                            deadline: Instant::now() + self.claim_deadline,
                            overdue: false,
                        });
                        // The worker starts first; the pages hear of it meanwhile.
                        if link.tx.send(order).await.is_err() {
                            break "its link closed";
                        }
                        if let Ok(Some(view)) = self.store.get(&claimed.id).await {
                            self.announce_run(view).await;
                        }
                        self.changed().await;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(worker = %name, error = %e, "could not read the line"),
                }
            }
            self.store_ending(ended.take()).await;
            let idle = running.is_none();
            let deadline = running.as_ref().map_or_else(|| Instant::now() + LEASE, |r| r.deadline);
            tokio::select! {
                got = tokio::time::timeout(SILENCE_LIMIT, link.rx.recv()) => match got {
                    Err(_) => break "it went silent",
                    Ok(None) => break "its link closed",
                    Ok(Some(msg)) => {
                        if let Some(ending) = self.heard_from(&name, &mut running, msg) {
                            ended = Some(ending);
                        }
                    }
                },
                _ = self.wake.notified(), if idle => {}
                _ = look.tick(), if idle => {}
                _ = renew.tick(), if !idle => {
                    if let Some(r) = running.as_ref().filter(|r| !r.overdue)
                        && let Err(e) = self.store.renew(&r.id, LEASE).await
                    {
                        tracing::warn!(run = %r.id, error = %e, "could not renew a run's lease");
                    }
                }
                _ = tokio::time::sleep_until(deadline), if !idle => {
                    if let Some(r) = running.as_mut() {
                        if r.overdue {
                            break "it did not let go of a run past its deadline after it was told to cancel it";
                        }
                        self.overdue(&name, r, &link).await;
                    }
                }
                _ = kicked.cancelled() => break "its credential was revoked",
                _ = shutdown.recv() => break "the coordinator stopped",
            }
        };
        self.store_ending(ended.take()).await;
        self.workers.leave(&name);
        if matches!(joiner, Joiner::Credential(_)) {
            self.credentials.seen(&name).await;
        }
        tracing::warn!(worker = %name, why, "a worker left");
        if let Some(r) = running.filter(|r| !r.overdue) {
            let error = format!("{name}, the worker that measured this run, left before it finished: {why}");
            self.end(&r.id, Ending::Failed { error, timeline: None }).await;
        }
        self.changed_here();
    }

    /// A run past its claim's deadline: failed now, and its worker told to cancel it; the worker
    /// keeps it (and gets no other) until it lets go, or [`CANCEL_GRACE`] later is dropped.
    async fn overdue(&self, name: &str, r: &mut Running, link: &CoordinatorEnd) {
        tracing::warn!(worker = %name, run = %r.id, "a run did not end by its deadline: it is failed and its worker told to cancel");
        r.overdue = true;
        r.deadline = Instant::now() + CANCEL_GRACE;
        let _ = link.tx.send(ToWorker::Cancel { id: r.id.clone() }).await;
        let error = format!(
            "{name}, the worker that measured this run, did not end it within {} s of taking it: the coordinator stopped it",
            self.claim_deadline.as_secs()
        );
        self.end(&r.id, Ending::Failed { error, timeline: None }).await;
    }

    /// What the worker said; when it says its run ended, that run's id and ending, to be stored.
    fn heard_from(&self, name: &str, running: &mut Option<Running>, msg: FromWorker) -> Option<(String, Ending)> {
        match msg {
            FromWorker::Frame { frame } => self.pass_on(name, running.as_ref(), *frame),
            FromWorker::Status { database_up, reason } => {
                if self.workers.set_up(name, database_up, reason) {
                    tracing::warn!(worker = %name, database_up, "a worker's database changed");
                    self.changed_here();
                }
            }
            FromWorker::Done { run, summary, mut timeline } => {
                let requests = holds(name, running, &run).map(|r| r.requests)?;
                let ending = match check_timeline(&timeline, requests) {
                    Ok(()) => {
                        signed(name, &mut timeline);
                        Ending::Done { summary, timeline }
                    }
                    Err(e) => {
                        tracing::warn!(worker = %name, run = %run, error = %e, "a worker's timeline is refused");
                        let error =
                            format!("{name}, the worker that measured this run, sent a result the lab refuses: {e}");
                        Ending::Failed { error, timeline: None }
                    }
                };
                return self.finished(name, running, ending);
            }
            FromWorker::Failed { run, error, mut timeline } => {
                let requests = holds(name, running, &run).map(|r| r.requests)?;
                if let Some(t) = &timeline
                    && let Err(e) = check_timeline(t, requests)
                {
                    tracing::warn!(worker = %name, run = %run, error = %e, "a worker's timeline is refused");
                    timeline = None;
                }
                if let Some(timeline) = &mut timeline {
                    signed(name, timeline);
                }
                return self.finished(name, running, Ending::Failed { error, timeline });
            }
            FromWorker::Hello { .. } => {}
        }
        None
    }

    /// The run a worker held has ended: the worker is free, and the ending is to be stored
    /// (unless the coordinator already failed the run past its deadline).
    fn finished(&self, name: &str, running: &mut Option<Running>, ending: Ending) -> Option<(String, Ending)> {
        let r = running.take()?;
        self.workers.set_run(name, None);
        if r.overdue {
            tracing::info!(worker = %name, run = %r.id, "a worker let go of a run past its deadline");
            self.changed_here();
            return None;
        }
        Some((r.id, ending))
    }

    /// Stores how a run ended, and tells everyone.
    async fn store_ending(&self, ended: Option<(String, Ending)>) {
        if let Some((id, ending)) = ended {
            self.end(&id, ending).await;
        }
    }

    /// A worker's frame, on to the pages that watch it: its run's, or (for the one worker whose
    /// server the pages show between runs) its idle view.
    fn pass_on(&self, name: &str, running: Option<&Running>, mut frame: Frame) {
        frame.worker = Some(name.to_owned());
        let audience = match (&frame.run_id, running) {
            (Some(id), Some(r)) if *id == r.id && !r.overdue => Some(r.audience.clone()),
            (Some(id), Some(r)) if *id == r.id => return, // of a run failed past its deadline
            (Some(id), _) => {
                // Of a run it does not hold (never did, or no longer does): dropped, and said once
                // per run, not once per frame.
                let run = strays::shown(id);
                match self.workers.stray_frame(name, id) {
                    Say::Warn => {
                        tracing::warn!(worker = %name, %run, "frames of a run this worker does not hold are dropped")
                    }
                    Say::WarnLast => tracing::warn!(
                        worker = %name,
                        %run,
                        "frames of a run this worker does not hold are dropped; those of any further runs, without a word"
                    ),
                    Say::Nothing => {}
                }
                return;
            }
            (None, _) => (self.workers.primary().as_deref() == Some(name)).then_some(Audience::Everyone),
        };
        self.workers.note_frame(name, &frame);
        if let Some(audience) = audience {
            self.feed.send_frame(frame, audience);
        }
    }
}

/// The run a worker holds, if `run` names it; a worker that reports on any other run (one it never
/// held, or another worker's) is not heard, and the run is untouched.
fn holds<'a>(name: &str, running: &'a Option<Running>, run: &str) -> Option<&'a Running> {
    let held = running.as_ref().filter(|r| r.id == run);
    if held.is_none() {
        tracing::warn!(
            worker = %name,
            run = %run,
            holds = running.as_ref().map(|r| r.id.as_str()),
            "a worker reported the end of a run it does not hold: ignored"
        );
    }
    held
}

/// The stored frames are the ones the pages were sent, worker's name and all.
fn signed(worker: &str, timeline: &mut Timeline) {
    for frame in &mut timeline.frames {
        frame.worker = Some(worker.to_owned());
    }
}
