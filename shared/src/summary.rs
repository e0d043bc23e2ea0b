//! What a run measured, and where a run is in its life.

use serde::{Deserialize, Serialize};

use crate::spec::RunSpec;
use crate::timeline::Timeline;

/// Why a request failed, in the words a learner meets in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The server refused a new backend: SQLSTATE 53300, `too many clients already` (or the slots
    /// left are reserved for superusers).
    TooManyClients,
    /// The pool had no free connection within `acquire_timeout_ms`.
    AcquireTimeout,
    /// Opening a connection took longer than the connect timeout.
    ConnectTimeout,
    /// A circuit breaker refused the request without trying the database.
    CircuitOpen,
    /// The server could not be reached at all (refused, reset, shutting down).
    DatabaseDown,
    /// The server ended the session for idling in a transaction past
    /// `idle_in_transaction_session_timeout` (SQLSTATE 25P03).
    IdleInTransactionTimeout,
    /// A prepared statement the connection counted on was not on the server connection that ran
    /// the query, or its name was already taken there (SQLSTATE 26000 or 42P05): what a
    /// transaction-mode pooler does to statements prepared outside a transaction.
    PreparedStatement,
    /// The pooler found no server connection for the query within its `query_wait_timeout`.
    QueryWaitTimeout,
    /// Anything else; the server log has the details.
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::TooManyClients,
        ErrorKind::AcquireTimeout,
        ErrorKind::ConnectTimeout,
        ErrorKind::CircuitOpen,
        ErrorKind::DatabaseDown,
        ErrorKind::IdleInTransactionTimeout,
        ErrorKind::PreparedStatement,
        ErrorKind::QueryWaitTimeout,
        ErrorKind::Other,
    ];

    /// The snake_case name used on the wire and in Prometheus labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TooManyClients => "too_many_clients",
            ErrorKind::AcquireTimeout => "acquire_timeout",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::DatabaseDown => "database_down",
            ErrorKind::IdleInTransactionTimeout => "idle_in_transaction_timeout",
            ErrorKind::PreparedStatement => "prepared_statement",
            ErrorKind::QueryWaitTimeout => "query_wait_timeout",
            ErrorKind::Other => "other",
        }
    }
}

/// Failed requests by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorCounts {
    pub too_many_clients: u64,
    pub acquire_timeout: u64,
    pub connect_timeout: u64,
    pub circuit_open: u64,
    pub database_down: u64,
    pub idle_in_transaction_timeout: u64,
    pub prepared_statement: u64,
    pub query_wait_timeout: u64,
    pub other: u64,
}

impl ErrorCounts {
    pub fn get(&self, kind: ErrorKind) -> u64 {
        match kind {
            ErrorKind::TooManyClients => self.too_many_clients,
            ErrorKind::AcquireTimeout => self.acquire_timeout,
            ErrorKind::ConnectTimeout => self.connect_timeout,
            ErrorKind::CircuitOpen => self.circuit_open,
            ErrorKind::DatabaseDown => self.database_down,
            ErrorKind::IdleInTransactionTimeout => self.idle_in_transaction_timeout,
            ErrorKind::PreparedStatement => self.prepared_statement,
            ErrorKind::QueryWaitTimeout => self.query_wait_timeout,
            ErrorKind::Other => self.other,
        }
    }

    pub fn add(&mut self, kind: ErrorKind, n: u64) {
        let slot = match kind {
            ErrorKind::TooManyClients => &mut self.too_many_clients,
            ErrorKind::AcquireTimeout => &mut self.acquire_timeout,
            ErrorKind::ConnectTimeout => &mut self.connect_timeout,
            ErrorKind::CircuitOpen => &mut self.circuit_open,
            ErrorKind::DatabaseDown => &mut self.database_down,
            ErrorKind::IdleInTransactionTimeout => &mut self.idle_in_transaction_timeout,
            ErrorKind::PreparedStatement => &mut self.prepared_statement,
            ErrorKind::QueryWaitTimeout => &mut self.query_wait_timeout,
            ErrorKind::Other => &mut self.other,
        };
        *slot += n;
    }

