//! The live view: what the websocket `/ws` carries.
//!
//! While a run goes the backend sends a [`Frame`] about ten times a second (once a second when
//! idle). A frame holds two views side by side: the **app's** (its pool, its requests) and the
//! **server's** (backends from `pg_stat_activity`). Counts that change are sent as deltas for the
//! frame's interval, and the deltas of all a run's frames add up to its [`crate::Summary`].

use serde::{Deserialize, Serialize};

use crate::figures::ServerFacts;
use crate::summary::{ErrorCounts, RunView};

/// One frame of the live view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Frame {
    /// Increases by one per frame; a gap means this client missed frames.
    pub seq: u64,
    /// The run these figures belong to (none when idle).
    pub run_id: Option<String>,
    /// Milliseconds since the run started (0 when idle).
    pub elapsed_ms: u64,
    /// Milliseconds this frame's deltas cover.
    pub interval_ms: u64,
    pub app: AppFrame,
    /// The pool of the running pooled run (none for naive runs and when idle).
    pub pool: Option<PoolFrame>,
    /// Each app instance of the running run on its own (one for a single app).
    pub instances: Vec<InstanceFrame>,
    /// The run's PgBouncer, as its own `SHOW POOLS` tells (none when the run has no pooler).
    pub pooler: Option<PoolerFrame>,
    pub server: ServerFrame,
    /// The worker whose server and run these figures are (none from a lab older than workers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
}

/// How often the lab reads a run's PgBouncer's `SHOW POOLS`, in milliseconds.
pub const SHOW_POOLS_EVERY_MS: u64 = 10;

/// What PgBouncer's figures are, in the course's words: the page says it wherever it shows one.
pub const SHOW_POOLS: &str = "PgBouncer's own view: its SHOW POOLS, read every 10 ms. A sample of its connections, \
     not requests: it misses what lasts less.";

/// A PgBouncer's view of the run's traffic: its clients (the app's connections) and the server
/// connections it holds, read from its admin console's `SHOW POOLS` every [`SHOW_POOLS_EVERY_MS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolerFrame {
    pub mode: crate::spec::PoolerMode,
    /// Its `pool_size`: the most server connections it opens.
    pub pool_size: u64,
    /// Client connections paired with a server connection, or idle and needing none.
    pub cl_active: u64,
    /// Client connections that sent a query and wait for a server connection.
    pub cl_waiting: u64,
    /// Server connections lent to a client.
    pub sv_active: u64,
    /// Server connections free to lend.
    pub sv_idle: u64,
    /// Server connections free, but idle longer than `server_check_delay`: checked before they
    /// are lent again.
    pub sv_used: u64,
    /// Server connections being reset or checked.
    pub sv_tested: u64,
    /// Server connections being opened (logging in).
    pub sv_login: u64,
    /// How long the oldest waiting client has waited, in milliseconds.
    pub maxwait_ms: u64,
    /// When this reading was asked for, in ms from the running run's start (the clock of its
    /// frames and records), and how long PgBouncer took to answer it: the reading shows it at
    /// some instant in between. None when no run was going, or in runs stored before it was noted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at_ms: Option<u64>,
    pub read_took_ms: u64,
}

impl PoolerFrame {
    /// Every server connection PgBouncer holds or is opening.
    pub fn servers(&self) -> u64 {
        self.sv_active + self.sv_idle + self.sv_used + self.sv_tested + self.sv_login
    }

    /// The instant this reading shows PgBouncer at, in ms from the run's start: midway between
    /// when it was asked for and when it came (none when it says neither).
    pub fn shows_at(&self) -> Option<f64> {
        self.read_at_ms.map(|at| at as f64 + self.read_took_ms as f64 / 2.0)
    }

    /// Every client connection it has: waiting, served (linked to one of its server
    /// connections, `sv_active`), or idle.
    pub fn clients(&self) -> u64 {
        self.cl_active + self.cl_waiting
    }

    /// Client connections with no query to run: `cl_active` counts them with the clients linked
    /// to a server connection.
    pub fn idle_clients(&self) -> u64 {
        self.cl_active.saturating_sub(self.sv_active)
    }
}

