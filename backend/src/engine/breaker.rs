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

use poollab_shared::{BreakerSpec, BreakerState};

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
    state: Mutex<(State, u64)>,
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
            state: Mutex::new((State::Closed { failures_in_a_row: 0 }, 0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (State, u64)> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn permit(&self) -> Permit {
        let mut guard = self.lock();
        match guard.0 {
            State::Closed { .. } => Permit::Allowed,
            State::Open { until } if Instant::now() >= until => {
                guard.0 = State::HalfOpen;
                Permit::Trial
            }
            State::Open { .. } | State::HalfOpen => Permit::Refused,
        }
    }

    /// Reports how an allowed (or trial) request went.
    pub fn report(&self, permit: Permit, ok: bool) {
        let mut guard = self.lock();
        let (state, opened) = &mut *guard;
        match (permit, ok) {
            (Permit::Refused, _) => {}
            (Permit::Trial, true) => *state = State::Closed { failures_in_a_row: 0 },
            (Permit::Trial, false) => {
                *state = State::Open { until: Instant::now() + self.open_for };
                *opened += 1;
            }
            (Permit::Allowed, ok) => {
                if let State::Closed { failures_in_a_row } = state {
                    *failures_in_a_row = if ok { 0 } else { *failures_in_a_row + 1 };
                    if *failures_in_a_row >= self.threshold {
                        *state = State::Open { until: Instant::now() + self.open_for };
                        *opened += 1;
                    }
                }
            }
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().0 {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// How many times the breaker has opened.
    pub fn times_opened(&self) -> u64 {
        self.lock().1
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
    }
}
