//! `assure gap`: assess readiness (controls per criterion, design status, scores, gaps, a plan).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_assess::render;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use crate::error::CliError;
use crate::{parse_date, print, write_atomically};

/// Output formats of the gap analysis.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GapFormat {
    /// Plain text
    Text,
    /// Markdown
    Md,
    /// One self-contained HTML page
    Html,
    /// JSON
    Json,
    /// A workbook (with `--framework` only; needs `-o FILE`): the framework's crosswalk sheet, and
    /// for ISO 27001 a draft Statement of Applicability
    Xlsx,
}

/// Arguments of `assure gap`.
#[derive(Debug, Args)]
pub struct GapArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The date to assess as of (YYYY-MM-DD); defaults to today
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// The output format
    #[arg(long, value_enum, default_value_t = GapFormat::Text)]
    pub format: GapFormat,
    /// Write to this file instead of standard output
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The examination period, by name (default: the current period)
    #[arg(long)]
    pub period: Option<String>,
    /// Readiness against another framework through Assure's crosswalk instead (iso27001, hipaa,
    /// gdpr, ccpa, sox-itgc, nist-csf): each requirement's status and what a SOC 2 leaves to show
    #[arg(long)]
    pub framework: Option<String>,
}

/// Runs `assure gap` on the project in `dir`.
pub fn run(args: GapArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    cmd_gap(
        &dir,
        args.as_of.unwrap_or_else(crate::today),
        args.format,
        args.output.as_deref(),
        args.period.as_deref(),
        args.framework.as_deref(),
    )
}

fn cmd_gap(
    dir: &Path,
    as_of: NaiveDate,
    format: GapFormat,
    output: Option<&Path>,
    period: Option<&str>,
    framework: Option<&str>,
) -> Result<ExitCode, CliError> {
    let gathered = crate::report_cmd::gather(dir, as_of, period)?;
    let a = &gathered.assessment;
    if let Some(fw) = framework {
        let fa = assure_assess::framework::assess(&gathered.project, a, fw).ok_or_else(|| {
            CliError::failure(format!("unknown framework `{fw}`")).with_hint(
                "frameworks are iso27001, hipaa, gdpr, ccpa, sox-itgc and nist-csf (`assure catalog list --framework`)",
            )
        })?;
        let org = &a.organization;
        let text = match format {
            GapFormat::Text => assure_assess::framework::text(&fa, org, a.as_of),
            GapFormat::Md => assure_assess::framework::markdown(&fa, org, a.as_of),
            GapFormat::Html => assure_assess::framework::html(&fa, org, a.as_of),
            GapFormat::Json => format!("{}\n", serde_json::to_string_pretty(&fa).unwrap_or_default()),
            GapFormat::Xlsx => {
                let Some(path) = output else {
                    return Err(
                        CliError::problems("a workbook is not written to the terminal").with_hint("add -o FILE.xlsx")
                    );
                };
                let inp = gathered.inputs();
                let m = assure_report::matrix::framework_workbook(&inp, fw)
                    .ok_or_else(|| CliError::failure(format!("unknown framework `{fw}`")))?;
                let bytes = assure_xlsx::write(&m)?;
                write_atomically(path, &bytes)?;
                eprintln!(
                    "wrote {} ({}; readiness against {} {:.1}%, {} requirement(s) a SOC 2 does not cover)",
                    path.display(),
                    m.sheets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
                    fa.name,
                    fa.readiness * 100.0,
                    fa.delta.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
        };
        match output {
            Some(path) => {
                write_atomically(path, &text)?;
                eprintln!(
                    "wrote {} (readiness against {} {:.1}%, {} requirement(s) a SOC 2 does not cover)",
                    path.display(),
                    fa.name,
                    fa.readiness * 100.0,
                    fa.delta.len()
                );
            }
            None => print(&text)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let text = match format {
        GapFormat::Text => render::text(a),
        GapFormat::Md => render::markdown(a),
        GapFormat::Html => render::html(a),
        GapFormat::Json => format!("{}\n", render::json(a)),
        GapFormat::Xlsx => {
            return Err(
                CliError::problems("the gap analysis has no XLSX form; a framework's gaps do")
                    .with_hint("add --framework NAME (for example iso27001 for the Statement of Applicability), or use `assure report matrix --format xlsx`"),
            );
        }
    };
    match output {
        Some(path) => {
            write_atomically(path, &text)?;
            eprintln!(
                "wrote {} (overall readiness {:.1}%)",
                path.display(),
                a.overall.value * 100.0
            );
        }
        None => print(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
