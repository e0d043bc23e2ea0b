//! Pinning a worker to its CPU cores.
//!
//! Two workers on one machine must not distort each other's timings: each gets cores of its own.
//! A worker pins itself before anything else starts (before its async runtime makes its threads),
//! so every thread it makes, and the PostgreSQL it starts (a child process), inherit the same
//! cores. `/proc/<pid>/status` (`Cpus_allowed_list`) shows it.

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Reads a list of cores such as `0,2-3`.
pub fn parse_cpus(list: &str) -> Result<Vec<u32>, String> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |s: &str| s.trim().parse::<u32>().map_err(|_| format!("{s:?} is not a CPU number"));
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (number(from)?, number(to)?);
                if from > to || to - from > 1023 {
                    return Err(format!("{part:?} is not a range of CPUs"));
                }
                cpus.extend(from..=to);
            }
            None => cpus.push(number(part)?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    if cpus.is_empty() {
        return Err("no CPU given".into());
    }
    Ok(cpus)
}

/// Writes a list of cores the way [`parse_cpus`] reads it.
pub fn format_cpus(cpus: &[u32]) -> String {
    cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Pins the calling thread (and so every thread and process it makes from now on) to `cpus`.
pub fn pin(cpus: &[u32]) -> Result<(), String> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu as usize).map_err(|e| format!("CPU {cpu}: {e}"))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("cannot pin to CPUs {}: {e}", format_cpus(cpus)))
}

/// The cores of this machine split among `workers` workers: each gets its own share when there
/// are at least as many cores as workers; otherwise they go round, and some share (which the
/// lab warns about, because their timings then disturb each other).
pub fn share(cores: usize, workers: usize) -> Vec<Vec<u32>> {
    let cores = cores.max(1);
    (0..workers)
        .map(|i| {
            if cores >= workers {
                let (from, to) = (i * cores / workers, (i + 1) * cores / workers);
                (from as u32..to as u32).collect()
            } else {
                vec![(i % cores) as u32]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists_read_and_split() {
        assert_eq!(parse_cpus("0,2-3, 2").expect("list"), [0, 2, 3]);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
        assert!(parse_cpus("").is_err());
        assert_eq!(format_cpus(&[0, 2, 3]), "0,2,3");
        assert_eq!(share(2, 2), [vec![0], vec![1]]);
        assert_eq!(share(8, 3), [vec![0, 1], vec![2, 3, 4], vec![5, 6, 7]]);
        assert_eq!(share(2, 3), [vec![0], vec![1], vec![0]], "more workers than cores: they share");
    }
}
