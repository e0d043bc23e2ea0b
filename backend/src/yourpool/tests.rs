//! Realistic snippets for every library (modelled on each library's own documentation), their
//! defaults, unknown keys, broken snippets, and write-back round trips.

use poollab_shared::{Libraries, PoolSpec, Strategy};

use super::*;

fn table() -> Libraries {
    crate::lessons::libraries().expect("lessons/libraries.toml loads")
}

fn tr(library: &str, src: &str) -> Translation {
    translate(library, src, &table()).unwrap_or_else(|e| panic!("{library}: {e}\n{src}"))
}

fn broken(library: &str, src: &str) -> TranslateError {
    match translate(library, src, &table()) {
        Ok(t) => panic!("{library} read a broken snippet: {:?}\n{src}", t.spec().pool),
        Err(e) => e,
    }
}

/// (max, min, acquire ms, idle ms, lifetime ms, test before acquire)
type Knobs = (u32, u32, u64, u64, u64, bool);

fn pool(t: &Translation) -> Knobs {
    let p = &t.spec().pool;
    (
        p.max_connections,
        p.min_connections,
        p.acquire_timeout_ms,
        p.idle_timeout_ms,
        p.max_lifetime_ms,
        p.test_before_acquire,
    )
}

fn noted(t: &Translation, words: &str) -> bool {
    t.notes().iter().any(|n| n.contains(words))
}

fn unknown_keys(t: &Translation) -> Vec<(&str, usize)> {
    t.unknown().iter().map(|u| (u.key.as_str(), u.line)).collect()
}

#[test]
fn what_a_snippet_leaves_out_is_each_librarys_own_default() {
    let cases: [(&str, &str, Knobs); 6] = [
        ("sqlx", "PgPoolOptions::new().connect(&url).await?", (10, 0, 30_000, 600_000, 1_800_000, true)),
        // Waits forever: the lab's longest wait instead. idleTimeoutMillis 10 s, no lifetime.
        (
            "node-postgres",
            "new Pool({ connectionString: process.env.DATABASE_URL })",
            (10, 0, 60_000, 10_000, 0, false),
        ),
        // minimumIdle = maximumPoolSize, so the idle timeout never closes anything.
        ("HikariCP", "jdbcUrl=jdbc:postgresql://db:5432/app\nusername=app", (10, 10, 30_000, 0, 1_800_000, true)),
        ("pgx", "postgres://app@db:5432/app", (4, 0, 60_000, 1_800_000, 3_600_000, true)),
        ("psycopg_pool", "pool = ConnectionPool(\"dbname=app\")", (4, 4, 30_000, 600_000, 3_600_000, false)),
        ("SQLAlchemy", "engine = create_engine(\"postgresql+psycopg://app@db/app\")", (15, 0, 30_000, 0, 0, false)),
    ];
    for (library, src, expected) in cases {
        let t = tr(library, src);
        assert_eq!(pool(&t), expected, "{library}");
        assert_eq!(t.spec().strategy, Strategy::Pooled);
        assert!(t.unknown().is_empty(), "{library}: {:?}", t.unknown());
        t.spec().clone().validate().unwrap_or_else(|e| panic!("{library}: the spec is not valid: {e}"));
    }
    let node = tr("node-postgres", "{}");
    assert!(noted(&node, "node-postgres lets a request wait forever"), "{:?}", node.notes());
    let pgx = tr("pgx", "postgres://db/app");
    assert!(noted(&pgx, "pgx has no acquire timeout") && noted(&pgx, "max(4, CPUs)"), "{:?}", pgx.notes());
    let hikari = tr("HikariCP", "poolName=app");
    assert!(noted(&hikari, "minimumIdle is not set"), "{:?}", hikari.notes());
    let alchemy = tr("SQLAlchemy", "create_engine(url)");
    assert!(noted(&alchemy, "closes overflow connections as soon as they are returned"), "{:?}", alchemy.notes());
}

