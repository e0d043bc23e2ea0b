//! A stored run's timeline: every request's own story (when it started, how long it waited for a
//! connection, connected, queried, and how it ended), every frame the live view sent, and the
//! instants the run's network and guards changed (an outage began, the breaker opened). It is
//! what a reopened run is replayed from, and what the CSV export holds.

use serde::{Deserialize, Serialize};

use crate::frame::Frame;

/// One request of a run. Times are milliseconds; `start_ms` counts from the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The request's number in its run, from 0.
    pub n: u64,
    /// Which app instance sent it, from 0.
    pub instance: u32,
    pub start_ms: f64,
    pub acquire_wait_ms: f64,
    pub connect_ms: f64,
    pub query_ms: f64,
    pub total_ms: f64,
    /// `ok`, or the error kind (`too_many_clients`, `acquire_timeout`, ...).
    pub outcome: String,
    /// Answered from the cache without touching the database.
    pub cache_hit: bool,
    /// When it asked for a connection (naive: began opening its own; pooled: asked its pool), in
    /// ms from the run's start; none when it never asked (a cache hit, a breaker's refusal). Its
    /// wait and its connect are counted from here. (Absent from runs stored before it was noted.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_ms: Option<f64>,
    /// When it got its connection (naive: connected; pooled: the pool handed it over); none
    /// when it never got one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_from_ms: Option<f64>,
    /// When it gave its connection back (naive: closed it; pooled: handed it back to the pool);
    /// none when it never had one, or kept it (a leak) past the run's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_back_ms: Option<f64>,
}

impl RequestRecord {
    /// The CSV export's header row, matching [`RequestRecord::csv_row`].
    pub const CSV_HEADER: &'static str =
        "n,instance,start_ms,acquire_wait_ms,connect_ms,query_ms,total_ms,outcome,cache_hit";

    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{},{}",
            self.n,
            self.instance,
            self.start_ms,
            self.acquire_wait_ms,
            self.connect_ms,
            self.query_ms,
            self.total_ms,
            self.outcome,
            self.cache_hit
        )
    }
}

/// What changed in a run's network or its guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEventKind {
    /// The network proxy began the staged outage (refusing, or swallowing every byte).
    OutageBegins,
    /// The network proxy ended it.
    OutageEnds,
    /// The circuit breaker opened: after failures in a row, or after a failed trial.
    BreakerOpens,
    /// The circuit breaker closed: its trial request succeeded.
    BreakerCloses,
}

impl RunEventKind {
    /// Its name on a chart's time axis.
    pub fn label(self) -> &'static str {
        match self {
            RunEventKind::OutageBegins => "outage begins",
            RunEventKind::OutageEnds => "outage ends",
            RunEventKind::BreakerOpens => "breaker opens",
            RunEventKind::BreakerCloses => "breaker closes",
        }
    }
}

/// A change, at the instant the proxy or the breaker made it: ms from the run's start, the clock
/// of the requests' records (not the end of the frame that first showed it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub at_ms: f64,
    pub kind: RunEventKind,
}

/// The most of PgBouncer's readings a run's timeline keeps: its first few seconds' at
/// [`crate::frame::SHOW_POOLS_EVERY_MS`] (each reading takes a little time of its own).
pub const MAX_POOLER_READINGS: usize = 400;

/// Everything recorded of a run as it went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// In the order the requests started.
    pub requests: Vec<RequestRecord>,
    /// The live frames of the run, in `seq` order.
    pub frames: Vec<Frame>,
    /// Every reading of the server in the run's first moments (its first second's, every 10 ms,
    /// and a little more), each as a frame would show it: a frame carries only the latest, so
    /// the picture of an instant between two frames pairs it with the reading nearest it. (Absent
    /// from runs stored before they were kept.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<crate::frame::ServerFrame>,
    /// Every reading of PgBouncer's `SHOW POOLS` in the run's first moments (at most
    /// [`MAX_POOLER_READINGS`], every 10 ms), each timed on the run's clock: its chart draws them
    /// all, not only the ones paired with the server's `readings`. (Absent from runs without a
    /// pooler, and from runs stored before they were kept.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pooler_readings: Vec<crate::frame::PoolerFrame>,
    /// The outage's and the breaker's changes, in time order. (Absent from runs stored before they
    /// were recorded, and from runs with neither.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<RunEvent>,
}
