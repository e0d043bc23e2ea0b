//! What a worker and its coordinator say to each other.
//!
//! The same messages go either way the two are joined: over a channel when the worker is built
//! into the lab's own process ([`pair`]), or as JSON over a websocket the worker dials
//! (`GET /api/workers/connect`, see [`crate::worker::remote`]). The coordinator only ever sees a
//! [`CoordinatorEnd`], so it treats both alike.

use std::time::Duration;

use poollab_shared::timeline::MAX_POOLER_READINGS;
use poollab_shared::{Frame, Limits, RunSpec, ServerFacts, Summary, Timeline};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::engine::hub::{MAX_READINGS, RUN_FRAME_PERIOD};
use crate::engine::runner::RUN_DEADLINE;

/// How often a worker says it is alive (besides its frames), and how long its coordinator waits
/// for word from it before it counts the worker as gone.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);
pub const SILENCE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

// What a worker may send, at most. A run's timeline goes in one message (its `done`), so the
// link's limit is the largest legitimate timeline: a record for each of the most requests a run may
// fire, and a frame for each tick of the longest a run may go, each at its largest (the tests below
// check that a record and a frame with every field at its widest fit), with the summary beside them.

/// The longest a request's record is as JSON.
pub const RECORD_JSON_MAX: usize = 512;
/// The longest a frame is as JSON (20 instances, each pool's figures at their widest, the server's
/// backends by application and state: about 11 KiB).
pub const FRAME_JSON_MAX: usize = 16 << 10;
/// The longest one of PgBouncer's readings is as JSON.
pub const POOLER_JSON_MAX: usize = 512;
/// The longest a run event (an outage's or a breaker's change) is as JSON.
pub const EVENT_JSON_MAX: usize = 80;
/// The longest a summary is as JSON.
pub const SUMMARY_JSON_MAX: usize = 64 << 10;
/// The most frames a run's timeline holds: one every [`RUN_FRAME_PERIOD`] until the worker's own
/// deadline stops it, with 20 s to spare (the stop's grace, the last frames).
pub const MAX_TIMELINE_FRAMES: usize =
    ((RUN_DEADLINE.as_millis() + Duration::from_secs(20).as_millis()) / RUN_FRAME_PERIOD.as_millis()) as usize;
/// The most events a run of `requests` records: the outage's beginning and end, and a breaker's
/// change for each request at most (it opens or closes only on a request's report).
pub const fn max_events(requests: u64) -> u64 {
    requests + 2
}
/// The largest message on the link, either way (websocket message and frame alike): a `done` with
/// the largest timeline. Anything larger closes the link (the worker is dropped; its run fails).
pub const MAX_LINK_MESSAGE: usize = *Limits::REQUESTS.end() as usize * RECORD_JSON_MAX
    + (MAX_TIMELINE_FRAMES + MAX_READINGS) * FRAME_JSON_MAX
    + MAX_POOLER_READINGS * POOLER_JSON_MAX
    + max_events(*Limits::REQUESTS.end()) as usize * EVENT_JSON_MAX
    + SUMMARY_JSON_MAX;

/// Why a worker's timeline is refused: it holds more than the run could have made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    #[error("its timeline holds {got} requests, but the run fires at most {max}")]
    TooManyRequests { got: usize, max: u64 },
    #[error("its timeline holds {got} frames, but a run makes at most {max}")]
    TooManyFrames { got: usize, max: usize },
    #[error("its timeline holds {got} events, but the run records at most {max}")]
    TooManyEvents { got: usize, max: u64 },
    #[error("its timeline holds {got} readings of the server, but a run keeps at most {max}")]
    TooManyReadings { got: usize, max: usize },
    #[error("its timeline holds {got} readings of PgBouncer, but a run keeps at most {max}")]
    TooManyPoolerReadings { got: usize, max: usize },
}

