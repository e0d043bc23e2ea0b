//! node-postgres (pg-pool): `new Pool({...})`, or the options object alone.
//!
//! ```js
//! const pool = new Pool({
//!   connectionString: process.env.DATABASE_URL,
//!   max: 20,
//!   idleTimeoutMillis: 30000,
//!   connectionTimeoutMillis: 2000,
//! })
//! ```
//! The tokenizer finds the object and its entries; each value is read by a JSON5 parser, so
//! numbers, strings, `Infinity` and nested objects are read as JavaScript writes them. A value
//! that is code (`process.env.PGHOST`) is fine for a connection setting, which the lab does not
//! use, and a 422 for a pool setting, which it cannot evaluate. Timeouts are milliseconds,
//! `maxLifetimeSeconds` is seconds, and 0 means never (or, for the connection timeout, forever).

use poollab_shared::PoolSpec;

use super::error::TranslateError;
use super::settings::{ms_from_seconds, seconds};
use super::tokens::{Comments, Kind, Token, closing, lex, source, split_commas};
use super::{Defaults, Form, Reading};

/// Pool options that change nothing the lab measures.
const NOT_SIMULATED: [&str; 5] = ["allowExitOnIdle", "log", "Promise", "Client", "verify"];
/// The client's connection options: the lab connects to its own PostgreSQL.
const CONNECTION: [&str; 22] = [
    "connectionString",
    "host",
    "port",
    "user",
    "password",
    "database",
    "ssl",
    "types",
    "statement_timeout",
    "query_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "application_name",
    "fallback_application_name",
    "keepAlive",
    "keepAliveInitialDelayMillis",
    "options",
    "stream",
    "client_encoding",
    "binary",
    "parseInputDatesAsUTC",
    "enableChannelBinding",
];

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let tokens = lex(src, Comments::Slashes)?;
    // The object passed to `Pool(`, or else the first object (not the `{ Pool }` of an import).
    let in_call = tokens.windows(3).position(|w| w[0].is_ident("Pool") && w[1].is('(') && w[2].is('{')).map(|i| i + 2);
    let alone = || {
        let destructures =
            |i: usize| i > 0 && ["const", "let", "var", "import"].iter().any(|k| tokens[i - 1].is_ident(k));
        (0..tokens.len()).find(|&i| tokens[i].is('{') && !destructures(i))
    };
    let wrapped = in_call.is_some();
    let open = in_call.or_else(alone).ok_or_else(|| {
        TranslateError::at(
            1,
            "no options object in the snippet",
            "`new Pool({ max: 20, ... })` or the object `{ max: 20, ... }`",
        )
    })?;
    let close = closing(&tokens, open)?;
    let settings =
        defaults.settings(defaults.count("pool-max")?.unwrap_or(10), defaults.count("pool-min")?.unwrap_or(0))?;
    let mut reading = Reading::new(settings, Form::NodePool { wrapped });
    for entry in split_commas(&tokens[open + 1..close]) {
        let (key, value) = match entry {
            [key, colon, value @ ..]
                if colon.is(':') && matches!(key.kind, Kind::Ident | Kind::Str) && !value.is_empty() =>
            {
                (key, value)
            }
            [dot, ..] if dot.is('.') => {
                reading.unknown(source(src, entry), dot.line);
                continue;
            }
            [key] if key.kind == Kind::Ident => (key, entry),
            _ => {
                let line = entry.first().map_or(1, |t| t.line);
                return Err(TranslateError::at(
                    line,
                    format!("`{}` is not an option", source(src, entry)),
                    "`name: value`",
                ));
            }
        };
        let s = &mut reading.settings;
        match key.text.as_str() {
            "max" => s.max = count(src, key, value)?,
            "min" => s.min = count(src, key, value)?,
            "connectionTimeoutMillis" => s.acquire_timeout_ms = Some(millis(src, key, value)?).filter(|ms| *ms > 0),
            "idleTimeoutMillis" => s.idle_timeout_ms = Some(millis(src, key, value)?).filter(|ms| *ms > 0),
            "maxLifetimeSeconds" => {
                let secs = number(src, key, value)?;
                s.max_lifetime_ms = ms_from_seconds(secs).filter(|ms| *ms > 0);
            }
            "maxUses" => {
                let uses = number(src, key, value)?;
                if uses.is_finite() && uses > 0.0 {
                    reading.note(format!(
                        "maxUses: {uses} retires a connection after that many checkouts; the lab's pool does not."
                    ));
                }
            }
            name if NOT_SIMULATED.contains(&name) || CONNECTION.contains(&name) => {}
            name => reading.unknown(name, key.line),
        }
    }
    let s = &reading.settings;
    if s.min > 0 {
        let min = s.min;
        reading.note(format!("node-postgres's min ({min}) never opens a connection up front, it only keeps the idle timer from closing clients below it; the lab's pool opens min_connections before the load."));
    }
    reading.note("node-postgres never checks a connection before handing it out; the run does the same (test_before_acquire off).");
    reading.note("node-postgres's timeouts are in milliseconds and maxLifetimeSeconds in seconds, 0 meaning never; the spec is in milliseconds, 0 meaning never.");
    Ok(reading)
}

/// The value as JSON5 reads it. A value that is code is a 422 for a pool setting.
fn number(src: &str, key: &Token, value: &[Token]) -> Result<f64, TranslateError> {
    let text = source(src, value);
    let line = value.first().map_or(key.line, |t| t.line);
    let expected = format!("a number, like `{}: 20`", key.text);
    match json5::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Number(n)) => {
            n.as_f64().ok_or_else(|| TranslateError::at(line, "not a number", expected.clone()))
        }
        Ok(_) => Err(TranslateError::at(line, format!("{} is `{text}`, not a number", key.text), expected)),
        Err(e) => {
            let at = e.position().map_or(line, |p| line + p.line);
            Err(TranslateError::at(at, format!("{} is `{text}`, which the lab cannot evaluate", key.text), expected))
        }
    }
}

fn count(src: &str, key: &Token, value: &[Token]) -> Result<u64, TranslateError> {
    let n = number(src, key, value)?;
    if n >= 0.0 && n.fract() == 0.0 && n < 1e12 {
        Ok(n as u64)
    } else {
        Err(TranslateError::at(
            key.line,
            format!("{} is {n}, not a whole number", key.text),
            "a whole number of connections",
        ))
    }
}

fn millis(src: &str, key: &Token, value: &[Token]) -> Result<u64, TranslateError> {
    let n = number(src, key, value)?;
    if (0.0..1e15).contains(&n) {
        Ok(n.round() as u64)
    } else {
        Err(TranslateError::at(key.line, format!("{} is {n}", key.text), "a number of milliseconds, 0 or more"))
    }
}

/// The pool as node-postgres options, in `new Pool({...})` or as the object alone.
pub fn write(wrapped: bool, pool: &PoolSpec) -> String {
    let entries = [
        format!("max: {}", pool.max_connections),
        format!("min: {}", pool.min_connections),
        format!("connectionTimeoutMillis: {}", pool.acquire_timeout_ms),
        format!("idleTimeoutMillis: {}", pool.idle_timeout_ms),
        format!("maxLifetimeSeconds: {}", seconds(pool.max_lifetime_ms)),
    ];
    let object = format!("{{\n  {},\n}}", entries.join(",\n  "));
    if wrapped { format!("new Pool({object})") } else { object }
}
