//! `assure validate`: load a project and report every problem at once.

use std::path::Path;
use std::process::ExitCode;

use assure_project::{Severity, check};

use crate::error::{self, CliError};
use crate::print;

/// Runs `assure validate` on the project in `dir`.
pub fn cmd_validate(dir: &Path, json: bool) -> Result<ExitCode, CliError> {
    let checked = check(dir)?;
    let errors = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = checked.diagnostics.len() - errors;
    if json {
        let v = serde_json::json!({
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": checked.diagnostics,
        });
        print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
    } else {
        let mut text = String::new();
        for d in &checked.diagnostics {
            text.push_str(&format!("{d}\n\n"));
        }
        let p = &checked.project;
        if errors == 0 {
            text.push_str(&format!(
                "{} is valid: {} controls, {} policies, {} tests, {} vendors, {} risks, {} people{}\n",
                dir.display(),
                p.controls.len(),
                p.policies.len(),
                p.tests.len(),
                p.vendors.len(),
                p.risks.len(),
                p.people.len(),
                if warnings > 0 {
                    format!(" ({warnings} warnings)")
                } else {
                    String::new()
                }
            ));
        } else {
            text.push_str(&format!(
                "{} has problems: {errors} errors, {warnings} warnings\n",
                dir.display()
            ));
        }
        print(&text)?;
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(error::PROBLEMS)
    })
}
