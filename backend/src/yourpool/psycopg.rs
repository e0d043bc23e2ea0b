//! psycopg_pool: `ConnectionPool(conninfo, min_size=..., max_size=..., timeout=...)`.
//!
//! ```python
//! pool = ConnectionPool(
//!     "dbname=app",
//!     min_size=2,
//!     max_size=10,
//!     timeout=5.0,
//! )
//! ```
//! Durations are seconds (floats). Without `max_size` the pool is fixed at `min_size`.

use poollab_shared::PoolSpec;

use super::error::TranslateError;
use super::python::{self, Value};
use super::settings::{ms_from_seconds, seconds_float};
use super::{Defaults, Form, Reading};

const CLASSES: [&str; 2] = ["ConnectionPool", "AsyncConnectionPool"];
/// Arguments that change nothing the lab measures.
const NOT_SIMULATED: [&str; 10] = [
    "conninfo",
    "connection_class",
    "kwargs",
    "open",
    "configure",
    "reset",
    "name",
    "reconnect_timeout",
    "reconnect_failed",
    "num_workers",
];

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let tokens = python::tokens(src)?;
    let (class, args) = python::find_call(&tokens, &CLASSES, "`ConnectionPool(conninfo, min_size=..., max_size=...)`")?;
    let min_default = defaults.count("pool-min")?.unwrap_or(0);
    let settings = defaults.settings(min_default, min_default)?;
    let mut reading = Reading::new(settings, Form::Psycopg { class: class.text.clone() });
    let mut max_size = None;
    for (i, arg) in args.iter().enumerate() {
        let Some(key) = arg.name else {
            if i == 0 {
                continue; // conninfo
            }
            return Err(TranslateError::at(
                arg.line(),
                "psycopg_pool takes only conninfo by position",
                "keyword arguments (name=value) after conninfo",
            ));
        };
        let s = &mut reading.settings;
        match key.text.as_str() {
            "min_size" => s.min = python::count(arg, false, false)?.unwrap_or(0) as u64,
            "max_size" => max_size = python::count(arg, true, false)?,
            "timeout" => s.acquire_timeout_ms = Some(ms(arg)?),
            "max_idle" => s.idle_timeout_ms = Some(ms(arg)?),
            "max_lifetime" => s.max_lifetime_ms = Some(ms(arg)?),
            "check" => s.test_before_acquire = python::value(arg.value) != Value::None,
            "max_waiting" => {
                if let Some(n) = python::count(arg, false, false)?.filter(|n| *n > 0) {
                    reading.note(format!("max_waiting={n}: psycopg_pool refuses a request at once when {n} are already waiting; the lab's pool lets every request wait."));
                }
            }
            name if NOT_SIMULATED.contains(&name) => {}
            name => reading.unknown(name, key.line),
        }
    }
    let s = &mut reading.settings;
    match max_size {
        Some(max) => s.max = max as u64,
        None => {
            s.max = s.min;
            let min = s.min;
            reading.note(format!("max_size is not set, so psycopg_pool keeps a fixed pool of min_size ({min}) connections, opened up front."));
        }
    }
    if reading.settings.max > reading.settings.min {
        reading.note("psycopg_pool closes at most one idle connection per max_idle period and never goes below min_size; sqlx closes every connection idle past idle_timeout.");
    }
    reading.note("psycopg_pool takes up to 5% off each connection's max_lifetime at random and checks it only when a connection is returned.");
    if !reading.settings.test_before_acquire {
        reading.note("Without check=, psycopg_pool hands out idle connections without testing them; the run does the same (test_before_acquire off).");
    }
    reading.note("psycopg_pool's durations are in seconds (floats); the spec's are in milliseconds.");
    Ok(reading)
}

fn ms(arg: &super::tokens::Arg<'_>) -> Result<u64, TranslateError> {
    ms_from_seconds(python::seconds(arg)?).ok_or_else(|| {
        TranslateError::at(arg.line(), format!("{} is negative", python::name(arg)), "a number of seconds, 0 or more")
    })
}

/// The pool as `ConnectionPool(...)` keyword arguments.
pub fn write(class: &str, pool: &PoolSpec) -> String {
    let mut lines = vec![
        "conninfo".to_owned(),
        format!("min_size={}", pool.min_connections),
        format!("max_size={}", pool.max_connections),
        format!("timeout={}", seconds_float(pool.acquire_timeout_ms)),
        format!("max_idle={}", seconds_float(pool.idle_timeout_ms)),
        format!("max_lifetime={}", seconds_float(pool.max_lifetime_ms)),
    ];
    if pool.test_before_acquire {
        lines.push(format!("check={class}.check_connection"));
    }
    format!("{class}(\n    {},\n)", lines.join(",\n    "))
}
