//! A pool's settings in the lab's terms, whatever library they were written for, and the step
//! from them to a run spec's pool: the lab's ranges are narrower than the libraries' (no pool
//! waits forever here, none is larger than 500), so a value outside them is brought inside and
//! the translation says so.

use std::ops::RangeInclusive;

use poollab_shared::{Limits, PoolSpec};

/// What a library's settings amount to, in milliseconds and connections. `None` for a wait is
/// forever, for an idle timeout or a lifetime never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub max: u64,
    pub min: u64,
    pub acquire_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub max_lifetime_ms: Option<u64>,
    pub test_before_acquire: bool,
    /// HikariCP's `leakDetectionThreshold` (the only library that has one).
    pub leak_detect_ms: Option<u64>,
}

impl Settings {
    /// The run spec's pool, with one note for each value the lab had to bring into its range.
    pub fn to_pool(&self, library: &str, notes: &mut Vec<String>) -> PoolSpec {
        fn clamp(notes: &mut Vec<String>, what: &str, value: u64, range: RangeInclusive<u64>) -> u64 {
            let inside = value.clamp(*range.start(), *range.end());
            if inside != value {
                notes.push(format!(
                    "{what} is {value}, outside the lab's range ({}..={}): the run uses {inside}.",
                    range.start(),
                    range.end()
                ));
            }
            inside
        }
        let max = clamp(notes, "The pool's maximum", self.max, Limits::MAX_CONNECTIONS);
        let min = clamp(notes, "The pool's minimum", self.min.min(max), Limits::MIN_CONNECTIONS);
        let acquire_timeout_ms = match self.acquire_timeout_ms {
            Some(ms) => clamp(notes, "The acquire timeout (ms)", ms, Limits::ACQUIRE_TIMEOUT_MS),
            None => {
                let longest = *Limits::ACQUIRE_TIMEOUT_MS.end();
                notes.push(format!("With these settings {library} lets a request wait forever for a connection; the lab's longest wait is {longest} ms, so the run uses that and counts a longer wait as a failure."));
                longest
            }
        };
        let idle_timeout_ms =
            clamp(notes, "The idle timeout (ms)", self.idle_timeout_ms.unwrap_or(0), Limits::IDLE_TIMEOUT_MS);
        let max_lifetime_ms =
            clamp(notes, "The maximum lifetime (ms)", self.max_lifetime_ms.unwrap_or(0), Limits::MAX_LIFETIME_MS);
        PoolSpec {
            max_connections: max as u32,
            min_connections: min as u32,
            acquire_timeout_ms,
            idle_timeout_ms,
            max_lifetime_ms,
            test_before_acquire: self.test_before_acquire,
        }
    }
}

/// A duration in milliseconds as whole seconds when it is one, else fractional ("30", "2.5").
pub fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) { (ms / 1000).to_string() } else { format!("{}", ms as f64 / 1000.0) }
}

/// Seconds as a float literal, the way Python code writes them ("30.0", "2.5").
pub fn seconds_float(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{}.0", ms / 1000) } else { format!("{}", ms as f64 / 1000.0) }
}

/// Milliseconds from a number of seconds, refusing what no clock can wait.
pub fn ms_from_seconds(s: f64) -> Option<u64> {
    (0.0..1e12).contains(&s).then(|| (s * 1000.0).round() as u64)
}
