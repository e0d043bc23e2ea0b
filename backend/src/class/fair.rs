//! Who goes next: the line shares worker time, not turns.
//!
//! A worker carries out one run at a time, so the line decides whose run it takes next. Counting
//! runs is not fair when runs differ: a learner whose runs take two minutes each would get sixty
//! times the worker of one whose runs take two seconds, and a sizing sweep (twelve runs) would
//! take twelve turns for one click. So every run has a **cost**, the worker time it is expected to
//! take ([`worker_time_ms`]), and the line shares that time.
//!
//! The rule, applied each time a worker is free (a hierarchical fair share, as batch schedulers
//! share a cluster between groups and their users):
//!
//! 1. the instructor's runs first, oldest first (the class watches them);
//! 2. then the **address** whose learners have used the least worker time in the recent window
//!    ([`FAIR_WINDOW`]);
//! 3. at that address, the **learner** who has used the least;
//! 4. that learner's oldest waiting run. Ties go to the run that came first.
//!
//! A learner's or an address's *use* is the cost of its runs that a worker took in the window.
//! A sweep's runs are charged one by one as each is taken, so a sweep costs the sum of its runs
//! and a learner with one light run waits for one of them at most, not for the whole sweep. A
//! shared run is charged to the learner who put it in line (and their address): those who join
//! it pay nothing, so joining costs nobody a turn. Use older than the window is forgotten, so a
//! learner who ran a lot an hour ago is not held back now.
//!
//! Addresses come before learners because learner ids are cheap (a script that drops its cookies
//! is a new learner each time) and addresses are not: such a script gets its address's share and
//! no more. A class that reaches the lab through one address (one NAT, one proxy without
//! `--trusted-proxy`) is one address, and its learners share its time fairly among themselves.
//!
//! [`order`] applies the rule over and over, charging each run it places as if it had been
//! taken: the result is every waiting run's place if nothing changes. The line takes the first,
//! and stores each run's place so that every page can show it.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use poollab_shared::RunSpec;

/// How far back the line remembers who used the workers.
pub const FAIR_WINDOW: Duration = Duration::from_secs(10 * 60);

/// What every run spends around its load, besides what its spec says: the pre-flight check,
/// building its fleet (and its proxy or pooler), the last reading of the server, and closing. A
/// tiny run still takes a worker this long, so a thousand of them are not free.
pub const RUN_OVERHEAD_MS: u64 = 1_000;

/// A run's cost in the line: the worker time it is expected to take, in milliseconds. It is what
/// the run budget counts ([`RunSpec::cost`]: the longest its warm-up can take, and the least its
/// load can), plus [`RUN_OVERHEAD_MS`]; one definition for the budget and the fair share.
pub fn worker_time_ms(spec: &RunSpec) -> u64 {
    RUN_OVERHEAD_MS.saturating_add(spec.cost().total_ms())
}

/// A run waiting in line, as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The learner who put it in line; none for the instructor's.
    pub learner: Option<String>,
    /// Where that learner's request came from.
    pub address: String,
    /// Its cost ([`worker_time_ms`]).
    pub cost_ms: u64,
    /// Held back by the instructor (every learner on it paused): it keeps no place.
    pub held: bool,
}

/// Worker time used lately, per learner and per address (the instructor's runs count for no one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Used {
    learners: HashMap<String, u64>,
    addresses: HashMap<String, u64>,
}

impl Used {
    /// Counts `cost_ms` of worker time against a learner and their address.
    pub fn charge(&mut self, learner: &str, address: &str, cost_ms: u64) {
        let add = |n: &mut u64| *n = n.saturating_add(cost_ms);
        add(self.learners.entry(learner.to_owned()).or_default());
        add(self.addresses.entry(address.to_owned()).or_default());
    }

    pub fn of_learner(&self, learner: &str) -> u64 {
        self.learners.get(learner).copied().unwrap_or(0)
    }

    pub fn of_address(&self, address: &str) -> u64 {
        self.addresses.get(address).copied().unwrap_or(0)
    }
}

