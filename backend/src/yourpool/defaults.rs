//! Each library's own defaults, read from the lab's library table (`lessons/libraries.toml`,
//! itself read from each library's source), so a snippet that leaves a setting out gets what that
//! library would do, and the numbers live in one place.
//!
//! The table is written for people ("30 s", "0: never", "none: waits forever", "max(4, number of
//! CPUs)"), so reading it takes a few rules: a default that starts with "none", "(no" or "same"
//! has no number of its own; a count is the first whole number in the text; a duration is the
//! first number and the unit after it (ms, s, min, h), and zero or less means never.

use poollab_shared::Libraries;

use super::Library;
use super::error::TranslateError;
use super::settings::Settings;

/// One library's defaults, as the table writes them.
#[derive(Debug, Clone)]
pub struct Defaults {
    library: Library,
    /// (knob id, default text) for every knob of the table.
    texts: Vec<(String, String)>,
}

impl Defaults {
    pub fn load(table: &Libraries, library: Library) -> Result<Self, TranslateError> {
        let name = library.name();
        let texts = table
            .knobs
            .iter()
            .map(|knob| {
                let entry = knob
                    .names
                    .iter()
                    .find(|n| n.library == name)
                    .ok_or_else(|| TranslateError::Table(format!("knob {} has no entry for {name}", knob.id)))?;
                Ok((knob.id.clone(), entry.default.clone()))
            })
            .collect::<Result<_, TranslateError>>()?;
        Ok(Defaults { library, texts })
    }

    fn text(&self, knob: &str) -> Result<&str, TranslateError> {
        self.texts
            .iter()
            .find(|(id, _)| id == knob)
            .map(|(_, text)| text.as_str())
            .ok_or_else(|| TranslateError::Table(format!("no knob {knob} for {}", self.library.name())))
    }

    fn unreadable(&self, knob: &str, text: &str, what: &str) -> TranslateError {
        TranslateError::Table(format!("{}'s default for {knob} ({text:?}) is not {what}", self.library.name()))
    }

    /// A count (`None`: the library has no number of its own for it).
    /// A library's settings as its table gives them, with `max` and `min` as the caller read them
    /// (each library defaults those its own way): the waits, the lifetime and the check are the
    /// table's defaults, for the snippet's own values to replace.
    pub fn settings(&self, max: u64, min: u64) -> Result<Settings, TranslateError> {
        Ok(Settings {
            max,
            min,
            acquire_timeout_ms: self.duration_ms("acquire-timeout")?,
            idle_timeout_ms: self.duration_ms("idle-timeout")?,
            max_lifetime_ms: self.duration_ms("max-lifetime")?,
            test_before_acquire: self.flag("test-before-acquire")?,
            leak_detect_ms: None,
        })
    }

    pub fn count(&self, knob: &str) -> Result<Option<u64>, TranslateError> {
        let text = self.text(knob)?;
        if no_number(text) {
            return Ok(None);
        }
        self.counts(knob)?.first().copied().map(Some).ok_or_else(|| self.unreadable(knob, text, "a count"))
    }

    /// Every whole number in the default, in order ("5 + 10 = 15": 5, 10, 15).
    pub fn counts(&self, knob: &str) -> Result<Vec<u64>, TranslateError> {
        let text = self.text(knob)?;
        Ok(text
            .split(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|w| !w.is_empty() && !w.contains('.'))
            .filter_map(|w| w.parse().ok())
            .collect())
    }

    /// A duration in milliseconds (`None`: waits forever, or never).
    pub fn duration_ms(&self, knob: &str) -> Result<Option<u64>, TranslateError> {
        let text = self.text(knob)?;
        if no_number(text) {
            return Ok(None);
        }
        let mut words = text.split(|c: char| c.is_whitespace() || c == ':').filter(|w| !w.is_empty());
        let number: f64 =
            words.next().and_then(|w| w.parse().ok()).ok_or_else(|| self.unreadable(knob, text, "a duration"))?;
        if number <= 0.0 {
            return Ok(None);
        }
        let unit_ms = match words.next() {
            Some("ms") => 1.0,
            Some("s") => 1_000.0,
            Some("min") => 60_000.0,
            Some("h") => 3_600_000.0,
            _ => return Err(self.unreadable(knob, text, "a duration with a unit (ms, s, min, h)")),
        };
        Ok(Some((number * unit_ms).round() as u64))
    }

    /// A yes or no: "none", "false" and "no" are no; "true", "always" and "pings" are yes.
    pub fn flag(&self, knob: &str) -> Result<bool, TranslateError> {
        let text = self.text(knob)?;
        let first = text.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("").to_ascii_lowercase();
        match first.as_str() {
            "none" | "false" | "no" => Ok(false),
            "true" | "always" | "pings" => Ok(true),
            _ => Err(self.unreadable(knob, text, "a yes or no")),
        }
    }
}

fn no_number(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("none") || lower.starts_with("(no") || lower.starts_with("same")
}
