//! What can go wrong in the application layer, as kinds a front end maps to an exit code or an
//! HTTP status: the user's input or project is at fault ([`WorkspaceError::is_problem`]), or Assure
//! could not do it (disk, store).

use std::path::PathBuf;

use assure_evidence::store::StoreError;

/// An application-layer error, with what to do about it ([`WorkspaceError::hint`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// The directory is not a project, or a project file could not be opened at all.
    #[error(transparent)]
    Load(#[from] assure_project::LoadError),
    /// A project could not be created.
    #[error(transparent)]
    Init(#[from] assure_project::init::InitError),
    /// Project files could not be read, so anything computed from them would be incomplete.
    #[error("{} project file(s) could not be read, so the assessment would be incomplete", diagnostics.len())]
    Unreadable {
        /// The project directory.
        dir: PathBuf,
        /// Each file's diagnostic, as printed by `assure validate`.
        diagnostics: Vec<String>,
    },
    /// `assure.toml` could not be read.
    #[error("`assure.toml` could not be read")]
    NoManifest {
        /// The project directory.
        dir: PathBuf,
    },
    /// Nothing has been recorded, so there is no signing key yet.
    #[error("this project has no evidence key yet")]
    NoKey,
    /// The key on disk is not the key pinned in `assure.toml`.
    #[error("the signing key in `.assure/keys/ledger.key` is not the key pinned in `assure.toml`")]
    KeyMismatch,
    /// The pinned key is not a key.
    #[error("the public key pinned in `assure.toml`: {0}")]
    BadPinnedKey(assure_ledger::KeyError),
    /// The input was refused; the message says what.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// The evidence store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing a package failed.
    #[error(transparent)]
    Package(#[from] assure_evidence::package::PackageError),
    /// Pinning the key in `assure.toml` failed.
    #[error(transparent)]
    Edit(#[from] assure_project::edit::EditError),
    /// A file could not be read or written.
    #[error("cannot {what} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The operating system's random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    /// Running the tests failed.
    #[error("the test run failed: {0}")]
    Run(String),
}

impl WorkspaceError {
    /// An input problem with a hint.
    pub fn invalid(message: impl Into<String>, hint: Option<&str>) -> WorkspaceError {
        WorkspaceError::Invalid {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// Whether the input or the project (not Assure) is at fault.
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            WorkspaceError::Unreadable { .. }
                | WorkspaceError::NoManifest { .. }
                | WorkspaceError::NoKey
                | WorkspaceError::KeyMismatch
                | WorkspaceError::BadPinnedKey(_)
                | WorkspaceError::Invalid { .. }
                | WorkspaceError::Edit(_)
        )
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            WorkspaceError::Load(assure_project::LoadError::NotAProject(_)) => {
                Some("pass the project directory, or create one with `assure init DIR`".into())
            }
            WorkspaceError::Init(assure_project::init::InitError::Exists(_)) => {
                Some("choose a new directory name".into())
            }
            WorkspaceError::Unreadable { dir, .. } => Some(format!(
                "run `assure validate {}` and fix the files first",
                dir.display()
            )),
            WorkspaceError::NoManifest { dir } => Some(format!("run `assure validate {}`", dir.display())),
            WorkspaceError::NoKey => Some("import or add evidence first; the key is created then".into()),
            WorkspaceError::KeyMismatch => Some(
                "restore the original key file; a different key would make every new entry unverifiable against the pinned one"
                    .into(),
            ),
            WorkspaceError::Edit(_) => {
                Some("fix `assure.toml` with `assure validate`, then run the command again".into())
            }
            WorkspaceError::Invalid { hint, .. } => hint.clone(),
            _ => None,
        }
    }

    /// The details a terminal prints before the error (each unreadable file's diagnostic).
    pub fn details(&self) -> &[String] {
        match self {
            WorkspaceError::Unreadable { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// The message and hint as one line (for the web application).
    pub fn text(&self) -> String {
        match self.hint() {
            Some(h) => format!("{self} ({h})"),
            None => self.to_string(),
        }
    }
}
