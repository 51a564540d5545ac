//! The `assure` binary: a thin command-line adapter over the application layer
//! (`assure-workspace`) and the library crates. It parses flags, reads the clock and the terminal,
//! calls the library, and prints; it holds no compliance logic. One file per command.
//!
//! The project directory is named the same way everywhere: `-p DIR` (or `--project DIR`), before or
//! after the subcommand, default `.`. Commands whose only argument is the project also take it as a
//! positional `DIR`, as before; naming two different directories is an error.

mod catalog_cmd;
mod demo_cmd;
mod error;
mod evidence_cmd;
mod gap_cmd;
mod init_cmd;
mod monitor_cmd;
mod period_cmd;
mod policy_cmd;
mod prompt;
mod questionnaire_cmd;
mod report_cmd;
mod risk_cmd;
mod sample_cmd;
mod scope_cmd;
mod serve_cmd;
mod test_cmd;
mod validate_cmd;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Assure: get ready for SOC 1 and SOC 2 examinations and stay ready.
#[derive(Debug, Parser)]
#[command(name = "assure", version, about, long_about = None)]
struct Cli {
    /// The project directory, for every command that reads one (default: the current directory)
    #[arg(long = "project", short = 'p', global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a complete starting project for a made-up company
    Init(init_cmd::InitArgs),
    /// Create the sample SaaS company with a year of synthetic evidence, import it, test it and assess it
    Demo(demo_cmd::DemoArgs),
    /// Write synthetic evidence exports (canonical CSV) for a project, for trials and benchmarks
    Synth(demo_cmd::SynthArgs),
    /// Load a project and report every problem at once
    Validate {
        /// The project directory (the same as `-p DIR`; default `.`)
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
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
    /// The risk register: heat maps, risks ranked by residual score, one risk with its controls
    Risk {
        #[command(subcommand)]
        command: risk_cmd::RiskCommand,
    },
    /// Draw a reproducible sample of a control's population, as an auditor would
    Sample(sample_cmd::SampleArgs),
    /// The compliance year: list, open, close and roll examination periods; compare them year over year
    Period {
        #[command(subcommand)]
        command: period_cmd::PeriodCommand,
    },
    /// Run the control tests over the whole population of the audit window and record the run
    Test(test_cmd::TestArgs),
    /// Watch the project: run the current period's tests incrementally, compare with the previous cycle and alert what is new (`--once` for cron)
    Monitor(monitor_cmd::MonitorArgs),
    /// Draft a report: SOC 2, SOC 1, SOC 3, readiness, bridge letter or control matrix (PDF, HTML, XLSX, OSCAL)
    Report(report_cmd::ReportArgs),
    /// Serve the web application and JSON API for a project (SQLite by default, or PostgreSQL)
    Serve(serve_cmd::ServeArgs),
    /// Security questionnaires: answer them from the project's state and the answer library, review, export
    Questionnaire {
        #[command(subcommand)]
        command: questionnaire_cmd::QuestionnaireCommand,
    },
    /// Assess readiness: controls per criterion, design status, scores, gaps and a remediation plan
    Gap(gap_cmd::GapArgs),
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

/// The project directory from `-p DIR` and a command's positional `DIR`: either, or `.`; both only
/// when they agree.
pub fn project_dir(flag: Option<PathBuf>, positional: Option<PathBuf>) -> Result<PathBuf, CliError> {
    match (flag, positional) {
        (Some(a), Some(b)) if a != b => Err(CliError::problems(format!(
            "the project is named twice: `-p {}` and `{}`",
            a.display(),
            b.display()
        ))
        .with_hint("name it once, with -p DIR or as the last argument")),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Ok(PathBuf::from(".")),
    }
}

fn main() -> ExitCode {
    // One line for a fault inside a library (a reader that fails on a malformed file is contained
    // and reported as a problem with that file; this line says where it failed), not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("internal fault{place}: {}", panic_message(info.payload()));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

/// Prints clap's error, and when an unexpected argument is a project directory (a command that
/// takes the project as `-p DIR` was given it positionally), the command line that works.
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let _ = e.print();
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && Path::new(arg).join("assure.toml").is_file()
    {
        let args: Vec<String> = std::env::args().skip(1).filter(|a| a != arg).collect();
        eprintln!(
            "  = hint: `{arg}` is a project: this command takes it as `-p {arg}`: `assure {} -p {arg}`",
            args.join(" ")
        );
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// Refuses `-p` on commands that create a directory rather than read a project.
fn no_project_flag(flag: &Option<PathBuf>, command: &str) -> Result<(), CliError> {
    match flag {
        Some(p) => Err(CliError::problems(format!(
            "`assure {command}` creates a new directory; `-p {}` names a project to read",
            p.display()
        ))
        .with_hint(format!(
            "pass the new directory as the last argument: `assure {command} DIR`"
        ))),
        None => Ok(()),
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let p = cli.project;
    match cli.command {
        Command::Init(args) => {
            no_project_flag(&p, "init")?;
            init_cmd::run(args)
        }
        Command::Demo(args) => {
            no_project_flag(&p, "demo")?;
            demo_cmd::demo(args)
        }
        Command::Synth(mut args) => {
            args.project = project_dir(p, None)?;
            demo_cmd::synth(args)
        }
        Command::Validate { dir, json } => validate_cmd::cmd_validate(&project_dir(p, dir)?, json),
        Command::Catalog { command } => catalog_cmd::run(command, p),
        Command::Evidence { command } => evidence_cmd::run(command, project_dir(p, None)?),
        Command::Scope(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            scope_cmd::run(*args, dir)
        }
        Command::Test(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            test_cmd::run(args, dir)
        }
        Command::Monitor(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            monitor_cmd::run(args, dir)
        }
        Command::Sample(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            sample_cmd::run(args, dir)
        }
        Command::Policy { command } => policy_cmd::run(command, project_dir(p, None)?),
        Command::Risk { command } => risk_cmd::run(command, &project_dir(p, None)?),
        Command::Period { command } => period_cmd::run(command, project_dir(p, None)?),
        Command::Questionnaire { command } => questionnaire_cmd::run(command, project_dir(p, None)?),
        Command::Gap(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            gap_cmd::run(args, dir)
        }
        Command::Report(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            report_cmd::run(args, dir)
        }
        Command::Serve(args) => {
            let dir = project_dir(p, args.dir.clone())?;
            serve_cmd::run(args, dir)
        }
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

/// Writes `value` to standard output as indented JSON and a newline, as it is serialised: a run of
/// a large company has millions of items, and building the text (or a JSON tree) first would hold
/// them twice.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failure(format!("cannot write output: {e}"))),
    }
}

/// Writes a file through a temporary file and a rename, so readers never see half of it.
/// A list for a terminal line: every item when there are at most `keep`, else the first `keep`
/// and how many more (`AC-01,AC-02,... and 40 more`); `--json` outputs carry the whole list.
pub fn summarize(items: &[String], keep: usize) -> String {
    if items.len() <= keep {
        return items.join(",");
    }
    format!("{},... and {} more", items[..keep].join(","), items.len() - keep)
}

pub fn write_atomically(path: &Path, text: impl AsRef<[u8]>) -> Result<(), CliError> {
    let tmp = path.with_extension(format!("assure-tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::failure(format!("cannot write `{}`: {e}", path.display())));
    }
    Ok(())
}
