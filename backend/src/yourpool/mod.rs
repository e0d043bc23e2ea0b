//! Your own pool: a pool configuration pasted in its library's own syntax, read into the lab's
//! run spec, and the other way round.
//!
//! People leave the course for their own service, whose pool is configured in node-postgres,
//! HikariCP, pgx, psycopg_pool, SQLAlchemy or sqlx. [`translate`] reads such a snippet with the
//! format's real parser (a JSON5 object literal, a `.properties` file, YAML, a libpq connection
//! string) or, for call syntaxes, a small tokenizer ([`tokens`]); fills what it leaves out with
//! that library's own defaults ([`defaults`], from `lessons/libraries.toml`); and gives a run spec
//! whose pool does the same on the lab's sqlx pool ([`settings`]), with one note per place where
//! the library means something sqlx does not, and every key it did not know listed. [`write_back`]
//! writes a pool spec in the syntax the snippet came in, so a result can be pasted back.
//!
//! # Layout
//! - [`tokens`]: the tokenizer and call-argument parse the call syntaxes share.
//! - [`defaults`]: each library's defaults, read from the library table.
//! - [`settings`]: a library's settings in the lab's units, and their step into a `PoolSpec`.
//! - [`plan`]: a translated pool at a deployment's traffic: the sizing sweep the lab runs around
//!   it, scaled down (and said so) beyond what one worker plays.
//! - [`verdict`]: the measured sweep in plain words, and the smallest pool that met the target.
//! - One file per library: [`node`], [`hikari`], [`pgx`], [`psycopg`], [`sqlalchemy`],
//!   [`sqlx`], each reading its syntaxes and writing them back.
//!
//! Nothing here knows about HTTP: `web/your_pool.rs` serves it.

pub mod defaults;
pub mod error;
pub mod hikari;
pub mod node;
pub mod pgx;
pub mod plan;
pub mod psycopg;
pub mod python;
pub mod settings;
pub mod sqlalchemy;
pub mod sqlx;
pub mod tokens;
pub mod verdict;

use poollab_shared::{Libraries, PoolSpec, RunSpec, Strategy};
use serde::Serialize;

pub use self::defaults::Defaults;
pub use self::error::TranslateError;
use self::settings::Settings;

/// The libraries whose pool settings the lab reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    NodePostgres,
    HikariCp,
    Pgx,
    PsycopgPool,
    SqlAlchemy,
    Sqlx,
}

impl Library {
    pub const ALL: [Library; 6] = [
        Library::Sqlx,
        Library::NodePostgres,
        Library::HikariCp,
        Library::Pgx,
        Library::PsycopgPool,
        Library::SqlAlchemy,
    ];
    /// The names the library table uses.
    pub const NAMES: [&'static str; 6] = ["sqlx", "node-postgres", "HikariCP", "pgx", "psycopg_pool", "SQLAlchemy"];

    pub fn name(self) -> &'static str {
        match self {
            Library::Sqlx => "sqlx",
            Library::NodePostgres => "node-postgres",
            Library::HikariCp => "HikariCP",
            Library::Pgx => "pgx",
            Library::PsycopgPool => "psycopg_pool",
            Library::SqlAlchemy => "SQLAlchemy",
        }
    }

    /// The library a client names: the table's names in any case, and the package names people
    /// use for them (`pg`, `pg-pool`, `hikari`, `pgxpool`, `psycopg`).
    pub fn parse(name: &str) -> Result<Library, TranslateError> {
        let wanted = name.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
        let library = match wanted.as_str() {
            "sqlx" => Library::Sqlx,
            "nodepostgres" | "pg" | "pgpool" | "node" => Library::NodePostgres,
            "hikaricp" | "hikari" => Library::HikariCp,
            "pgx" | "pgxpool" => Library::Pgx,
            "psycopgpool" | "psycopg" | "psycopg3" => Library::PsycopgPool,
            "sqlalchemy" => Library::SqlAlchemy,
            _ => return Err(TranslateError::UnknownLibrary(name.to_owned())),
        };
        Ok(library)
    }
}

impl Serialize for Library {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which of its library's syntaxes a snippet was written in: what [`write_back`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// node-postgres: `new Pool({...})`, or the options object alone.
    NodePool { wrapped: bool },
    /// HikariCP's own `.properties` (`maximumPoolSize=...`).
    HikariProperties,
    /// Spring Boot's `spring.datasource.hikari.*` in `application.properties`.
    SpringProperties,
    /// Spring Boot's `spring.datasource.hikari.*` in `application.yml`.
    SpringYaml,
    /// pgx: a `postgres://` URL; `base` is it without its pool parameters and password.
    PgxUrl { base: String },
    /// pgx: a keyword/value connection string; `base` as for the URL.
    PgxKeywords { base: String },
    /// pgx: `pgxpool.Config` fields set in Go, on the variable `var`.
    PgxConfig { var: String },
    /// psycopg_pool: `ConnectionPool(...)` (or `AsyncConnectionPool`, named in `class`).
    Psycopg { class: String },
    /// SQLAlchemy: `create_engine(...)` (or `create_async_engine`, named in `function`).
    SqlAlchemy { function: String },
    /// sqlx: `PgPoolOptions::new()` and its builder calls.
    Sqlx,
}