/// The order in which the waiting runs will go, if nothing changes: indices into `waiting`
/// (given in the order the runs came, oldest first). The instructor's come first, then learners'
/// by the rule of this module; held runs come last, in the order they came (they have no place
/// until the instructor lets them go).
pub fn order(waiting: &[Waiting], used: &Used) -> Vec<usize> {
    let mut used = used.clone();
    let mut placed: Vec<usize> =
        (0..waiting.len()).filter(|&i| waiting[i].learner.is_none() && !waiting[i].held).collect();
    // Each learner's own runs at each address, oldest first.
    let mut runs_of: HashMap<(&str, &str), std::collections::VecDeque<usize>> = HashMap::new();
    for (i, run) in waiting.iter().enumerate() {
        if let (Some(learner), false) = (run.learner.as_deref(), run.held) {
            runs_of.entry((run.address.as_str(), learner)).or_default().push_back(i);
        }
    }
    // Each learner's oldest run, keyed by (its address's use, its learner's use, its age): the
    // first key is the next run. Only the keys of the parties just charged change.
    let key = |used: &Used, address: &str, learner: &str, head: usize| {
        (used.of_address(address), used.of_learner(learner), head)
    };
    let mut next: BTreeSet<(u64, u64, usize)> = BTreeSet::new();
    for (&(address, learner), runs) in &runs_of {
        if let Some(&head) = runs.front() {
            next.insert(key(&used, address, learner, head));
        }
    }
    while let Some(first) = next.pop_first() {
        let run = &waiting[first.2];
        let (address, learner) = (run.address.as_str(), run.learner.as_deref().unwrap_or_default());
        placed.push(first.2);
        // Take out every candidate whose key the charge changes (the same address, or the same
        // learner at another address), charge, and put them back with their new keys.
        let touched: Vec<(u64, u64, usize)> = next
            .iter()
            .copied()
            .filter(|&(_, _, i)| waiting[i].address == address || waiting[i].learner.as_deref() == Some(learner))
            .collect();
        for k in &touched {
            next.remove(k);
        }
        used.charge(learner, address, run.cost_ms);
        if let Some(runs) = runs_of.get_mut(&(address, learner)) {
            runs.pop_front();
            if let Some(&head) = runs.front() {
                next.insert(key(&used, address, learner, head));
            }
        }
        for (_, _, i) in touched {
            let w = &waiting[i];
            next.insert(key(&used, &w.address, w.learner.as_deref().unwrap_or_default(), i));
        }
    }
    placed.extend((0..waiting.len()).filter(|&i| waiting[i].held));
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(learner: &str, address: &str, cost_ms: u64) -> Waiting {
        Waiting { learner: Some(learner.to_owned()), address: address.to_owned(), cost_ms, held: false }
    }

    fn instructor(cost_ms: u64) -> Waiting {
        Waiting { learner: None, address: String::new(), cost_ms, held: false }
    }

    #[test]
    fn a_runs_cost_is_what_the_budget_counts_and_the_overhead() {
        let light = RunSpec::default();
        assert_eq!(worker_time_ms(&light), RUN_OVERHEAD_MS + light.cost().total_ms());
        let mut warm = RunSpec { strategy: poollab_shared::Strategy::Pooled, instances: 4, ..RunSpec::default() };
        warm.pool.min_connections = 2;
        warm.pool.acquire_timeout_ms = 5_000;
        assert_eq!(worker_time_ms(&warm), RUN_OVERHEAD_MS + 4 * 5_000 + warm.least_duration_ms(), "warm-up counts");
    }

    #[test]
    fn the_line_shares_worker_time_not_turns() {
        let none = Used::default();
        let used = |entries: &[(&str, &str, u64)]| {
            let mut u = Used::default();
            for (learner, address, ms) in entries {
                u.charge(learner, address, *ms);
            }
            u
        };
        let held = |mut w: Waiting| {
            w.held = true;
            w
        };
        // Each case: what waits (in the order it came), who used what lately, the order wanted.
        let cases: Vec<(Vec<Waiting>, Used, Vec<usize>, &str)> = vec![
            (vec![], none.clone(), vec![], "an empty line"),
            (
                vec![run("ann", "a", 2_000), run("ann", "a", 2_000), run("bob", "b", 2_000), run("bob", "b", 2_000)],
                none.clone(),
                vec![0, 2, 1, 3],
                "equal runs take turns, as rounds did",
            ),
            (
                [vec![run("sue", "s", 10_000); 3], vec![run("lee", "l", 1_000); 3]].concat(),
                none.clone(),
                vec![0, 3, 4, 5, 1, 2],
                "a sweep's runs are charged one by one: light runs go before its second",
            ),
            (
                vec![run("lee", "l", 1_000), run("sue", "s", 10_000)],
                used(&[("lee", "l", 30_000)]),
                vec![1, 0],
                "whoever used more lately waits",
            ),
            (
                ["x1", "x2", "x3"].map(|l| run(l, "evil", 5_000)).into_iter().chain([run("ann", "a", 5_000)]).collect(),
                none.clone(),
                vec![0, 3, 1, 2],
                "learners made up at one address share that address's time",
            ),
            (
                vec![run("p", "nat", 3_000), run("p", "nat", 3_000), run("q", "nat", 3_000), run("r", "home", 3_000)],
                used(&[("p", "nat", 1_000)]),
                vec![3, 2, 0, 1],
                "two addresses share equally; within one, its learners do",
            ),
            (
                vec![run("ann", "a", 1_000), instructor(60_000), run("bob", "b", 1_000), instructor(1_000)],
                none.clone(),
                vec![1, 3, 0, 2],
                "the instructor first, oldest first, and charged to no one",
            ),
            (
                vec![held(run("ann", "a", 1_000)), run("bob", "b", 1_000), run("ann", "a", 1_000)],
                none.clone(),
                vec![1, 2, 0],
                "a held run keeps no place",
            ),
            (
                // Ann put a run in line that bob joined; it ran. Only ann paid for it.
                vec![run("ann", "a", 2_000), run("bob", "b", 2_000)],
                used(&[("ann", "a", 2_000)]),
                vec![1, 0],
                "a shared run costs only the learner who put it in line",
            ),
            (
                vec![run("ann", "a", 2_000), run("bob", "b", 2_000)],
                none.clone(),
                vec![0, 1],
                "ties go to the run that came first",
            ),
            (
                vec![run("ann", "home", 4_000), run("ann", "school", 1_000), run("bob", "school", 1_000)],
                none.clone(),
                vec![0, 2, 1],
                "a learner at two addresses pays at both",
            ),
        ];
        for (waiting, used, want, why) in cases {
            assert_eq!(order(&waiting, &used), want, "{why}");
        }
    }
}
