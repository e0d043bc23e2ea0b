//! pgx (pgxpool): a connection string with `pool_*` parameters, as a URL or as libpq's
//! keyword/value form, or `pgxpool.Config` fields set in Go.
//!
//! ```text
//! postgres://app@db:5432/app?sslmode=require&pool_max_conns=20&pool_max_conn_idle_time=5m
//! host=db dbname=app pool_max_conns=20 pool_min_conns=2
//! ```
//! ```go
//! config, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
//! config.MaxConns = 20
//! config.MaxConnIdleTime = 5 * time.Minute
//! ```
//! Durations are Go durations (`30s`, `5m`, `1h30m`) in a string, `time.Duration` expressions in
//! Go. A URL is read by a URL parser; the keyword/value form by libpq's grammar (`key=value`,
//! values in single quotes when they hold spaces).

use poollab_shared::PoolSpec;

use super::error::TranslateError;

use super::tokens::{Comments, Kind, Token, lex, number};
use super::{Defaults, Form, Reading};

/// `pgxpool.Config` fields that change nothing the lab measures (hooks and the connection).
const NOT_SIMULATED: [&str; 7] =
    ["BeforeConnect", "AfterConnect", "BeforeAcquire", "AfterRelease", "BeforeClose", "PrepareConn", "ConnConfig"];

/// A pool setting found in the snippet, in the lab's units.
enum Knob {
    MaxConns(i64),
    MinConns(i64),
    Lifetime(u64),
    IdleTime(u64),
    /// Read but not simulated: the note says why.
    Note(String),
    Unknown,
}

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let default_max = defaults.count("pool-max")?.unwrap_or(4);
    let settings = defaults.settings(default_max, defaults.count("pool-min")?.unwrap_or(0))?;
    let trimmed = src.trim();
    let first_line = src.lines().position(|l| !l.trim().is_empty()).unwrap_or(0) + 1;
    let (form, knobs) = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        url_knobs(trimmed, first_line)?
    } else if let Some(go) = go_snippet(src)? {
        go
    } else {
        keyword_knobs(src, 0)?
    };
    let mut reading = Reading::new(settings, form);
    let mut max_set = false;
    for (key, line, knob) in knobs {
        let s = &mut reading.settings;
        match knob {
            Knob::MaxConns(n) => {
                if n < 1 {
                    return Err(TranslateError::at(
                        line,
                        format!("{key} is {n}: pgx refuses a pool under 1"),
                        "at least 1",
                    ));
                }
                s.max = n as u64;
                max_set = true;
            }
            Knob::MinConns(n) => {
                s.min =
                    u64::try_from(n).map_err(|_| TranslateError::at(line, format!("{key} is negative"), "0 or more"))?
            }
            Knob::Lifetime(ms) => s.max_lifetime_ms = Some(ms),
            Knob::IdleTime(ms) => s.idle_timeout_ms = Some(ms),
            Knob::Note(note) => reading.note(note),
            Knob::Unknown => reading.unknown(key, line),
        }
    }
    if !max_set {
        reading.note(format!("pgx sizes its pool by the machine's CPUs, max(4, CPUs); the run assumes {default_max}: set pool_max_conns (MaxConns) to what your servers get."));
    }
    reading.note("pgx has no acquire timeout: a request waits until the context passed to Acquire is done, so with context.Background() it waits forever.");
    reading.note("pgx pings a connection only if it has been idle over 1 s; the lab's pool pings every idle connection it hands out.");
    reading.note("pgx closes idle and expired connections at its health check (every pool_health_check_period, 1 min by default), so they can outlive their limits by up to that much.");
    reading.note("pgx's durations are Go durations (30s, 5m, 1h30m); the spec's are milliseconds.");
    Ok(reading)
}