#[test]
fn node_postgres_options_in_new_pool_or_alone() {
    let src = r#"const { Pool } = require('pg')

const pool = new Pool({
  host: 'localhost',
  user: 'database-user',
  password: process.env.PGPASSWORD, // code is fine where the lab does not look
  max: 20,
  min: 2,
  idleTimeoutMillis: 30000,
  connectionTimeoutMillis: 2_000 / 1,
  maxLifetimeSeconds: 60 * 30,
})"#;
    // A pool setting that is code cannot be evaluated: 422 on its line.
    let err = broken("node-postgres", src);
    assert_eq!(err.line(), Some(10), "{err}");
    assert!(err.to_string().contains("connectionTimeoutMillis"), "{err}");
    let src = src
        .replace("2_000 / 1", "2000")
        .replace("60 * 30", "1800")
        .replace("  min: 2,\n", "  min: 2,\n  maxUses: 7500,\n  shape: 'round',\n");
    let t = tr("node-postgres", &src);
    assert_eq!(pool(&t), (20, 2, 2_000, 30_000, 1_800_000, false));
    assert_eq!(t.form(), &Form::NodePool { wrapped: true });
    assert_eq!(unknown_keys(&t), [("shape", 10)]);
    assert!(noted(&t, "maxUses: 7500") && noted(&t, "min (2) never opens a connection up front"), "{:?}", t.notes());
    assert!(noted(&t, "milliseconds"), "{:?}", t.notes());
    // The object alone, JSON5 style: quoted keys, hex, a trailing comma; 0 means never.
    let t = tr("node-postgres", "{\n  'max': 0x10,\n  \"idleTimeoutMillis\": 0,\n  connectionTimeoutMillis: 0,\n}");
    assert_eq!(pool(&t), (16, 0, 60_000, 0, 0, false));
    assert_eq!(t.form(), &Form::NodePool { wrapped: false });
}

#[test]
fn hikari_properties_and_spring_boot_in_both_syntaxes() {
    let plain = "# HikariCP's own properties file\njdbcUrl=jdbc:postgresql://db:5432/app\nusername=app\nmaximumPoolSize=20\nminimumIdle=5\nconnectionTimeout=5000\nidleTimeout=300000\nmaxLifetime=900000\nleakDetectionThreshold=10000\ndataSource.cachePrepStmts=true\npoolSize=3\n";
    let t = tr("HikariCP", plain);
    assert_eq!(pool(&t), (20, 5, 5_000, 300_000, 900_000, true));
    assert_eq!(t.spec().leak.detect_after_ms, 10_000);
    assert_eq!(t.form(), &Form::HikariProperties);
    assert_eq!(unknown_keys(&t), [("poolSize", 11)]);
    assert!(noted(&t, "never closes idle connections below minimumIdle"), "{:?}", t.notes());

    let spring = "spring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.username=app\nspring.datasource.hikari.maximum-pool-size=12\nspring.datasource.hikari.connectionTimeout=20000\nspring.datasource.hikari.max_lifetime=1200000\nspring.jpa.open-in-view=false\n";
    let t = tr("HikariCP", spring);
    assert_eq!(pool(&t), (12, 12, 20_000, 0, 1_200_000, true), "relaxed names, minimumIdle = max");
    assert_eq!(t.form(), &Form::SpringProperties);
    assert_eq!(unknown_keys(&t), [("spring.jpa.open-in-view", 6)]);

    let yaml = r#"spring:
  datasource:
    url: jdbc:postgresql://db:5432/app
    username: app
    hikari:
      maximum-pool-size: 30
      minimum-idle: 10
      idle-timeout: 120000
      connection-timeout: "3000"
      pool-name: app-pool
      max-pool: 3
server:
  port: 8080
"#;
    let t = tr("HikariCP", yaml);
    assert_eq!(pool(&t), (30, 10, 3_000, 120_000, 1_800_000, true));
    assert_eq!(t.form(), &Form::SpringYaml);
    assert_eq!(unknown_keys(&t), [("spring.datasource.hikari.max-pool", 11), ("server.port", 13)]);
}

