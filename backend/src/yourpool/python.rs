//! The Python call both psycopg_pool and SQLAlchemy are configured with: `Name(positional,
//! keyword=value, ...)`, and the literal values their pool settings take.

use super::error::TranslateError;
use super::tokens::{Arg, Comments, Kind, Token, call_args, lex, number};

/// A keyword argument's value, as far as a pool setting needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    None,
    Bool(bool),
    /// Anything else: a name, a call, a string, a dict.
    Other,
}

/// The first call of one of `names` in `src`: which name, and its arguments.
pub fn find_call<'t>(
    tokens: &'t [Token],
    names: &[&str],
    expected: &str,
) -> Result<(&'t Token, Vec<Arg<'t>>), TranslateError> {
    let at = tokens
        .windows(2)
        .position(|w| w[0].kind == Kind::Ident && names.contains(&w[0].text.as_str()) && w[1].is('('))
        .ok_or_else(|| {
            TranslateError::at(1, format!("no call of {} in the snippet", names.join(" or ")), expected.to_owned())
        })?;
    Ok((&tokens[at], call_args(tokens, at + 1)?))
}

pub fn tokens(src: &str) -> Result<Vec<Token>, TranslateError> {
    lex(src, Comments::Hash)
}

/// The value of a keyword argument: a number (a minus sign allowed), `None`, `True`, `False`.
pub fn value(tokens: &[Token]) -> Value {
    match tokens {
        [t] if t.kind == Kind::Number => number(&t.text).map_or(Value::Other, Value::Number),
        [minus, t] if minus.is('-') && t.kind == Kind::Number => {
            number(&t.text).map_or(Value::Other, |n| Value::Number(-n))
        }
        [t] if t.is_ident("None") => Value::None,
        [t] if t.is_ident("True") => Value::Bool(true),
        [t] if t.is_ident("False") => Value::Bool(false),
        _ => Value::Other,
    }
}

/// The argument's name (the caller knows it has one).
pub fn name<'a>(arg: &'a Arg<'_>) -> &'a str {
    arg.name.map_or("", |t| t.text.as_str())
}

/// A whole number of connections (`None` when `none_ok` and the value is `None`).
pub fn count(arg: &Arg<'_>, none_ok: bool, negative_ok: bool) -> Result<Option<i64>, TranslateError> {
    match value(arg.value) {
        Value::Number(n) if n.fract() == 0.0 && (n >= 0.0 || negative_ok) => Ok(Some(n as i64)),
        Value::None if none_ok => Ok(None),
        _ => Err(TranslateError::at(
            arg.line(),
            format!("{} is not a whole number", name(arg)),
            if none_ok { "a whole number or None" } else { "a whole number" },
        )),
    }
}

/// A number of seconds (negative allowed where the library gives it a meaning).
pub fn seconds(arg: &Arg<'_>) -> Result<f64, TranslateError> {
    match value(arg.value) {
        Value::Number(n) => Ok(n),
        _ => Err(TranslateError::at(
            arg.line(),
            format!("{} is not a number of seconds", name(arg)),
            "a number of seconds, like 30 or 2.5",
        )),
    }
}

pub fn flag(arg: &Arg<'_>) -> Result<bool, TranslateError> {
    match value(arg.value) {
        Value::Bool(b) => Ok(b),
        _ => Err(TranslateError::at(arg.line(), format!("{} is not True or False", name(arg)), "True or False")),
    }
}
