//! What goes wrong reading a snippet: each error names the line (from 1) and what was expected
//! there, so the page can point at it.

/// A snippet the lab cannot read, or a library it does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("unknown library {0:?}")]
    UnknownLibrary(String),
    /// The snippet does not parse, or a pool setting in it has a value the library would refuse.
    #[error("line {line}: {problem}")]
    Snippet { line: usize, problem: String, expected: String },
    /// `lessons/libraries.toml` has a default the translator cannot read (a bug in the lab).
    #[error("lessons/libraries.toml: {0}")]
    Table(String),
}

impl TranslateError {
    pub fn at(line: usize, problem: impl Into<String>, expected: impl Into<String>) -> Self {
        TranslateError::Snippet { line: line.max(1), problem: problem.into(), expected: expected.into() }
    }

    /// The line the error is on, counted from 1 (none: not about one line).
    pub fn line(&self) -> Option<usize> {
        match self {
            TranslateError::Snippet { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// What the lab expected instead.
    pub fn expected(&self) -> Option<String> {
        match self {
            TranslateError::Snippet { expected, .. } => Some(expected.clone()),
            TranslateError::UnknownLibrary(_) => Some(format!("one of {}", super::Library::NAMES.join(", "))),
            TranslateError::Table(_) => None,
        }
    }

    /// Whether the fault is the lab's own (its library table), not the snippet's.
    pub fn is_internal(&self) -> bool {
        matches!(self, TranslateError::Table(_))
    }
}
