//! Firing a run's requests: the load generator.
//!
//! A *burst* releases every request at once, with at most `concurrency` in flight (a burst of 100
//! at concurrency 100 really has 100 requests in the air). A *steady rate*, a *ramp* and *random*
//! arrivals (a Poisson process, as independent users come) release request `n` at its due time
//! ([`poollab_shared::LoadSpec::schedule`]), whether or not earlier ones have finished, as real
//! users do: when the database falls behind, requests pile up instead of politely slowing down. `concurrency` still caps how many are in flight; past it, a request
//! waits for a free slot (and its wait counts in its latency, as a queue in front of the app).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use poollab_shared::{LoadShape, ValidRunSpec};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::db::user_for_request;
use crate::engine::fleet::Fleet;
use crate::engine::recorder::RunRecorder;
use crate::engine::strategy::{LeakJar, Request};

/// Fires the run's requests on schedule and waits for all of them.
pub async fn fire(fleet: Arc<Fleet>, spec: &ValidRunSpec, recorder: Arc<RunRecorder>, jar: Arc<LeakJar>) {
    let gate = Arc::new(Semaphore::new(spec.concurrency as usize));
    let started = Instant::now();
    let requests = u64::from(spec.requests);
    let mut tasks = JoinSet::new();
    for (n, due_ms) in (0..requests).zip(spec.load.schedule(requests)) {
        if spec.load.shape != LoadShape::Burst {
            tokio::time::sleep_until(started + Duration::from_secs_f64(due_ms / 1000.0)).await;
        }
        // A burst waits for a free slot before it spawns, so a 10 000-request burst at
        // concurrency 10 holds 10 tasks, not 10 000. Scheduled arrivals spawn on time and wait
        // for their slot inside (that wait is part of their latency).
        let slot = match spec.load.shape {
            LoadShape::Burst => match gate.clone().acquire_owned().await {
                Ok(slot) => Some(slot),
                Err(_) => break,
            },
            _ => None,
        };
        let arrived = Instant::now();
        let (fleet, recorder, jar, gate, spec) =
            (fleet.clone(), recorder.clone(), jar.clone(), gate.clone(), spec.clone());
        let serve = async move {
            let _slot = match slot {
                Some(slot) => slot,
                None => match gate.acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
            };
            let counters = &recorder.counters;
            counters.in_flight.fetch_add(1, Ordering::Relaxed);
            let request = Request {
                number: Some(n),
                user: user_for_request(n, spec.work.users),
                leak_into: spec.leak.leaks(n).then_some(jar.as_ref()),
            };
            let served = fleet.serve(n, &spec.work, request).await;
            let instance = fleet.instance_of(n) as u32;
            recorder.record(n, instance, arrived.into_std(), &served);
            counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            if let Err(e) = &served.outcome {
                tracing::debug!(kind = e.kind.as_str(), error = %e.message, "request failed");
            }
        };
        tasks.spawn(serve);
        // Reap finished tasks as we go, so a long run does not keep them all.
        while let Some(joined) = tasks.try_join_next() {
            log_panic(joined);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        log_panic(joined);
    }
}

fn log_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        tracing::error!(error = %e, "a request task failed");
    }
}
