//! `assure period`: the compliance year. List, open, close and roll examination periods, and
//! compare their results year over year.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_project::model::{ExamType, ReportKind as Scoped};
use assure_project::period::Period;
use assure_workspace::Workspace;
use assure_workspace::period::Frozen;
use chrono::NaiveDate;
use clap::Subcommand;

use crate::error::CliError;
use crate::report_cmd::{ReportFormat, ReportKind};
use crate::{parse_date, print, today, write_atomically};

/// What `assure period` does.
#[derive(Debug, Subcommand)]
pub enum PeriodCommand {
    /// List the examination periods, oldest first, and which one is current
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Add a period and make it the open one (the period open until now moves to fieldwork)
    Open {
        /// Its name (`2027`, `FY2027`)
        name: String,
        /// Its first day (YYYY-MM-DD)
        #[arg(long, value_parser = parse_date)]
        start: NaiveDate,
        /// Its last day (YYYY-MM-DD); for Type 1, the examination date
        #[arg(long, value_parser = parse_date)]
        end: NaiveDate,
        /// Type 1 or 2 (default: the current period's)
        #[arg(long = "type", value_parser = clap::value_parser!(u8).range(1..=2))]
        exam_type: Option<u8>,
        /// The reports, comma-separated: soc1, soc2, soc3 (default: the current period's)
        #[arg(long, value_delimiter = ',')]
        reports: Vec<String>,
    },
    /// Close a period (default: the current one): freeze its reports in the ledger; nothing more is
    /// recorded for it, and its reports print byte for byte as frozen from then on
    Close {
        /// The period's name (default: the current period)
        name: Option<String>,
        /// The closing date, which the frozen reports are drafted as of (default: today)
        #[arg(long, value_parser = parse_date)]
        on: Option<NaiveDate>,
        /// The day the auditor issued the report
        #[arg(long, value_parser = parse_date)]
        issued_on: Option<NaiveDate>,
        /// Who closes it (defaults to $ASSURE_USER, else $USER)
        #[arg(long)]
        by: Option<String>,
    },
    /// Close the current period and open the next: the day after it ends, as long, with the same
    /// reports and type unless changed. Controls, policies, people, vendors and risks carry on;
    /// runs, samples and occurrence slots start afresh for the new period
    Roll {
        /// The closing date (default: today)
        #[arg(long, value_parser = parse_date)]
        on: Option<NaiveDate>,
        /// The day the auditor issued the closed period's report
        #[arg(long, value_parser = parse_date)]
        issued_on: Option<NaiveDate>,
        /// The next period's name (default: the current name's number plus one)
        #[arg(long)]
        name: Option<String>,
        /// The next period's first day (default: the day after the current one ends)
        #[arg(long, value_parser = parse_date)]
        start: Option<NaiveDate>,
        /// The next period's last day (default: as long as the current one)
        #[arg(long, value_parser = parse_date)]
        end: Option<NaiveDate>,
        /// The next period's type (default: the current one's)
        #[arg(long = "type", value_parser = clap::value_parser!(u8).range(1..=2))]
        exam_type: Option<u8>,
        /// The next period's reports, comma-separated (default: the current one's)
        #[arg(long, value_delimiter = ',')]
        reports: Vec<String>,
        /// Who rolls it (defaults to $ASSURE_USER, else $USER)
        #[arg(long)]
        by: Option<String>,
    },
    /// Every period's results side by side: per test and per control the population, exceptions and
    /// conclusion of its latest run, and readiness
    Compare {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
        /// Write the comparison as a workbook (XLSX) to this file
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Assess open periods as of this date (default: today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
    },
}

/// Runs `assure period` on the project in `dir`.
pub fn run(command: PeriodCommand, dir: PathBuf) -> Result<ExitCode, CliError> {
    let ws = Workspace::new(&dir);
    match command {
        PeriodCommand::List { json } => {
            let opened = ws.open_read()?;
            let periods = opened.project.periods();
            let current = opened.project.current_period();
            if json {
                let v = serde_json::json!({
                    "current": current.as_ref().map(|p| p.name.clone()),
                    "periods": periods,
                });
                return print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))
                    .map(|()| ExitCode::SUCCESS);
            }
            if periods.is_empty() {
                print(
                    "The project has no examination period; set `period_start` and `period_end` (or `as_of`) in `[scope]`, or run `assure period open`.\n",
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = String::new();
            for p in &periods {
                let mark = if current.as_ref().is_some_and(|c| c.name == p.name) {
                    "*"
                } else {
                    " "
                };
                let reports: Vec<&str> = p.reports.iter().map(|r| r.label()).collect();
                out.push_str(&format!(
                    "{mark} {:<10} {} to {}  {:<9}  {} {}{}{}\n",
                    p.name,
                    p.start,
                    p.end,
                    p.status.as_str(),
                    reports.join(", "),
                    p.exam_type.label(),
                    p.closed_on.map(|d| format!(", closed {d}")).unwrap_or_default(),
                    p.report_issued_on
                        .map(|d| format!(", report issued {d}"))
                        .unwrap_or_default(),
                ));
            }
            out.push_str("\n* the current period: what `test`, `gap`, `report`, `sample` and `serve` use unless --period names another\n");
            if periods.iter().all(|p| !p.declared) {
                out.push_str(
                    "  (taken from `[scope]`; `assure period roll` writes it into `assure.toml` as `[[period]]`)\n",
                );
            }
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        PeriodCommand::Open {
            name,
            start,
            end,
            exam_type,
            reports,
        } => {
            let current = ws.open_read()?.project.current_period();
            let p = Period {
                name,
                reports: parse_reports(&reports)?
                    .or_else(|| current.as_ref().map(|c| c.reports.clone()))
                    .unwrap_or_default(),
                exam_type: exam(exam_type)
                    .or(current.as_ref().map(|c| c.exam_type))
                    .unwrap_or(ExamType::Type2),
                start,
                end,
                status: assure_project::period::Status::Open,
                report_issued_on: None,
                closed_on: None,
                declared: true,
            };
            let opened = ws.open_period(p)?;
            eprintln!("opened period {}; `[scope]` now holds its dates", opened.describe());
            Ok(ExitCode::SUCCESS)
        }
        PeriodCommand::Close {
            name,
            on,
            issued_on,
            by,
        } => {
            let on = on.unwrap_or_else(today);
            let closed = close(&ws, &dir, name.as_deref(), on, issued_on, by)?;
            eprintln!("closed period {}", closed.describe());
            Ok(ExitCode::SUCCESS)
        }
        PeriodCommand::Roll {
            on,
            issued_on,
            name,
            start,
            end,
            exam_type,
            reports,
            by,
        } => {
            let on = on.unwrap_or_else(today);
            let current = ws.open_read()?.project.current_period().ok_or_else(|| {
                CliError::problems("the project has no examination period to roll")
                    .with_hint("set the period in `[scope]`, or open one with `assure period open`")
            })?;
            if current.is_closed() {
                return Err(
                    CliError::problems(format!("the latest period {} is already closed", current.describe()))
                        .with_hint("open the next one with `assure period open NAME --start DATE --end DATE`"),
                );
            }
            let mut next = current.next();
            if let Some(n) = name {
                next.name = n;
            }
            if let Some(s) = start {
                next.start = s;
            }
            if let Some(e) = end {
                next.end = e;
            }
            if let Some(t) = exam(exam_type) {
                next.exam_type = t;
                if t == ExamType::Type1 && end.is_none() {
                    next.start = next.end;
                }
            }
            if let Some(r) = parse_reports(&reports)? {
                next.reports = r;
            }
            if next.start <= current.end {
                return Err(CliError::problems(format!(
                    "the next period would start on {}, inside the period being closed ({} to {})",
                    next.start, current.start, current.end
                ))
                .with_hint("start it after the current period ends"));
            }
            let closed = close(&ws, &dir, Some(&current.name), on, issued_on, by)?;
            eprintln!("closed period {}", closed.describe());
            let opened = ws.open_period(next)?;
            eprintln!("opened period {}; `[scope]` now holds its dates", opened.describe());
            eprintln!(
                "next: import the new period's exports (`assure evidence import`), then `assure test`; `assure period compare` shows the periods side by side"
            );
            Ok(ExitCode::SUCCESS)
        }
        PeriodCommand::Compare { json, output, as_of } => {
            let as_of = as_of.unwrap_or_else(today);
            let results = ws.year_over_year(as_of)?;
            if let Some(out) = output {
                let org = ws.open_read()?.project.manifest.organization.name;
                let m = assure_report::yoy::workbook(&org, as_of, &results);
                let bytes = assure_xlsx::write(&m)?;
                write_atomically(&out, &bytes)?;
                eprintln!("wrote {} ({} periods)", out.display(), results.len());
            }
            if json {
                print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&results).unwrap_or_default()
                ))?;
            } else {
                print(&assure_report::yoy::text(&results))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn exam(t: Option<u8>) -> Option<ExamType> {
    t.map(|t| if t == 1 { ExamType::Type1 } else { ExamType::Type2 })
}

fn parse_reports(list: &[String]) -> Result<Option<Vec<Scoped>>, CliError> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for r in list {
        out.push(match r.trim().to_ascii_lowercase().as_str() {
            "soc1" => Scoped::Soc1,
            "soc2" => Scoped::Soc2,
            "soc3" => Scoped::Soc3,
            other => {
                return Err(CliError::problems(format!("`{other}` is not a report"))
                    .with_hint("the reports are soc1, soc2 and soc3"));
            }
        });
    }
    out.sort();
    out.dedup();
    Ok(Some(out))
}

/// Drafts every report of the period as of `on` and closes it with them frozen.
fn close(
    ws: &Workspace,
    dir: &Path,
    name: Option<&str>,
    on: NaiveDate,
    issued_on: Option<NaiveDate>,
    by: Option<String>,
) -> Result<Period, CliError> {
    let project = ws.open_read()?.project;
    let period = project.select_period(name).map_err(|e| {
        CliError::problems(e.to_string()).with_hint("run `assure period list` to see the project's periods")
    })?;
    if period.is_closed() {
        return Err(
            CliError::problems(format!("period {} is already closed", period.describe()))
                .with_hint("a closed period stays closed; its reports are frozen in the ledger"),
        );
    }
    if on < period.end {
        return Err(CliError::problems(format!(
            "period {} ends on {}; it cannot be closed on {on}, before it has ended",
            period.name, period.end
        ))
        .with_hint("close it after its last day (pass --on YYYY-MM-DD)"));
    }
    let snap = crate::report_cmd::gather(dir, on, Some(&period.name))?;
    let (inp, warning) = snap.period_inputs();
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    if inp.run.is_none() {
        eprintln!(
            "warning: period {} has no test run of its own dates; its frozen reports show no test results",
            period.name
        );
    }
    let mut kinds: Vec<ReportKind> = period
        .reports
        .iter()
        .map(|r| match r {
            Scoped::Soc1 => ReportKind::Soc1,
            Scoped::Soc2 => ReportKind::Soc2,
            Scoped::Soc3 => ReportKind::Soc3,
        })
        .collect();
    kinds.extend([ReportKind::Readiness, ReportKind::Matrix]);
    let mut frozen = Vec::new();
    for kind in kinds {
        let formats: &[ReportFormat] = if kind == ReportKind::Matrix {
            &[ReportFormat::Xlsx, ReportFormat::Pdf, ReportFormat::Html]
        } else {
            &[ReportFormat::Pdf, ReportFormat::Html, ReportFormat::Json]
        };
        for &format in formats {
            let file = format!("{}.{}", kind.name(), format.ext());
            eprintln!("freezing {file}");
            let (bytes, _) = crate::report_cmd::render(kind, format, &inp, None)?;
            frozen.push(Frozen { file, bytes });
        }
    }
    let by = crate::evidence_cmd::who(by);
    let closed = ws.close_period(Some(&period.name), on, issued_on, frozen, &by)?;
    for e in &closed.entries {
        if let Some(b) = &e.draft.blob {
            eprintln!("  {} frozen as ledger entry {} (SHA-256 {})", b.name, e.seq, b.sha256);
        }
    }
    Ok(closed.period)
}
