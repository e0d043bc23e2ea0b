//! A sizing sweep: the same load over a list of pool sizes, one run per size, to draw the
//! "too small / too large" curve. Each point is an ordinary run (it goes through the queue and
//! streams its frames); the sweep gathers their throughput and p99. A size listed more than once
//! runs once per listing, and its figures are its better run's ([`by_size`]): a sweep that goes
//! down the sizes and back up gives every size one run early and one late, and a machine that
//! slows down during one of them only adds time to it, so the better run is the nearer reading of
//! what the pool itself does.

use serde::{Deserialize, Serialize};

use crate::expr::shown;
use crate::limits::{SpecError, ValidRunSpec};
use crate::spec::{RunSpec, Strategy};
use crate::summary::{RunState, Summary};

/// Most runs one sweep may ask for (a size listed twice counts twice).
pub const MAX_SWEEP_SIZES: usize = 16;

/// What `POST /api/sweeps` takes: a pooled run and the pool sizes to try it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub run: RunSpec,
    pub sizes: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    #[error("sizes must list between 1 and {MAX_SWEEP_SIZES} pool sizes (got {0})")]
    SizeCount(usize),
    #[error("a sweep varies the pool size, so run.strategy must be \"pooled\"")]
    NotPooled,
    #[error("run with pool.max_connections = {size}: {source}")]
    Run { size: u32, source: SpecError },
}

impl SweepSpec {
    /// One valid run spec per listed size, in the order given.
    pub fn runs(&self) -> Result<Vec<ValidRunSpec>, SweepError> {
        if self.sizes.is_empty() || self.sizes.len() > MAX_SWEEP_SIZES {
            return Err(SweepError::SizeCount(self.sizes.len()));
        }
        if self.run.strategy != Strategy::Pooled {
            return Err(SweepError::NotPooled);
        }
        self.sizes
            .iter()
            .map(|&size| {
                let mut run = self.run.clone();
                run.pool.max_connections = size;
                run.pool.min_connections = run.pool.min_connections.min(size);
                run.validate().map_err(|source| SweepError::Run { size, source })
            })
            .collect()
    }
}

/// One pool size of a sweep and what its run measured (figures are zero until it is done).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub max_connections: u32,
    pub run_id: String,
    pub state: RunState,
    pub throughput_per_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// The median time a query held its connection: what grows when connections crowd the server.
    #[serde(default)]
    pub query_p50_ms: f64,
    pub failed: u64,
    pub peak_server_connections: u64,
    /// With `load.busy_pct` (0 otherwise): the pace its run was set by, as the summary's
    /// `pace_query_ms` and `pace_rate_per_s`.
    #[serde(default)]
    pub pace_query_ms: f64,
    #[serde(default)]
    pub pace_rate_per_s: u32,
}

impl SweepPoint {
    /// Whether its run answered: done, with a throughput above zero (a run not done yet, or
    /// failed, reads zero).
    pub fn answered(&self) -> bool {
        self.throughput_per_s > 0.0
    }

    /// The point of size `max_connections` measured by run `run_id` (a run not done yet, or
    /// failed, has no summary: its figures read zero).
    pub fn of(max_connections: u32, run_id: String, state: RunState, summary: Option<&Summary>) -> SweepPoint {
        let default = Summary::default();
        let s = summary.unwrap_or(&default);
        SweepPoint {
            max_connections,
            run_id,
            state,
            throughput_per_s: s.throughput_per_s,
            latency_p50_ms: s.latency_ms.p50,
            latency_p99_ms: s.latency_ms.p99,
            query_p50_ms: s.query_ms.p50,
            failed: s.failed,
            peak_server_connections: s.peak_server_connections,
            pace_query_ms: s.pace_query_ms,
            pace_rate_per_s: s.pace_rate_per_s,
        }
    }
}

/// One pool size of a sweep, its runs taken together: its figures are its better run's, the run
/// that answered with the lower p99, each as printed ([`crate::expr::shown`]; all zero while none
/// has answered).
#[derive(Debug, Clone, PartialEq)]
pub struct SizePoint {
    pub max_connections: u32,
    /// The runs of this size, and how many of them are done and answered.
    pub runs: usize,
    pub answered: usize,
    pub throughput_per_s: f64,
    pub latency_p99_ms: f64,
    pub query_p50_ms: f64,
}

/// The sweep's points by size, smallest first: a size's figures are its better run's, of the runs
/// that answered ([`SweepPoint::answered`]) the one whose p99 as printed was lower (of two alike,
/// the earlier). A machine that slows down during a run only adds time to it: of two runs of one
/// pool on the same arrivals, the better is the nearer reading of the pool itself, and all of a
/// point's figures come from one run, as the runs' table prints it.
pub fn by_size(points: &[SweepPoint]) -> Vec<SizePoint> {
    // Each next size is the least above the last (no sort: its code would weigh on the page).
    let next = |after: Option<u32>| points.iter().map(|p| p.max_connections).filter(|s| after < Some(*s)).min();
    std::iter::successors(next(None), |last| next(Some(*last)))
        .map(|size| {
            let runs: Vec<&SweepPoint> = points.iter().filter(|p| p.max_connections == size).collect();
            let answered: Vec<&&SweepPoint> = runs.iter().filter(|p| p.answered()).collect();
            let better = answered.iter().min_by(|a, b| shown(a.latency_p99_ms).total_cmp(&shown(b.latency_p99_ms)));
            let figure = |pick: fn(&SweepPoint) -> f64| better.map_or(0.0, |p| shown(pick(p)));
            SizePoint {
                max_connections: size,
                runs: runs.len(),
                answered: answered.len(),
                throughput_per_s: figure(|p| p.throughput_per_s),
                latency_p99_ms: figure(|p| p.latency_p99_ms),
                query_p50_ms: figure(|p| p.query_p50_ms),
            }
        })
        .collect()
}

