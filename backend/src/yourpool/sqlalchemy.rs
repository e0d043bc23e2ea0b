//! SQLAlchemy: `create_engine(url, pool_size=..., max_overflow=..., pool_timeout=...)`.
//!
//! ```python
//! engine = create_engine(
//!     "postgresql+psycopg://app@db/app",
//!     pool_size=10,
//!     max_overflow=5,
//!     pool_recycle=1800,
//!     pool_pre_ping=True,
//! )
//! ```
//! Durations are seconds. The pool's ceiling is `pool_size + max_overflow`.

use poollab_shared::{PoolSpec, Strategy};

use super::error::TranslateError;
use super::python;
use super::settings::{ms_from_seconds, seconds};
use super::tokens::Arg;
use super::{Defaults, Form, Reading};

const FUNCTIONS: [&str; 2] = ["create_engine", "create_async_engine"];
/// Arguments that change nothing the lab measures.
const NOT_SIMULATED: [&str; 21] = [
    "url",
    "echo",
    "echo_pool",
    "future",
    "connect_args",
    "isolation_level",
    "execution_options",
    "hide_parameters",
    "logging_name",
    "pool_logging_name",
    "json_serializer",
    "json_deserializer",
    "plugins",
    "query_cache_size",
    "insertmanyvalues_page_size",
    "use_insertmanyvalues",
    "pool_use_lifo",
    "pool_reset_on_return",
    "executemany_mode",
    "paramstyle",
    "creator",
];

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let tokens = python::tokens(src)?;
    let (function, args) =
        python::find_call(&tokens, &FUNCTIONS, "`create_engine(url, pool_size=..., max_overflow=...)`")?;
    // The table writes the ceiling as "5 + 10 = 15": pool_size, then max_overflow.
    let parts = defaults.counts("pool-max")?;
    let (mut pool_size, mut overflow) = match parts.as_slice() {
        [pool_size, overflow, ..] => (*pool_size, *overflow),
        _ => {
            return Err(TranslateError::Table(
                "SQLAlchemy's pool-max default is not `pool_size + max_overflow`".into(),
            ));
        }
    };
    let mut overflow_unlimited = false;
    let settings = defaults.settings(0, defaults.count("pool-min")?.unwrap_or(0))?;
    let mut reading = Reading::new(settings, Form::SqlAlchemy { function: function.text.clone() });
    for (i, arg) in args.iter().enumerate() {
        let Some(key) = arg.name else {
            if i == 0 {
                continue; // the URL
            }
            return Err(TranslateError::at(
                arg.line(),
                "create_engine takes only the URL by position",
                "keyword arguments (name=value) after the URL",
            ));
        };
        let s = &mut reading.settings;
        match key.text.as_str() {
            "pool_size" => pool_size = python::count(arg, false, false)?.unwrap_or(0) as u64,
            "max_overflow" => match python::count(arg, false, true)? {
                Some(n) if n < 0 => overflow_unlimited = true,
                n => overflow = n.unwrap_or(0) as u64,
            },
            "pool_timeout" => s.acquire_timeout_ms = Some(ms(arg)?),
            "pool_recycle" => {
                let secs = python::seconds(arg)?;
                s.max_lifetime_ms = if secs <= 0.0 { None } else { ms_from_seconds(secs) };
            }
            "pool_pre_ping" => s.test_before_acquire = python::flag(arg)?,
            "poolclass" => pool_class(&mut reading, arg),
            name if NOT_SIMULATED.contains(&name) => {}
            name => reading.unknown(name, key.line),
        }
    }
    if overflow_unlimited {
        reading.note("max_overflow=-1 lets SQLAlchemy open connections without limit; the lab needs a ceiling, so the run uses its largest pool.");
        reading.settings.max = *poollab_shared::Limits::MAX_CONNECTIONS.end();
    } else {
        reading.settings.max = pool_size + overflow;
        reading.note(format!(
            "SQLAlchemy's ceiling is pool_size + max_overflow ({pool_size} + {overflow}): the run's pool max is {}.",
            pool_size + overflow
        ));
    }
    if overflow > 0 || overflow_unlimited {
        reading.note("SQLAlchemy closes overflow connections as soon as they are returned; the lab's pool keeps them open, so your app opens and closes more connections under bursts than the run shows.");
    }
    reading.note("SQLAlchemy has no idle timeout and starts empty: the run keeps idle connections open (idle_timeout 0) and opens none up front.");
    if reading.settings.max_lifetime_ms.is_some() {
        reading.note("SQLAlchemy checks pool_recycle only when a connection is checked out, so an old idle connection waits in the pool until then.");
    }
    if !reading.settings.test_before_acquire {
        reading.note("Without pool_pre_ping, SQLAlchemy hands out connections without testing them; the run does the same (test_before_acquire off).");
    }
    reading.note("SQLAlchemy's durations are in seconds; the spec's are in milliseconds.");
    Ok(reading)
}

fn pool_class(reading: &mut Reading, arg: &Arg<'_>) {
    let class = arg.value.last().map_or("", |t| t.text.as_str());
    match class {
        "QueuePool" | "AsyncAdaptedQueuePool" => {}
        "NullPool" => {
            reading.strategy = Strategy::Naive;
            reading.note("poolclass=NullPool opens a new connection for every checkout and closes it after: the run uses the lab's naive strategy.");
        }
        other => {
            reading.note(format!("poolclass={other} is not simulated: the run uses SQLAlchemy's default QueuePool."))
        }
    }
}

fn ms(arg: &Arg<'_>) -> Result<u64, TranslateError> {
    ms_from_seconds(python::seconds(arg)?).ok_or_else(|| {
        TranslateError::at(arg.line(), format!("{} is negative", python::name(arg)), "a number of seconds, 0 or more")
    })
}

/// The pool as `create_engine(...)` keyword arguments: a fixed `pool_size` with no overflow, as
/// the lab's pool keeps every connection it opens.
pub fn write(function: &str, pool: &PoolSpec) -> String {
    let recycle = if pool.max_lifetime_ms == 0 { "-1".to_owned() } else { seconds(pool.max_lifetime_ms) };
    let pre_ping = if pool.test_before_acquire { "True" } else { "False" };
    format!(
        "{function}(\n    url,\n    pool_size={},\n    max_overflow=0,\n    pool_timeout={},\n    pool_recycle={recycle},\n    pool_pre_ping={pre_ping},\n)",
        pool.max_connections,
        seconds(pool.acquire_timeout_ms),
    )
}
