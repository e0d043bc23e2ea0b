//! The application state every handler shares, no globals.
//!
//! axum hands every request its own clone of the state, so [`AppState`] is a handle: one `Arc`
//! to the [`Shared`] parts, cheap to clone (the demo endpoints serve tens of thousands of requests
//! a second, and cloning every pool, queue and option struct each time showed up in profiles).

use std::ops::Deref;
use std::sync::Arc;

use sqlx::PgPool;

use crate::class::identity::Identity;
use crate::coordinator::Coordinator;
use crate::db::Database;
use crate::engine::strategy::{NaiveStrategy, PooledStrategy};
use crate::shutdown::Shutdown;
use crate::web::client::TrustedProxies;
use crate::web::limits::Guard;
use crate::web::prom::PromMetrics;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    /// The coordinator's database (its state, and the demo endpoints' table).
    pub db: Database,
    /// The coordinator's read pool, for the lab's own checks (`/healthz`), apart from every run
    /// and from the line's pool.
    pub admin: PgPool,
    /// Whether `/demo/*` is served (`--demo`, or a lab that hosts no class).
    pub demo_on: bool,
    /// `GET /demo/naive`: connect, query, close.
    pub demo_naive: NaiveStrategy,
    /// `GET /demo/pooled`: the lab's long-lived shared pool.
    pub demo_pooled: PooledStrategy,
    /// The line, the class, the store, the workers, the feed to the pages.
    pub coordinator: Arc<Coordinator>,
    /// Who is asking: the instructor's token, learners' signed cookies.
    pub identity: Identity,
    /// What each address has done lately: wrong credentials, exports, open websockets.
    pub guard: Guard,
    /// The reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: TrustedProxies,
    /// The lab's shared worker secret (`--worker-secret`), a bootstrap credential any worker may
    /// show (none: only workers with credentials of their own join).
    pub worker_secret: Option<String>,
    pub prom: Arc<PromMetrics>,
    /// The course (`GET /api/lessons`).
    pub lessons: Arc<Vec<poollab_shared::Lesson>>,
    /// Every library's names for the pool knobs (`GET /api/libraries`).
    pub libraries: Arc<poollab_shared::Libraries>,
    /// Long-lived handlers (websockets) end when this fires.
    pub shutdown: Shutdown,
}