/// Whether a timeline fits the run it is said to be of (`requests`: what its spec fires).
pub fn check_timeline(timeline: &Timeline, requests: u64) -> Result<(), TimelineError> {
    if timeline.requests.len() as u64 > requests {
        return Err(TimelineError::TooManyRequests { got: timeline.requests.len(), max: requests });
    }
    if timeline.frames.len() > MAX_TIMELINE_FRAMES {
        return Err(TimelineError::TooManyFrames { got: timeline.frames.len(), max: MAX_TIMELINE_FRAMES });
    }
    if timeline.events.len() as u64 > max_events(requests) {
        return Err(TimelineError::TooManyEvents { got: timeline.events.len(), max: max_events(requests) });
    }
    if timeline.readings.len() > MAX_READINGS {
        return Err(TimelineError::TooManyReadings { got: timeline.readings.len(), max: MAX_READINGS });
    }
    if timeline.pooler_readings.len() > MAX_POOLER_READINGS {
        let got = timeline.pooler_readings.len();
        return Err(TimelineError::TooManyPoolerReadings { got, max: MAX_POOLER_READINGS });
    }
    Ok(())
}

/// From a worker to its coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// First message: who the worker is, and what it runs on.
    Hello {
        name: String,
        version: String,
        server: ServerFacts,
        /// The CPU cores it is pinned to (empty: not pinned).
        cpus: Vec<u32>,
        /// Whether its PostgreSQL answers.
        database_up: bool,
    },
    /// Whether its PostgreSQL answers (on every change, and as a heartbeat).
    Status {
        database_up: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A frame of its live view: of the run it carries out, or of its idle server.
    Frame { frame: Box<Frame> },
    /// A run ended: what it measured, with every frame and request.
    Done { run: String, summary: Box<Summary>, timeline: Box<Timeline> },
    /// A run could not be carried out, and why; with what it measured until it stopped, if it
    /// started measuring (a cancelled run, or one stopped at its deadline).
    Failed {
        run: String,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeline: Option<Box<Timeline>>,
    },
}

/// From a coordinator to one of its workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Carry out this run (the worker checks its spec again).
    Run { id: String, spec: Box<RunSpec> },
    /// Stop this run now (the instructor cancelled it).
    Cancel { id: String },
}

/// The worker's end of a link.
pub struct WorkerEnd {
    pub tx: mpsc::Sender<FromWorker>,
    pub rx: mpsc::Receiver<ToWorker>,
}

/// The coordinator's end of a link.
pub struct CoordinatorEnd {
    pub tx: mpsc::Sender<ToWorker>,
    pub rx: mpsc::Receiver<FromWorker>,
}

/// Messages a link holds before its sender waits (frames come ten a second).
const LINK_BUFFER: usize = 64;

/// Both ends of a fresh link.
pub fn pair() -> (WorkerEnd, CoordinatorEnd) {
    let (to_coordinator, from_worker) = mpsc::channel(LINK_BUFFER);
    let (to_worker, from_coordinator) = mpsc::channel(LINK_BUFFER);
    (WorkerEnd { tx: to_coordinator, rx: from_coordinator }, CoordinatorEnd { tx: to_worker, rx: from_worker })
}

#[cfg(test)]
mod tests {
    use poollab_shared::{
        AppFrame, BreakerState, CountBy, HeldConnection, InstanceFrame, PoolFrame, PoolerFrame, RequestRecord,
        RunEvent, RunEventKind, ServerFrame,
    };

    use super::*;

    /// A number as wide as JSON writes an f64.
    const WIDE: f64 = -1.234_567_890_123_456_7e-300;

    fn widest_record() -> RequestRecord {
        RequestRecord {
            n: u64::MAX,
            instance: u32::MAX,
            start_ms: WIDE,
            acquire_wait_ms: WIDE,
            connect_ms: WIDE,
            query_ms: WIDE,
            total_ms: WIDE,
            // The longest outcome the lab writes is an error kind's name.
            outcome: "x".repeat(40),
            cache_hit: false,
            asked_ms: Some(WIDE),
            held_from_ms: Some(WIDE),
            given_back_ms: Some(WIDE),
        }
    }

