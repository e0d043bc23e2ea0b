//! What a learner is given before a step runs: every input its model and its question need.
//!
//! A prediction worth making is reasoned from the experiment's inputs, so the step page lists
//! them before Run: the load, the pool, the work each request does, the timeouts, and the server's
//! CPUs and connection limit. The list is worked out from the step itself (its preset, and the
//! figures its question and model name), never typed in a lesson file, so it cannot drift from
//! what the run does.

use crate::expr::Expr;
use crate::figures::ServerFacts;
use crate::lesson::{Step, names_in};
use crate::spec::{Query, RunSpec, Strategy};

/// Rows in the demo `users` table every request queries (its migrations seed them).
pub const DEMO_TABLE_ROWS: u64 = 20_000;

/// One input of a step: its words, and the figure whose value the page fills in (none for an
/// input that is words only, like what each query does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub label: &'static str,
    /// A figure name of the spec or the server (`pool.max_connections`, `server.cpus`).
    pub figure: Option<&'static str>,
    pub unit: &'static str,
    /// Words in place of a number (what each request asks the database).
    pub words: Option<String>,
}

/// Every input a step can be given, in the order the card lists them: its figure's name (of the
/// spec or the server), its words, its unit.
pub const INPUTS: &[(&str, &str, &str)] = &[
    ("requests", "requests", ""),
    ("concurrency", "in flight at once, at most", ""),
    (
        "load.busy_pct",
        "arrivals, as a share of what the server answers one query at a time (timed just before the run)",
        "%",
    ),
    ("load.rate_per_s", "arrivals per second", "req/s"),
    ("load.ramp_to_per_s", "ramping up to", "req/s"),
    ("instances", "app instances, each with its own pool", ""),
    ("pool.max_connections", "pool size (the pool's own max_connections)", ""),
    ("pool.min_connections", "connections the pool keeps at least (min_connections)", ""),
    ("pool.acquire_timeout_ms", "acquire timeout (a request that has waited this long for a connection fails)", "ms"),
    ("pool.idle_timeout_ms", "idle timeout", "ms"),
    ("pool.max_lifetime_ms", "max lifetime", "ms"),
    ("work.sleep_ms", "each query sleeps (pg_sleep)", "ms"),
    ("work.hold_ms", "slow call while holding the connection", "ms"),
    ("work.users", "distinct users asked for", ""),
    ("work.idle_in_transaction_timeout_ms", "idle_in_transaction_session_timeout", "ms"),
    ("load.linger_ms", "watched after the last answer", "ms"),
    ("network.delay_ms", "added to every round trip", "ms"),
    ("network.outage.start_ms", "outage starts at", "ms"),
    ("network.outage.duration_ms", "outage lasts", "ms"),
    ("breaker.failure_threshold", "failures in a row that open the breaker", ""),
    ("breaker.open_ms", "breaker stays open", "ms"),
    ("cache.ttl_ms", "a cached answer stays fresh", "ms"),
    ("leak.percent", "requests that forget to give back", "%"),
    ("leak.detect_after_ms", "the leak detector names a connection held longer than", "ms"),
    ("pooler.pool_size", "PgBouncer's pool_size", ""),
    ("pooler.query_wait_timeout_ms", "PgBouncer's query_wait_timeout", "ms"),
    ("server_cpus", "the server's CPUs for this run", ""),
    ("server.cpus", "the server's CPUs", ""),
    ("server.max_connections", "the server's limit (PostgreSQL's max_connections)", ""),
    ("server.app_slots", "slots left for apps", ""),
    ("server.delayed_ack_ms", "the server holds back an ACK (Linux's shortest delayed ACK)", "ms"),
];

