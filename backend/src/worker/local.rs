//! Workers the coordinator starts on its own machine (`--workers N`).
//!
//! Each is a `poollab worker` process of its own, with its own private PostgreSQL (in
//! `<data dir>/workers/<n>`) and its own share of the machine's cores, joined to this coordinator
//! over loopback with a credential of its own, made for it when the coordinator starts (and kept
//! only in the coordinator's memory). A worker that dies is started again after a
//! moment (it then rejoins); when the coordinator stops, it asks each to stop and waits for it,
//! and if the coordinator dies, the kernel tells them (`PR_SET_PDEATHSIG`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::shutdown::Shutdown;
use crate::worker::affinity::{format_cpus, share};

/// How long a worker that died waits before it is started again.
const RESTART_AFTER: Duration = Duration::from_secs(1);
/// How long a worker has to stop (and stop its PostgreSQL) when asked.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What every local worker is started with.
#[derive(Debug, Clone)]
pub struct LocalWorkerSpec {
    /// The `poollab` binary.
    pub exe: PathBuf,
    /// Where this coordinator listens.
    pub coordinator: String,
    /// Each worker's credential, worker 1's first (see [`name_of`]).
    pub secrets: Vec<String>,
    /// Each worker's data directory goes under it.
    pub data_dir: PathBuf,
    pub max_connections: u32,
    pub pg_bin_dir: Option<PathBuf>,
    pub pg_tls_only: bool,
    pub pg_no_tls: bool,
}

/// The supervisors of the local workers, one task each.
pub struct LocalWorkers {
    tasks: Vec<JoinHandle<()>>,
}

impl LocalWorkers {
    /// Starts `n` workers, each pinned to its share of this machine's cores.
    pub fn start(n: usize, spec: LocalWorkerSpec, shutdown: Shutdown) -> LocalWorkers {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        if n > cores {
            tracing::warn!(
                workers = n,
                cores,
                "more workers than cores: workers share cores, and their timings disturb each other"
            );
        }
        let spec = Arc::new(spec);
        let tasks = share(cores, n)
            .into_iter()
            .enumerate()
            .map(|(i, cpus)| tokio::spawn(supervise(i + 1, format_cpus(&cpus), spec.clone(), shutdown.clone())))
            .collect();
        LocalWorkers { tasks }
    }

    /// Waits until every worker has stopped (after shutdown fired).
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Local worker `n`'s name (from 1), which its credential is made under.
pub fn name_of(n: usize) -> String {
    format!("worker-{n}")
}

fn command(n: usize, cpus: &str, spec: &LocalWorkerSpec) -> Command {
    let mut cmd = Command::new(&spec.exe);
    cmd.arg("worker")
        .args(["--coordinator", &spec.coordinator])
        .args(["--name", &name_of(n)])
        .args(["--cpus", cpus])
        .arg("--data-dir")
        .arg(spec.data_dir.join("workers").join(n.to_string()))
        .args(["--max-connections", &spec.max_connections.to_string()])
        .env("POOLLAB_WORKER_SECRET", spec.secrets.get(n - 1).map_or("", String::as_str))
        // A worker reads its own settings from flags: none of the coordinator's may leak in.
        .env_remove("DATABASE_URL")
        .env_remove("POOLLAB_DATA_DIR")
        .env_remove("POOLLAB_PG_PORT")
        .kill_on_drop(true);
    if let Some(dir) = &spec.pg_bin_dir {
        cmd.arg("--pg-bin-dir").arg(dir);
    }
    if spec.pg_tls_only {
        cmd.arg("--pg-tls-only");
    }
    if spec.pg_no_tls {
        cmd.arg("--pg-no-tls");
    }
    // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Keeps worker `n` running until shutdown, then stops it.
async fn supervise(n: usize, cpus: String, spec: Arc<LocalWorkerSpec>, mut shutdown: Shutdown) {
    loop {
        let mut child: Child = match command(n, &cpus, &spec).spawn() {
            Ok(child) => child,
            Err(e) => {
                tracing::error!(worker = n, error = %e, exe = %spec.exe.display(), "cannot start a local worker");
                tokio::select! {
                    _ = tokio::time::sleep(RESTART_AFTER * 5) => continue,
                    _ = shutdown.recv() => return,
                }
            }
        };
        tracing::info!(worker = n, cpus = %cpus, pid = child.id(), "local worker started");
        tokio::select! {
            status = child.wait() => {
                tracing::warn!(worker = n, ?status, "a local worker stopped; starting it again");
                tokio::select! {
                    _ = tokio::time::sleep(RESTART_AFTER) => {}
                    _ = shutdown.recv() => return,
                }
            }
            _ = shutdown.recv() => {
                if let Some(pid) = child.id() {
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                }
                if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                    tracing::warn!(worker = n, "a local worker did not stop in time; killing it");
                    let _ = child.kill().await;
                }
                return;
            }
        }
    }
}