#[test]
fn pgx_connection_strings_and_config_fields() {
    let url = "postgres://app:secret@db:5432/app?sslmode=require&pool_max_conns=25&pool_min_conns=5&pool_max_conn_lifetime=1h30m&pool_max_conn_idle_time=5m&pool_health_check_period=30s&pool_max_size=9";
    let t = tr("pgx", url);
    assert_eq!(pool(&t), (25, 5, 60_000, 300_000, 5_400_000, true));
    assert_eq!(unknown_keys(&t), [("pool_max_size", 1)]);
    assert!(noted(&t, "pool_health_check_period=30s"), "{:?}", t.notes());
    let Form::PgxUrl { base } = t.form() else { panic!("{:?}", t.form()) };
    assert_eq!(base, "postgres://app@db:5432/app?sslmode=require", "no password, no pool parameters");

    let keywords = "host=db port=5432 dbname=app\nuser=app application_name='my app'\npool_max_conns=8 pool_max_conn_idle_time=90s";
    let t = tr("pgx", keywords);
    assert_eq!(pool(&t), (8, 0, 60_000, 90_000, 3_600_000, true));
    let Form::PgxKeywords { base } = t.form() else { panic!("{:?}", t.form()) };
    assert_eq!(base, "host=db port=5432 dbname=app user=app application_name='my app'");

    let go = r#"config, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
if err != nil {
    return nil, err
}
config.MaxConns = 32
config.MinConns = int32(4)
config.MaxConnLifetime = time.Hour
config.MaxConnIdleTime = 15 * time.Minute
config.HealthCheckPeriod = time.Duration(30) * time.Second
config.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error { return nil }
config.LazyConnect = true
pool, err := pgxpool.NewWithConfig(ctx, config)"#;
    let t = tr("pgx", go);
    assert_eq!(pool(&t), (32, 4, 60_000, 900_000, 3_600_000, true));
    assert_eq!(t.form(), &Form::PgxConfig { var: "config".into() });
    assert_eq!(unknown_keys(&t), [("LazyConnect", 11)]);
    // A connection string literal inside Go code counts too.
    let t = tr("pgx", "pool, err := pgxpool.New(ctx, \"postgres://db/app?pool_max_conns=6\")");
    assert_eq!(t.spec().pool.max_connections, 6);
    assert_eq!(pgx::go_duration("1h30m"), Some(5_400_000));
    assert_eq!(pgx::go_duration("1.5s"), Some(1_500));
    assert_eq!(pgx::go_duration("300ms"), Some(300));
    assert_eq!(pgx::go_duration("30"), None, "Go wants a unit");
    assert_eq!(pgx::go_duration_string(5_401_500), "1h30m1s500ms");
}

#[test]
fn psycopg_pool_keyword_arguments() {
    let src = r#"from psycopg_pool import ConnectionPool

pool = ConnectionPool(
    "host=db dbname=app user=app",
    min_size=2,
    max_size=12,  # at peak
    timeout=5.0,
    max_idle=300,
    max_lifetime=1800.0,
    check=ConnectionPool.check_connection,
    kwargs={"autocommit": True},
    max_waiting=100,
    open=True,
    pool_mode="fast",
)"#;
    let t = tr("psycopg_pool", src);
    assert_eq!(pool(&t), (12, 2, 5_000, 300_000, 1_800_000, true));
    assert_eq!(unknown_keys(&t), [("pool_mode", 14)]);
    assert!(noted(&t, "max_waiting=100") && noted(&t, "seconds"), "{:?}", t.notes());
    let t = tr("psycopg_pool", "AsyncConnectionPool(conninfo, min_size=6, max_size=None)");
    assert_eq!((t.spec().pool.max_connections, t.spec().pool.min_connections), (6, 6));
    assert!(noted(&t, "fixed pool of min_size (6)"), "{:?}", t.notes());
    assert_eq!(t.form(), &Form::Psycopg { class: "AsyncConnectionPool".into() });
}

