//! From a translated pool, a deployment and its traffic to what the lab runs: one sizing sweep
//! around the pool, whose point at the pool's own size is "your pool, measured".
//!
//! One worker drives at most [`MAX_RATE_PER_S`] requests a second for [`PLAYED_S`] seconds, and at
//! most [`Limits::INSTANCES`] app instances. Traffic beyond that is scaled down proportionally:
//! instances and requests a second by the same factor, so each instance sees the load it would
//! in production, and the plan says so.

use poollab_shared::{Limits, LoadShape, Query, RunSpec, SweepSpec};
use serde::{Deserialize, Serialize};

/// How many seconds of the peak a run plays.
pub const PLAYED_S: u32 = 10;
/// The most requests a second one run can play for [`PLAYED_S`] seconds within the lab's
/// [`Limits::REQUESTS`].
pub const MAX_RATE_PER_S: u32 = (*Limits::REQUESTS.end() / PLAYED_S as u64) as u32;

/// Where the app runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// App instances (replicas), each with its own pool.
    pub instances: u32,
    /// The server's `max_connections`.
    pub max_connections: u32,
}

/// How the traffic arrives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// The peak rate throughout, arriving at random moments (a Poisson process).
    #[default]
    Steady,
    /// From a tenth of the peak up to it.
    Ramp,
    /// Everything at once.
    Burst,
}

/// How long a request holds its connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hold {
    pub p50: u64,
    pub p99: u64,
}

/// What counts as good enough.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    pub p99_ms: u64,
    /// Share of requests that may fail, from 0 to 1.
    pub error_rate: f64,
}

impl Default for Target {
    fn default() -> Self {
        Target { p99_ms: 500, error_rate: 0.001 }
    }
}

/// The app's peak traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub requests_per_second: u32,
    #[serde(default)]
    pub shape: Shape,
    #[serde(default)]
    pub hold_ms: Hold,
    #[serde(default)]
    pub target: Target,
}

/// What the lab will run, and what it had to change to run it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub sweep: SweepSpec,
    /// The pool size the snippet asked for (one of the sweep's sizes).
    pub own_size: u32,
    /// 1 when the traffic runs as given; below 1 when it was scaled down.
    pub scale: f64,
    /// The fleet's connections at its pools' maximum, against the server's `max_connections`.
    pub fleet_connections: u64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("deployment.instances must be at least 1")]
    NoInstances,
    #[error("traffic.requests_per_second must be at least 1")]
    NoTraffic,
    #[error("traffic.hold_ms.p50 must be at most {max} ms (got {got})")]
    HoldTooLong { max: u64, got: u64 },
    #[error("traffic.target.error_rate must be between 0 and 1 (got {0})")]
    ErrorRate(f64),
    #[error("{0}")]
    Sweep(#[from] poollab_shared::SweepError),
}

