//! Grading on the server: which run a learner's report may name, and the verdict on it.
//!
//! A learner's page reports a step once its run (or, for a sweep step, its sweep) is done, naming
//! that run and carrying the learner's prediction: only the prediction is theirs. The lab reads the
//! stored run and checks it before it grades anything ([`check_run`], [`check_sweep`]): it is
//! the learner's own or one they shared (`lab.run_learners`), it is a run of that step's spec
//! (for a sweep, one run per size of the step's sweep, each of the step's spec at that size), and
//! it is done. Then the verdict is worked out from the stored summary, the server's facts as the
//! run's frames carried them, and the lesson ([`grade`]): the same figures, the same claim check
//! and the same closeness rule the page uses, so the page's instant verdict and the lab's agree.
//! A figure the browser claims is never read, so the class's histogram, its progress and
//! `progress.csv` count only what was measured.
//!
//! Checking and grading are pure functions (stored facts in, decision out); reading the run is
//! [`crate::class::Class`]'s.

use poollab_shared::{RunSpec, RunState, ServerFacts, Step, StepVerdict, Summary, SweepPoint, SweepSpec};

use crate::class::progress::ProgressError;

/// What a step measured, as the lab stored it.
#[derive(Debug, Clone, Copy)]
pub enum Measured<'a> {
    /// A run step's run.
    Run(&'a Summary),
    /// A sweep step's points, one per pool size.
    Sweep(&'a [SweepPoint]),
}

/// The lab's verdict on `step`: what its run (or sweep) measured, with the server's facts as that
/// run saw them, against the learner's prediction.
pub fn grade(step: &Step, server: ServerFacts, measured: Measured<'_>, prediction: Option<f64>) -> StepVerdict {
    let figures = match measured {
        Measured::Run(summary) => step.figures(server, Some(summary)),
        Measured::Sweep(points) => step.sweep_figures(server, points),
    };
    StepVerdict::of(step, &figures, prediction)
}

/// A stored run, as far as a report naming it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: String,
    pub state: RunState,
    pub spec: RunSpec,
    pub summary: Option<Summary>,
    /// The server's facts as the run's last frame carried them (the page reads the same).
    pub server: ServerFacts,
    /// Whether the reporting learner is on the run (put it in line, or shared it); always true
    /// for the instructor, who may look at any run.
    pub theirs: bool,
}

/// Where a report names a run of `step` (`lesson`'s step `number`) that may grade it: the
/// learner's, of the step's spec, and done. A failed run measured nothing a claim can be checked
/// on; a waiting or running one has not measured it yet.
pub fn check_run(run: &StoredRun, step: &Step, lesson: &str, number: u32) -> Result<(), ProgressError> {
    if !run.theirs {
        return Err(ProgressError::NotYours { id: run.id.clone() });
    }
    if run.spec != step.preset {
        return Err(ProgressError::OtherStep { id: run.id.clone(), lesson: lesson.to_owned(), step: number });
    }
    if run.state != RunState::Done {
        return Err(ProgressError::NotDone { id: run.id.clone(), state: run.state });
    }
    Ok(())
}

/// Where a report names a sweep of a sweep step that may grade it: every run of it the
/// learner's, one per size of the step's sweep in its order, each of the step's spec at that size,
/// and every one ended (a size whose run failed is part of what a sweep measures, as on the page).
pub fn check_sweep(
    id: &str,
    runs: &[(u32, StoredRun)],
    step: &Step,
    lesson: &str,
    number: u32,
) -> Result<(), ProgressError> {
    if let Some((_, run)) = runs.iter().find(|(_, r)| !r.theirs) {
        return Err(ProgressError::NotYours { id: format!("{id} (its run {})", run.id) });
    }
    let other = || ProgressError::OtherStep { id: id.to_owned(), lesson: lesson.to_owned(), step: number };
    let wanted = SweepSpec { run: step.preset.clone(), sizes: step.sweep.clone() }.runs().map_err(|_| other())?;
    let sizes: Vec<u32> = runs.iter().map(|(size, _)| *size).collect();
    if sizes != step.sweep
        || runs.len() != wanted.len()
        || runs.iter().zip(&wanted).any(|((_, run), spec)| run.spec != **spec)
    {
        return Err(other());
    }
    if let Some((_, run)) = runs.iter().find(|(_, r)| matches!(r.state, RunState::Queued | RunState::Running)) {
        return Err(ProgressError::NotDone { id: format!("{id} (its run {})", run.id), state: run.state });
    }
    Ok(())
}