/// A `pool_*` parameter of a connection string.
fn pool_param(key: &str, value: &str, line: usize) -> Result<Knob, TranslateError> {
    let count = || {
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| TranslateError::at(line, format!("{key} is `{value}`, not a whole number"), "a whole number"))
    };
    let duration = || {
        go_duration(value.trim()).ok_or_else(|| {
            TranslateError::at(
                line,
                format!("{key} is `{value}`, not a Go duration"),
                "a Go duration, like 30s, 5m or 1h30m",
            )
        })
    };
    Ok(match key {
        "pool_max_conns" => Knob::MaxConns(count()?),
        "pool_min_conns" => Knob::MinConns(count()?),
        "pool_max_conn_lifetime" => Knob::Lifetime(duration()?),
        "pool_max_conn_idle_time" => Knob::IdleTime(duration()?),
        "pool_health_check_period" => {
            duration()?;
            Knob::Note(format!(
                "pool_health_check_period={value} is when pgx looks for idle and expired connections; the lab's pool checks on its own schedule."
            ))
        }
        "pool_max_conn_lifetime_jitter" => {
            duration()?;
            Knob::Note(format!(
                "pool_max_conn_lifetime_jitter={value} spreads connections' expiry at random; the lab's pool does not."
            ))
        }
        "pool_min_idle_conns" => {
            count()?;
            Knob::Note(format!(
                "pool_min_idle_conns={value} keeps that many idle connections open; the lab's pool has only a minimum of all connections."
            ))
        }
        _ => Knob::Unknown,
    })
}

type Knobs = Vec<(String, usize, Knob)>;

fn url_knobs(text: &str, line: usize) -> Result<(Form, Knobs), TranslateError> {
    let url = url::Url::parse(text).map_err(|e| {
        TranslateError::at(
            line,
            format!("not a connection URL: {e}"),
            "postgres://user@host:5432/dbname?pool_max_conns=10",
        )
    })?;
    let mut knobs = Vec::new();
    let mut kept = Vec::new();
    for (key, value) in url.query_pairs() {
        if key.starts_with("pool_") {
            knobs.push((key.to_string(), line, pool_param(&key, &value, line)?));
        } else if key != "password" {
            kept.push((key.to_string(), value.to_string()));
        }
    }
    let mut base = url.clone();
    let _ = base.set_password(None);
    base.set_query(None);
    if !kept.is_empty() {
        base.query_pairs_mut().extend_pairs(kept);
    }
    Ok((Form::PgxUrl { base: base.to_string() }, knobs))
}

