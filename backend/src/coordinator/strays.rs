//! Frames of a run a worker does not hold: dropped, and said in the log once per run, not once per
//! frame.
//!
//! A worker streams ten frames a second. One that goes on about a run it does not hold (one it
//! never held, another worker's, one that already ended) has each of them dropped; a warning for
//! each would bury the log in copies of one fact. So the coordinator remembers, for each joined
//! worker, the runs it has warned about: the first stray frame of a run is said, the rest are not.
//! A worker that names ever new runs is warned about for its first [`MAX_RUNS_SAID`], then once
//! more, to say that the rest go unsaid: neither the log nor the memory grows without bound.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// How many runs' stray frames are said, per joined worker.
pub const MAX_RUNS_SAID: usize = 16;
/// How much of a run id a warning shows (a worker chooses the id, and its length).
const SHOWN_CHARS: usize = 64;

/// What the log is told of a stray frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Say {
    /// The first stray frame of this run.
    Warn,
    /// The first of a run beyond [`MAX_RUNS_SAID`]: said, and that the rest go unsaid.
    WarnLast,
    /// Said already, or the worker has used up what is said of it.
    Nothing,
}

/// One worker's runs whose stray frames were said (their ids' hashes: a worker chooses the ids,
/// and a long one is not kept).
#[derive(Debug, Default)]
pub struct Strays {
    said: Vec<u64>,
    silent: bool,
}

impl Strays {
    /// A frame of `run`, which the worker does not hold, is dropped: what to say of it.
    pub fn dropped(&mut self, run: &str) -> Say {
        let key = hash(run);
        if self.silent || self.said.contains(&key) {
            return Say::Nothing;
        }
        if self.said.len() == MAX_RUNS_SAID {
            self.silent = true;
            return Say::WarnLast;
        }
        self.said.push(key);
        Say::Warn
    }
}

fn hash(run: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    run.hash(&mut hasher);
    hasher.finish()
}

/// A run id as a warning shows it: its first [`SHOWN_CHARS`] characters.
pub fn shown(run: &str) -> &str {
    run.char_indices().nth(SHOWN_CHARS).map_or(run, |(end, _)| &run[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_is_said_once_and_only_so_many_runs() {
        let more: Vec<String> = (2..MAX_RUNS_SAID).map(|n| format!("run-{n}")).collect();
        let mut strays = Strays::default();
        // Each case, in turn: the runs dropped frames name, what is said of each, why.
        let cases: Vec<(Vec<&str>, Say, &str)> = vec![
            (vec!["a"], Say::Warn, "a run's first stray frame is said"),
            (vec!["a"; 9], Say::Nothing, "its next ones are not"),
            (vec!["b"], Say::Warn, "another run's first is"),
            (vec!["a"], Say::Nothing, "the first run is still remembered"),
            (more.iter().map(String::as_str).collect(), Say::Warn, "new runs are said, up to the allowance"),
            (vec!["one-too-many"], Say::WarnLast, "the run beyond the allowance is said, as the last"),
            (vec!["yet-another"], Say::Nothing, "then no new run is"),
            (vec!["one-too-many", "a"], Say::Nothing, "nor any said before"),
        ];
        for (runs, say, why) in cases {
            for run in runs {
                assert_eq!(strays.dropped(run), say, "{why}: {run}");
            }
        }
    }

    #[test]
    fn a_warning_shows_no_more_than_the_start_of_a_long_id() {
        let cases: Vec<(String, String)> = vec![
            ("r1".into(), "r1".into()),
            ("x".repeat(SHOWN_CHARS), "x".repeat(SHOWN_CHARS)),
            ("x".repeat(SHOWN_CHARS * 1000), "x".repeat(SHOWN_CHARS)),
            ("é".repeat(SHOWN_CHARS + 1), "é".repeat(SHOWN_CHARS)),
        ];
        for (run, want) in cases {
            assert_eq!(shown(&run), want);
        }
    }
}
