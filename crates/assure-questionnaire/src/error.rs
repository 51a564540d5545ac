//! Errors: what went wrong, where (file, sheet, cell or row) and what to do.

use std::fmt;

/// A questionnaire that cannot be read, answered or written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QError {
    /// Where: the file, and the part, sheet, cell or row when known.
    pub place: String,
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub hint: String,
}

impl QError {
    /// An error at a place.
    pub fn new(place: &str, what: &str, hint: &str) -> QError {
        QError {
            place: place.to_string(),
            what: what.to_string(),
            hint: hint.to_string(),
        }
    }

    /// The same error, placed more precisely.
    pub fn at(mut self, inner: &str) -> QError {
        self.place = format!("{}: {inner}", self.place);
        self
    }
}

/// A TOML file that does not parse or has a wrong key: the file and line, the parser's message.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error, hint: &str) -> QError {
    let place = match e.span() {
        Some(s) => format!(
            "{file}, line {}",
            text[..s.start.min(text.len())].matches('\n').count() + 1
        ),
        None => file.to_string(),
    };
    QError::new(&place, e.message(), hint)
}

impl fmt::Display for QError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

impl std::error::Error for QError {}