    pub fn total(&self) -> u64 {
        ErrorKind::ALL.iter().map(|k| self.get(*k)).sum()
    }

    /// Counts in `self` that are not yet in `earlier` (for per-frame deltas).
    pub fn since(&self, earlier: &ErrorCounts) -> ErrorCounts {
        let mut d = ErrorCounts::default();
        for k in ErrorKind::ALL {
            d.add(k, self.get(k).saturating_sub(earlier.get(k)));
        }
        d
    }
}

/// Latency percentiles of the completed requests, in milliseconds, from an HDR histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The measured result of a finished run. (Fields missing from a stored summary read as zero.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub completed: u64,
    pub failed: u64,
    pub errors: ErrorCounts,
    /// Time from the request's start to its answer, for the requests that completed.
    pub latency_ms: LatencySummary,
    /// Time requests spent waiting for a pooled connection (all zero for naive runs).
    pub acquire_wait_ms: LatencySummary,
    /// Time naive requests spent opening their connection: TCP, startup, SCRAM authentication
    /// (all zero for pooled runs, whose connects happen inside the pool). Only connects that
    /// succeeded count here: a failed attempt is in `failed_ms`, never in a connect figure.
    pub connect_ms: LatencySummary,
    /// The same, split by whether the connect used TLS (naive runs; `tls: "both"` has some of each).
    pub connect_tls_ms: LatencySummary,
    pub connect_plain_ms: LatencySummary,
    /// Each kind split once more (`nodelay`): made as sqlx ships (Nagle on, straight to the
    /// server), and made through the lab's no-delay relay (`nodelay: "on"`, or half of `"both"`).
    pub connect_tls_nagle_ms: LatencySummary,
    pub connect_tls_nodelay_ms: LatencySummary,
    pub connect_plain_nagle_ms: LatencySummary,
    pub connect_plain_nodelay_ms: LatencySummary,
    /// Time the query itself took, once a connection was held.
    pub query_ms: LatencySummary,
    /// Time from a failed request's start to its failure: how long a user waited for an error.
    pub failed_ms: LatencySummary,
    /// Most backends of this run that the server's `pg_stat_activity` showed at one moment.
    pub peak_server_connections: u64,
    /// Backends of other clients in the reading where this run's first reached
    /// `peak_server_connections`: every client backend `pg_stat_activity` showed then, less this
    /// run's and the sampler's (the lab's own connections, other runs'). They hold slots for
    /// applications the run could not have. A sample, like the peak. (0 in runs stored before it
    /// was noted.)
    pub other_backends_at_peak: u64,
    /// Largest size the run's pool reached (0 for naive runs).
    pub peak_pool_size: u64,
    /// Most connections the run's requests held at one instant (pooled: lent out by the pools;
    /// naive: their own, open): [`crate::activity::HOLDING`], counted from the requests' records.
    pub peak_in_use: u64,
    /// Most requests waiting for a pooled connection at one instant: [`crate::activity::WAITING`].
    pub peak_waiters: u64,
    /// Most requests in flight at one instant: [`crate::activity::IN_FLIGHT`].
    pub peak_in_flight: u64,
    /// Most requests opening their own connection (naive) at one instant:
    /// [`crate::activity::CONNECTING`].
    pub peak_connecting: u64,
    /// Connections in use on average over the load ([`crate::activity::MEAN_IN_USE`]): what
    /// Little's law predicts. (0 in runs stored before it was noted.)
    pub mean_in_use: f64,
    /// The run's busiest moment ([`crate::activity::BUSIEST`]), in ms from its start; none for a
    /// run without requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busiest_ms: Option<f64>,
    /// Most of this run's backends the server showed `idle in transaction` at one moment.
    pub peak_idle_in_transaction: u64,
    /// With a pooler: the most server connections PgBouncer held, the most client connections it
    /// had, and the most of those waiting for a server connection, in any of its `SHOW POOLS`
    /// readings (samples: see [`crate::frame::SHOW_POOLS`]).
    pub peak_pooler_servers: u64,
    pub peak_pooler_clients: u64,
    pub peak_pooler_waiting: u64,
    /// What the pools held when the run ended (after its linger): an idle timeout shrinks it.
    pub pool_size_at_end: u64,
    /// Real connections (connect + authentication) the run opened.
    pub connections_opened: u64,
    /// Of those, the ones opened with TLS required (`sslmode=verify-full` or `require`: a connect
    /// that succeeds is encrypted).
    pub tls_connections: u64,
    /// Pooled connections closed for idling past `idle_timeout` (or found broken).
    pub closes_idle: u64,
    /// Pooled connections retired for reaching `max_lifetime`.
    pub closes_lifetime: u64,
    /// Connection attempts the server refused with `too many clients` while the run went, as its
    /// own log counts them (sqlx retries these inside a pool, so the app never sees most of
    /// them). Only known for the lab's private cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_connects: Option<u64>,
    /// How long the load took: from its first request's release to its last answer.
    pub duration_ms: u64,
    /// When the load began, in ms from the run's start (the clock of its records, frames and
    /// picture): after the pools' warm-up of `min_connections`, 0 without one. (Absent from runs
    /// stored before it was noted.)
    #[serde(default)]
    pub load_started_ms: u64,
    pub throughput_per_s: f64,
    /// Connections requests kept instead of giving back (the leak lesson's deliberate bug).
    pub leaked: u64,
    /// Requests the leak detector flagged: still holding a connection past `detect_after_ms`.
    pub leak_suspects: u64,
    /// Requests answered from the cache, and requests that went on to the database.
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// How many times the circuit breaker opened.
    pub breaker_opened: u64,
    /// With `load.busy_pct` (0 otherwise): the time per query of the run's query on its server
    /// kept busy, just before the run, and the arrival rate set from it.
    pub pace_query_ms: f64,
    pub pace_rate_per_s: u32,
    /// The first error message of each kind that occurred (by the kind's name), in the words
    /// of the server, PgBouncer or the pool.
    pub error_examples: std::collections::BTreeMap<String, String>,
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Done,
    /// The run could not be carried out at all (e.g. the database was unreachable); see `error`.
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }
}

