//! Diagnostics: what is wrong with a project, where, and what to do about it.

use std::fmt;

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The project cannot be audited as it stands.
    Error,
    /// Worth fixing; does not fail validation.
    Warning,
}

/// One problem found in a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// A stable kebab-case code, one per kind of problem.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The file, relative to the project root, with `/` separators.
    pub file: String,
    /// The 1-based line, where the format has one.
    pub line: Option<u32>,
    /// What is wrong: lowercase, no trailing period, user values in backticks.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// Creates an error.
    pub fn error(code: &'static str, file: &str, line: Option<u32>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            file: file.to_string(),
            line,
            message: message.into(),
            hint: None,
        }
    }

    /// Creates a warning.
    pub fn warning(code: &'static str, file: &str, line: Option<u32>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, line, message)
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Returns `file:line`, or the file alone.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{level}[{}]: {}", self.code, self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics into a stable order: by file, line, code and message.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.code, a.message.as_str()).cmp(&(
            b.file.as_str(),
            b.line,
            b.code,
            b.message.as_str(),
        ))
    });
}
