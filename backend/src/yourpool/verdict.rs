//! What a measured pool comes to, in plain words with the run's numbers: does the fleet fit
//! under the server's `max_connections`, what users waited at p99, what failed and why, how much
//! the idle settings churned, and the smallest pool per instance in the sweep that met the
//! target.
//!
//! A pure function of the sweep's points and the own-size run's summary ([`verdict`]), so the
//! page, the README and a test read the same sentences.

use poollab_shared::{Dec, PoolSpec, RunState, Summary, SweepPoint};
use serde::Serialize;

use super::plan::{PLAYED_S, Target};

/// What [`verdict`] judges.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    /// The sweep's points, smallest pool first.
    pub points: &'a [SweepPoint],
    /// The run at the pool's own size, once it is done.
    pub own: Option<&'a Summary>,
    /// The pool size the snippet asked for.
    pub own_size: u32,
    /// Requests each run of the sweep played.
    pub requests: u64,
    /// The real deployment (not the scaled-down run).
    pub instances: u32,
    pub max_connections: u32,
    pub target: Target,
}

/// A pool size that met the target, and how it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Smallest {
    pub size: u32,
    pub p99_ms: f64,
    pub failed: u64,
    /// `instances × size`.
    pub fleet_connections: u64,
    /// Whether that fleet fits under `max_connections`.
    pub fits: bool,
}

/// The answer, as figures and as sentences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// True once every run of the sweep has ended (the sentences about the sweep wait for it).
    pub done: bool,
    pub fleet_connections: u64,
    pub fits: bool,
    /// The smallest pool per instance that met the target (none: none did, or not yet known).
    pub smallest: Option<Smallest>,
    /// One sentence per question, in the order the page shows them.
    pub sentences: Vec<String>,
}

/// Whether a point met the target: it ran, its p99 is within the target and few enough failed.
pub fn meets(point: &SweepPoint, requests: u64, target: &Target) -> bool {
    let share = if requests == 0 { 0.0 } else { point.failed as f64 / requests as f64 };
    point.state == RunState::Done
        && point.answered()
        && point.latency_p99_ms <= target.p99_ms as f64
        && share <= target.error_rate
}

/// `pool` at another size: `min_connections` no larger than it, everything else kept.
pub fn resized(pool: &PoolSpec, size: u32) -> PoolSpec {
    PoolSpec { max_connections: size, min_connections: pool.min_connections.min(size), ..pool.clone() }
}

fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct == 0.0 || pct >= 10.0 { format!("{:.0}%", Dec(pct)) } else { format!("{:.1}%", Dec(pct)) }
}

/// Why each kind of failure happens, in the pool's terms.
const WHY: [(&str, &str); 6] = [
    ("acquire_timeout", "waited past the pool's acquire timeout for a free connection"),
    ("too_many_clients", "were refused by the server: too many clients, past max_connections"),
    ("connect_timeout", "could not open a connection in time"),
    ("query_wait_timeout", "waited too long in the pooler's queue"),
    ("database_down", "found the database unreachable"),
    ("other", "failed for another reason"),
];

fn failures(s: &Summary) -> Vec<String> {
    let e = &s.errors;
    let counts = [
        e.acquire_timeout,
        e.too_many_clients,
        e.connect_timeout,
        e.query_wait_timeout,
        e.database_down,
        e.other + e.circuit_open + e.idle_in_transaction_timeout + e.prepared_statement,
    ];
    WHY.iter().zip(counts).filter(|(_, n)| *n > 0).map(|((_, why), n)| format!("{n} {why}")).collect()
}

