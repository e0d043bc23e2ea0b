//! The private PostgreSQL: started from the local binaries, as the right user, with SCRAM
//! authentication and our `max_connections`; stopped without leaving a process behind.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};
use poollab::db::cluster::{ClusterOptions, PrivateCluster};
use sqlx::{ConnectOptions, Connection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_cluster_starts_as_the_right_user_uses_scram_and_leaves_nothing_behind() {
    let dir = support::lab_dir();
    let opts = ClusterOptions { dir: dir.path().join("lab"), bin_dir: None, port: 0, max_connections: 37 };
    let cluster = PrivateCluster::start(opts.clone()).await.expect("cluster starts");
    let pid = cluster.pid().expect("running");
    let data_dir = cluster.data_dir().display().to_string();

    // PostgreSQL refuses root: as root the server must run as `postgres`, otherwise as us.
    let expected = if Uid::effective().is_root() {
        User::from_name("postgres").expect("lookup").expect("postgres user").uid.as_raw()
    } else {
        Uid::effective().as_raw()
    };
    assert_eq!(support::uid_of(pid), Some(expected));

    let mut app = cluster.app_options().connect().await.expect("the app role logs in with its password");
    let (user, max): (String, String) = sqlx::query_as("SELECT current_user::text, current_setting('max_connections')")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!((user.as_str(), max.as_str()), ("poollab_app", "37"));
    app.close().await.unwrap();

    let wrong = cluster.app_options().password("wrong").connect().await;
    assert!(wrong.is_err(), "a wrong password must be refused");
    let mut admin = cluster.admin_options().connect().await.unwrap();
    let scram: bool =
        sqlx::query_scalar("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'poollab_app'")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(scram, "passwords are stored as SCRAM verifiers");
    sqlx::raw_sql("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)").execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();

    drop(cluster);
    assert!(support::process_with_arg(&data_dir).is_none(), "a postgres process outlived the cluster");

    // The data directory persists: a restart finds what was there.
    let cluster = PrivateCluster::start(opts).await.expect("restarts");
    let mut admin = cluster.admin_options().connect().await.unwrap();
    let n: i32 = sqlx::query_scalar("SELECT n FROM kept").fetch_one(&mut admin).await.unwrap();
    assert_eq!(n, 42);
    admin.close().await.unwrap();
    drop(cluster);
    assert!(support::process_with_arg(&data_dir).is_none());
}

/// Starts the real `poollab` binary; as root, as the unprivileged `nobody` user.
fn lab_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_poollab"));
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "poollab=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if Uid::effective().is_root() {
        let nobody = User::from_name("nobody").expect("lookup").expect("a nobody user");
        std::fs::create_dir_all(dir).unwrap();
        std::os::unix::fs::chown(dir, Some(nobody.uid.as_raw()), Some(nobody.gid.as_raw())).unwrap();
        cmd.uid(nobody.uid.as_raw()).gid(nobody.gid.as_raw()).current_dir("/");
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_runs_as_a_normal_user_and_sigterm_stops_it_and_its_postgres() {
    let dir = support::lab_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let lab_dir = dir.path().join("lab");
    let mut child = lab_command(&lab_dir).spawn().expect("poollab starts");

    // It prints the URL once it is ready.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).expect("the lab printed its URL");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL").to_owned();

    let health: serde_json::Value = reqwest::get(format!("{url}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["database"], "up");
    let pg_data = lab_dir.join("pgdata").display().to_string();
    let pg_pid = support::process_with_arg(&pg_data).expect("its postgres runs");
    if Uid::effective().is_root() {
        let nobody = User::from_name("nobody").unwrap().unwrap().uid.as_raw();
        assert_eq!(support::uid_of(pg_pid), Some(nobody), "postgres runs as the lab's own (normal) user");
    }

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the lab did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    assert!(support::process_with_arg(&pg_data).is_none(), "postgres outlived the lab");
}

#[test]
fn without_postgres_binaries_the_lab_says_how_to_get_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_poollab"))
        .args(["--listen", "127.0.0.1:0", "--pg-bin-dir", "/nonexistent", "--data-dir"])
        .arg(std::env::temp_dir().join("poollab-no-binaries"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no PostgreSQL server binaries found"), "{stderr}");
    assert!(stderr.contains("apt-get install postgresql") && stderr.contains("DATABASE_URL"), "{stderr}");
}
