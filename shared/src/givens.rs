//! What a learner is given before a step runs: every input its model and its question need.
//!
//! A prediction worth making is reasoned from the experiment's inputs, so the step page lists
//! them before Run: the load, the pool, the work each request does, the timeouts, and the server's
//! CPUs and connection limit. The list is worked out from the step itself (its preset, and the
//! figures its question and model name), never typed in a lesson file, so it cannot drift from
//! what the run does.

use crate::expr::Expr;
use crate::figures::{Figures, Source};
use crate::lesson::{Step, names_in};
use crate::spec::{LoadShape, Query, Strategy};

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

/// The words and unit of an input figure, by its name.
fn label(name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match name {
        "requests" => ("requests", "requests", ""),
        "concurrency" => ("concurrency", "in flight at once, at most", ""),
        "instances" => ("instances", "app instances, each with its own pool", ""),
        "pool.max_connections" => ("pool.max_connections", "pool size (the pool's own max_connections)", ""),
        "pool.min_connections" => ("pool.min_connections", "connections opened before the run (min_connections)", ""),
        "pool.acquire_timeout_ms" => ("pool.acquire_timeout_ms", "acquire timeout", "ms"),
        "pool.idle_timeout_ms" => ("pool.idle_timeout_ms", "idle timeout", "ms"),
        "pool.max_lifetime_ms" => ("pool.max_lifetime_ms", "max lifetime", "ms"),
        "work.sleep_ms" => ("work.sleep_ms", "each query sleeps (pg_sleep)", "ms"),
        "work.hold_ms" => ("work.hold_ms", "slow call while holding the connection", "ms"),
        "work.users" => ("work.users", "distinct users asked for", ""),
        "work.idle_in_transaction_timeout_ms" => {
            ("work.idle_in_transaction_timeout_ms", "idle_in_transaction_session_timeout", "ms")
        }
        "load.rate_per_s" => ("load.rate_per_s", "arrivals per second", "req/s"),
        "load.ramp_to_per_s" => ("load.ramp_to_per_s", "ramping up to", "req/s"),
        "load.linger_ms" => ("load.linger_ms", "watched after the last answer", "ms"),
        "network.delay_ms" => ("network.delay_ms", "added to every round trip", "ms"),
        "network.outage.start_ms" => ("network.outage.start_ms", "outage starts at", "ms"),
        "network.outage.duration_ms" => ("network.outage.duration_ms", "outage lasts", "ms"),
        "breaker.failure_threshold" => ("breaker.failure_threshold", "failures in a row that open the breaker", ""),
        "breaker.open_ms" => ("breaker.open_ms", "breaker stays open", "ms"),
        "cache.ttl_ms" => ("cache.ttl_ms", "a cached answer stays fresh", "ms"),
        "leak.percent" => ("leak.percent", "requests that forget to give back", "%"),
        "pooler.pool_size" => ("pooler.pool_size", "PgBouncer's pool_size", ""),
        "pooler.query_wait_timeout_ms" => ("pooler.query_wait_timeout_ms", "PgBouncer's query_wait_timeout", "ms"),
        "server_cpus" => ("server_cpus", "the server's CPUs for this run", ""),
        "server.cpus" => ("server.cpus", "the server's CPUs", ""),
        "server.max_connections" => ("server.max_connections", "the server's limit (PostgreSQL's max_connections)", ""),
        "server.app_slots" => ("server.app_slots", "slots left for apps", ""),
        _ => return None,
    })
}

fn given(name: &str) -> Option<Given> {
    let (figure, label, unit) = label(name)?;
    Some(Given { label, figure: Some(figure), unit, words: None })
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
    /// The inputs a learner is given before Run: the load and the pool, what each query does,
    /// and every spec or server figure the question and the model name, each once, in that order.
    pub fn givens(&self) -> Vec<Given> {
        let spec = &self.preset;
        let mut names: Vec<&str> = vec!["requests", "concurrency"];
        if spec.load.shape != LoadShape::Burst {
            names.push("load.rate_per_s");
        }
        if spec.instances > 1 {
            names.push("instances");
        }
        if spec.strategy == Strategy::Pooled {
            names.extend(["pool.max_connections", "pool.acquire_timeout_ms"]);
            if spec.pool.min_connections > 0 {
                names.push("pool.min_connections");
            }
        }
        if spec.work.query == Query::Sleep {
            names.push("work.sleep_ms");
        }
        if spec.work.hold_ms > 0 {
            names.push("work.hold_ms");
        }
        if spec.pooler.is_some() {
            names.push("pooler.pool_size");
        }
        if spec.server_cpus > 0 {
            names.push("server_cpus");
        } else {
            names.push("server.cpus");
        }
        names.push("server.max_connections");
        let named = self
            .model
            .iter()
            .filter_map(|m| Expr::parse(&m.formula).ok())
            .flat_map(|e| e.figures().into_iter().map(str::to_owned).collect::<Vec<_>>())
            .chain(self.prediction.iter().flat_map(|p| names_in(&p.question)));
        let named: Vec<String> =
            named.filter(|n| matches!(Figures::source(n), Some(Source::Spec | Source::Server))).collect();
        let mut out: Vec<Given> = Vec::new();
        for name in names.into_iter().map(str::to_owned).chain(named) {
            if let Some(g) = given(&name)
                && !out.iter().any(|o| o.figure == g.figure)
            {
                out.push(g);
            }
        }
        out.insert(
            out.iter().position(|g| g.figure == Some("server.max_connections")).unwrap_or(out.len()),
            Given { label: "each request", figure: None, unit: "", words: Some(query_words(self)) },
        );
        out
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
            ["requests", "concurrency", "server.cpus", "words", "server.max_connections", "server.app_slots"]
        );
        let pooled = step(
            json!({ "strategy": "pooled", "work": { "query": "sleep", "sleep_ms": 20 }, "pool": { "max_connections": 5 } }),
            "requests / pool.max_connections * work.sleep_ms",
            "With {pool.idle_timeout_ms} ms idle, how many?",
        );
        assert_eq!(
            figures(&pooled),
            [
                "requests",
                "concurrency",
                "pool.max_connections",
                "pool.acquire_timeout_ms",
                "work.sleep_ms",
                "server.cpus",
                "words",
                "server.max_connections",
                "pool.idle_timeout_ms",
            ]
        );
        let heavy = step(
            json!({ "strategy": "pooled", "server_cpus": 1, "work": { "query": "heavy" } }),
            "server_cpus * 2",
            "?",
        );
        assert!(figures(&heavy).contains(&"server_cpus") && !figures(&heavy).contains(&"server.cpus"));
        assert!(query_words(&heavy).contains("20000 rows"));
    }
}
