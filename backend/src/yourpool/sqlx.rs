//! sqlx: `PgPoolOptions::new()` and its builder calls, the lab's own pool.
//!
//! ```rust,ignore
//! let pool = PgPoolOptions::new()
//!     .max_connections(20)
//!     .acquire_timeout(Duration::from_secs(3))
//!     .idle_timeout(None)
//!     .connect(&url).await?;
//! ```
//! Durations are `std::time::Duration`s; `idle_timeout` and `max_lifetime` take `None` for never.

use poollab_shared::PoolSpec;

use super::error::TranslateError;

use super::tokens::{Arg, Comments, Kind, Token, call_args, closing, lex, number};
use super::{Defaults, Form, Reading};

/// Builder calls that change nothing the lab measures.
const NOT_SIMULATED: [&str; 8] = [
    "acquire_slow_threshold",
    "acquire_time_level",
    "acquire_slow_level",
    "fair",
    "after_connect",
    "before_acquire",
    "after_release",
    "parent",
];
/// Calls that end the builder.
const FINISH: [&str; 4] = ["connect", "connect_lazy", "connect_with", "connect_lazy_with"];

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let tokens = lex(src, Comments::Slashes)?;
    let start =
        tokens.iter().position(|t| t.is_ident("PgPoolOptions") || t.is_ident("PoolOptions")).ok_or_else(|| {
            TranslateError::at(1, "no `PgPoolOptions` in the snippet", "`PgPoolOptions::new()` and its builder calls")
        })?;
    let new = (start..tokens.len())
        .find(|&i| tokens[i].is_ident("new") && tokens.get(i + 1).is_some_and(|t| t.is('(')))
        .ok_or_else(|| {
            TranslateError::at(
                tokens[start].line,
                "`PgPoolOptions` is not followed by `::new()`",
                "`PgPoolOptions::new()`",
            )
        })?;
    let settings =
        defaults.settings(defaults.count("pool-max")?.unwrap_or(10), defaults.count("pool-min")?.unwrap_or(0))?;
    let mut reading = Reading::new(settings, Form::Sqlx);
    let mut not_simulated = Vec::new();
    let mut i = closing(&tokens, new + 1)? + 1;
    while i + 2 < tokens.len() && tokens[i].is('.') && tokens[i + 1].kind == Kind::Ident && tokens[i + 2].is('(') {
        let method = &tokens[i + 1];
        let args = call_args(&tokens, i + 2)?;
        let s = &mut reading.settings;
        match method.text.as_str() {
            "max_connections" => s.max = count(method, &args)?,
            "min_connections" => s.min = count(method, &args)?,
            "acquire_timeout" => {
                s.acquire_timeout_ms = Some(duration(method, &args)?.ok_or_else(|| expected_duration(method, false))?)
            }
            "idle_timeout" => s.idle_timeout_ms = duration(method, &args)?,
            "max_lifetime" => s.max_lifetime_ms = duration(method, &args)?,
            "test_before_acquire" => s.test_before_acquire = flag(method, &args)?,
            name if NOT_SIMULATED.contains(&name) => not_simulated.push(name.to_owned()),
            name if FINISH.contains(&name) => break,
            name => reading.unknown(name, method.line),
        }
        i = closing(&tokens, i + 2)? + 1;
    }
    if !not_simulated.is_empty() {
        reading.note(format!("Not simulated (the lab's pool runs without them): {}.", not_simulated.join(", ")));
    }
    Ok(reading)
}

fn one<'a>(method: &Token, args: &'a [Arg<'a>], expected: &str) -> Result<&'a [Token], TranslateError> {
    match args {
        [arg] if arg.name.is_none() => Ok(arg.value),
        _ => Err(TranslateError::at(method.line, format!("`{}` takes one argument", method.text), expected.to_owned())),
    }
}

fn count(method: &Token, args: &[Arg<'_>]) -> Result<u64, TranslateError> {
    let value = one(method, args, "a whole number")?;
    match value {
        [t] if t.kind == Kind::Number => number(&t.text).filter(|n| n.fract() == 0.0 && *n >= 0.0).map(|n| n as u64),
        _ => None,
    }
    .ok_or_else(|| {
        TranslateError::at(
            method.line,
            format!("`{}` is not given a number", method.text),
            "a whole number, like `.max_connections(20)`",
        )
    })
}

fn flag(method: &Token, args: &[Arg<'_>]) -> Result<bool, TranslateError> {
    match one(method, args, "true or false")? {
        [t] if t.is_ident("true") => Ok(true),
        [t] if t.is_ident("false") => Ok(false),
        _ => Err(TranslateError::at(
            method.line,
            format!("`{}` is not given true or false", method.text),
            "true or false",
        )),
    }
}

fn expected_duration(method: &Token, optional: bool) -> TranslateError {
    let expected = if optional {
        "a Duration, Some(Duration) or None, like `Duration::from_secs(30)`"
    } else {
        "a Duration, like `Duration::from_secs(30)`"
    };
    TranslateError::at(method.line, format!("`{}` is not given a duration", method.text), expected)
}

/// `Duration::from_secs(30)` (any path before it, `from_millis`, `from_secs_f64`, `from_mins`
/// too), `Some(...)` of one, or `None` (never).
fn duration(method: &Token, args: &[Arg<'_>]) -> Result<Option<u64>, TranslateError> {
    let value = one(method, args, "a Duration")?;
    parse_duration(value).ok_or_else(|| expected_duration(method, true))
}

fn parse_duration(value: &[Token]) -> Option<Option<u64>> {
    match value {
        [t] if t.is_ident("None") => return Some(None),
        [some, open, inner @ .., close] if some.is_ident("Some") && open.is('(') && close.is(')') => {
            return parse_duration(inner).filter(Option::is_some);
        }
        _ => {}
    }
    // The last three tokens are `from_xxx ( n )` after a path like `std::time::Duration::`.
    let [.., func, open, n, close] = value else { return None };
    if !(open.is('(') && close.is(')') && n.kind == Kind::Number) {
        return None;
    }
    let n = number(&n.text)?;
    let unit_ms = match func.text.as_str() {
        "from_millis" => 1.0,
        "from_secs" | "from_secs_f64" | "from_secs_f32" => 1_000.0,
        "from_mins" => 60_000.0,
        "from_hours" => 3_600_000.0,
        "from_micros" => 0.001,
        _ => return None,
    };
    (n >= 0.0).then(|| Some((n * unit_ms).round() as u64))
}

/// The pool as `PgPoolOptions` builder calls.
pub fn write(pool: &PoolSpec) -> String {
    let optional = |ms: u64| if ms == 0 { "None".to_owned() } else { rust_duration(ms) };
    format!(
        "PgPoolOptions::new()\n    .max_connections({})\n    .min_connections({})\n    .acquire_timeout({})\n    .idle_timeout({})\n    .max_lifetime({})\n    .test_before_acquire({})",
        pool.max_connections,
        pool.min_connections,
        rust_duration(pool.acquire_timeout_ms),
        optional(pool.idle_timeout_ms),
        optional(pool.max_lifetime_ms),
        pool.test_before_acquire
    )
}

fn rust_duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("Duration::from_secs({})", ms / 1000)
    } else {
        format!("Duration::from_millis({ms})")
    }
}