/// A checked sweep's points, as `GET /api/sweeps/{id}` shows them.
pub fn sweep_points(runs: &[(u32, StoredRun)]) -> Vec<SweepPoint> {
    runs.iter().map(|(size, r)| SweepPoint::of(*size, r.id.clone(), r.state, r.summary.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use poollab_shared::{ErrorCounts, LatencySummary, Lesson};

    use super::*;

    fn course() -> Vec<Lesson> {
        crate::lessons::load().expect("the course")
    }

    fn step<'a>(course: &'a [Lesson], lesson: &str, n: usize) -> &'a Step {
        &course.iter().find(|l| l.id == lesson).expect("lesson").steps[n - 1]
    }

    const SERVER: ServerFacts =
        ServerFacts { max_connections: 100, reserved_connections: 3, cpus: 2, tls: Some(true), pgbouncer: Some(true) };

    #[test]
    fn the_verdict_is_worked_out_from_the_stored_summary_and_the_lesson() {
        let course = course();
        // Lesson 2, step 1: connect per request. Predicted: peak_in_use (the most connections
        // open at once); claimed: `connections_opened == requests && peak_in_use > requests / 2`.
        let connect = step(&course, "02-connect-per-request", 1);
        let requests = connect.preset.requests as u64;
        let run = |opened: u64, peak: u64| Summary {
            completed: requests,
            connections_opened: opened,
            peak_in_use: peak,
            ..Summary::default()
        };
        let held = run(requests, requests);
        let not_held = run(requests, requests / 4);
        let cases: &[(&Step, &Summary, Option<f64>, StepVerdict, &str)] = &[
            (
                connect,
                &held,
                Some(requests as f64),
                StepVerdict { measured: Some(requests as f64), close: Some(true), claim_held: true },
                "an exact prediction, and the claim held",
            ),
            (
                connect,
                &held,
                Some(requests as f64 * 0.7),
                StepVerdict { measured: Some(requests as f64), close: Some(false), claim_held: true },
                "30% off is not close",
            ),
            (
                connect,
                &held,
                Some(requests as f64 * 0.8),
                StepVerdict { measured: Some(requests as f64), close: Some(true), claim_held: true },
                "20% off is close",
            ),
            (
                connect,
                &held,
                None,
                StepVerdict { measured: Some(requests as f64), close: None, claim_held: true },
                "no prediction: measured and claim, no closeness",
            ),
            (
                connect,
                &not_held,
                Some((requests / 4) as f64),
                StepVerdict { measured: Some((requests / 4) as f64), close: Some(true), claim_held: false },
                "a close prediction on a run where the claim did not hold",
            ),
        ];
        for (step, summary, prediction, want, why) in cases {
            assert_eq!(grade(step, SERVER, Measured::Run(summary), *prediction), *want, "{why}");
        }
    }

    #[test]
    fn the_server_facts_and_the_errors_of_the_run_count() {
        let course = course();
        // Lesson 3, step 1: `errors.too_many_clients > 0 && peak_server_connections <= server.app_slots`.
        let limit = step(&course, "03-server-limit", 1);
        let refused = Summary {
            errors: ErrorCounts { too_many_clients: 12, ..ErrorCounts::default() },
            failed: 12,
            peak_server_connections: 97,
            ..Summary::default()
        };
        let verdict = grade(limit, SERVER, Measured::Run(&refused), Some(12.0));
        assert_eq!(verdict, StepVerdict { measured: Some(12.0), close: Some(true), claim_held: true });
        let smaller = ServerFacts { max_connections: 50, ..SERVER };
        assert!(!grade(limit, smaller, Measured::Run(&refused), None).claim_held, "97 is more than 47 app slots");
        let none = Summary::default();
        assert!(!grade(limit, SERVER, Measured::Run(&none), None).claim_held, "nothing was refused");
    }

    #[test]
    fn a_sweep_step_is_graded_on_its_points() {
        let course = course();
        let (n, sizing) = course
            .iter()
            .flat_map(|l| l.steps.iter().enumerate().map(move |(i, s)| ((l.id.as_str(), i + 1), s)))
            .find(|(_, s)| !s.sweep.is_empty())
            .expect("a sweep step");
        // Throughput grows with the pool until it stops; p99 is worst at the smallest size.
        let points: Vec<SweepPoint> = sizing
            .sweep
            .iter()
            .map(|&size| {
                let s = Summary {
                    throughput_per_s: 100.0 * f64::from(size.min(8)),
                    latency_ms: LatencySummary { p99: 1000.0 / f64::from(size.min(8)), ..LatencySummary::default() },
                    query_ms: LatencySummary { p50: 10.0 + f64::from(size), ..LatencySummary::default() },
                    ..Summary::default()
                };
                SweepPoint::of(size, format!("r{size}"), RunState::Done, Some(&s))
            })
            .collect();
        let verdict = grade(sizing, SERVER, Measured::Sweep(&points), Some(8.0));
        let figures = sizing.sweep_figures(SERVER, &points);
        let metric = sizing.prediction.as_ref().map(|p| p.metric.as_str()).expect("a prediction");
        assert!(verdict.measured.is_some(), "{n:?}: a sweep step's prediction is of a sweep figure");
        assert_eq!(verdict.measured, figures.get(metric), "{n:?}: the sweep's own figure");
        assert_eq!(verdict.close, verdict.measured.map(|m| poollab_shared::lesson::prediction_close(8.0, m)));
    }

    fn stored(id: &str, state: RunState, spec: RunSpec, theirs: bool) -> StoredRun {
        StoredRun { id: id.into(), state, spec, summary: None, server: SERVER, theirs }
    }

    #[test]
    fn only_the_learners_own_done_run_of_the_step_grades_it() {
        let course = course();
        let connect = step(&course, "02-connect-per-request", 1);
        let other = step(&course, "04-enter-the-pool", 1);
        assert_ne!(connect.preset, other.preset);
        let ok = |state, spec: &RunSpec, theirs| stored("r1", state, spec.clone(), theirs);
        let cases: Vec<(StoredRun, Result<(), &str>, &str)> = vec![
            (ok(RunState::Done, &connect.preset, true), Ok(()), "their own done run of the step"),
            (ok(RunState::Done, &connect.preset, false), Err("not yours"), "someone else's run"),
            (ok(RunState::Running, &connect.preset, false), Err("not yours"), "someone else's, still running"),
            (ok(RunState::Done, &other.preset, true), Err("other step"), "a run of another step"),
            (ok(RunState::Running, &connect.preset, true), Err("not done"), "still running"),
            (ok(RunState::Queued, &connect.preset, true), Err("not done"), "still waiting"),
            (ok(RunState::Failed, &connect.preset, true), Err("not done"), "failed: it measured nothing"),
        ];
        for (run, want, why) in cases {
            let got = check_run(&run, connect, "02-connect-per-request", 1);
            match (&got, want) {
                (Ok(()), Ok(())) => {}
                (Err(ProgressError::NotYours { .. }), Err("not yours")) => {}
                (Err(ProgressError::OtherStep { step: 1, .. }), Err("other step")) => {}
                (Err(ProgressError::NotDone { .. }), Err("not done")) => {}
                _ => panic!("{why}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn only_the_learners_own_ended_sweep_of_the_step_grades_it() {
        let course = course();
        let (lesson, n, sizing) = course
            .iter()
            .flat_map(|l| l.steps.iter().enumerate().map(move |(i, s)| (l.id.as_str(), i as u32 + 1, s)))
            .find(|(_, _, s)| !s.sweep.is_empty())
            .expect("a sweep step");
        let specs: Vec<RunSpec> = SweepSpec { run: sizing.preset.clone(), sizes: sizing.sweep.clone() }
            .runs()
            .expect("the step's sweep")
            .into_iter()
            .map(RunSpec::from)
            .collect();
        let runs = |f: &dyn Fn(usize) -> (RunState, bool)| -> Vec<(u32, StoredRun)> {
            sizing
                .sweep
                .iter()
                .zip(&specs)
                .enumerate()
                .map(|(i, (size, spec))| {
                    let (state, theirs) = f(i);
                    (*size, stored(&format!("r{i}"), state, spec.clone(), theirs))
                })
                .collect()
        };
        let all_done = runs(&|_| (RunState::Done, true));
        let mut shuffled = all_done.clone();
        shuffled.swap(0, 1);
        let mut short = all_done.clone();
        short.pop();
        let cases: Vec<(Vec<(u32, StoredRun)>, Result<(), &str>, &str)> = vec![
            (all_done.clone(), Ok(()), "every size done"),
            (runs(&|i| (if i == 0 { RunState::Failed } else { RunState::Done }, true)), Ok(()), "a size failed"),
            (runs(&|i| (RunState::Done, i != 2)), Err("not yours"), "one of its runs is someone else's"),
            (runs(&|i| (if i == 3 { RunState::Running } else { RunState::Done }, true)), Err("not done"), "one runs"),
            (shuffled, Err("other step"), "the sizes in another order"),
            (short, Err("other step"), "a size missing"),
        ];
        for (runs, want, why) in cases {
            let got = check_sweep("s1", &runs, sizing, lesson, n);
            match (&got, want) {
                (Ok(()), Ok(())) => {}
                (Err(ProgressError::NotYours { .. }), Err("not yours")) => {}
                (Err(ProgressError::OtherStep { .. }), Err("other step")) => {}
                (Err(ProgressError::NotDone { .. }), Err("not done")) => {}
                _ => panic!("{why}: got {got:?}, wanted {want:?}"),
            }
        }
        assert_eq!(sweep_points(&all_done).iter().map(|p| p.max_connections).collect::<Vec<_>>(), sizing.sweep);
    }
}
