//! HikariCP: its own `.properties` (`maximumPoolSize=20`), and Spring Boot's
//! `spring.datasource.hikari.*` in `application.properties` or `application.yml`.
//!
//! ```properties
//! spring.datasource.url=jdbc:postgresql://db:5432/app
//! spring.datasource.hikari.maximum-pool-size=20
//! spring.datasource.hikari.connection-timeout=5000
//! ```
//! Properties are read by a `.properties` parser, YAML by a YAML parser; Spring's relaxed names
//! (`maximum-pool-size`, `maximumPoolSize`, `maximum_pool_size`) are one name. Every duration is
//! in milliseconds, and HikariCP's own rules apply: `minimumIdle` defaults to (and may not
//! exceed) `maximumPoolSize`, a `connectionTimeout` under 250 ms is refused, a `maxLifetime`
//! under 30 s and an `idleTimeout` under 10 s are raised.

use poollab_shared::PoolSpec;

use super::error::TranslateError;

use super::{Defaults, Form, Reading};

const SPRING_HIKARI: &str = "spring.datasource.hikari.";
const SPRING_DATASOURCE: &str = "spring.datasource.";
/// HikariConfig's other properties (relaxed: lower case, no `-` or `_`): nothing the lab measures.
const NOT_SIMULATED: [&str; 21] = [
    "jdbcurl",
    "username",
    "password",
    "driverclassname",
    "datasourceclassname",
    "datasourcejndiname",
    "poolname",
    "autocommit",
    "keepalivetime",
    "validationtimeout",
    "connectiontestquery",
    "initializationfailtimeout",
    "isolateinternalqueries",
    "allowpoolsuspension",
    "readonly",
    "registermbeans",
    "catalog",
    "schema",
    "connectioninitsql",
    "transactionisolation",
    "exceptionoverrideclassname",
];
/// HikariCP's floors (HikariConfig.validateNumerics, in milliseconds).
const MIN_CONNECTION_TIMEOUT_MS: u64 = 250;
const MIN_IDLE_TIMEOUT_MS: u64 = 10_000;
const MIN_LIFETIME_MS: u64 = 30_000;
const MIN_LEAK_DETECTION_MS: u64 = 2_000;

/// One `key = value` of the snippet, with its line.
struct Entry {
    key: String,
    value: String,
    line: usize,
}

