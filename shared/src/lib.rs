//! The wire protocol of Pool Lab, shared by the backend (axum) and the page (Leptos, wasm).
//!
//! Everything that crosses HTTP or the websocket is a type in this crate, so the two sides cannot
//! drift apart: the page sends a [`RunSpec`], the backend answers with a [`RunView`] and streams
//! [`ServerMessage`]s (mostly [`Frame`]s) while the run goes.
//!
//! # Layout
//! - [`spec`]: what a learner asks for (strategy, burst size, pool knobs, work per request) and the
//!   documented range of every number. A [`ValidRunSpec`] can only exist if it is in range.
//! - [`summary`]: what a finished run measured (outcomes by cause, latency percentiles, peaks).
//! - [`frame`]: the live view, about ten times a second: the app's pool and the server's backends.

pub mod frame;
pub mod spec;
pub mod summary;

pub use frame::{AppFrame, ClientMessage, CountBy, Frame, HeldConnection, PoolFrame, ServerFrame, ServerMessage};
pub use spec::{LeakSpec, Limits, PoolSpec, Query, RunSpec, SpecError, Strategy, ValidRunSpec, WorkSpec};
pub use summary::{ErrorCounts, ErrorKind, LatencySummary, RunState, RunView, Summary};