/// libpq's keyword/value form: `key=value` pairs split by spaces, a value in single quotes when
/// it holds spaces (with `\'` and `\\` inside). `first_line` is the line the string starts on.
fn keyword_knobs(text: &str, first_line: usize) -> Result<(Form, Knobs), TranslateError> {
    let mut knobs = Vec::new();
    let mut kept = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = first_line + 1;
    loop {
        while let Some(c) = chars.peek().copied().filter(|c| c.is_whitespace()) {
            if c == '\n' {
                line += 1;
            }
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.next_if_eq(&'=').is_none() {
            return Err(TranslateError::at(
                line,
                format!("`{key}` has no `=`"),
                "`keyword=value` pairs, like `host=db pool_max_conns=10`",
            ));
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(TranslateError::at(
                            line,
                            format!("the value of {key} has no closing quote"),
                            "a closing `'`",
                        ));
                    }
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        if key.starts_with("pool_") {
            knobs.push((key.clone(), line, pool_param(&key, &value, line)?));
        } else if key != "password" {
            let quoted = if value.is_empty() || value.contains([' ', '\'', '\\']) {
                format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
            } else {
                value
            };
            kept.push(format!("{key}={quoted}"));
        }
    }
    Ok((Form::PgxKeywords { base: kept.join(" ") }, knobs))
}

/// Go code: `pgxpool.Config` fields, and the pool parameters of any connection string literal in
/// it (`pgxpool.ParseConfig("postgres://...")`). `None` when the snippet is no Go.
fn go_snippet(src: &str) -> Result<Option<(Form, Knobs)>, TranslateError> {
    let looks_like_go = src.contains(":=")
        || src.contains("pgxpool")
        || src.contains("time.")
        || src.contains(".Max")
        || src.contains(".Min");
    if !looks_like_go {
        return Ok(None);
    }
    let tokens = lex(src, Comments::Slashes)?;
    let mut knobs = Vec::new();
    let mut var = None;
    for t in tokens.iter().filter(|t| t.kind == Kind::Str) {
        let text = t.text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            knobs.extend(url_knobs(text, t.line)?.1);
        } else if text.contains("pool_") {
            knobs.extend(keyword_knobs(text, t.line - 1)?.1);
        }
    }
    // `config.Field = value`, one statement a line.
    let mut i = 0;
    while i + 3 < tokens.len() {
        let [v, dot, field, eq] = [&tokens[i], &tokens[i + 1], &tokens[i + 2], &tokens[i + 3]];
        let assigns = v.kind == Kind::Ident && dot.is('.') && field.kind == Kind::Ident && eq.is('=');
        let not_compare = !tokens.get(i + 4).is_some_and(|t| t.is('='));
        let starts_statement = i == 0 || tokens[i - 1].line < v.line;
        if !(assigns && not_compare && starts_statement) {
            i += 1;
            continue;
        }
        let end = (i + 4..tokens.len()).find(|&j| tokens[j].line > eq.line).unwrap_or(tokens.len());
        let value = &tokens[i + 4..end];
        var.get_or_insert_with(|| v.text.clone());
        let knob = match field.text.as_str() {
            "MaxConns" => Knob::MaxConns(go_count(field, value)?),
            "MinConns" => Knob::MinConns(go_count(field, value)?),
            "MaxConnLifetime" => Knob::Lifetime(go_duration_expr(field, value)?),
            "MaxConnIdleTime" => Knob::IdleTime(go_duration_expr(field, value)?),
            "HealthCheckPeriod" => {
                go_duration_expr(field, value)?;
                Knob::Note("HealthCheckPeriod is when pgx looks for idle and expired connections; the lab's pool checks on its own schedule.".into())
            }
            "MaxConnLifetimeJitter" => {
                go_duration_expr(field, value)?;
                Knob::Note(
                    "MaxConnLifetimeJitter spreads connections' expiry at random; the lab's pool does not.".into(),
                )
            }
            "MinIdleConns" => {
                go_count(field, value)?;
                Knob::Note("MinIdleConns keeps that many idle connections open; the lab's pool has only a minimum of all connections.".into())
            }
            "ShouldPing" => Knob::Note(
                "ShouldPing replaces pgx's ping rule; the lab's pool pings every idle connection it hands out.".into(),
            ),
            name if NOT_SIMULATED.contains(&name) => {
                i = end;
                continue;
            }
            _ => Knob::Unknown,
        };
        knobs.push((field.text.clone(), field.line, knob));
        i = end;
    }
    match var {
        Some(var) => Ok(Some((Form::PgxConfig { var }, knobs))),
        None if !knobs.is_empty() => Ok(Some((Form::PgxConfig { var: "config".into() }, knobs))),
        None => Ok(None),
    }
}

/// `20` or `int32(20)`.
fn go_count(field: &Token, value: &[Token]) -> Result<i64, TranslateError> {
    let n = match value {
        [n] => number(&n.text),
        [conv, open, n, close] if conv.kind == Kind::Ident && open.is('(') && close.is(')') => number(&n.text),
        [minus, n] if minus.is('-') => number(&n.text).map(|n| -n),
        _ => None,
    };
    n.filter(|n| n.fract() == 0.0).map(|n| n as i64).ok_or_else(|| {
        TranslateError::at(
            field.line,
            format!("{} is not given a whole number", field.text),
            format!("a whole number, like `config.{} = 20`", field.text),
        )
    })
}

/// A `time.Duration` expression: factors multiplied (`5 * time.Minute`, `time.Hour`,
/// `time.Duration(30) * time.Second`), in milliseconds.
fn go_duration_expr(field: &Token, value: &[Token]) -> Result<u64, TranslateError> {
    let err = || {
        TranslateError::at(
            field.line,
            format!("{} is not given a duration", field.text),
            "a time.Duration, like `5 * time.Minute`",
        )
    };
    let mut ns = 1.0f64;
    for factor in value.split(|t| t.is('*')) {
        ns *= match factor {
            [n] if n.kind == Kind::Number => number(&n.text).ok_or_else(err)?,
            [time, dot, unit] if time.is_ident("time") && dot.is('.') => unit_ns(&unit.text).ok_or_else(err)?,
            [time, dot, d, open, n, close]
                if time.is_ident("time") && dot.is('.') && d.is_ident("Duration") && open.is('(') && close.is(')') =>
            {
                number(&n.text).ok_or_else(err)?
            }
            _ => return Err(err()),
        };
    }
    if ns < 0.0 {
        return Err(err());
    }
    Ok((ns / 1e6).round() as u64)
}

