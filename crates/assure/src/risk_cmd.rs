//! `assure risk`: the risk register as a likelihood-by-impact heat map and a list ranked by
//! residual score, and one risk with its controls' latest results and its assessment history.

use std::path::Path;
use std::process::ExitCode;

use assure_report::risk::{RiskRow, band, heat, register};
use chrono::NaiveDate;
use clap::Subcommand;

use crate::error::CliError;
use crate::{parse_date, print, today};

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// The register: heat maps (inherent and residual) and every risk ranked by residual score
    List {
        /// Judge assessments and control results as of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// One risk: scores, treatment, owner, its controls with their latest results, its history
    Show {
        /// The risk id
        id: String,
        /// Judge assessments and control results as of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
}

/// The grid as text: likelihood down (5 at the top), impact across, the count of risks per cell.
fn grid_text(title: &str, rows: &[RiskRow], residual: bool) -> String {
    let g = heat(rows, residual);
    let mut out = format!("{title}\n  likelihood \\ impact   1   2   3   4   5\n");
    for l in (1..=5).rev() {
        out.push_str(&format!("  {l:>20} "));
        for i in 1..=5 {
            let n = g[l - 1][i - 1].len();
            out.push_str(&if n == 0 { "   .".to_string() } else { format!("{n:>4}") });
        }
        out.push('\n');
    }
    out
}

fn scores(r: &RiskRow) -> String {
    let inherent = format!("{}×{}={} ({})", r.likelihood, r.impact, r.score, band(r.score));
    match r.residual {
        Some((l, i, s)) => format!("{inherent}, residual {l}×{i}={s} ({})", band(s)),
        None => format!("{inherent}, residual not assessed"),
    }
}

/// The git history of the register's files, newest first (empty without git).
fn history(dir: &Path) -> Vec<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "log",
            "--date=short",
            "--format=%ad %h %an: %s",
            "--",
            "risks.toml",
            "risks",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Runs `assure risk`.
pub fn run(cmd: RiskCommand, dir: &Path) -> Result<ExitCode, CliError> {
    match cmd {
        RiskCommand::List { as_of, json } => {
            let as_of = as_of.unwrap_or_else(today);
            let snap = crate::report_cmd::gather(dir, as_of, None)?;
            let rows = register(&snap.inputs());
            if json {
                print(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"))?;
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                print("The risk register is empty: add [[risk]] entries to a file in risks/.\n")?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = grid_text("Inherent risk (before controls)", &rows, false);
            out.push('\n');
            out.push_str(&grid_text("Residual risk (with controls operating)", &rows, true));
            let unassessed = rows.iter().filter(|r| r.residual.is_none()).count();
            if unassessed > 0 {
                out.push_str(&format!(
                    "  ({unassessed} risk(s) have no residual assessment and are not in this grid)\n"
                ));
            }
            out.push('\n');
            for r in &rows {
                let failing = r.controls.iter().filter(|c| c.3 > 0).count();
                out.push_str(&format!(
                    "{:<8} {}\n         {}; {}; owner {}; {} control(s){}; {}\n",
                    r.id,
                    r.title,
                    scores(r),
                    r.treatment,
                    if r.owner.is_empty() { "none" } else { &r.owner },
                    r.controls.len(),
                    if failing > 0 {
                        format!(", {failing} with exceptions")
                    } else {
                        String::new()
                    },
                    match (r.reviewed_on, r.review_due) {
                        (Some(d), false) => format!("assessed {d}"),
                        (Some(d), true) => format!("assessed {d}: ASSESSMENT DUE"),
                        (None, _) => "never assessed: ASSESSMENT DUE".into(),
                    }
                ));
            }
            let due = rows.iter().filter(|r| r.review_due).count();
            out.push_str(&format!(
                "\n{} risk(s); {due} due for assessment as of {as_of} (assessed more than {} days before, or never).\n",
                rows.len(),
                assure_report::risk::REVIEW_DAYS
            ));
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        RiskCommand::Show { id, as_of, json } => {
            let as_of = as_of.unwrap_or_else(today);
            let snap = crate::report_cmd::gather(dir, as_of, None)?;
            let rows = register(&snap.inputs());
            let Some(r) = rows.iter().find(|r| r.id == id) else {
                return Err(CliError::problems(format!("there is no risk `{id}`"))
                    .with_hint("risk ids are the `id` of a [[risk]] in risks/; `assure risk list` lists them"));
            };
            let hist = history(dir);
            if json {
                let v = serde_json::json!({ "risk": r, "history": hist });
                print(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = format!("{}  {}\n", r.id, r.title);
            if !r.description.is_empty() {
                out.push_str(&format!("  {}\n", r.description));
            }
            out.push_str(&format!(
                "  score       {}\n  treatment   {}\n  owner       {}\n  assessed    {}\n",
                scores(r),
                r.treatment,
                if r.owner.is_empty() { "none" } else { &r.owner },
                match (r.reviewed_on, r.review_due) {
                    (Some(d), false) => d.to_string(),
                    (Some(d), true) => format!("{d} (assessment due)"),
                    (None, _) => "never (assessment due)".into(),
                }
            ));
            out.push_str("  controls\n");
            if r.controls.is_empty() {
                out.push_str("    none: a risk to mitigate needs controls\n");
            }
            for (c, title, result, exc) in &r.controls {
                out.push_str(&format!(
                    "    {c:<8} {title}: {result}{}\n",
                    if *exc > 0 { format!(" ({exc})") } else { String::new() }
                ));
            }
            out.push_str("  history of the register (git)\n");
            if hist.is_empty() {
                out.push_str("    none recorded (the project is not under git)\n");
            }
            for h in hist.iter().take(20) {
                out.push_str(&format!("    {h}\n"));
            }
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
