//! The `assure` binary: a thin command-line adapter over the library crates. It parses flags, reads
//! the clock and the terminal, calls the library, and prints; it holds no compliance logic.

mod catalog_cmd;
mod demo_cmd;
mod error;
mod evidence_cmd;
mod policy_cmd;
mod prompt;
mod report_cmd;
mod sample_cmd;
mod scope_cmd;
mod serve_cmd;
mod test_cmd;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_assess::{coverage, render};
use assure_project::init::Template;
use assure_project::{Severity, check};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::error::CliError;

/// Assure: get ready for SOC 1 and SOC 2 examinations and stay ready.
#[derive(Debug, Parser)]
#[command(name = "assure", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a complete starting project for a made-up company
    Init {
        /// The kind of company
        #[arg(long, short, value_enum, default_value_t = TemplateArg::Saas)]
        template: TemplateArg,
        /// Where to create the project (must not exist or be empty)
        dir: PathBuf,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Create the sample SaaS company with a year of synthetic evidence, import it, test it and assess it
    Demo(demo_cmd::DemoArgs),
    /// Write synthetic evidence exports (canonical CSV) for a project, for trials and benchmarks
    Synth(demo_cmd::SynthArgs),
    /// Load a project and report every problem at once
    Validate {
        /// The project directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Browse the criteria catalog and the SOC 1 objective library
    Catalog {
        #[command(subcommand)]
        command: catalog_cmd::CatalogCommand,
    },
    /// Collect evidence into the signed ledger; list, verify and export it
    Evidence {
        #[command(subcommand)]
        command: evidence_cmd::EvidenceCommand,
    },
    /// Decide which examinations the company needs (SOC 1, SOC 2, SOC 3; categories; type; period)
    Scope(Box<scope_cmd::ScopeArgs>),
    /// List, show and render the policies with their versions and history
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Draw a reproducible sample of a control's population, as an auditor would
    Sample(sample_cmd::SampleArgs),
    /// Run the control tests over the whole population of the audit window and record the run
    Test(test_cmd::TestArgs),
    /// Draft a report: SOC 2, SOC 1, SOC 3, readiness, bridge letter or control matrix (PDF, HTML, XLSX, OSCAL)
    Report(report_cmd::ReportArgs),
    /// Serve the web application and JSON API for a project (SQLite by default, or PostgreSQL)
    Serve(serve_cmd::ServeArgs),
    /// Assess readiness: controls per criterion, design status, scores, gaps and a remediation plan
    Gap {
        /// The project directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The date to assess as of (YYYY-MM-DD); defaults to today
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// The output format
        #[arg(long, value_enum, default_value_t = GapFormat::Text)]
        format: GapFormat,
        /// Write to this file instead of standard output
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TemplateArg {
    Saas,
    Payroll,
    Fintech,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GapFormat {
    Text,
    Md,
    Html,
    Json,
}

/// Parses a YYYY-MM-DD date argument.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date; write it as YYYY-MM-DD"))
}

/// Returns today's date; the only place the CLI reads the clock.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Init { template, dir, json } => cmd_init(template, &dir, json),
        Command::Validate { dir, json } => cmd_validate(&dir, json),
        Command::Demo(args) => demo_cmd::demo(args),
        Command::Synth(args) => demo_cmd::synth(args),
        Command::Catalog { command } => catalog_cmd::run(command),
        Command::Evidence { command } => evidence_cmd::run(command),
        Command::Scope(args) => scope_cmd::run(*args),
        Command::Test(args) => test_cmd::run(args),
        Command::Sample(args) => sample_cmd::run(args),
        Command::Policy { command } => policy_cmd::run(command),
        Command::Gap {
            dir,
            as_of,
            format,
            output,
        } => cmd_gap(&dir, as_of.unwrap_or_else(today), format, output.as_deref()),
        Command::Report(args) => report_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
    }
}

/// Writes `text` to standard output, treating a closed pipe as success.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!("cannot write output: {e}"))),
    }
}

pub fn cmd_init_quiet(dir: &Path) -> Result<(), CliError> {
    init_with_key(Template::Saas, dir).map(|_| ())
}

fn init_with_key(template: Template, dir: &Path) -> Result<assure_project::init::InitSummary, CliError> {
    Ok(assure_workspace::Workspace::new(dir).init(template)?)
}

fn cmd_init(template: TemplateArg, dir: &Path, json: bool) -> Result<ExitCode, CliError> {
    let template = match template {
        TemplateArg::Saas => Template::Saas,
        TemplateArg::Payroll => Template::Payroll,
        TemplateArg::Fintech => Template::Fintech,
    };
    // The ledger key is created with the project; its public half is pinned in assure.toml.
    let s = init_with_key(template, dir)?;
    if json {
        let v = serde_json::json!({
            "template": s.template.as_str(), "company": s.company, "dir": dir.display().to_string(),
            "controls": s.controls, "policies": s.policies, "tests": s.tests, "objectives": s.objectives, "files": s.files,
        });
        print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "Created {} ({} template) in {}\n  {} controls, {} policies, {} tests",
        s.company,
        s.template,
        dir.display(),
        s.controls,
        s.policies,
        s.tests
    );
    if s.objectives > 0 {
        text.push_str(&format!(", {} SOC 1 objectives", s.objectives));
    }
    text.push_str(&format!(
        "\nNext: `assure validate {0}`, `assure catalog coverage {0}`, `assure gap {0}`\n",
        dir.display()
    ));
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate(dir: &Path, json: bool) -> Result<ExitCode, CliError> {
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

fn cmd_gap(dir: &Path, as_of: NaiveDate, format: GapFormat, output: Option<&Path>) -> Result<ExitCode, CliError> {
    let a = report_cmd::gather(dir, as_of)?.assessment;
    let text = match format {
        GapFormat::Text => render::text(&a),
        GapFormat::Md => render::markdown(&a),
        GapFormat::Html => render::html(&a),
        GapFormat::Json => format!("{}\n", render::json(&a)),
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

/// Writes a file through a temporary file and a rename, so readers never see half of it.
pub fn write_atomically(path: &Path, text: impl AsRef<[u8]>) -> Result<(), CliError> {
    let tmp = path.with_extension(format!("assure-tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::failure(format!("cannot write `{}`: {e}", path.display())));
    }
    Ok(())
}

/// Prints the catalog coverage of a project.
pub fn cmd_coverage(dir: &Path, json: bool) -> Result<ExitCode, CliError> {
    let checked = check(dir)?;
    let c = coverage::coverage(&checked.project);
    if json {
        print(&format!("{}\n", serde_json::to_string_pretty(&c).unwrap_or_default()))?;
    } else {
        print(&coverage::text(&c))?;
    }
    Ok(ExitCode::SUCCESS)
}
