//! `assure report`: drafts as PDF, HTML, XLSX or OSCAL, from the same library calls as `gap`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use assure_report::{Inputs, doc::Document};
use assure_workspace::{Snapshot, Workspace};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use crate::error::CliError;
use crate::{parse_date, today, write_atomically};

/// The kinds of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    /// SOC 2 Type 1 or Type 2 draft, Sections I to V
    Soc2,
    /// SOC 1 draft with the company's control objectives
    Soc1,
    /// SOC 3 general-use summary
    Soc3,
    /// The readiness (gap) report
    Readiness,
    /// A bridge letter from the period's end to --to
    Bridge,
    /// The control matrix, request list and per-test populations
    Matrix,
}

impl ReportKind {
    /// The kind's name in file names.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Soc2 => "soc2",
            ReportKind::Soc1 => "soc1",
            ReportKind::Soc3 => "soc3",
            ReportKind::Readiness => "readiness",
            ReportKind::Bridge => "bridge",
            ReportKind::Matrix => "matrix",
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// PDF, laid out in-process with fonts embedded
    Pdf,
    /// One self-contained HTML page
    Html,
    /// An Excel workbook (the control matrix)
    Xlsx,
    /// OSCAL 1.1 JSON documents (catalog, component definition, SSP, assessment results) into a directory
    Oscal,
    /// A Word document (DOCX), from the same document model, for auditors who edit in Word
    Docx,
    /// The document model as JSON
    Json,
}

impl ReportFormat {
    /// The format's file extension.
    pub fn ext(self) -> &'static str {
        match self {
            ReportFormat::Pdf => "pdf",
            ReportFormat::Html => "html",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Oscal => "oscal",
            ReportFormat::Json => "json",
            ReportFormat::Docx => "docx",
        }
    }
}

/// Arguments of `assure report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report
    #[arg(value_enum)]
    pub kind: ReportKind,
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The output format (default: from the -o file's extension, else xlsx for the matrix and pdf otherwise)
    #[arg(long, short, value_enum)]
    pub format: Option<ReportFormat>,
    /// Where to write (a directory for OSCAL); default: reports/KIND.EXT in the project
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The as-of date (YYYY-MM-DD); defaults to today
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// For a bridge letter: the last day it covers (YYYY-MM-DD)
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    /// The examination period, by name (default: the current period; for a bridge letter, the
    /// latest period that ended before --to). A closed period prints the reports frozen at its close.
    #[arg(long)]
    pub period: Option<String>,
}

/// Builds the snapshot every report and the gap analysis are computed from (one read of the
/// ledger), refusing projects whose files cannot be read; says so on standard error when the
/// project has validation errors, and lists what in the ledger could not be read.
pub fn gather(dir: &Path, as_of: NaiveDate, period: Option<&str>) -> Result<Snapshot, CliError> {
    let ws = Workspace::new(dir).with_period(period.map(str::to_string));
    let snap = ws.snapshot(as_of)?;
    if let Some(p) = ws.period_of(&snap.project)? {
        eprintln!("period {}", p.describe());
    }
    if snap.errors > 0 {
        eprintln!(
            "note: `assure validate` reports {} error(s); the gaps below include them where they affect readiness",
            snap.errors
        );
    }
    warn_problems(&snap.problems);
    Ok(snap)
}

/// Prints what could not be read from the ledger, as warnings.
pub fn warn_problems(problems: &[String]) {
    for p in problems {
        eprintln!("warning: {p}");
    }
    if !problems.is_empty() {
        eprintln!("  = hint: run `assure evidence verify`; what could not be read is left out of these results");
    }
}

fn document(kind: ReportKind, inp: &Inputs<'_>, to: Option<NaiveDate>) -> Result<Document, CliError> {
    let r = match kind {
        ReportKind::Soc2 => assure_report::soc2(inp),
        ReportKind::Soc1 => assure_report::soc1(inp),
        ReportKind::Soc3 => assure_report::soc3(inp),
        ReportKind::Readiness => assure_report::readiness(inp),
        ReportKind::Bridge => {
            let Some(to) = to else {
                return Err(CliError::problems("a bridge letter needs the last day it covers")
                    .with_hint("add --to YYYY-MM-DD (for example the user entity's year end)"));
            };
            assure_report::bridge(inp, to)
        }
        ReportKind::Matrix => {
            let m = assure_report::matrix::matrix(inp);
            Ok(assure_report::matrix::document(&m, inp))
        }
    };
    Ok(r?)
}