/// A run as `GET /api/runs/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub id: String,
    pub state: RunState,
    pub spec: RunSpec,
    /// Milliseconds since the Unix epoch when the run was submitted.
    pub submitted_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// While queued: the run's place in line (1: next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// The worker that carries it out (once it has started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// How many learners are on the run: the one who asked for it, and those who asked for the
    /// identical run while it waited and joined it (shared runs). 0 for the instructor's.
    #[serde(default)]
    pub learners: u32,
    /// Every request and frame of the run: only with `GET /api/runs/{id}?timeline=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_counts_use_the_design_field_names() {
        let mut e = ErrorCounts::default();
        e.add(ErrorKind::TooManyClients, 3);
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["too_many_clients"], 3);
        for k in ErrorKind::ALL {
            assert!(json.get(k.as_str()).is_some(), "{}", k.as_str());
        }
        assert_eq!(e.total(), 3);
    }

    #[test]
    fn a_summary_stored_before_a_figure_was_noted_reads_it_as_zero() {
        let old = serde_json::json!({ "completed": 5, "peak_server_connections": 87 });
        let s: Summary = serde_json::from_value(old).unwrap();
        assert_eq!((s.completed, s.peak_server_connections, s.other_backends_at_peak), (5, 87, 0));
        let new = serde_json::to_value(Summary { other_backends_at_peak: 10, ..s }).unwrap();
        assert_eq!(new["other_backends_at_peak"], 10);
    }

    #[test]
    fn deltas_add_back_up() {
        let mut a = ErrorCounts::default();
        a.add(ErrorKind::Other, 2);
        let mut b = a;
        b.add(ErrorKind::Other, 5);
        b.add(ErrorKind::AcquireTimeout, 1);
        let d = b.since(&a);
        assert_eq!((d.other, d.acquire_timeout, d.total()), (5, 1, 6));
    }
}
