//! Giving the lab's own PostgreSQL fewer CPUs for one run.
//!
//! "Too large" is about a server with fewer CPUs than the connections that want them: past that,
//! more connections only make queries share the CPUs, each one slower. On a small machine the app
//! and the server share the same cores, so the app would run out of CPU as soon as the server
//! does. A run that asks for `server_cpus` gets a server that really has that many: the lab pins
//! its PostgreSQL (the postmaster and every process it has forked; backends forked later inherit
//! the postmaster's cores) to that many of the worker's own cores, moves its own threads (the
//! app's) off those cores onto the rest, so neither takes CPU from the other, and gives every
//! process its cores back when the run ends. Only the lab's private cluster can be pinned: a
//! `DATABASE_URL` server is not its to move.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(
        "this run asks for a server with {0} CPU(s), but the lab can limit only the PostgreSQL it \
         starts itself, not one reached through DATABASE_URL"
    )]
    NotOurServer(u32),
    #[error("could not pin the server to its CPUs: {0}")]
    Os(#[from] nix::Error),
}

/// The lab's own PostgreSQL, by its postmaster's process id: what can be pinned.
#[derive(Debug, Clone, Copy)]
pub struct ServerProcess {
    postmaster: Pid,
}

/// The server pinned for a run, and the app moved off its cores; dropping it gives both back
/// the cores they had.
#[derive(Debug)]
pub struct Pinned {
    postmaster: Pid,
    before: CpuSet,
    /// The cores this process's threads had, when they were moved off the server's.
    app_before: Option<CpuSet>,
    cpus: u32,
}

impl ServerProcess {
    pub fn new(postmaster_pid: u32) -> ServerProcess {
        ServerProcess { postmaster: Pid::from_raw(postmaster_pid as i32) }
    }

    /// Pins the server to the first `cpus` cores this process may run on (the worker's); all of
    /// them when it has no more. When cores are left over, this process's threads (the app: its
    /// pools, its requests, its sampler) move onto them for the run.
    pub fn pin(&self, cpus: u32) -> Result<Pinned, PinError> {
        let ours = sched_getaffinity(Pid::from_raw(0))?;
        let mine: Vec<usize> = (0..CpuSet::count()).filter(|c| ours.is_set(*c).unwrap_or(false)).collect();
        let (server_cores, app_cores) = mine.split_at((cpus as usize).min(mine.len()));
        let server = cpu_set(server_cores)?;
        let before = sched_getaffinity(self.postmaster)?;
        let mut pinned =
            Pinned { postmaster: self.postmaster, before, app_before: None, cpus: server_cores.len() as u32 };
        apply(self.postmaster, &server)?;
        if !app_cores.is_empty() {
            // Set before the move, so that the guard gives the threads back their cores even when
            // the move stops half-way.
            pinned.app_before = Some(ours);
            apply_to_own_threads(&cpu_set(app_cores)?)?;
        }
        Ok(pinned)
    }
}

impl Pinned {
    /// How many CPUs the server has while pinned.
    pub fn cpus(&self) -> u32 {
        self.cpus
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Err(e) = apply(self.postmaster, &self.before) {
            tracing::warn!(error = %e, "could not give the server back its CPUs");
        }
        if let Some(app) = &self.app_before
            && let Err(e) = apply_to_own_threads(app)
        {
            tracing::warn!(error = %e, "could not give the app back its CPUs");
        }
    }
}

fn cpu_set(cores: &[usize]) -> Result<CpuSet, nix::Error> {
    let mut set = CpuSet::new();
    for &cpu in cores {
        set.set(cpu)?;
    }
    Ok(set)
}

/// Sets the cores of every thread of this process (threads started later inherit them from the
/// thread that starts them). A thread that ended in between is no error.
fn apply_to_own_threads(set: &CpuSet) -> Result<(), nix::Error> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return sched_setaffinity(Pid::from_raw(0), set) };
    set_each(tasks.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()).map(Pid::from_raw), set)
}

/// Sets the cores of the postmaster first (what it forks from now on inherits them), then of
/// every process it forked before. A process that ended in between is no error.
fn apply(postmaster: Pid, set: &CpuSet) -> Result<(), nix::Error> {
    sched_setaffinity(postmaster, set)?;
    set_each(children(postmaster).into_iter(), set)
}

/// Sets the cores of each of `pids` (processes or threads); one that ended in between is no error.
fn set_each(pids: impl Iterator<Item = Pid>, set: &CpuSet) -> Result<(), nix::Error> {
    for pid in pids {
        match sched_setaffinity(pid, set) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The processes whose parent is `parent`, from `/proc/<pid>/stat`.
fn children(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| ppid(&s)) == Some(parent))
        .map(Pid::from_raw)
        .collect()
}

/// The parent's pid in a `/proc/<pid>/stat` line: the field after the state, which follows the
/// command name in parentheses (which may itself hold spaces and parentheses).
fn ppid(stat: &str) -> Option<Pid> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse::<i32>().ok().map(Pid::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_the_command_name() {
        assert_eq!(ppid("4242 (postgres) S 17 4242 4242 0"), Some(Pid::from_raw(17)));
        assert_eq!(ppid("4243 (postgres: app (x) y) R 4242 1"), Some(Pid::from_raw(4242)));
        assert_eq!(ppid("garbage"), None);
    }
}
