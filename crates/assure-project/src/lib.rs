//! The compliance project format: one directory under git holding `assure.toml` (organization,
//! services, system, scope, subservice organizations, user entity controls), `people.toml`,
//! `objectives.toml`, and the folders `controls/`, `policies/`, `tests/`, `vendors/` and `risks/`.
//!
//! `load` is the only part that touches the disk when reading; `validate` is pure; `init` writes a
//! new project from the built-in templates.

#![warn(missing_docs)]

pub mod diag;
pub mod edit;
pub mod init;
pub mod load;
pub mod model;
pub mod monitoring;
pub mod period;
pub mod presets;
pub mod validate;

use std::path::Path;

pub use diag::{Diagnostic, Severity};
pub use load::LoadError;
pub use model::Project;

/// A loaded project and every problem found in it, in a stable order.
#[derive(Debug)]
pub struct Checked {
    /// The project, with the files that could not be read left out.
    pub project: Project,
    /// Every problem, sorted by file, line and code.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Returns whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Loads and validates the project at `root`.
pub fn check(root: &Path) -> Result<Checked, LoadError> {
    let (project, mut diagnostics) = load::load(root)?;
    diagnostics.extend(validate::validate(&project));
    diag::sort(&mut diagnostics);
    Ok(Checked { project, diagnostics })
}