/// One app instance of the running run: its own connections, and what the server sees of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceFrame {
    /// The `application_name` its connections carry (`poollab-pool-2`).
    pub name: String,
    /// Connections being opened right now (a naive request's own, or its pool's).
    pub connecting: u64,
    /// Connections its requests hold right now.
    pub holding: u64,
    /// Its pool (none for a naive app).
    pub pool: Option<PoolFrame>,
    /// Its backends as the server's `pg_stat_activity` shows them.
    pub server_backends: u64,
}

/// What a run has done so far: the sums of its frames' deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunTotals {
    pub completed: u64,
    pub failed: u64,
    pub errors: ErrorCounts,
    pub connects: u64,
    pub closes: u64,
    /// Requests the cache answered, and requests it sent on to the database.
    pub cache_hits: u64,
    pub cache_misses: u64,
}

/// The application's side: requests of the running run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppFrame {
    /// Requests started and not yet answered.
    pub in_flight: u64,
    pub completed_delta: u64,
    pub failed_delta: u64,
    pub errors_delta: ErrorCounts,
    /// Connections opened (connect + auth) in this interval.
    pub connects_delta: u64,
    pub connects_per_s: f64,
    /// Connections closed in this interval: by naive requests when done, by the pool when idle
    /// timeout or max lifetime retires one.
    pub closes_delta: u64,
    pub closes_per_s: f64,
    /// Of `closes_delta`, the pooled connections retired for reaching `max_lifetime`; a pool's
    /// other closes are idle connections reaped after `idle_timeout` (or broken ones).
    pub closes_lifetime_delta: u64,
    /// Median latency of the requests completed in this interval, if any.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency of the requests completed in this interval, if any.
    pub latency_p99_ms: Option<f64>,
    /// The leak detector: requests holding a connection past the run's `leak.detect_after_ms`,
    /// longest held first (at most 10 listed; `held_too_long_count` counts them all).
    pub held_too_long: Vec<HeldConnection>,
    pub held_too_long_count: u64,
    /// The circuit breaker's state, when the run has one.
    pub breaker: Option<BreakerState>,
    /// Requests answered from the cache / sent on to the database, in this interval (both zero
    /// when the run has no cache).
    pub cache_hits_delta: u64,
    pub cache_misses_delta: u64,
    /// True while the run's staged network outage is on.
    pub outage: bool,
    /// Connections being opened right now (TCP, startup, authentication), every instance's.
    pub connecting: u64,
    /// Connections requests hold right now (naive: their own; pooled: lent by a pool).
    pub holding: u64,
    /// The run so far.
    pub totals: RunTotals,
}

/// Where a circuit breaker is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Requests go through; failures in a row are counted.
    Closed,
    /// Requests fail at once with `circuit_open`, sparing the database and the callers' time.
    Open,
    /// One trial request is let through to see whether the database is back.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// A request that has held its connection for a suspiciously long time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldConnection {
    /// The request's number in its run, from 0.
    pub request: u64,
    pub held_ms: u64,
}

/// The pool's own counters, read from the real `sqlx` pool (summed over the run's app
/// instances when there are several).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolFrame {
    /// Connections the pool counts: `idle + in_use + connecting`.
    pub size: u64,
    /// Open and free to lend.
    pub idle: u64,
    /// Open and busy: lent to a request, or being checked by the pool as it is handed out or
    /// given back (sqlx pings a connection on its way back to the pool).
    pub in_use: u64,
    /// Being opened: sqlx counts a connection in the pool's size from the moment it starts
    /// connecting (and, for an instant, while it closes one).
    pub connecting: u64,
    /// Requests waiting for a connection right now.
    pub waiters: u64,
    /// How long the request that has waited longest has been waiting (0 when none waits).
    pub oldest_wait_ms: u64,
    /// The most connections the pools may open together: instances × `pool.max_connections`.
    pub max_connections: u64,
    /// How many app instances (each with its own pool) these figures add up.
    pub instances: u64,
}

impl PoolFrame {
    /// Its connections opening beside `in_use` connections in use, counted from the requests'
    /// records at an instant near this reading: those in use past the ones the reading saw open
    /// were among its opening ones, so no more open than the pool's size leaves (18.1 drew 8 in
    /// use and 2 opening for a pool of 8 that had 2 opening at the reading and 8 lent at the
    /// instant). What the picture and the fleet's bars draw opening.
    pub fn opening_beside(&self, in_use: u64) -> u64 {
        self.connecting.min(self.size.saturating_sub(in_use))
    }

