//! Errors at the command-line edge: each library error is classified into "the project has
//! problems" (exit 1) or "could not run" (exit 2), with a hint.

use std::process::ExitCode;

/// Exit code when the project or the answers have problems.
pub const PROBLEMS: u8 = 1;
/// Exit code when Assure could not run (bad usage, unreadable files).
pub const FAILURE: u8 = 2;

/// An error the CLI reports and exits on.
#[derive(Debug)]
pub struct CliError {
    problems: bool,
    message: String,
    hint: Option<String>,
}

impl CliError {
    /// Assure could not run.
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError {
            problems: false,
            message: message.into(),
            hint: None,
        }
    }

    /// The input has problems the user must fix.
    pub fn problems(message: impl Into<String>) -> CliError {
        CliError {
            problems: true,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// The message and hint as one line, for the web application.
    pub fn text(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} ({h})", self.message),
            None => self.message.clone(),
        }
    }

    /// Whether the input (not Assure) is at fault.
    pub fn is_problem(&self) -> bool {
        self.problems
    }

    /// Prints the error and returns the exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {}", self.message);
        if let Some(h) = &self.hint {
            eprintln!("  = hint: {h}");
        }
        ExitCode::from(if self.problems { PROBLEMS } else { FAILURE })
    }
}

impl From<assure_project::LoadError> for CliError {
    fn from(e: assure_project::LoadError) -> CliError {
        let hint = match &e {
            assure_project::LoadError::NotAProject(_) => {
                Some("pass the project directory, or create one with `assure init DIR`")
            }
            _ => None,
        };
        let err = CliError::failure(e.to_string());
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

impl From<assure_project::init::InitError> for CliError {
    fn from(e: assure_project::init::InitError) -> CliError {
        let hint = match &e {
            assure_project::init::InitError::Exists(_) => Some("choose a new directory name"),
            _ => None,
        };
        let err = CliError::failure(e.to_string());
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

impl From<assure_project::edit::EditError> for CliError {
    fn from(e: assure_project::edit::EditError) -> CliError {
        CliError::problems(e.to_string())
            .with_hint("fix `assure.toml` with `assure validate`, then run `assure scope` again")
    }
}

impl From<assure_workspace::WorkspaceError> for CliError {
    fn from(e: assure_workspace::WorkspaceError) -> CliError {
        for d in e.details() {
            eprint!("{d}\n\n");
        }
        let err = if e.is_problem() {
            CliError::problems(e.to_string())
        } else {
            CliError::failure(e.to_string())
        };
        match e.hint() {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}
