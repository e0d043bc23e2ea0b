//! The wire protocol of Pool Lab, shared by the backend (axum) and the page (Leptos, wasm).
//!
//! Everything that crosses HTTP or the websocket is a type in this crate, so the two sides cannot
//! drift apart: the page sends a [`RunSpec`], the backend answers with a [`RunView`] and streams
//! [`ServerMessage`]s (mostly [`Frame`]s) while the run goes.
//!
//! # Layout
//! - [`spec`]: what a learner asks for (strategy, load shape, pool knobs, work per request, app
//!   instances, network, breaker, cache, leak).
//! - [`limits`]: the documented range of every number; a [`ValidRunSpec`] can only exist if it is
//!   in range.
//! - [`summary`]: what a finished run measured (outcomes by cause, latency percentiles, peaks).
//! - [`frame`]: the live view, about ten times a second: the app's pool and the server's backends.
//! - [`timeline`]: a stored run's requests, frames and events (outage, breaker), for replay and
//!   export.
//! - [`activity`]: the app's figures (in flight, waiting, opening, in use) at any instant of a
//!   run, and their peaks, counted from its requests' records: one definition each.
//! - [`sweep`]: the same load over several pool sizes: the sizing curve.
//! - [`lesson`]: the course's lessons and steps: texts filled with figures, models, goals, views.
//! - [`givens`]: what a step gives the learner before Run: every input its question and model use.
//! - [`figures`]: every figure a lesson may name (of the spec, the server, the run's summary).
//! - [`expr`]: the arithmetic lessons write their models and goals in.
//! - [`num`]: numbers as text with integer arithmetic ([`Dec`]), which keeps core's float
//!   printer out of the page.
//! - [`rate`]: counts over time: per second only for a run of two seconds or more.
//! - [`class`]: what learners report to their instructor, and the class's predictions.
//! - [`line`]: the line runs wait in, and the workers that carry them out.

pub mod activity;
pub mod class;
pub mod expr;
pub mod figures;
pub mod frame;
pub mod givens;
pub mod lesson;
pub mod libraries;
pub mod limits;
pub mod line;
pub mod num;
pub mod rate;
pub mod spec;
pub mod summary;
pub mod sweep;
pub mod timeline;

pub use activity::{AppCounts, AppFigure, AppPeaks, Peak, Span};
pub use class::{HistogramBin, PredictionHistogram, StepProgress, StepReport, StepVerdict};
pub use figures::{Figures, Lack, ServerFacts};
pub use frame::{
    AppFrame, BreakerState, ClassBurst, ClassState, ClientMessage, CountBy, FollowStep, Frame, HeldConnection,
    InstanceFrame, PoolFrame, PoolerFrame, RunTotals, ServerFrame, ServerMessage,
};
pub use lesson::{ChartName, CompareError, Goal, GoalError, Lesson, Model, Moment, Part, Prediction, Step, StepView};
pub use libraries::{KnobNames, Libraries, LibraryName, Source};
pub use limits::{Limits, SpecError, ValidRunSpec};
pub use line::{
    ClassLine, IssuedCredential, LineEntry, LinePlace, LineView, WorkerCredential, WorkerState, WorkerView,
};
pub use num::Dec;
pub use spec::{
    BreakerSpec, CacheSpec, LeakSpec, LoadShape, LoadSpec, NetworkSpec, Nodelay, OutageMode, OutageSpec, PoolSpec,
    PoolerMode, PoolerSpec, Query, RunSpec, Statements, Strategy, Tls, WorkSpec,
};
pub use summary::{ErrorCounts, ErrorKind, LatencySummary, RunState, RunView, Summary};
pub use sweep::{MAX_SWEEP_SIZES, SizePoint, SweepError, SweepPoint, SweepSpec, SweepView, by_size};
pub use timeline::{RequestRecord, RunEvent, RunEventKind, Timeline};