/// Whether every step of its kind lists `name`: the load, a pool's size and timeout, what a query
/// sleeps, a pooler's size, the server's CPUs and limit.
fn always(spec: &RunSpec, name: &str) -> bool {
    let pooled = spec.strategy == Strategy::Pooled;
    match name {
        "requests" | "concurrency" | "load.rate_per_s" | "work.sleep_ms" | "pooler.pool_size" => true,
        "pool.max_connections" | "pool.acquire_timeout_ms" => pooled,
        "server.cpus" => spec.server_cpus == 0,
        "server_cpus" | "server.max_connections" => true,
        _ => false,
    }
}

/// What each request asks the database to do, in words.
pub fn query_words(step: &Step) -> String {
    let w = &step.preset.work;
    let what = match w.query {
        Query::SelectUser => "looks one user up by primary key (an index probe)".to_owned(),
        Query::Sleep => "runs pg_sleep: holds its connection without making the server work".to_owned(),
        Query::Heavy => format!("scans all {DEMO_TABLE_ROWS} rows of the users table (no index fits)"),
    };
    let mut words = what;
    if w.transaction {
        words.push_str(", inside a transaction");
    }
    if step.preset.tls.is_some() {
        words.push_str("; connections may use TLS, as the step says");
    }
    words
}

impl Step {
    /// The inputs a learner is given before Run, each once, in [`INPUTS`]' order: the load, the
    /// pool and the server every step of its kind lists, every other number its preset sets (one
    /// that is not the default and not 0, which reads as off), and every spec or server figure its
    /// text, its question and its model name; what each query does, in words, before the server's.
    pub fn givens(&self) -> Vec<Given> {
        let spec = &self.preset;
        let default = RunSpec::default();
        let mut named: Vec<String> = names_in(&self.text);
        named.extend(self.prediction.iter().flat_map(|p| names_in(&p.question)));
        if let Some(e) = self.model.as_ref().and_then(|m| Expr::parse(&m.formula).ok()) {
            named.extend(e.figures().into_iter().map(str::to_owned));
        }
        let server = ServerFacts { cpus: 1, ..ServerFacts::default() };
        let mut out: Vec<Given> = INPUTS
            .iter()
            .filter(|(name, ..)| {
                let value = spec.figure(name);
                let set = value.is_some_and(|v| v != 0.0) && value != default.figure(name);
                let shown = value.is_none_or(|v| v != 0.0) && (value.is_some() || server.figure(name).is_some());
                // A rate the lab sets from the server's pace is given as that share, not as its
                // floor (unless the step names the floor).
                let floor = *name == "load.rate_per_s" && spec.load.busy_pct > 0;
                named.iter().any(|n| n == name) || (!floor && (set || (always(spec, name) && shown)))
            })
            .map(|&(name, label, unit)| Given { label, figure: Some(name), unit, words: None })
            .collect();
        let words = Given { label: "each request", figure: None, unit: "", words: Some(query_words(self)) };
        let at = out.iter().position(|g| g.figure.is_some_and(|f| f.starts_with("server"))).unwrap_or(out.len());
        out.insert(at, words);
        out
    }

