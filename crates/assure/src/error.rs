//! Errors at the command-line edge: one typed error, [`CliError`], with one `From` per library
//! error that classifies it once into "the input has problems" (exit 1) or "Assure could not run"
//! (exit 2), with a hint where there is something to do. Commands use `?`; only errors that need a
//! sentence of context (which file, which flag) are built by hand.

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

    /// A failed file-system operation on `path` ("cannot create `reports`: ..."), for `map_err`.
    pub fn io<'a>(what: &'static str, path: &'a std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + 'a {
        move |e| CliError::failure(format!("cannot {what} `{}`: {e}", path.display()))
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

/// Reading or writing the evidence store failed: Assure could not run.
impl From<assure_evidence::store::StoreError> for CliError {
    fn from(e: assure_evidence::store::StoreError) -> CliError {
        CliError::failure(e.to_string())
    }
}

/// Writing a package failed; a ledger with unreadable lines is the user's to restore.
impl From<assure_evidence::package::PackageError> for CliError {
    fn from(e: assure_evidence::package::PackageError) -> CliError {
        use assure_evidence::package::PackageError;
        match e {
            PackageError::UnreadableLedger(_) => CliError::failure(e.to_string())
                .with_hint("run `assure evidence verify`; restore the ledger before exporting it"),
            PackageError::NotAPackage { .. } => CliError::problems(e.to_string()),
            _ => CliError::failure(e.to_string()),
        }
    }
}

/// A report cannot be drafted from this project: the project has problems.
impl From<assure_report::ReportError> for CliError {
    fn from(e: assure_report::ReportError) -> CliError {
        CliError::problems(e.to_string())
    }
}

/// OSCAL documents cannot be written from this project: the project has problems.
impl From<assure_oscal::OscalError> for CliError {
    fn from(e: assure_oscal::OscalError) -> CliError {
        CliError::problems(e.to_string())
    }
}

/// Laying out a PDF failed: Assure could not run.
impl From<assure_pdf::PdfError> for CliError {
    fn from(e: assure_pdf::PdfError) -> CliError {
        CliError::failure(e.to_string())
    }
}

/// Writing a workbook failed: Assure could not run.
impl From<assure_xlsx::XlsxWriteError> for CliError {
    fn from(e: assure_xlsx::XlsxWriteError) -> CliError {
        CliError::failure(e.to_string())
    }
}

/// The web application's database failed: Assure could not run.
impl From<assure_web::db::DbError> for CliError {
    fn from(e: assure_web::db::DbError) -> CliError {
        CliError::failure(e.to_string())
            .with_hint("check --database; PostgreSQL URLs look like postgres://USER@HOST:5432/DB")
    }
}