/// Judges a measured pool against its target.
pub fn verdict(m: &Measured) -> Verdict {
    let fleet_connections = u64::from(m.instances) * u64::from(m.own_size);
    let max = u64::from(m.max_connections);
    let fits = fleet_connections <= max;
    let mut sentences = Vec::new();
    sentences.push(if fits {
        format!(
            "Your fleet fits: {} instances × a pool of {} = {fleet_connections} connections at most, under the server's max_connections of {max} ({} to spare).",
            m.instances,
            m.own_size,
            max - fleet_connections
        )
    } else {
        format!(
            "Your fleet does not fit: {} instances × a pool of {} = {fleet_connections} connections at most, {} more than the server's max_connections of {max}. When every pool fills, the server refuses the rest (too many clients).",
            m.instances,
            m.own_size,
            fleet_connections - max
        )
    });
    let done = !m.points.is_empty() && m.points.iter().all(|p| matches!(p.state, RunState::Done | RunState::Failed));
    if let Some(s) = m.own {
        let within = s.latency_ms.p99 <= m.target.p99_ms as f64;
        sentences.push(format!(
            "At your traffic, 99% of users had their answer within {:.0} ms (median {:.0} ms), {} your target of {} ms; waiting for a free connection took up to {:.0} ms of that at p99.",
            Dec(s.latency_ms.p99),
            Dec(s.latency_ms.p50),
            if within { "within" } else { "over" },
            m.target.p99_ms,
            Dec(s.acquire_wait_ms.p99)
        ));
        let total = s.completed + s.failed;
        if s.failed == 0 {
            sentences.push(format!("No request failed: all {total} were answered."));
        } else {
            sentences.push(format!(
                "{} of {total} requests failed ({}, your target allows {}): {}.",
                s.failed,
                percent(s.failed as f64 / total.max(1) as f64),
                percent(m.target.error_rate),
                failures(s).join("; ")
            ));
        }
        let closed = s.closes_idle + s.closes_lifetime;
        sentences.push(if closed == 0 {
            format!(
                "No churn from the idle settings: the pools opened {} connections and closed none for idling or age in the {PLAYED_S} s played.",
                s.connections_opened
            )
        } else {
            format!(
                "Churn: the pools opened {} connections in the {PLAYED_S} s played and closed {closed} of them ({} for idling past idle_timeout, {} at max_lifetime): each one reopened is a connect and an authentication a request may wait for.",
                s.connections_opened, s.closes_idle, s.closes_lifetime
            )
        });
    }
    let smallest =
        m.points.iter().filter(|p| meets(p, m.requests, &m.target)).min_by_key(|p| p.max_connections).map(|p| {
            let fleet = u64::from(m.instances) * u64::from(p.max_connections);
            Smallest {
                size: p.max_connections,
                p99_ms: p.latency_p99_ms,
                failed: p.failed,
                fleet_connections: fleet,
                fits: fleet <= max,
            }
        });
    if done {
        let sizes: Vec<String> = m.points.iter().map(|p| p.max_connections.to_string()).collect();
        sentences.push(match &smallest {
            Some(s) => format!(
                "The smallest pool per instance that met your target (p99 within {} ms, at most {} failed) is {}: p99 {:.0} ms, {} failed. {} instances × {} = {} connections{}.",
                m.target.p99_ms,
                percent(m.target.error_rate),
                s.size,
                Dec(s.p99_ms),
                s.failed,
                m.instances,
                s.size,
                s.fleet_connections,
                if s.fits {
                    format!(", under max_connections of {max}")
                } else {
                    format!(": still over max_connections of {max}, so fewer instances, a larger server or a pooler (PgBouncer) in front")
                }
            ),
            None => {
                let best = m
                    .points
                    .iter()
                    .filter(|p| p.answered())
                    .min_by(|a, b| a.latency_p99_ms.total_cmp(&b.latency_p99_ms));
                format!(
                    "No pool size the lab tried ({}) met your target{}: the pool is not what limits you here, the time each request holds its connection is.",
                    sizes.join(", "),
                    best.map(|b| format!(" (the best p99 was {:.0} ms, at {})", Dec(b.latency_p99_ms), b.max_connections))
                        .unwrap_or_default()
                )
            }
        });
    }
    Verdict { done, fleet_connections, fits, smallest, sentences }
}

#[cfg(test)]
mod tests {
    use poollab_shared::{ErrorCounts, LatencySummary};

    use super::*;

    fn point(size: u32, p99: f64, failed: u64) -> SweepPoint {
        SweepPoint {
            max_connections: size,
            run_id: format!("r{size}"),
            state: RunState::Done,
            throughput_per_s: 100.0,
            latency_p50_ms: p99 / 4.0,
            latency_p99_ms: p99,
            query_p50_ms: 5.0,
            failed,
            peak_server_connections: u64::from(size),
            pace_query_ms: 0.0,
            pace_rate_per_s: 0,
        }
    }

    fn measured<'a>(points: &'a [SweepPoint], own: Option<&'a Summary>, instances: u32, max: u32) -> Measured<'a> {
        Measured {
            points,
            own,
            own_size: 20,
            requests: 1000,
            instances,
            max_connections: max,
            target: Target { p99_ms: 200, error_rate: 0.01 },
        }
    }