#[test]
fn sqlalchemy_create_engine_arguments() {
    let src = r#"engine = create_engine(
    "postgresql+psycopg://scott:tiger@localhost/test",
    pool_size=10,
    max_overflow=20,
    pool_timeout=2.5,
    pool_recycle=3600,
    pool_pre_ping=True,
    echo=False,
    pool_sizes=4,
)"#;
    let t = tr("SQLAlchemy", src);
    assert_eq!(pool(&t), (30, 0, 2_500, 0, 3_600_000, true));
    assert_eq!(unknown_keys(&t), [("pool_sizes", 9)]);
    assert!(noted(&t, "pool_size + max_overflow (10 + 20)"), "{:?}", t.notes());
    let t = tr("SQLAlchemy", "create_engine(url, pool_size=5, max_overflow=-1, pool_recycle=-1)");
    assert_eq!((t.spec().pool.max_connections, t.spec().pool.max_lifetime_ms), (500, 0));
    assert!(noted(&t, "max_overflow=-1"), "{:?}", t.notes());
    let t = tr("SQLAlchemy", "from sqlalchemy.pool import NullPool\nengine = create_engine(url, poolclass=NullPool)");
    assert_eq!(t.spec().strategy, Strategy::Naive);
}

#[test]
fn sqlx_builder_calls() {
    let src = r#"let pool = PgPoolOptions::new()
    .max_connections(50)
    .min_connections(5)
    .acquire_timeout(std::time::Duration::from_millis(1_500))
    .idle_timeout(Some(Duration::from_secs(60)))
    .max_lifetime(None)
    .test_before_acquire(false)
    .after_connect(|conn, _meta| Box::pin(async move { Ok(()) }))
    .max_conns(3)
    .connect(&database_url)
    .await?;"#;
    let t = tr("sqlx", src);
    assert_eq!(pool(&t), (50, 5, 1_500, 60_000, 0, false));
    assert_eq!(unknown_keys(&t), [("max_conns", 9)]);
    assert!(noted(&t, "after_connect"), "{:?}", t.notes());
    assert_eq!(t.form(), &Form::Sqlx);
}

#[test]
fn values_outside_the_labs_ranges_are_brought_in_and_said() {
    let t = tr("node-postgres", "new Pool({ max: 2000, connectionTimeoutMillis: 120000 })");
    assert_eq!((t.spec().pool.max_connections, t.spec().pool.acquire_timeout_ms), (500, 60_000));
    assert!(noted(&t, "The pool's maximum is 2000"), "{:?}", t.notes());
    assert!(noted(&t, "The acquire timeout (ms) is 120000"), "{:?}", t.notes());
    t.spec().clone().validate().expect("valid after clamping");
}