/// A sweep as `GET /api/sweeps/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepView {
    pub id: String,
    /// True when every point's run has finished.
    pub done: bool,
    pub points: Vec<SweepPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{number, shown};
    use crate::limits::Limits;

    #[test]
    fn a_sweep_becomes_one_run_per_size() {
        let sweep: SweepSpec =
            serde_json::from_str(r#"{"run":{"strategy":"pooled","pool":{"min_connections":4}},"sizes":[1,2,8]}"#)
                .unwrap();
        let runs = sweep.runs().unwrap();
        let sizes: Vec<_> = runs.iter().map(|r| (r.pool.max_connections, r.pool.min_connections)).collect();
        assert_eq!(sizes, [(1, 1), (2, 2), (8, 4)]);
    }

    fn point(size: u32, throughput: f64, p99: f64) -> SweepPoint {
        SweepPoint {
            max_connections: size,
            throughput_per_s: throughput,
            latency_p99_ms: p99,
            ..SweepPoint::of(size, format!("r{size}"), RunState::Done, None)
        }
    }

    #[test]
    fn a_size_listed_twice_is_its_better_run_of_those_that_answered() {
        // (points, then each size as (size, runs, answered, throughput, p99))
        let cases: &[(&[SweepPoint], &[(u32, usize, usize, f64, f64)])] = &[
            (&[], &[]),
            (&[point(4, 100.0, 10.0)], &[(4, 1, 1, 100.0, 10.0)]),
            // Down and back up: each size's two runs, smallest size first; the run with the lower
            // p99 gives all of a size's figures, though the other answered more a second.
            (
                &[point(8, 100.0, 30.0), point(2, 90.0, 10.0), point(2, 110.0, 14.0), point(8, 120.0, 50.0)],
                &[(2, 2, 2, 90.0, 10.0), (8, 2, 2, 100.0, 30.0)],
            ),
            // A run that answered nothing (failed, or not done yet) is never the better one.
            (&[point(4, 0.0, 0.0), point(4, 80.0, 20.0)], &[(4, 2, 1, 80.0, 20.0)]),
            (&[point(4, 0.0, 0.0)], &[(4, 1, 0, 0.0, 0.0)]),
        ];
        for (points, want) in cases {
            let got: Vec<_> = by_size(points)
                .iter()
                .map(|s| (s.max_connections, s.runs, s.answered, shown(s.throughput_per_s), shown(s.latency_p99_ms)))
                .collect();
            assert_eq!(&got, want, "{points:?}");
        }
    }

    #[test]
    fn a_sizes_point_is_its_better_run_as_printed_and_of_two_alike_the_earlier() {
        // (each run's throughput and p99 unrounded, the size's as the page prints them): the
        // point is one run's row of the table, whichever came first; 7.64 and 7.61 both print
        // 7.6, and the earlier run counts.
        let cases = [
            ((321.6, 43.1), (321.2, 42.4), ("321", "42.4")),
            ((321.2, 10.2), (321.6, 10.3), ("321", "10.2")),
            ((320.6, 7.64), (320.4, 7.61), ("321", "7.6")),
            ((99.94, 7.86), (99.96, 7.64), ("100", "7.6")),
        ];
        for ((t1, p1), (t2, p2), want) in cases {
            let sizes = by_size(&[point(4, t1, p1), point(4, t2, p2)]);
            let got = (number(sizes[0].throughput_per_s), number(sizes[0].latency_p99_ms));
            assert_eq!((got.0.as_str(), got.1.as_str()), want, "{t1} {p1} / {t2} {p2}");
        }
    }

    #[test]
    fn bad_sweeps_say_why() {
        let naive = SweepSpec { run: RunSpec::default(), sizes: vec![1] };
        assert_eq!(naive.runs().unwrap_err(), SweepError::NotPooled);
        let pooled = RunSpec { strategy: Strategy::Pooled, ..RunSpec::default() };
        let empty = SweepSpec { run: pooled.clone(), sizes: vec![] };
        assert_eq!(empty.runs().unwrap_err(), SweepError::SizeCount(0));
        let huge = SweepSpec { run: pooled, sizes: vec![*Limits::MAX_CONNECTIONS.end() as u32 + 1] };
        assert!(huge.runs().unwrap_err().to_string().contains("pool.max_connections must be between 1 and 500"));
    }

    #[test]
    fn every_size_of_a_sweep_must_fit_the_budget() {
        // Small sizes fit (their min_connections is cut to the size, still warmed for up to the
        // acquire timeout per instance); the budget refuses the sweep at the first that does not.
        let run = |instances| RunSpec {
            strategy: Strategy::Pooled,
            instances,
            pool: crate::spec::PoolSpec { min_connections: 500, acquire_timeout_ms: 60_000, ..Default::default() },
            ..RunSpec::default()
        };
        let fits = SweepSpec { run: run(2), sizes: vec![1, 100, 500] };
        assert_eq!(fits.runs().map(|r| r.len()), Ok(3));
        let over = SweepSpec { run: run(3), sizes: vec![1, 500] };
        let err = over.runs().unwrap_err().to_string();
        assert!(err.starts_with("run with pool.max_connections = 1: warming the pools"), "{err}");
        assert!(err.contains("instances (3) x pool.acquire_timeout_ms (60000)"), "{err}");
    }
}