    /// Points as (size, p99, failed), instances, max_connections, the smallest size and whether
    /// it fits.
    type Case = (&'static [(u32, f64, u64)], u32, u32, Option<(u32, bool)>);

    #[test]
    fn the_smallest_pool_meeting_the_target_is_chosen() {
        let cases: [Case; 5] = [
            (&[(5, 900.0, 0), (10, 150.0, 0), (20, 40.0, 0), (40, 30.0, 0)], 4, 100, Some((10, true))),
            // Too many failures at 10 (2% > 1%): 20 it is.
            (&[(5, 100.0, 300), (10, 150.0, 20), (20, 40.0, 0)], 4, 100, Some((20, true))),
            // Met, but 8 × 20 = 160 is over 100.
            (&[(5, 900.0, 0), (20, 40.0, 0)], 8, 100, Some((20, false))),
            // Exactly at the target counts.
            (&[(5, 200.0, 10)], 1, 100, Some((5, true))),
            (&[(5, 900.0, 0), (10, 800.0, 0)], 1, 100, None),
        ];
        for (points, instances, max, want) in cases {
            let points: Vec<SweepPoint> = points.iter().map(|(s, p, f)| point(*s, *p, *f)).collect();
            let v = verdict(&measured(&points, None, instances, max));
            assert_eq!(v.smallest.as_ref().map(|s| (s.size, s.fits)), want, "{points:?}");
            assert!(v.done);
            let last = v.sentences.last().expect("a sentence on the sweep");
            match want {
                Some((size, _)) => assert!(last.contains(&format!("is {size}:")), "{last}"),
                None => assert!(last.starts_with("No pool size the lab tried (5, 10)"), "{last}"),
            }
        }
    }

    #[test]
    fn a_sweep_still_running_gives_no_answer_about_sizes() {
        let mut points = vec![point(5, 100.0, 0), point(10, 50.0, 0)];
        points[1].state = RunState::Running;
        points[1].throughput_per_s = 0.0;
        let v = verdict(&measured(&points, None, 2, 100));
        assert!(!v.done);
        assert_eq!(v.sentences.len(), 1, "only the fleet's fit: {:?}", v.sentences);
        assert!(v.sentences[0].starts_with("Your fleet fits: 2 instances × a pool of 20 = 40"), "{:?}", v.sentences);
    }

    #[test]
    fn the_own_run_says_what_users_waited_what_failed_and_the_churn() {
        let own = Summary {
            completed: 970,
            failed: 30,
            errors: ErrorCounts { acquire_timeout: 25, too_many_clients: 5, ..ErrorCounts::default() },
            latency_ms: LatencySummary { p50: 12.0, p99: 640.0, ..LatencySummary::default() },
            acquire_wait_ms: LatencySummary { p99: 600.0, ..LatencySummary::default() },
            connections_opened: 48,
            closes_idle: 8,
            ..Summary::default()
        };
        let points = [point(20, 640.0, 30)];
        let v = verdict(&measured(&points, Some(&own), 6, 100));
        let all = v.sentences.join("\n");
        assert!(all.contains("does not fit: 6 instances × a pool of 20 = 120 connections at most, 20 more"), "{all}");
        assert!(all.contains("within 640 ms (median 12 ms), over your target of 200 ms"), "{all}");
        assert!(all.contains("up to 600 ms"), "{all}");
        assert!(all.contains("30 of 1000 requests failed (3.0%, your target allows 1.0%)"), "{all}");
        assert!(all.contains("25 waited past the pool's acquire timeout"), "{all}");
        assert!(all.contains("5 were refused by the server"), "{all}");
        assert!(all.contains("opened 48 connections") && all.contains("8 for idling past idle_timeout"), "{all}");
        assert!(all.contains("No pool size the lab tried (20)"), "{all}");
    }

    #[test]
    fn a_resized_pool_keeps_its_minimum_below_its_maximum() {
        let pool = PoolSpec { max_connections: 20, min_connections: 10, ..PoolSpec::default() };
        assert_eq!((resized(&pool, 5).max_connections, resized(&pool, 5).min_connections), (5, 5));
        assert_eq!(resized(&pool, 15).min_connections, 10);
    }
}