    /// Several instances' pools as one: their counts added up (none for no pool).
    pub fn sum(instances: &[InstanceFrame]) -> Option<PoolFrame> {
        let mut pools = instances.iter().filter_map(|i| i.pool);
        let mut all = pools.next()?;
        for p in pools {
            all.size += p.size;
            all.idle += p.idle;
            all.in_use += p.in_use;
            all.connecting += p.connecting;
            all.waiters += p.waiters;
            all.oldest_wait_ms = all.oldest_wait_ms.max(p.oldest_wait_ms);
            all.max_connections += p.max_connections;
            all.instances += p.instances;
        }
        Some(all)
    }
}

/// The server's side, from `pg_stat_activity` (the sampler's own backend left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerFrame {
    /// False when the sampler could not reach the server for this frame.
    pub reachable: bool,
    /// All client backends on the server except the sampler's.
    pub backends: u64,
    /// Backends opened by the running run (grouped by its `application_name`).
    pub run_backends: u64,
    /// The most backends of the running run in any reading since the previous frame (the server
    /// is read every 10 ms in a run's first second and every 25 ms after, frames go out every
    /// 100 ms): what a run's peak is the largest of. A sample: a backend that lived between two
    /// readings is never seen.
    pub run_backends_peak: u64,
    pub by_application: Vec<CountBy>,
    pub by_state: Vec<CountBy>,
    /// The server's `max_connections` setting.
    pub max_connections: u64,
    /// Its `superuser_reserved_connections`: slots only superusers (the lab's sampler) may take.
    pub reserved_connections: u64,
    /// The CPUs it runs on, when the lab knows (0 when it does not).
    pub cpus: u64,
    /// Whether it offers TLS, and whether the lab can put a PgBouncer in front of it (none: not
    /// known), as in [`ServerFacts`].
    pub tls: Option<bool>,
    pub pgbouncer: Option<bool>,
    /// The running run's backends by state (`active`, `idle`, `idle in transaction`, ...).
    pub run_by_state: Vec<CountBy>,
    /// Connection attempts the server refused as `too many clients` since the run started, from
    /// its own log (only for the lab's private cluster; none otherwise).
    pub refused: Option<u64>,
    /// Backends still authenticating: they hold a connection slot, but PostgreSQL before 18
    /// lists a backend in `pg_stat_activity` only once it has authenticated. Counted from the
    /// server's processes (their titles say `authentication`), so only for the lab's private
    /// cluster on this machine; 0 otherwise. (Backends past authentication but not yet ready are
    /// in `pg_stat_activity` with no state: `by_state` counts them as `starting`.)
    pub authenticating: u64,
    /// When this reading was asked for, in ms from the running run's start (the clock of its
    /// frames and records), and how long the server took to answer it: the reading shows the
    /// server at some instant in between (a busy server answers late). None when idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at_ms: Option<u64>,
    pub read_took_ms: u64,
    /// Only in a timeline's readings ([`crate::timeline::Timeline::readings`]), of a run through
    /// a PgBouncer: its `SHOW POOLS` reading nearest this reading of the server, taken before or
    /// after it, so the picture of an instant shows both sides read then. (A frame carries its own in
    /// [`Frame::pooler`].)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooler: Option<PoolerFrame>,
    /// Only in a timeline's readings: the app's instances (their pools as sqlx counted them, what
    /// this reading shows of each) when this reading's answer came, so the picture of an instant
    /// shows the pools and the server read together. (A frame carries its own, read when it went
    /// out.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceFrame>,
}

/// The server as a run saw it, in time order, each reading beside the instant it shows: the run's
/// first readings (taken fast while it was young; one that says no instant shows the run's
/// start), then its frames' readings taken after the last of those (one that says no instant
/// shows its frame's). The one list the picture's moments and the server's peak are found in.
pub fn server_readings<'a>(first: &'a [ServerFrame], frames: &'a [Frame]) -> Vec<(f64, &'a ServerFrame)> {
    let mut all: Vec<(f64, &ServerFrame)> = first.iter().map(|r| (r.shows_at().unwrap_or(0.0), r)).collect();
    let after = all.last().map_or(f64::NEG_INFINITY, |(at, _)| *at);
    let framed = frames.iter().map(|f| (f.server.shows_at().unwrap_or(f.elapsed_ms as f64), &f.server));
    all.extend(framed.filter(|(at, _)| *at > after));
    all
}