fn unit_ns(unit: &str) -> Option<f64> {
    Some(match unit {
        "Nanosecond" | "ns" => 1.0,
        "Microsecond" | "us" | "µs" | "μs" => 1e3,
        "Millisecond" | "ms" => 1e6,
        "Second" | "s" => 1e9,
        "Minute" | "m" => 60e9,
        "Hour" | "h" => 3600e9,
        _ => return None,
    })
}

/// Go's `time.ParseDuration`: `0`, or numbers each followed by a unit (`1h30m`, `1.5s`, `300ms`),
/// in milliseconds.
pub fn go_duration(text: &str) -> Option<u64> {
    if text == "0" {
        return Some(0);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut ns = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        ns += n * unit_ns(&rest[..unit])?;
        rest = &rest[unit..];
    }
    Some((ns / 1e6).round() as u64)
}

/// Milliseconds as a Go duration string (`1h30m`, `5m`, `1s500ms`).
pub fn go_duration_string(ms: u64) -> String {
    if ms == 0 {
        return "0".into();
    }
    let parts = [(ms / 3_600_000, "h"), (ms / 60_000 % 60, "m"), (ms / 1000 % 60, "s"), (ms % 1000, "ms")];
    parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n}{unit}")).collect()
}

/// A duration as Go code (`time.Hour`, `30 * time.Minute`, `1500 * time.Millisecond`).
fn go_duration_code(ms: u64) -> String {
    let units = [(3_600_000, "time.Hour"), (60_000, "time.Minute"), (1000, "time.Second"), (1, "time.Millisecond")];
    let (size, unit) =
        units.iter().find(|(size, _)| ms.is_multiple_of(*size)).copied().unwrap_or((1, "time.Millisecond"));
    if ms == size { unit.to_owned() } else { format!("{} * {unit}", ms / size) }
}

/// The pool in the snippet's pgx syntax. pgx has no "never" for a lifetime or an idle time, so a
/// spec without one leaves the parameter out (pgx's default then applies).
pub fn write(form: &Form, pool: &PoolSpec) -> String {
    let mut params = vec![
        ("pool_max_conns", pool.max_connections.to_string()),
        ("pool_min_conns", pool.min_connections.to_string()),
    ];
    if pool.max_lifetime_ms > 0 {
        params.push(("pool_max_conn_lifetime", go_duration_string(pool.max_lifetime_ms)));
    }
    if pool.idle_timeout_ms > 0 {
        params.push(("pool_max_conn_idle_time", go_duration_string(pool.idle_timeout_ms)));
    }
    match form {
        Form::PgxUrl { base } => {
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let joiner = if base.contains('?') { '&' } else { '?' };
            format!("{base}{joiner}{}", query.join("&"))
        }
        Form::PgxKeywords { base } => {
            let mut words: Vec<String> = if base.is_empty() { Vec::new() } else { vec![base.clone()] };
            words.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
            words.join(" ")
        }
        Form::PgxConfig { var } => {
            let mut lines = vec![
                format!("{var}.MaxConns = {}", pool.max_connections),
                format!("{var}.MinConns = {}", pool.min_connections),
            ];
            if pool.max_lifetime_ms > 0 {
                lines.push(format!("{var}.MaxConnLifetime = {}", go_duration_code(pool.max_lifetime_ms)));
            }
            if pool.idle_timeout_ms > 0 {
                lines.push(format!("{var}.MaxConnIdleTime = {}", go_duration_code(pool.idle_timeout_ms)));
            }
            lines.join("\n")
        }
        _ => String::new(),
    }
}