    /// The names of every figure given before Run ([`Step::givens`]).
    pub fn given_names(&self) -> Vec<&'static str> {
        self.givens().iter().filter_map(|g| g.figure).collect()
    }

    /// The answer to the step's question as its model works it out from the givens alone (the
    /// spec's and the server's figures, no run's): what a learner who reasons it through arrives
    /// at. None when the step has no prediction, its model measures another figure than the one
    /// asked for, or its sum needs a figure that is not given.
    pub fn reasoned_answer(&self, server: ServerFacts) -> Option<f64> {
        let (p, m) = (self.prediction.as_ref()?, self.model.as_ref()?);
        if p.metric != m.measured {
            return None;
        }
        let formula = Expr::parse(&m.formula).ok()?;
        let given = self.given_names();
        if !formula.figures().iter().all(|n| given.iter().any(|g| g == n)) {
            return None;
        }
        let figures = self.figures(server, None);
        formula.eval_shown(&|name: &str| figures.get(name)).ok().filter(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(preset: serde_json::Value, formula: &str, question: &str) -> Step {
        serde_json::from_value(json!({
            "title": "a step", "text": "words", "preset": preset,
            "prediction": { "question": question, "metric": "failed" },
            "model": { "says": "x", "formula": formula, "measured": "failed" },
        }))
        .expect("a step")
    }

    fn figures(s: &Step) -> Vec<&'static str> {
        s.givens().iter().map(|g| g.figure.unwrap_or("words")).collect()
    }

    #[test]
    fn a_step_lists_the_inputs_its_model_and_question_need() {
        let naive = step(json!({ "strategy": "naive", "requests": 50 }), "server.app_slots", "How many?");
        assert_eq!(
            figures(&naive),
            ["requests", "concurrency", "words", "server.cpus", "server.max_connections", "server.app_slots"]
        );
        // Named by the question, the text or the model; set by the preset (the idle timeout, a
        // lifetime of 0 is off and not listed); a pool's size and timeout always.
        let pooled = step(
            json!({ "strategy": "pooled", "work": { "query": "sleep", "sleep_ms": 20 },
                    "pool": { "max_connections": 5, "idle_timeout_ms": 200, "max_lifetime_ms": 0 } }),
            "requests / pool.max_connections * work.sleep_ms + pool.min_connections",
            "With {load.linger_ms} ms of quiet, how many?",
        );
        assert_eq!(
            figures(&pooled),
            [
                "requests",
                "concurrency",
                "pool.max_connections",
                "pool.min_connections",
                "pool.acquire_timeout_ms",
                "pool.idle_timeout_ms",
                "work.sleep_ms",
                "load.linger_ms",
                "words",
                "server.cpus",
                "server.max_connections",
            ]
        );
        let heavy = step(
            json!({ "strategy": "pooled", "server_cpus": 1, "work": { "query": "heavy" },
                    "load": { "shape": "rate", "rate_per_s": 280 } }),
            "server_cpus * 2",
            "?",
        );
        let given = figures(&heavy);
        assert!(given.contains(&"server_cpus") && !given.contains(&"server.cpus"), "{given:?}");
        assert!(given.contains(&"load.rate_per_s") && !given.contains(&"work.sleep_ms"), "{given:?}");
        assert!(query_words(&heavy).contains("20000 rows"));
        // A rate the lab sets from the server's pace is given as that share, not as its floor.
        let paced = step(
            json!({ "strategy": "pooled", "server_cpus": 1, "work": { "query": "heavy" },
                    "load": { "shape": "random", "rate_per_s": 100, "busy_pct": 85 } }),
            "server_cpus * 2",
            "?",
        );
        let given = figures(&paced);
        assert!(given.contains(&"load.busy_pct") && !given.contains(&"load.rate_per_s"), "{given:?}");
    }

    #[test]
    fn a_reasoned_answer_is_the_model_worked_out_from_the_givens_alone() {
        const SERVER: ServerFacts =
            ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, tls: None, pgbouncer: None };
        let pooled = json!({ "strategy": "pooled", "requests": 100, "work": { "query": "sleep", "sleep_ms": 50 },
                             "pool": { "max_connections": 5 } });
        let waves = step(pooled.clone(), "(requests / pool.max_connections - 1) * work.sleep_ms", "How long?");
        assert_eq!(waves.reasoned_answer(SERVER), Some(950.0));
        assert_eq!(
            step(json!({ "strategy": "naive", "requests": 150 }), "requests - server.app_slots", "?")
                .reasoned_answer(SERVER),
            Some(53.0)
        );
        // A sum that needs a measured figure cannot be reasoned before the run.
        let measured = step(pooled.clone(), "requests * query_ms.p50", "?");
        assert_eq!(measured.reasoned_answer(SERVER), None);
        // Nor is an answer reasoned when the model measures something else than the question asks.
        let mut other = step(pooled, "requests", "?");
        if let Some(m) = other.model.as_mut() {
            m.measured = "completed".into();
        }
        assert_eq!(other.reasoned_answer(SERVER), None);
    }
}
