//! A circuit breaker: the guard that stops an app from queueing up behind a database that is down.
//!
//! Without one, every request during an outage waits its full timeout before failing, holding a
//! worker and a pool slot all the while. The breaker counts failures in a row; at the threshold it
//! *opens* and fails requests at once (`circuit_open`). After `open_ms` it lets a single trial
//! request through (*half-open*): if that succeeds the breaker closes, if not it opens again.
//!
//! Written here rather than taken from a crate: the state machine is the lesson (its state is in
//! every frame), it is a few dozen lines, and the Rust breaker crates we found are unmaintained
//! or wrap calls in ways that would hide the states we want to show.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use poollab_shared::{BreakerSpec, BreakerState, RunEventKind};

#[derive(Debug)]
enum State {
    Closed {
        failures_in_a_row: u32,
    },
    Open {
        until: Instant,
    },
    /// A trial request is out; everyone else is still refused until it reports back.
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// How many times it opened.
    opened: u64,
    /// Every time it opened or closed, at the instant it did (the run's record of its changes;
    /// frames only sample the state).
    changes: Vec<(Instant, RunEventKind)>,
}

impl Inner {
    fn open(&mut self, open_for: Duration) {
        let now = Instant::now();
        self.state = State::Open { until: now + open_for };
        self.opened += 1;
        self.changes.push((now, RunEventKind::BreakerOpens));
    }
}

/// What the breaker says about a request about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Go ahead, and report the outcome.
    Allowed,
    /// Go ahead as the half-open trial, and report the outcome.
    Trial,
    /// Fail at once with `circuit_open`.
    Refused,
}

impl CircuitBreaker {
    pub fn new(spec: &BreakerSpec) -> Self {
        CircuitBreaker {
            threshold: spec.failure_threshold.max(1),
            open_for: Duration::from_millis(spec.open_ms),
            inner: Mutex::new(Inner { state: State::Closed { failures_in_a_row: 0 }, opened: 0, changes: Vec::new() }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn permit(&self) -> Permit {
        let mut inner = self.lock();
        match inner.state {
            State::Closed { .. } => Permit::Allowed,
            State::Open { until } if Instant::now() >= until => {
                inner.state = State::HalfOpen;
                Permit::Trial
            }
            State::Open { .. } | State::HalfOpen => Permit::Refused,
        }
    }

    /// Reports how an allowed (or trial) request went.
    pub fn report(&self, permit: Permit, ok: bool) {
        let mut inner = self.lock();
        match (permit, ok) {
            (Permit::Refused, _) => {}
            (Permit::Trial, true) => {
                inner.state = State::Closed { failures_in_a_row: 0 };
                inner.changes.push((Instant::now(), RunEventKind::BreakerCloses));
            }
            (Permit::Trial, false) => inner.open(self.open_for),
            (Permit::Allowed, ok) => {
                if let State::Closed { failures_in_a_row } = &mut inner.state {
                    *failures_in_a_row = if ok { 0 } else { *failures_in_a_row + 1 };
                    if *failures_in_a_row >= self.threshold {
                        inner.open(self.open_for);
                    }
                }
            }
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// How many times the breaker has opened.
    pub fn times_opened(&self) -> u64 {
        self.lock().opened
    }

    /// Every time it opened or closed so far, in order, at the instant it did.
    pub fn changes(&self) -> Vec<(Instant, RunEventKind)> {
        self.lock().changes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, open_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(&BreakerSpec { enabled: true, failure_threshold: threshold, open_ms })
    }

    #[test]
    fn opens_after_failures_in_a_row_only() {
        let b = breaker(3, 60_000);
        for ok in [false, false, true, false, false] {
            assert_eq!(b.permit(), Permit::Allowed);
            b.report(Permit::Allowed, ok);
        }
        assert_eq!(b.state(), BreakerState::Closed, "a success resets the count");
        b.report(Permit::Allowed, false);
        assert_eq!((b.state(), b.permit(), b.times_opened()), (BreakerState::Open, Permit::Refused, 1));
    }

    #[test]
    fn half_open_lets_one_trial_through_and_follows_its_outcome() {
        let b = breaker(1, 10);
        b.report(Permit::Allowed, false);
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(b.permit(), Permit::Trial);
        assert_eq!(b.permit(), Permit::Refused, "only one trial at a time");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.report(Permit::Trial, false);
        assert_eq!((b.state(), b.times_opened()), (BreakerState::Open, 2));
        std::thread::sleep(Duration::from_millis(15));
        let trial = b.permit();
        b.report(trial, true);
        assert_eq!((b.state(), b.permit()), (BreakerState::Closed, Permit::Allowed));
        // Each change was recorded as it happened, in order.
        let changes = b.changes();
        let kinds: Vec<RunEventKind> = changes.iter().map(|c| c.1).collect();
        use RunEventKind::{BreakerCloses, BreakerOpens};
        assert_eq!(kinds, [BreakerOpens, BreakerOpens, BreakerCloses]);
        assert!(changes.windows(2).all(|w| w[0].0 + Duration::from_millis(10) <= w[1].0), "{changes:?}");
    }
}