impl Form {
    pub fn library(&self) -> Library {
        match self {
            Form::NodePool { .. } => Library::NodePostgres,
            Form::HikariProperties | Form::SpringProperties | Form::SpringYaml => Library::HikariCp,
            Form::PgxUrl { .. } | Form::PgxKeywords { .. } | Form::PgxConfig { .. } => Library::Pgx,
            Form::Psycopg { .. } => Library::PsycopgPool,
            Form::SqlAlchemy { .. } => Library::SqlAlchemy,
            Form::Sqlx => Library::Sqlx,
        }
    }

    /// A short name for the syntax, for the page.
    pub fn syntax(&self) -> &'static str {
        match self {
            Form::NodePool { wrapped: true } => "new Pool",
            Form::NodePool { wrapped: false } => "options object",
            Form::HikariProperties => "properties",
            Form::SpringProperties => "spring properties",
            Form::SpringYaml => "spring yaml",
            Form::PgxUrl { .. } => "connection url",
            Form::PgxKeywords { .. } => "connection string",
            Form::PgxConfig { .. } => "pgxpool.Config",
            Form::Psycopg { .. } => "ConnectionPool",
            Form::SqlAlchemy { .. } => "create_engine",
            Form::Sqlx => "PgPoolOptions",
        }
    }
}

/// A key the translation did not know, and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    pub key: String,
    pub line: usize,
}

/// What a library module reads from a snippet.
#[derive(Debug, Clone)]
pub struct Reading {
    pub settings: Settings,
    pub form: Form,
    /// One line per place where the library's meaning differs from the lab's sqlx pool.
    pub notes: Vec<String>,
    pub unknown: Vec<Unknown>,
    /// Pooled, unless the snippet turns pooling off (SQLAlchemy's `NullPool`).
    pub strategy: Strategy,
}

impl Reading {
    pub fn new(settings: Settings, form: Form) -> Self {
        Reading { settings, form, notes: Vec::new(), unknown: Vec::new(), strategy: Strategy::Pooled }
    }

    pub fn unknown(&mut self, key: impl Into<String>, line: usize) {
        self.unknown.push(Unknown { key: key.into(), line });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// A snippet read: the run spec its pool amounts to, and what the reading had to say.
#[derive(Debug, Clone, Serialize)]
pub struct Translation {
    library: Library,
    /// The syntax the snippet was in ([`Form::syntax`]).
    syntax: &'static str,
    spec: RunSpec,
    notes: Vec<String>,
    unknown: Vec<Unknown>,
    /// The spec's pool written back in the snippet's syntax, defaults spelled out.
    paste: String,
    #[serde(skip)]
    form: Form,
}

impl Translation {
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
    pub fn unknown(&self) -> &[Unknown] {
        &self.unknown
    }
    pub fn form(&self) -> &Form {
        &self.form
    }
    pub fn paste(&self) -> &str {
        &self.paste
    }
    /// Another pool (a sweep's answer, say) in the snippet's syntax.
    pub fn write_back(&self, pool: &PoolSpec) -> String {
        write_back(&self.form, pool)
    }
}

/// Reads `config`, written for `library`, into a run spec: the pooled strategy with the pool the
/// snippet describes, every other part of the spec at its default.
pub fn translate(library: &str, config: &str, table: &Libraries) -> Result<Translation, TranslateError> {
    let library = Library::parse(library)?;
    if config.trim().is_empty() {
        return Err(TranslateError::at(1, "the configuration is empty", format!("{} settings", library.name())));
    }
    let defaults = Defaults::load(table, library)?;
    let mut reading = match library {
        Library::NodePostgres => node::read(config, &defaults)?,
        Library::HikariCp => hikari::read(config, &defaults)?,
        Library::Pgx => pgx::read(config, &defaults)?,
        Library::PsycopgPool => psycopg::read(config, &defaults)?,
        Library::SqlAlchemy => sqlalchemy::read(config, &defaults)?,
        Library::Sqlx => sqlx::read(config, &defaults)?,
    };
    let pool = reading.settings.to_pool(library.name(), &mut reading.notes);
    let mut spec = RunSpec { strategy: reading.strategy, pool, ..RunSpec::default() };
    if let Some(ms) = reading.settings.leak_detect_ms {
        let limit = *poollab_shared::Limits::LEAK_DETECT_AFTER_MS.end();
        spec.leak.detect_after_ms = ms.min(limit);
    }
    let paste = write_back(&reading.form, &spec.pool);
    Ok(Translation {
        library,
        syntax: reading.form.syntax(),
        spec,
        notes: reading.notes,
        unknown: reading.unknown,
        paste,
        form: reading.form,
    })
}

/// A pool spec in one of a library's syntaxes: what a result shows, ready to paste.
pub fn write_back(form: &Form, pool: &PoolSpec) -> String {
    match form {
        Form::NodePool { wrapped } => node::write(*wrapped, pool),
        Form::HikariProperties | Form::SpringProperties | Form::SpringYaml => hikari::write(form, pool),
        Form::PgxUrl { .. } | Form::PgxKeywords { .. } | Form::PgxConfig { .. } => pgx::write(form, pool),
        Form::Psycopg { class } => psycopg::write(class, pool),
        Form::SqlAlchemy { function } => sqlalchemy::write(function, pool),
        Form::Sqlx => sqlx::write(pool),
    }
}

#[cfg(test)]
mod tests;
