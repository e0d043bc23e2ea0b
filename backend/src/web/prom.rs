//! `GET /metrics`: the same figures for Prometheus, in its text format.
//!
//! Counters (requests by strategy and outcome) are kept as they happen; gauges (pool and server
//! connections) are read when scraped, from the demo pool and from each worker's latest frame
//! (its server and its running run, labelled `worker`).

use std::fmt::Write;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use poollab_shared::Frame;

use crate::engine::strategy::PooledStrategy;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub strategy: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerStateLabels {
    worker: String,
    state: &'static str,
}

/// A state as `pg_stat_activity` names it (`active`, `idle`, `idle in transaction`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendStateLabels {
    worker: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    worker: String,
    application: String,
}

pub struct PromMetrics {
    registry: Registry,
    /// Demo requests answered, by strategy and outcome (`ok` or an error kind).
    pub requests: Family<RequestLabels, Counter>,
    pool_connections: Family<StateLabels, Gauge>,
    pool_waiters: Gauge,
    server_connections: Family<AppLabels, Gauge>,
    server_connections_by_state: Family<BackendStateLabels, Gauge>,
    run_pool_connections: Family<WorkerStateLabels, Gauge>,
    run_pool_waiters: Family<WorkerLabels, Gauge>,
    run_active: Family<WorkerLabels, Gauge>,
    server_max_connections: Family<WorkerLabels, Gauge>,
    server_up: Family<WorkerLabels, Gauge>,
}

impl PromMetrics {
    pub fn new() -> PromMetrics {
        let mut registry = Registry::with_prefix("poollab");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("demo_requests", "Demo requests answered, by strategy and outcome", requests.clone());
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register("pool_connections", "Connections of the demo pool, by state", pool_connections.clone());
        let pool_waiters = Gauge::default();
        registry.register("pool_waiters", "Demo requests waiting for a pooled connection", pool_waiters.clone());
        let server_connections = Family::<AppLabels, Gauge>::default();
        registry.register(
            "server_connections",
            "Client backends in pg_stat_activity, by application_name",
            server_connections.clone(),
        );
        let server_connections_by_state = Family::<BackendStateLabels, Gauge>::default();
        registry.register(
            "server_connections_by_state",
            "Client backends in pg_stat_activity, by state",
            server_connections_by_state.clone(),
        );
        let run_pool_connections = Family::<WorkerStateLabels, Gauge>::default();
        registry.register(
            "run_pool_connections",
            "Connections of the running run's pools (all its app instances), by state",
            run_pool_connections.clone(),
        );
        let run_pool_waiters = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "run_pool_waiters",
            "Requests of the running run waiting for a connection",
            run_pool_waiters.clone(),
        );
        let run_active = Family::<WorkerLabels, Gauge>::default();
        registry.register("run_active", "1 while a run goes on the worker", run_active.clone());
        let server_max_connections = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "server_max_connections",
            "The max_connections of the worker's server",
            server_max_connections.clone(),
        );
        let server_up = Family::<WorkerLabels, Gauge>::default();
        registry.register("server_up", "1 when the worker's sampler reached its server", server_up.clone());
        PromMetrics {
            registry,
            requests,
            pool_connections,
            pool_waiters,
            server_connections,
            server_connections_by_state,
            run_pool_connections,
            run_pool_waiters,
            run_active,
            server_max_connections,
            server_up,
        }
    }

    /// Counts one demo request.
    pub fn count(&self, strategy: &'static str, outcome: &'static str) {
        self.requests.get_or_create(&RequestLabels { strategy, outcome }).inc();
    }

    /// The text for a scrape: the demo pool, and each worker's `(name, latest frame)`.
    pub fn render(&self, workers: &[(String, Frame)], demo: &PooledStrategy) -> String {
        let pool = demo.gauges().pool(demo.pool(), 0);
        for (state, n) in [("idle", pool.idle), ("in_use", pool.in_use), ("connecting", pool.connecting)] {
            self.pool_connections.get_or_create(&StateLabels { state }).set(n as i64);
        }
        self.pool_waiters.set(pool.waiters as i64);
        // Workers come and go: only those joined now are reported.
        self.server_connections.clear();
        self.server_connections_by_state.clear();
        self.run_pool_connections.clear();
        for family in [&self.run_pool_waiters, &self.run_active, &self.server_max_connections, &self.server_up] {
            family.clear();
        }
        for (worker, frame) in workers {
            let server = &frame.server;
            for c in &server.by_application {
                let labels = AppLabels { worker: worker.clone(), application: c.name.clone() };
                self.server_connections.get_or_create(&labels).set(c.count as i64);
            }
            for c in &server.by_state {
                let labels = BackendStateLabels { worker: worker.clone(), state: c.name.clone() };
                self.server_connections_by_state.get_or_create(&labels).set(c.count as i64);
            }
            let run_pool = frame.pool.unwrap_or_default();
            for (state, n) in
                [("idle", run_pool.idle), ("in_use", run_pool.in_use), ("connecting", run_pool.connecting)]
            {
                let labels = WorkerStateLabels { worker: worker.clone(), state };
                self.run_pool_connections.get_or_create(&labels).set(n as i64);
            }
            let w = WorkerLabels { worker: worker.clone() };
            self.run_pool_waiters.get_or_create(&w).set(run_pool.waiters as i64);
            self.run_active.get_or_create(&w).set(i64::from(frame.run_id.is_some()));
            self.server_max_connections.get_or_create(&w).set(server.max_connections as i64);
            self.server_up.get_or_create(&w).set(i64::from(server.reachable));
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            let _ = writeln!(out, "# encoding failed");
        }
        out
    }
}

impl Default for PromMetrics {
    fn default() -> Self {
        Self::new()
    }
}
