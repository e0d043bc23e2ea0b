//! Giving the lab's own PostgreSQL fewer CPUs for one run.
//!
//! "Too large" is about a server with fewer CPUs than the connections that want them: past that,
//! more connections only make queries share the CPUs, each one slower. On a small machine the app
//! and the server share the same cores, so the app would run out of CPU as soon as the server
//! does. A run that asks for `server_cpus` gets a server that really has that many: the lab pins
//! its PostgreSQL (the postmaster and every process it has forked; backends forked later inherit
//! the postmaster's cores) to that many of the worker's own cores, and gives them back when the
//! run ends. Only the lab's private cluster can be pinned: a `DATABASE_URL` server is not its to
//! move.

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

/// The server pinned for a run; dropping it gives the server back the cores it had.
#[derive(Debug)]
pub struct Pinned {
    postmaster: Pid,
    before: CpuSet,
    cpus: u32,
}

impl ServerProcess {
    pub fn new(postmaster_pid: u32) -> ServerProcess {
        ServerProcess { postmaster: Pid::from_raw(postmaster_pid as i32) }
    }

    /// Pins the server to the first `cpus` cores this process may run on (the worker's); all of
    /// them when it has no more.
    pub fn pin(&self, cpus: u32) -> Result<Pinned, PinError> {
        let ours = sched_getaffinity(Pid::from_raw(0))?;
        let mine: Vec<usize> = (0..CpuSet::count()).filter(|c| ours.is_set(*c).unwrap_or(false)).collect();
        let mut set = CpuSet::new();
        for &cpu in mine.iter().take(cpus as usize) {
            set.set(cpu)?;
        }
        let before = sched_getaffinity(self.postmaster)?;
        let pinned = Pinned { postmaster: self.postmaster, before, cpus: cpus.min(mine.len() as u32) };
        apply(self.postmaster, &set)?;
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
    }
}

/// Sets the cores of the postmaster first (what it forks from now on inherits them), then of
/// every process it forked before. A process that ended in between is no error.
fn apply(postmaster: Pid, set: &CpuSet) -> Result<(), nix::Error> {
    sched_setaffinity(postmaster, set)?;
    for child in children(postmaster) {
        match sched_setaffinity(child, set) {
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
