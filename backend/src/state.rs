//! The application state every handler shares: one `Clone` struct, no globals.

use std::sync::Arc;

use sqlx::PgPool;

use crate::db::Database;
use crate::hub::MetricsHub;
use crate::prom::PromMetrics;
use crate::runner::RunQueue;
use crate::shutdown::Shutdown;
use crate::strategy::{NaiveStrategy, PooledStrategy};

#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    /// A small pool for the lab's own checks (`/healthz`), apart from every run.
    pub admin: PgPool,
    /// `GET /demo/naive`: connect, query, close.
    pub demo_naive: NaiveStrategy,
    /// `GET /demo/pooled`: the lab's long-lived shared pool.
    pub demo_pooled: PooledStrategy,
    pub queue: RunQueue,
    pub hub: Arc<MetricsHub>,
    pub prom: Arc<PromMetrics>,
    /// The classroom: the instructor's token, the lock, the step to follow.
    pub class: Arc<crate::class::Class>,
    /// The course (`GET /api/lessons`).
    pub lessons: Arc<Vec<poollab_shared::Lesson>>,
    /// Long-lived handlers (websockets) end when this fires.
    pub shutdown: Shutdown,
}