    fn widest_event() -> RunEvent {
        RunEvent { at_ms: WIDE, kind: RunEventKind::BreakerCloses }
    }

    fn widest_frame() -> Frame {
        let pool = PoolFrame {
            size: u64::MAX,
            idle: u64::MAX,
            in_use: u64::MAX,
            connecting: u64::MAX,
            waiters: u64::MAX,
            oldest_wait_ms: u64::MAX,
            max_connections: u64::MAX,
            ..PoolFrame::default()
        };
        let instances = (0..*Limits::INSTANCES.end())
            .map(|i| InstanceFrame {
                name: format!("app-{i}"),
                connecting: u64::MAX,
                holding: u64::MAX,
                pool: Some(pool),
                server_backends: u64::MAX,
            })
            .collect();
        // The lab's application names and PostgreSQL's backend states.
        let by = |names: &[&str]| names.iter().map(|n| CountBy { name: (*n).to_owned(), count: u64::MAX }).collect();
        let apps = &[
            "poollab-app",
            "poollab-admin",
            "poollab-sampler",
            "poollab-demo-naive",
            "poollab-demo-pooled",
            "pgbouncer",
            "psql",
            "",
        ];
        let states = &[
            "active",
            "idle",
            "idle in transaction",
            "idle in transaction (aborted)",
            "fastpath function call",
            "disabled",
            "starting",
        ];
        Frame {
            seq: u64::MAX,
            run_id: Some("x".repeat(32)),
            elapsed_ms: u64::MAX,
            interval_ms: u64::MAX,
            app: AppFrame {
                in_flight: u64::MAX,
                connects_per_s: WIDE,
                closes_per_s: WIDE,
                latency_p50_ms: Some(WIDE),
                latency_p99_ms: Some(WIDE),
                held_too_long: vec![HeldConnection { request: u64::MAX, held_ms: u64::MAX }; 10],
                held_too_long_count: u64::MAX,
                breaker: Some(BreakerState::HalfOpen),
                ..AppFrame::default()
            },
            pool: Some(pool),
            instances,
            pooler: Some(WIDEST_POOLER),
            server: ServerFrame {
                backends: u64::MAX,
                by_application: by(apps),
                by_state: by(states),
                run_by_state: by(states),
                refused: Some(u64::MAX),
                read_at_ms: Some(u64::MAX),
                // Only a timeline's readings carry PgBouncer's beside the server's.
                pooler: None,
                ..ServerFrame::default()
            },
            worker: Some("x".repeat(crate::coordinator::credentials::MAX_NAME_CHARS)),
        }
    }

    const WIDEST_POOLER: PoolerFrame = PoolerFrame {
        mode: poollab_shared::PoolerMode::Transaction,
        pool_size: u64::MAX,
        cl_active: u64::MAX,
        cl_waiting: u64::MAX,
        sv_active: u64::MAX,
        sv_idle: u64::MAX,
        sv_used: u64::MAX,
        sv_tested: u64::MAX,
        sv_login: u64::MAX,
        maxwait_ms: u64::MAX,
        read_at_ms: Some(u64::MAX),
        read_took_ms: u64::MAX,
    };

    #[test]
    fn the_widest_record_and_frame_fit_the_links_bounds() {
        let record = serde_json::to_string(&widest_record()).expect("json").len();
        assert!(record <= RECORD_JSON_MAX, "a record of {record} bytes");
        let frame = serde_json::to_string(&widest_frame()).expect("json").len();
        assert!(frame <= FRAME_JSON_MAX, "a frame of {frame} bytes");
        let event = serde_json::to_string(&widest_event()).expect("json").len();
        assert!(event <= EVENT_JSON_MAX, "an event of {event} bytes");
        let pooler = serde_json::to_string(&WIDEST_POOLER).expect("json").len();
        assert!(pooler <= POOLER_JSON_MAX, "a reading of PgBouncer of {pooler} bytes");
        let summary = serde_json::to_string(&Summary::default()).expect("json").len();
        assert!(summary * 4 <= SUMMARY_JSON_MAX, "a summary of {summary} bytes");
        println!("record {record} B, frame {frame} B, summary {summary} B; link limit {MAX_LINK_MESSAGE} B");
    }