#[test]
fn a_broken_snippet_names_its_line_and_what_was_expected() {
    let cases: [(&str, &str, usize, &str); 14] = [
        ("node-postgres", "const pool = new Pool({\n  max: 10,\n  idleTimeoutMillis: 'soon',\n})", 3, "a number"),
        ("node-postgres", "const pool = new Pool({\n  max: 10,\n", 1, "`}`"),
        ("node-postgres", "const pool = new Pool()", 1, "new Pool({"),
        ("HikariCP", "maximumPoolSize=20\nconnectionTimeout=ten\n", 2, "a whole number"),
        ("HikariCP", "connectionTimeout=100", 1, "at least 250 ms"),
        (
            "HikariCP",
            "spring:\n  datasource:\n    hikari:\n      maximum-pool-size: 10\n     minimum-idle: 2\n",
            5,
            "YAML",
        ),
        ("pgx", "postgres://db/app?pool_max_conns=ten", 1, "a whole number"),
        ("pgx", "host=db\npool_max_conn_lifetime=30", 2, "Go duration"),
        ("pgx", "host=db dbname", 1, "`keyword=value`"),
        ("pgx", "config.MaxConns = 0", 1, "at least 1"),
        ("psycopg_pool", "ConnectionPool(\n    conninfo,\n    max_size='ten',\n)", 3, "a whole number"),
        ("SQLAlchemy", "create_engine(\n    url,\n    pool_size=5,\n    pool_timeout=None,\n)", 4, "seconds"),
        ("SQLAlchemy", "engine = create_engine(url, pool_size=5", 1, "`)`"),
        ("sqlx", "PgPoolOptions::new()\n    .max_connections(10)\n    .acquire_timeout(30)\n", 3, "Duration"),
    ];
    for (library, src, line, expected) in cases {
        let err = broken(library, src);
        assert_eq!(err.line(), Some(line), "{library}: {err}\n{src}");
        let said = err.expected().unwrap_or_default();
        assert!(said.contains(expected), "{library}: expected {said:?} to say {expected:?} ({err})");
    }
    assert!(matches!(broken("Django", "x"), TranslateError::UnknownLibrary(_)));
    assert_eq!(broken("sqlx", "  \n").line(), Some(1), "an empty snippet");
}

#[test]
fn written_back_settings_read_back_as_the_same_pool() {
    let snippets = [
        ("node-postgres", "new Pool({ max: 20, min: 2, idleTimeoutMillis: 30000, maxLifetimeSeconds: 90 })"),
        ("node-postgres", "{ max: 3, connectionTimeoutMillis: 1500 }"),
        ("HikariCP", "maximumPoolSize=20\nminimumIdle=5\nconnectionTimeout=5000\nidleTimeout=300000"),
        ("HikariCP", "spring.datasource.hikari.maximum-pool-size=8"),
        ("HikariCP", "spring:\n  datasource:\n    hikari:\n      maximum-pool-size: 9\n      minimum-idle: 1\n"),
        ("pgx", "postgres://app:pw@db/app?sslmode=disable&pool_max_conns=25&pool_max_conn_lifetime=1h30m"),
        ("pgx", "host=db dbname=app pool_max_conns=8 pool_max_conn_idle_time=90s"),
        ("pgx", "cfg.MaxConns = 7\ncfg.MaxConnIdleTime = 1500 * time.Millisecond"),
        (
            "psycopg_pool",
            "ConnectionPool(conninfo, min_size=2, max_size=12, timeout=2.5, check=ConnectionPool.check_connection)",
        ),
        ("psycopg_pool", "AsyncConnectionPool(conninfo)"),
        ("SQLAlchemy", "create_engine(url, pool_size=10, max_overflow=5, pool_recycle=1800, pool_pre_ping=True)"),
        (
            "sqlx",
            "PgPoolOptions::new().max_connections(5).idle_timeout(None).acquire_timeout(Duration::from_millis(2500))",
        ),
    ];
    for (library, src) in snippets {
        let t = tr(library, src);
        // The pool as read, and the pool a sizing sweep might answer with (another size).
        let mut resized = t.spec().pool.clone();
        resized.max_connections = 17;
        resized.min_connections = resized.min_connections.min(17);
        if t.spec().pool.min_connections == t.spec().pool.max_connections {
            resized.min_connections = 17; // a fixed-size pool stays fixed-size
        }
        for wanted in [&t.spec().pool, &resized] {
            let text = t.write_back(wanted);
            let again = tr(library, &text);
            assert_eq!(&again.spec().pool, wanted, "{library}: wrote\n{text}");
            assert_eq!(again.form(), t.form(), "{library}: the same syntax back\n{text}");
        }
    }
    assert_eq!(
        tr("sqlx", "PgPoolOptions::new()").paste(),
        sqlx::write(&tr("sqlx", "PgPoolOptions::new()").spec().pool)
    );
}