pub fn read(src: &str, defaults: &Defaults) -> Result<Reading, TranslateError> {
    let yaml = looks_like_yaml(src);
    let entries = if yaml { yaml_entries(src)? } else { properties_entries(src)? };
    let spring = yaml || entries.iter().any(|e| e.key.starts_with(SPRING_HIKARI));
    let form = match (yaml, spring) {
        (true, _) => Form::SpringYaml,
        (false, true) => Form::SpringProperties,
        (false, false) => Form::HikariProperties,
    };
    let settings = defaults.settings(defaults.count("pool-max")?.unwrap_or(10), 0)?;
    let default_lifetime = settings.max_lifetime_ms;
    let mut reading = Reading::new(settings, form);
    let mut minimum_idle: Option<i64> = None;
    for entry in &entries {
        let name = if let Some(rest) = entry.key.strip_prefix(SPRING_HIKARI) {
            rest
        } else if entry.key.starts_with(SPRING_DATASOURCE) {
            continue; // url, username, password, driver-class-name: the lab uses its own server
        } else if entry.key.starts_with("spring.") {
            reading.unknown(&entry.key, entry.line);
            continue;
        } else {
            &entry.key
        };
        let relaxed = name.to_ascii_lowercase().replace(['-', '_'], "");
        let s = &mut reading.settings;
        match relaxed.as_str() {
            "maximumpoolsize" => {
                let n = whole(entry)?;
                if n < 1 {
                    return Err(TranslateError::at(
                        entry.line,
                        format!("{} is {n}", entry.key),
                        "at least 1 (HikariCP refuses less)",
                    ));
                }
                s.max = n as u64;
            }
            "minimumidle" => minimum_idle = Some(whole(entry)?),
            "connectiontimeout" => {
                let ms = millis(entry)?;
                if ms > 0 && ms < MIN_CONNECTION_TIMEOUT_MS {
                    return Err(TranslateError::at(
                        entry.line,
                        format!("{} is {ms} ms, which HikariCP refuses", entry.key),
                        format!("0 (wait forever) or at least {MIN_CONNECTION_TIMEOUT_MS} ms"),
                    ));
                }
                s.acquire_timeout_ms = Some(ms).filter(|ms| *ms > 0);
            }
            "idletimeout" => {
                let ms = millis(entry)?;
                s.idle_timeout_ms = Some(ms).filter(|ms| *ms > 0);
                if ms > 0 && ms < MIN_IDLE_TIMEOUT_MS {
                    s.idle_timeout_ms = Some(MIN_IDLE_TIMEOUT_MS);
                    reading.note(format!("HikariCP raises an idleTimeout under {MIN_IDLE_TIMEOUT_MS} ms to {MIN_IDLE_TIMEOUT_MS} ms; the run uses that."));
                }
            }
            "maxlifetime" => {
                let ms = millis(entry)?;
                s.max_lifetime_ms = Some(ms).filter(|ms| *ms > 0);
                if ms > 0 && ms < MIN_LIFETIME_MS {
                    s.max_lifetime_ms = default_lifetime;
                    reading.note(format!("HikariCP replaces a maxLifetime under {MIN_LIFETIME_MS} ms with its default; the run uses that."));
                }
            }
            "leakdetectionthreshold" => {
                let ms = millis(entry)?;
                if ms > 0 && ms < MIN_LEAK_DETECTION_MS {
                    reading.note(format!(
                        "HikariCP turns a leakDetectionThreshold under {MIN_LEAK_DETECTION_MS} ms off; so does the run."
                    ));
                } else if ms > 0 {
                    s.leak_detect_ms = Some(ms);
                    reading.note("leakDetectionThreshold only logs a warning with the borrower's stack trace; the run flags the requests that hold a connection that long (leak.detect_after_ms).");
                }
            }
            r if NOT_SIMULATED.contains(&r)
                || r.starts_with("datasource.")
                || r.starts_with("datasourceproperties.") => {}
            _ => reading.unknown(&entry.key, entry.line),
        }
    }
    let s = &mut reading.settings;
    let max = s.max;
    match minimum_idle {
        Some(min) if (0..=max as i64).contains(&min) => s.min = min as u64,
        Some(min) => {
            s.min = max;
            reading.note(format!(
                "HikariCP sets a minimumIdle outside 0..maximumPoolSize ({min}) to maximumPoolSize ({max})."
            ));
        }
        None => {
            s.min = max;
            reading.note(format!("minimumIdle is not set, so HikariCP keeps maximumPoolSize ({max}) connections open at all times: a fixed-size pool."));
        }
    }
    if reading.settings.min == reading.settings.max {
        if reading.settings.idle_timeout_ms.is_some() {
            reading.note("idleTimeout does nothing while minimumIdle equals maximumPoolSize: HikariCP never closes an idle connection below minimumIdle, so the run's idle timeout is off.");
        }
        reading.settings.idle_timeout_ms = None;
    } else {
        reading.note("HikariCP never closes idle connections below minimumIdle; the lab's pool (sqlx) closes any connection idle past idle_timeout and then opens new ones up to min_connections.");
    }
    reading.note("HikariCP tests a connection only if it has been idle over 500 ms; the lab's pool pings every idle connection it hands out.");
    reading.note("HikariCP takes up to 2.5% off each connection's maxLifetime at random, so they do not all expire at once; the lab's pool does not.");
    reading.note("HikariCP's durations (Spring's spring.datasource.hikari.* too) are in milliseconds, like the spec's; 0 means never (for connectionTimeout, wait forever).");
    Ok(reading)
}

/// YAML has parents: a key alone on its line, ending with `:`. (A flat `key: value` file is read
/// the same either way.)
fn looks_like_yaml(src: &str) -> bool {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .any(|l| l.ends_with(':'))
}

fn properties_entries(src: &str) -> Result<Vec<Entry>, TranslateError> {
    let mut entries = Vec::new();
    for line in java_properties::PropertiesIter::new(src.as_bytes()) {
        let line = line.map_err(|e| {
            TranslateError::at(e.line_number().unwrap_or(1), format!("not a properties line: {e}"), "`name=value`")
        })?;
        let number = line.line_number();
        if let java_properties::LineContent::KVPair(key, value) = line.consume_content() {
            entries.push(Entry { key, value, line: number });
        }
    }
    Ok(entries)
}