    #[test]
    fn the_largest_legitimate_done_fits_the_link() {
        let timeline = Timeline {
            requests: vec![widest_record(); *Limits::REQUESTS.end() as usize],
            frames: vec![widest_frame(); MAX_TIMELINE_FRAMES],
            readings: vec![ServerFrame { pooler: Some(WIDEST_POOLER), ..widest_frame().server }; MAX_READINGS],
            pooler_readings: vec![WIDEST_POOLER; MAX_POOLER_READINGS],
            events: vec![widest_event(); max_events(*Limits::REQUESTS.end()) as usize],
        };
        assert_eq!(check_timeline(&timeline, *Limits::REQUESTS.end()), Ok(()));
        let done = FromWorker::Done { run: "x".repeat(32), summary: Box::default(), timeline: Box::new(timeline) };
        let bytes = serde_json::to_string(&done).expect("json").len();
        assert!(bytes <= MAX_LINK_MESSAGE, "{bytes} > {MAX_LINK_MESSAGE}");
    }

    #[test]
    fn a_timeline_may_not_hold_more_than_its_run_made() {
        let timeline = |requests: usize, frames: usize| Timeline {
            requests: vec![widest_record(); requests],
            frames: vec![Frame::default(); frames],
            readings: Vec::new(),
            pooler_readings: Vec::new(),
            events: Vec::new(),
        };
        let cases = [
            (timeline(0, 0), 5, Ok(())),
            (timeline(5, 10), 5, Ok(())),
            (timeline(6, 10), 5, Err(TimelineError::TooManyRequests { got: 6, max: 5 })),
            (timeline(5, MAX_TIMELINE_FRAMES), 5, Ok(())),
            (
                timeline(5, MAX_TIMELINE_FRAMES + 1),
                5,
                Err(TimelineError::TooManyFrames { got: MAX_TIMELINE_FRAMES + 1, max: MAX_TIMELINE_FRAMES }),
            ),
            (Timeline { events: vec![widest_event(); 7], ..timeline(5, 10) }, 5, Ok(())),
            (Timeline { readings: vec![ServerFrame::default(); MAX_READINGS], ..timeline(5, 10) }, 5, Ok(())),
            (
                Timeline { readings: vec![ServerFrame::default(); MAX_READINGS + 1], ..timeline(5, 10) },
                5,
                Err(TimelineError::TooManyReadings { got: MAX_READINGS + 1, max: MAX_READINGS }),
            ),
            (
                Timeline { pooler_readings: vec![PoolerFrame::default(); MAX_POOLER_READINGS], ..timeline(5, 10) },
                5,
                Ok(()),
            ),
            (
                Timeline { pooler_readings: vec![PoolerFrame::default(); MAX_POOLER_READINGS + 1], ..timeline(5, 10) },
                5,
                Err(TimelineError::TooManyPoolerReadings { got: MAX_POOLER_READINGS + 1, max: MAX_POOLER_READINGS }),
            ),
            (
                Timeline { events: vec![widest_event(); 8], ..timeline(5, 10) },
                5,
                Err(TimelineError::TooManyEvents { got: 8, max: 7 }),
            ),
        ];
        for (t, requests, expect) in cases {
            assert_eq!(
                check_timeline(&t, requests),
                expect,
                "{} requests, {} frames",
                t.requests.len(),
                t.frames.len()
            );
        }
    }

    #[test]
    fn messages_are_tagged_json() {
        let json = serde_json::to_string(&ToWorker::Cancel { id: "ab".into() }).expect("json");
        assert_eq!(json, r#"{"type":"cancel","id":"ab"}"#);
        let back: FromWorker =
            serde_json::from_str(r#"{"type":"status","database_up":false,"reason":"refused"}"#).expect("status");
        assert!(matches!(back, FromWorker::Status { database_up: false, reason: Some(_) }));
    }
}