#[test]
fn write_back_reads_like_each_librarys_own_syntax() {
    let pool = PoolSpec {
        max_connections: 12,
        min_connections: 2,
        acquire_timeout_ms: 5_000,
        idle_timeout_ms: 300_000,
        max_lifetime_ms: 1_800_000,
        test_before_acquire: true,
    };
    let yaml = write_back(&Form::SpringYaml, &pool);
    assert!(yaml.starts_with("spring:\n  datasource:\n    hikari:\n      maximum-pool-size: 12\n"), "{yaml}");
    let url = write_back(&Form::PgxUrl { base: "postgres://db/app?sslmode=require".into() }, &pool);
    assert_eq!(
        url,
        "postgres://db/app?sslmode=require&pool_max_conns=12&pool_min_conns=2&pool_max_conn_lifetime=30m&pool_max_conn_idle_time=5m"
    );
    let go = write_back(&Form::PgxConfig { var: "cfg".into() }, &pool);
    assert!(go.contains("cfg.MaxConnLifetime = 30 * time.Minute"), "{go}");
    let py = write_back(&Form::SqlAlchemy { function: "create_engine".into() }, &pool);
    assert!(py.contains("pool_size=12,\n    max_overflow=0,\n    pool_timeout=5,"), "{py}");
    let node = write_back(&Form::NodePool { wrapped: true }, &pool);
    assert!(node.starts_with("new Pool({\n  max: 12,") && node.contains("maxLifetimeSeconds: 1800"), "{node}");
    let rust = write_back(&Form::Sqlx, &pool);
    assert!(rust.contains(".idle_timeout(Duration::from_secs(300))"), "{rust}");
}

#[test]
fn the_setting_names_read_are_the_library_tables_names() {
    let table = table();
    let names = |library: &str| -> String {
        table
            .knobs
            .iter()
            .flat_map(|k| k.names.iter())
            .filter(|n| n.library == library)
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let read: [(&str, &[&str]); 6] = [
        (
            "sqlx",
            &[
                "max_connections",
                "min_connections",
                "acquire_timeout",
                "idle_timeout",
                "max_lifetime",
                "test_before_acquire",
            ],
        ),
        ("node-postgres", &["max", "min", "connectionTimeoutMillis", "idleTimeoutMillis", "maxLifetimeSeconds"]),
        (
            "HikariCP",
            &[
                "maximumPoolSize",
                "minimumIdle",
                "connectionTimeout",
                "idleTimeout",
                "maxLifetime",
                "leakDetectionThreshold",
            ],
        ),
        (
            "pgx",
            &[
                "pool_max_conns",
                "pool_min_conns",
                "pool_max_conn_idle_time",
                "pool_max_conn_lifetime",
                "MaxConns",
                "MinConns",
                "MaxConnIdleTime",
                "MaxConnLifetime",
            ],
        ),
        ("psycopg_pool", &["max_size", "min_size", "timeout", "max_idle", "max_lifetime", "check"]),
        ("SQLAlchemy", &["pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping"]),
    ];
    for (library, keys) in read {
        let listed = names(library);
        for key in keys {
            assert!(listed.contains(key), "{library}: {key} is not in the table's names ({listed})");
        }
    }
    for library in Library::ALL {
        assert_eq!(Library::parse(library.name()), Ok(library));
    }
    assert_eq!(Library::parse("pg"), Ok(Library::NodePostgres));
    assert_eq!(Library::parse("hikari"), Ok(Library::HikariCp));
}

#[test]
fn a_library_table_the_translator_cannot_read_is_the_labs_fault_not_the_snippets() {
    let mut broken_table = table();
    let knob = broken_table.knobs.iter_mut().find(|k| k.id == "pool-max").expect("pool-max");
    knob.names[0].default = "ten".into();
    let err = translate("sqlx", "PgPoolOptions::new()", &broken_table).unwrap_err();
    assert!(err.is_internal() && err.line().is_none(), "{err}");
    assert!(err.to_string().contains("sqlx's default for pool-max"), "{err}");
}