/// The sizes a sweep tries around `own`: a quarter of it up to double, within the lab's range.
pub fn sizes_around(own: u32) -> Vec<u32> {
    let max = *Limits::MAX_CONNECTIONS.end() as u32;
    let mut sizes: Vec<u32> =
        [own / 4, own / 2, own * 3 / 4, own, own * 3 / 2, own * 2].iter().map(|s| (*s).clamp(1, max)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The sweep for `spec` (a translation's) at this deployment and traffic.
pub fn plan(spec: &RunSpec, deployment: &Deployment, traffic: &Traffic) -> Result<Plan, PlanError> {
    if deployment.instances == 0 {
        return Err(PlanError::NoInstances);
    }
    if traffic.requests_per_second == 0 {
        return Err(PlanError::NoTraffic);
    }
    let max_hold = *Limits::SLEEP_MS.end();
    if traffic.hold_ms.p50 > max_hold {
        return Err(PlanError::HoldTooLong { max: max_hold, got: traffic.hold_ms.p50 });
    }
    if !(0.0..=1.0).contains(&traffic.target.error_rate) {
        return Err(PlanError::ErrorRate(traffic.target.error_rate));
    }
    let mut notes = Vec::new();
    let max_instances = *Limits::INSTANCES.end() as f64;
    let scale = 1f64
        .min(f64::from(MAX_RATE_PER_S) / f64::from(traffic.requests_per_second))
        .min(max_instances / f64::from(deployment.instances));
    let instances = ((f64::from(deployment.instances) * scale).round() as u32).max(1);
    let rate = ((f64::from(traffic.requests_per_second) * scale).round() as u32).max(1);
    if scale < 1.0 {
        notes.push(format!(
            "One worker plays at most {MAX_RATE_PER_S} requests a second and {max_instances} instances, so the run is scaled down to {:.0}%: {instances} instances at {rate} requests a second, the same load per instance.",
            scale * 100.0
        ));
    }
    let own_size = spec.pool.max_connections;
    let fleet_connections = u64::from(deployment.instances) * u64::from(own_size);
    notes.push(format!(
        "Your fleet can open {} × {own_size} = {fleet_connections} connections against the server's max_connections of {}{}.",
        deployment.instances,
        deployment.max_connections,
        if fleet_connections > u64::from(deployment.max_connections) { ": more than it allows" } else { "" }
    ));
    let mut run = spec.clone();
    run.instances = instances;
    run.requests = (rate * PLAYED_S).min(*Limits::REQUESTS.end() as u32);
    run.concurrency = *Limits::CONCURRENCY.end() as u32;
    run.load.rate_per_s = rate;
    run.load.shape = match traffic.shape {
        Shape::Steady => LoadShape::Random,
        Shape::Ramp => LoadShape::Ramp,
        Shape::Burst => LoadShape::Burst,
    };
    if traffic.shape == Shape::Ramp {
        run.load.rate_per_s = (rate / 10).max(1);
        run.load.ramp_to_per_s = rate;
    }
    if traffic.hold_ms.p50 > 0 {
        run.work.query = Query::Sleep;
        run.work.sleep_ms = traffic.hold_ms.p50;
        notes.push(format!(
            "Each request holds its connection for {} ms, simulated as a server-side sleep (pg_sleep).",
            traffic.hold_ms.p50
        ));
        if traffic.hold_ms.p99 > traffic.hold_ms.p50 {
            run.work.sleep_p99_ms = traffic.hold_ms.p99.min(*Limits::SLEEP_MS.end());
            notes.push(format!(
                "Each request's hold is its own, drawn from a log-normal spread with your median ({} ms) and p99 ({} ms): a slow tail as real services have.",
                traffic.hold_ms.p50, run.work.sleep_p99_ms
            ));
        }
    }
    let sweep = SweepSpec { run, sizes: sizes_around(own_size) };
    sweep.runs()?;
    Ok(Plan { sweep, own_size, scale, fleet_connections, notes })
}

#[cfg(test)]
mod tests {
    use poollab_shared::{PoolSpec, Strategy};

    use super::*;

    fn pooled(max: u32) -> RunSpec {
        RunSpec {
            strategy: Strategy::Pooled,
            pool: PoolSpec { max_connections: max, ..PoolSpec::default() },
            ..RunSpec::default()
        }
    }

    fn traffic(rps: u32) -> Traffic {
        Traffic {
            requests_per_second: rps,
            shape: Shape::Steady,
            hold_ms: Hold { p50: 20, p99: 200 },
            target: Target::default(),
        }
    }

    #[test]
    fn sizes_surround_the_pool_within_the_labs_range() {
        assert_eq!(sizes_around(20), [5, 10, 15, 20, 30, 40]);
        assert_eq!(sizes_around(1), [1, 2]);
        assert_eq!(sizes_around(400), [100, 200, 300, 400, 500]);
    }

    #[test]
    fn traffic_one_worker_can_play_runs_as_given() {
        let plan = plan(&pooled(10), &Deployment { instances: 4, max_connections: 100 }, &traffic(200)).expect("plans");
        assert_eq!(plan.scale, 1.0);
        let run = &plan.sweep.run;
        assert_eq!((run.instances, run.load.rate_per_s, run.requests), (4, 200, 2000));
        assert_eq!((run.work.query, run.work.sleep_ms), (Query::Sleep, 20));
        assert_eq!(plan.fleet_connections, 40);
        assert!(plan.sweep.sizes.contains(&10));
        assert_eq!(run.work.sleep_p99_ms, 200);
        assert!(plan.notes.iter().any(|n| n.contains("p99 (200 ms)")), "{:?}", plan.notes);
    }

    #[test]
    fn traffic_beyond_one_worker_is_scaled_down_and_said() {
        let plan =
            plan(&pooled(10), &Deployment { instances: 40, max_connections: 300 }, &traffic(4000)).expect("plans");
        assert_eq!(plan.scale, 0.25);
        let run = &plan.sweep.run;
        assert_eq!((run.instances, run.load.rate_per_s), (10, 1000), "the same load per instance");
        assert!(plan.notes.iter().any(|n| n.contains("scaled down to 25%")), "{:?}", plan.notes);
        assert!(
            plan.notes.iter().any(|n| n.contains("40 × 10 = 400") && n.contains("more than it allows")),
            "{:?}",
            plan.notes
        );
        let err = super::plan(&pooled(10), &Deployment { instances: 0, max_connections: 1 }, &traffic(1)).unwrap_err();
        assert_eq!(err, PlanError::NoInstances);
    }
}