/// PgBouncer as a run saw it, in time order: the readings of its first moments it kept (`first`,
/// `Timeline::pooler_readings`), then its frames' readings taken after the last of those. The one
/// list its chart draws and the summary's `peak_pooler_*` are the most of.
pub fn pooler_readings(first: &[PoolerFrame], frames: &[Frame]) -> Vec<PoolerFrame> {
    let until = first.iter().filter_map(|p| p.read_at_ms).max();
    let later = frames.iter().filter_map(|f| f.pooler).filter(|p| p.read_at_ms > until);
    first.iter().copied().chain(later).collect()
}

impl ServerFrame {
    /// The limits a lesson's text can name.
    pub fn facts(&self) -> ServerFacts {
        ServerFacts {
            max_connections: self.max_connections,
            reserved_connections: self.reserved_connections,
            cpus: self.cpus,
            tls: self.tls,
            pgbouncer: self.pgbouncer,
        }
    }

    /// The instant this reading shows the server at, in ms from the run's start: midway between
    /// when it was asked for and when it came (a busy server answers late); none when idle.
    pub fn shows_at(&self) -> Option<f64> {
        self.read_at_ms.map(|at| at as f64 + self.read_took_ms as f64 / 2.0)
    }

    /// Backends of one application (`application_name`; each of a run's app instances has its
    /// own), in any state: what "the server sees" of an instance.
    pub fn backends_of(&self, application: &str) -> u64 {
        self.by_application.iter().filter(|c| c.name == application).map(|c| c.count).sum()
    }

    /// Backends in one state, of the whole server.
    pub fn in_state(&self, state: &str) -> u64 {
        self.by_state.iter().filter(|c| c.name == state).map(|c| c.count).sum()
    }

    /// Backends of the running run in one state.
    pub fn run_in_state(&self, state: &str) -> u64 {
        self.run_by_state.iter().filter(|c| c.name == state).map(|c| c.count).sum()
    }

    /// The run's backends in no state yet (still starting, named by their startup message but
    /// not logged in): the run's backends past its active, idle and idle-in-transaction ones.
    pub fn run_starting(&self) -> u64 {
        let settled = ["active", "idle", "idle in transaction"].map(|st| self.run_in_state(st));
        self.run_backends.saturating_sub(settled.iter().sum())
    }

    /// Backends still starting that are no one's yet (no application name).
    pub fn unnamed_starting(&self) -> u64 {
        self.in_state("starting").saturating_sub(self.run_in_state("starting"))
    }

    /// Backends starting that no reading names yet: the unnamed ones still starting, and those
    /// still authenticating, which `pg_stat_activity` does not list. Each holds a slot all the same.
    pub fn starting_unnamed(&self) -> u64 {
        self.unnamed_starting() + self.authenticating
    }

    /// Other clients' backends: every client backend but the run's and those still starting that
    /// are no one's yet, with the sampler's own (left out of `backends`, it holds a slot all the
    /// same). What the picture draws as other clients, and the summary's `other_backends_at_peak`.
    pub fn others(&self) -> u64 {
        self.client_backends().saturating_sub(self.run_backends + self.unnamed_starting())
    }

    /// Every client backend, the sampler's own among them (left out of `backends`, it holds a
    /// slot all the same): what the charts and tiles call all client backends.
    pub fn client_backends(&self) -> u64 {
        self.backends + u64::from(self.reachable)
    }
}

/// A count of backends with one value of a column (application name, state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountBy {
    pub name: String,
    pub count: u64,
}

/// Everything the server sends over `/ws`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on a new socket.
    Hello {
        version: String,
    },
    Frame(Frame),
    /// A run changed state (queued, running, done, failed) or moved up the line.
    Run(RunView),
    /// The classroom's state: sent after `hello` and whenever the instructor changes it.
    Class(ClassState),
    /// The line and the workers: sent after `hello` and whenever either changes (at most a few
    /// times a second).
    Line(crate::line::LineView),
    /// Answer to a client's ping.
    Pong,
    /// The client sent something the server did not understand; the socket stays open.
    Error {
        message: String,
    },
}

/// What the instructor has set for the whole class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassState {
    /// Only the instructor's runs are accepted while locked.
    pub locked: bool,
    /// The lesson step the instructor asks everyone to follow, if any.
    pub follow: Option<FollowStep>,
    /// A class burst the instructor has armed: learners click in, then it fires as one run.
    pub burst: Option<ClassBurst>,
}

