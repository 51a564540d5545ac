//! The project crate's one integration-test binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

mod garbage;
mod templates;
mod validation;

use std::path::Path;

/// Renders validation output the way `assure validate` prints it, for snapshots.
pub fn render(diags: &[assure_project::Diagnostic]) -> String {
    diags.iter().map(|d| format!("{d}\n")).collect()
}

/// Writes `files` under `root`.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}
