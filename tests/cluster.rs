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
use poollab::db::Database;
use poollab::db::cluster::{ClusterOptions, PrivateCluster};
use poollab_shared::Tls;
use serde_json::json;
use sqlx::postgres::PgSslMode;
use sqlx::{ConnectOptions, Connection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_cluster_starts_as_the_right_user_uses_scram_and_leaves_nothing_behind() {
    let dir = support::lab_dir();
    let opts = ClusterOptions {
        dir: dir.path().join("lab"),
        bin_dir: None,
        port: 0,
        max_connections: 37,
        tls_only: false,
        tls: true,
    };
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

/// Whether the server sees the connection encrypted, and with which protocol.
async fn server_sees_tls(conn: &mut sqlx::PgConnection) -> (bool, Option<String>) {
    sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("pg_stat_ssl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_cluster_offers_tls_from_the_labs_authority_and_runs_choose() {
    let dir = support::lab_dir();
    let opts = ClusterOptions {
        dir: dir.path().join("lab"),
        bin_dir: None,
        port: 0,
        max_connections: 20,
        tls_only: false,
        tls: true,
    };
    let cluster = PrivateCluster::start(opts).await.expect("cluster starts");
    let ca = std::fs::read_to_string(cluster.ca_cert()).expect("the lab's CA certificate");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let db = Database::private(&cluster);

    // The lab's own connections go plain, though the server offers TLS.
    let mut own = db.app("test").connect().await.expect("plain");
    assert!(!server_sees_tls(&mut own).await.0);
    // A run's TLS is real: the server sees it, with the certificate checked (verify-full).
    let mut on = db.app_tls("test", Some(Tls::On)).connect().await.expect("verify-full against the lab's CA");
    let (ssl, version) = server_sees_tls(&mut on).await;
    assert!(ssl && version.as_deref().is_some_and(|v| v.starts_with("TLS")), "{version:?}");
    let mut off = db.app_tls("test", Some(Tls::Off)).connect().await.expect("plain");
    assert!(!server_sees_tls(&mut off).await.0);
    // An authority that did not sign the server's certificate is not trusted.
    let other = support::lab_dir();
    let stranger = PrivateCluster::start(ClusterOptions {
        dir: other.path().join("lab"),
        bin_dir: None,
        port: 0,
        max_connections: 10,
        tls_only: false,
        tls: true,
    })
    .await
    .expect("a second cluster, with its own authority");
    let err = cluster
        .app_options()
        .ssl_mode(PgSslMode::VerifyFull)
        .ssl_root_cert(stranger.ca_cert())
        .connect()
        .await
        .expect_err("a certificate from another authority is refused");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tls_only_cluster_takes_verify_full_refuses_plain_text_and_serves_the_lab_by_url() {
    let dir = support::lab_dir();
    let opts = ClusterOptions {
        dir: dir.path().join("lab"),
        bin_dir: None,
        port: 0,
        max_connections: 40,
        tls_only: true,
        tls: true,
    };
    let cluster = PrivateCluster::start(opts).await.expect("a TLS-only cluster starts");
    let url = cluster.admin_url();
    assert!(url.contains("sslmode=verify-full") && url.contains("sslrootcert="), "{url}");
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("verify-full, by URL");
    assert!(server_sees_tls(&mut conn).await.0);
    conn.close().await.expect("close");

    let err =
        cluster.app_options().ssl_mode(PgSslMode::Disable).connect().await.expect_err("a plain connection is refused");
    let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("28000"), "{err}");
    assert!(err.to_string().contains("no encryption"), "{err}");

    // The lab pointed at it by DATABASE_URL (verify-full): runs work, and are encrypted.
    let lab_dir = support::lab_dir();
    let mut cfg = support::config(&lab_dir, 40);
    cfg.database.database_url = Some(url);
    let app = support::spawn_with(cfg, lab_dir).await;
    let run = app.run(json!({ "strategy": "pooled", "requests": 20, "pool": { "max_connections": 4 } })).await;
    let s = run.summary.expect("summary");
    assert_eq!(s.completed, 20, "{s:?}");
    assert!(s.connections_opened > 0 && s.tls_connections == s.connections_opened, "{s:?}");
    // A run that asks for plain text meets the server's refusal, in its words.
    let run = app.run(json!({ "strategy": "naive", "requests": 4, "concurrency": 1, "tls": "off" })).await;
    let s = run.summary.expect("summary");
    assert_eq!((s.completed, s.failed), (0, 4), "{s:?}");
    assert!(s.error_examples.get("other").is_some_and(|m| m.contains("28000")), "{:?}", s.error_examples);
    app.stop().await;
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