/// An armed class burst: every learner who clicks in adds `per_click` requests to one shared run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassBurst {
    /// Learners who have clicked in so far.
    pub clicks: u64,
    pub per_click: u32,
    pub strategy: crate::spec::Strategy,
}

/// A lesson step, by lesson id and step number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowStep {
    pub lesson: String,
    pub step: u32,
}

/// What a client may send over `/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping,
    /// Only this learner's runs, the instructor's runs, and `run` (a run the page shows, anyone's)
    /// send their frames to this socket from now on. A socket that never sends it hears every
    /// run's frames, as before workers let several runs go at once.
    Watch {
        #[serde(default)]
        run: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_readings_are_the_first_ones_then_the_frames_after_them() {
        let reading = |at: Option<u64>, took: u64, backends: u64| ServerFrame {
            read_at_ms: at,
            read_took_ms: took,
            run_backends: backends,
            ..ServerFrame::default()
        };
        let first = [reading(Some(0), 0, 1), reading(Some(10), 4, 2), reading(Some(20), 0, 3)];
        let frame = |elapsed_ms: u64, server: ServerFrame| Frame { elapsed_ms, server, ..Frame::default() };
        // The frames' first two readings are the first ones again (or older); a frame that says
        // no instant shows its own.
        let frames = [
            frame(0, first[0].clone()),
            frame(100, first[2].clone()),
            frame(200, reading(Some(95), 10, 4)),
            frame(300, reading(None, 0, 5)),
        ];
        let got: Vec<(f64, u64)> =
            server_readings(&first, &frames).iter().map(|(at, r)| (*at, r.run_backends)).collect();
        assert_eq!(got, [(0.0, 1), (12.0, 2), (20.0, 3), (100.0, 4), (300.0, 5)]);
        assert_eq!(server_readings(&[], &frames).len(), 4, "without first readings, every frame's");
    }

    #[test]
    fn pgbouncers_readings_are_the_kept_ones_then_the_frames_after_them() {
        let reading =
            |at: u64, waiting: u64| PoolerFrame { read_at_ms: Some(at), cl_waiting: waiting, ..PoolerFrame::default() };
        let kept = [reading(0, 0), reading(11, 7), reading(22, 3)];
        let frame = |elapsed_ms: u64, pooler: Option<PoolerFrame>| Frame { elapsed_ms, pooler, ..Frame::default() };
        // A frame's reading is the latest when it was sent: one of the kept ones, or one after.
        let frames =
            [frame(0, Some(kept[0])), frame(100, Some(kept[2])), frame(200, Some(reading(195, 9))), frame(300, None)];
        let waiting = |all: Vec<PoolerFrame>| all.iter().map(|p| (p.read_at_ms, p.cl_waiting)).collect::<Vec<_>>();
        let cases: [(&[PoolerFrame], Vec<(Option<u64>, u64)>); 2] = [
            (&kept, vec![(Some(0), 0), (Some(11), 7), (Some(22), 3), (Some(195), 9)]),
            (&[], vec![(Some(0), 0), (Some(22), 3), (Some(195), 9)]),
        ];
        for (first, want) in cases {
            assert_eq!(waiting(pooler_readings(first, &frames)), want, "{} kept", first.len());
        }
    }

    #[test]
    fn messages_are_tagged_by_type() {
        let json = serde_json::to_string(&ServerMessage::Frame(Frame::default())).unwrap();
        assert!(json.starts_with(r#"{"type":"frame","seq":0"#), "{json}");
        let back: ServerMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ServerMessage::Frame(Frame::default()));
        let ping: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert!(serde_json::from_str::<ServerMessage>(r#"{"type":"shout"}"#).is_err());
        assert_eq!(ping, ClientMessage::Ping);
        let watch: ClientMessage = serde_json::from_str(r#"{"type":"watch","run":"ab12"}"#).unwrap();
        assert_eq!(watch, ClientMessage::Watch { run: Some("ab12".into()) });
        let mine: ClientMessage = serde_json::from_str(r#"{"type":"watch"}"#).unwrap();
        assert_eq!(mine, ClientMessage::Watch { run: None });
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shout"}"#).is_err());
    }
}