/// Runs `assure report`.
/// Runs the command on the project in `dir` (resolved from `-p` or the positional DIR).
pub fn run(args: ReportArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    let as_of = args.as_of.unwrap_or_else(today);
    // Without --format, the output file's extension decides; then the kind's usual format.
    let from_ext = args
        .output
        .as_ref()
        .and_then(|o| o.extension())
        .and_then(|e| e.to_str())
        .and_then(|e| match e.to_ascii_lowercase().as_str() {
            "pdf" => Some(ReportFormat::Pdf),
            "html" | "htm" => Some(ReportFormat::Html),
            "xlsx" => Some(ReportFormat::Xlsx),
            "json" => Some(ReportFormat::Json),
            "docx" => Some(ReportFormat::Docx),
            _ => None,
        });
    let format = args.format.or(from_ext).unwrap_or(if args.kind == ReportKind::Matrix {
        ReportFormat::Xlsx
    } else {
        ReportFormat::Pdf
    });
    let out = args.output.clone().unwrap_or_else(|| {
        let name = if format == ReportFormat::Oscal {
            "oscal".to_string()
        } else {
            format!("{}.{}", args.kind.name(), format.ext())
        };
        dir.join("reports").join(name)
    });
    let period = match (&args.period, args.kind, args.to) {
        (Some(p), _, _) => Some(p.clone()),
        // A bridge letter follows the latest period that had ended by the day it runs to.
        (None, ReportKind::Bridge, Some(to)) => Workspace::new(&dir)
            .periods()?
            .into_iter()
            .rfind(|p| p.end < to)
            .map(|p| p.name),
        _ => None,
    };
    if args.kind != ReportKind::Bridge
        && let Some(name) = &period
        && let Some(code) = frozen(&dir, name, args.kind, format, &out)?
    {
        return Ok(code);
    }
    let g = gather(&dir, as_of, period.as_deref())?;
    // A report on the period prints that period's results only; a bridge letter looks at a run of
    // the days after the period instead.
    let inp = if args.kind == ReportKind::Bridge {
        g.bridge_inputs()
    } else {
        let (inp, warning) = g.period_inputs();
        if let Some(w) = warning {
            eprintln!("warning: {w}");
        }
        inp
    };
    let started = Instant::now();
    let summary = write_report(args.kind, format, &inp, args.to, &out)?;
    eprintln!(
        "wrote {} ({summary}) in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes one report in one format; returns a short summary for the terminal.
pub fn write_report(
    kind: ReportKind,
    format: ReportFormat,
    inp: &Inputs<'_>,
    to: Option<NaiveDate>,
    out: &Path,
) -> Result<String, CliError> {
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(CliError::io("create", parent))?;
    }
    match format {
        ReportFormat::Xlsx => {
            if !matches!(kind, ReportKind::Matrix | ReportKind::Soc2 | ReportKind::Soc1) {
                return Err(
                    CliError::problems(format!("the {} report has no XLSX form", kind.name()))
                        .with_hint("use --format pdf or html; the workbook is `assure report matrix --format xlsx`"),
                );
            }
            let m = assure_report::matrix::matrix(inp);
            let bytes = assure_xlsx::write(&m)?;
            write_atomically(out, &bytes)?;
            Ok(format!("{} sheets, {} bytes", m.sheets.len(), bytes.len()))
        }
        ReportFormat::Oscal => {
            let framework = match kind {
                ReportKind::Soc2 | ReportKind::Matrix => assure_oscal::Framework::Soc2,
                ReportKind::Soc1 => assure_oscal::Framework::Soc1,
                _ => {
                    return Err(
                        CliError::problems(format!("the {} report has no OSCAL form", kind.name()))
                            .with_hint("OSCAL documents come from `assure report soc2 --format oscal` or `soc1`"),
                    );
                }
            };
            let mut docs = assure_oscal::documents(inp, framework)?;
            // Each other framework the project names: its catalog, a profile and, beside the SOC 2
            // catalog, Assure's crosswalk to the criteria in scope as an OSCAL mapping collection.
            if framework == assure_oscal::Framework::Soc2 {
                for fw in &inp.project.manifest.scope.frameworks {
                    docs.extend(assure_oscal::framework_documents(inp, fw.as_str())?);
                }
            }
            std::fs::create_dir_all(out).map_err(CliError::io("create", out))?;
            for (name, value) in &docs {
                let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
                write_atomically(&out.join(name), text.as_bytes())?;
            }
            Ok(docs
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
                .to_string())
        }
        ReportFormat::Pdf | ReportFormat::Html | ReportFormat::Json | ReportFormat::Docx => {
            let (bytes, summary) = render(kind, format, inp, to)?;
            write_atomically(out, &bytes)?;
            Ok(summary)
        }
    }
}

/// Renders one report as PDF, HTML or the document model's JSON (or the matrix as XLSX): the
/// bytes and a short summary. What `assure report` writes and what closing a period freezes.
pub fn render(
    kind: ReportKind,
    format: ReportFormat,
    inp: &Inputs<'_>,
    to: Option<NaiveDate>,
) -> Result<(Vec<u8>, String), CliError> {
    if format == ReportFormat::Xlsx {
        let m = assure_report::matrix::matrix(inp);
        let bytes = assure_xlsx::write(&m)?;
        let summary = format!("{} sheets, {} bytes", m.sheets.len(), bytes.len());
        return Ok((bytes, summary));
    }
    let d = document(kind, inp, to)?;
    let missing = d.missing.len();
    let note = if missing > 0 {
        format!("; {missing} required element(s) missing, listed on the cover")
    } else {
        String::new()
    };
    Ok(match format {
        ReportFormat::Pdf => {
            let ident = format!("assure/{}/{}/{}", d.organization, d.kind, d.as_of);
            let r = assure_pdf::render(&d, &ident)?;
            (r.bytes, format!("{} pages{note}", r.pages))
        }
        ReportFormat::Html => (assure_report::doc::html(&d).into_bytes(), format!("HTML{note}")),
        ReportFormat::Docx => {
            let bytes = assure_docx::write(&d).map_err(|e| CliError::failure(e.to_string()))?;
            let n = bytes.len();
            (bytes, format!("Word document, {n} bytes{note}"))
        }
        _ => (
            (serde_json::to_string_pretty(&d).unwrap_or_default() + "\n").into_bytes(),
            format!("JSON{note}"),
        ),
    })
}

/// For a closed period, writes the report frozen at its close and returns `Some`; `None` when the
/// period is not closed (the report is drafted as usual). A closed period's report in a form that
/// was not frozen is refused: drafting it now could print something the issued report did not.
fn frozen(
    dir: &Path,
    name: &str,
    kind: ReportKind,
    format: ReportFormat,
    out: &Path,
) -> Result<Option<ExitCode>, CliError> {
    let ws = Workspace::new(dir);
    let period = ws
        .periods()?
        .into_iter()
        .find(|p| p.name == name.trim())
        .ok_or_else(|| {
            CliError::problems(format!("no period is named `{name}`"))
                .with_hint("run `assure period list` to see the project's periods")
        })?;
    if !period.is_closed() {
        return Ok(None);
    }
    let file = format!("{}.{}", kind.name(), format.ext());
    let frozen = ws.frozen(&period)?;
    let Some(f) = frozen.get(&file) else {
        let have: Vec<&str> = frozen.keys().map(String::as_str).collect();
        return Err(CliError::problems(format!(
            "period {} is closed and its {file} was not frozen when it closed",
            period.describe()
        ))
        .with_hint(if have.is_empty() {
            "it was closed without reports; a closed period's results are not drafted again".to_string()
        } else {
            format!("frozen at its close: {}", have.join(", "))
        }));
    };
    let bytes = ws.blob(&f.blake3)?;
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(CliError::io("create", parent))?;
    }
    write_atomically(out, &bytes)?;
    eprintln!("period {}", period.describe());
    eprintln!(
        "wrote {} as frozen when the period closed (ledger entry {}, SHA-256 {})",
        out.display(),
        f.seq,
        f.sha256
    );
    Ok(Some(ExitCode::SUCCESS))
}