/// The YAML's leaves as dotted keys (`spring.datasource.hikari.maximum-pool-size`), each with the
/// line its last part is on.
fn yaml_entries(src: &str) -> Result<Vec<Entry>, TranslateError> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(src).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line());
        TranslateError::at(line, format!("not valid YAML: {e}"), "YAML `name: value` lines, nested by indentation")
    })?;
    let lines: Vec<&str> = src.lines().collect();
    let mut entries = Vec::new();
    let mut cursor = 0;
    flatten(&doc, "", &lines, &mut cursor, &mut entries)?;
    Ok(entries)
}

fn flatten(
    value: &serde_yaml_ng::Value,
    prefix: &str,
    lines: &[&str],
    cursor: &mut usize,
    out: &mut Vec<Entry>,
) -> Result<(), TranslateError> {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                let part = match key {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(TranslateError::at(*cursor + 1, "a key is not a name", "`name: value`")),
                };
                // Where this key is: the next line, from the last one found, that starts with it.
                if let Some(found) = (*cursor..lines.len()).find(|&i| {
                    let line = lines[i].trim_start().trim_start_matches(['"', '\'']);
                    line.strip_prefix(part.as_str())
                        .is_some_and(|after| after.trim_start_matches(['"', '\'']).trim_start().starts_with(':'))
                }) {
                    *cursor = found;
                }
                let key = if prefix.is_empty() { part } else { format!("{prefix}.{part}") };
                flatten(child, &key, lines, cursor, out)?;
            }
        }
        Value::Null => {}
        Value::String(s) => out.push(Entry { key: prefix.to_owned(), value: s.clone(), line: *cursor + 1 }),
        Value::Number(n) => out.push(Entry { key: prefix.to_owned(), value: n.to_string(), line: *cursor + 1 }),
        Value::Bool(b) => out.push(Entry { key: prefix.to_owned(), value: b.to_string(), line: *cursor + 1 }),
        Value::Sequence(_) | Value::Tagged(_) => {
            out.push(Entry { key: prefix.to_owned(), value: String::new(), line: *cursor + 1 })
        }
    }
    Ok(())
}

fn whole(entry: &Entry) -> Result<i64, TranslateError> {
    entry.value.trim().parse().map_err(|_| {
        TranslateError::at(
            entry.line,
            format!("{} is `{}`, not a whole number", entry.key, entry.value),
            "a whole number",
        )
    })
}

fn millis(entry: &Entry) -> Result<u64, TranslateError> {
    let n = whole(entry)?;
    u64::try_from(n).map_err(|_| {
        TranslateError::at(entry.line, format!("{} is negative", entry.key), "a number of milliseconds, 0 or more")
    })
}

/// The pool in the snippet's HikariCP syntax. HikariCP cannot go under its floors, so a shorter
/// timeout is written as the floor.
pub fn write(form: &Form, pool: &PoolSpec) -> String {
    let floor = |ms: u64, min: u64| if ms == 0 { 0 } else { ms.max(min) };
    let values = [
        ("maximumPoolSize", "maximum-pool-size", u64::from(pool.max_connections)),
        ("minimumIdle", "minimum-idle", u64::from(pool.min_connections)),
        ("connectionTimeout", "connection-timeout", pool.acquire_timeout_ms.max(MIN_CONNECTION_TIMEOUT_MS)),
        ("idleTimeout", "idle-timeout", floor(pool.idle_timeout_ms, MIN_IDLE_TIMEOUT_MS)),
        ("maxLifetime", "max-lifetime", floor(pool.max_lifetime_ms, MIN_LIFETIME_MS)),
    ];
    let lines: Vec<String> = match form {
        Form::SpringProperties => values.iter().map(|(_, kebab, v)| format!("{SPRING_HIKARI}{kebab}={v}")).collect(),
        Form::SpringYaml => {
            let mut lines = vec!["spring:".to_owned(), "  datasource:".to_owned(), "    hikari:".to_owned()];
            lines.extend(values.iter().map(|(_, kebab, v)| format!("      {kebab}: {v}")));
            lines
        }
        _ => values.iter().map(|(camel, _, v)| format!("{camel}={v}")).collect(),
    };
    lines.join("\n")
}
