//! Counts over time, as the page may print them.
//!
//! A rate "per second" of a run that lasted less than two seconds is an extrapolation: 90 failures
//! in 444 ms read as "203 failed per second" describe a second that never happened. So the page
//! asks [`per_second`] (the one rule) before it writes a rate: a shorter run's rates are counts
//! per tenth of a second (what one frame covers), and its throughput is a count and a duration
//! ("10 answered in 444 ms").

use crate::num::Dec;
use crate::summary::Summary;

/// The shortest run whose rates read per second.
pub const PER_SECOND_FROM_MS: u64 = 2_000;

/// The rule: a rate is per second only when the run lasted at least [`PER_SECOND_FROM_MS`].
pub fn per_second(run_ms: u64) -> bool {
    run_ms >= PER_SECOND_FROM_MS
}

/// `count` things over `over_ms`, as a rate for a run of `run_ms`: per second or per 100 ms (by
/// [`per_second`]), with its words (`"per second"`, `"per 100 ms"`).
pub fn rate(count: f64, over_ms: u64, run_ms: u64) -> (f64, &'static str) {
    let (per_ms, words) = if per_second(run_ms) { (1000.0, "per second") } else { (100.0, "per 100 ms") };
    (if over_ms > 0 { count * per_ms / over_ms as f64 } else { 0.0 }, words)
}

/// A run's throughput as the page prints it: its `throughput_per_s` (`62 req/s`) for a run of two
/// seconds or more, `10 answered in 444 ms` for a shorter one.
pub fn throughput(s: &Summary) -> String {
    if per_second(s.duration_ms) {
        format!("{:.0} req/s", Dec(s.throughput_per_s))
    } else {
        format!("{} answered in {} ms", s.completed, s.duration_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_per_second_only_for_a_run_of_two_seconds_or_more() {
        // (count, over ms, run ms) → (value, words)
        let table = [
            // Lesson 6: 90 failures in a 101 ms frame of a 444 ms run: per 100 ms, not "891 per second".
            ((90.0, 101, 444), (90.0 * 100.0 / 101.0, "per 100 ms")),
            ((10.0, 100, 444), (10.0, "per 100 ms")),
            ((10.0, 100, 1_999), (10.0, "per 100 ms")),
            ((10.0, 100, 2_000), (100.0, "per second")),
            ((124.0, 2_000, 2_000), (62.0, "per second")),
            ((5.0, 0, 5_000), (0.0, "per second")),
            ((0.0, 100, 0), (0.0, "per 100 ms")),
        ];
        for ((count, over, run), want) in table {
            assert_eq!(rate(count, over, run), want, "{count} over {over} ms of a {run} ms run");
        }
        assert!(!per_second(0) && !per_second(1_999) && per_second(2_000) && per_second(60_000));
    }

    #[test]
    fn a_short_runs_throughput_is_a_count_and_a_duration() {
        let table = [
            ((10, 444, 22.5), "10 answered in 444 ms"),
            ((0, 12, 0.0), "0 answered in 12 ms"),
            ((200, 1_999, 100.1), "200 answered in 1999 ms"),
            ((200, 2_000, 100.0), "100 req/s"),
            ((1_000, 4_100, 243.9), "244 req/s"),
        ];
        for ((completed, duration_ms, throughput_per_s), want) in table {
            let s = Summary { completed, duration_ms, throughput_per_s, ..Summary::default() };
            assert_eq!(throughput(&s), want);
        }
    }
}
