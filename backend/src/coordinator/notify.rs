//! Coordinators sharing a database hear each other's changes: PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! Whenever a coordinator changes the line, the class or a run, it sends a notice on the
//! `poollab` channel naming what changed (never the data itself: the database has that). Every
//! coordinator listens, skips its own notices, and for the others' reads what changed and tells
//! its own pages (and its free workers, when runs joined the line; and the worker joined with a
//! credential that was revoked, which it drops). If the listening connection
//! drops, notices sent meanwhile are lost, so after reconnecting the coordinator reads everything
//! once again.

use std::sync::Arc;
use std::time::Duration;

use poollab_shared::ServerMessage;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;

use crate::coordinator::Coordinator;
use crate::shutdown::Shutdown;
use crate::worker::protocol::ToWorker;

/// The channel every coordinator listens on.
pub const CHANNEL: &str = "poollab";
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Notice {
    Line,
    Class,
    Run {
        id: String,
    },
    /// The instructor cancelled a run: whoever's worker carries it out stops it.
    Cancel {
        id: String,
    },
    /// The instructor revoked a worker credential: whoever has a worker joined with it drops it.
    Revoked {
        credential: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    #[serde(flatten)]
    notice: Notice,
}

impl Coordinator {
    /// Sends a notice to the other coordinators (best effort: a lost notice only delays them until
    /// their next reading).
    pub(crate) async fn tell_others(&self, notice: Notice) {
        let Ok(payload) = serde_json::to_string(&Envelope { origin: self.id.clone(), notice }) else { return };
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(self.pool()).await {
            tracing::debug!(error = %e, "could not notify other coordinators");
        }
    }

    /// Listens for other coordinators' notices until shutdown.
    pub(crate) async fn listen(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            match PgListener::connect_with(self.pool()).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "cannot listen for other coordinators");
                    } else {
                        loop {
                            tokio::select! {
                                got = listener.try_recv() => match got {
                                    Ok(Some(n)) => self.heard(n.payload()).await,
                                    // The connection was lost and made again: what was said
                                    // meanwhile is lost, so read everything once more.
                                    Ok(None) => self.catch_up().await,
                                    Err(e) => {
                                        tracing::warn!(error = %e, "lost the notices of other coordinators");
                                        break;
                                    }
                                },
                                _ = shutdown.recv() => return,
                            }
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot listen for other coordinators yet"),
            }
            tokio::select! {
                _ = tokio::time::sleep(RELISTEN_AFTER) => self.catch_up().await,
                _ = shutdown.recv() => return,
            }
        }
    }

    async fn catch_up(&self) {
        if let Ok(class) = self.class.refresh().await {
            self.feed.send(&ServerMessage::Class(class));
        }
        self.changed_here();
    }

    async fn heard(&self, payload: &str) {
        let Ok(Envelope { origin, notice }) = serde_json::from_str::<Envelope>(payload) else { return };
        if origin == self.id {
            return;
        }
        match notice {
            Notice::Line => self.changed_here(),
            Notice::Class => {
                if let Ok(class) = self.class.refresh().await {
                    self.feed.send(&ServerMessage::Class(class));
                }
            }
            Notice::Run { id } => {
                if let Ok(Some(view)) = self.store.get(&id).await {
                    self.feed.send(&ServerMessage::Run(view));
                }
            }
            Notice::Cancel { id } => {
                if let Some(orders) = self.workers.carrying(&id) {
                    let _ = orders.send(ToWorker::Cancel { id }).await;
                }
            }
            Notice::Revoked { credential } => {
                self.drop_revoked(&credential);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_what_changed_and_who_said_it() {
        let json = serde_json::to_string(&Envelope { origin: "c1".into(), notice: Notice::Run { id: "r".into() } })
            .expect("json");
        assert_eq!(json, r#"{"origin":"c1","what":"run","id":"r"}"#);
        let back: Envelope = serde_json::from_str(r#"{"origin":"c2","what":"line"}"#).expect("envelope");
        assert_eq!(back.notice, Notice::Line);
        let revoked: Envelope =
            serde_json::from_str(r#"{"origin":"c3","what":"revoked","credential":"lab-a"}"#).expect("envelope");
        assert_eq!(revoked.notice, Notice::Revoked { credential: "lab-a".into() });
    }
}
